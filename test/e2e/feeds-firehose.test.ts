/**
 * Feeds cost one imgpile query per tag, not per filter combination (issue #12): subscriptions
 * without a tag share one firehose poll (`GET /posts?sort=latest&nsfw=1`), tagged ones one poll
 * per tag, and the bot applies user and NSFW filters itself. End to end on both emulators; time
 * is a clock the test moves by hand (`cycle()`: one poll period later, one scheduler cycle).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FeedFilters, pollKeyOf, queryKeyOf } from "../../src/store/index.js";
import type { RecordedRequest } from "../emulators/imgpile/index.js";
import { feedSteps, removeAllFeeds } from "./feed-world.js";
import { Harness, imgpileUsers } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-3b8e1d0c6a2f9475";
const INTERVAL = 60_000;
const PAGE = 10;

let now = Date.now();
const clock = () => now;
let h: Harness;

beforeAll(async () => {
	h = await Harness.start({
		imgpile: { now: clock, users: imgpileUsers({ username: "feedbot", token: FEED_TOKEN }) },
		discord: { rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } } },
		feeds: { now: clock, intervalMs: INTERVAL, token: FEED_TOKEN, pageSize: PAGE },
	});
});

afterAll(async () => {
	await h?.close();
});

afterEach(async () => {
	await removeAllFeeds(h);
	h.discord.assertNoViolations();
});

const { addFeed, cycle, channel, titles } = feedSteps(
	() => h,
	{
		advance: (ms) => {
			now += ms;
		},
	},
	INTERVAL,
);

/** The feed's listing requests to imgpile since `from` (an index into the emulator's log). */
const listings = (from: number): RecordedRequest[] =>
	h.imgpileEmulator.requests.slice(from).filter((r) => r.listener === "api" && r.path === "/api/v1/posts");

function seed(title: string, extra: { username?: string; tag?: string; isNsfw?: boolean } = {}) {
	return h.imgpileEmulator.seedPost({
		username: extra.username ?? "alice",
		tags: [extra.tag ?? "misc"],
		title,
		isNsfw: extra.isNsfw,
	});
}

describe("one firehose for every feed without a tag", () => {
	it("serves user and NSFW filters from one request per cycle, each feed getting exactly its posts", async () => {
		const everything = await channel("fh-everything");
		const carolSafe = await channel("fh-carol");
		const carolAll = await channel("fh-carol-nsfw", true);
		const bobAll = await channel("fh-bob-nsfw", true);
		const allNsfw = await channel("fh-all-nsfw", true);
		await addFeed({ channel: everything });
		// A user filter matches whatever the case it was typed in.
		await addFeed({ channel: carolSafe, user: "CAROL" });
		await addFeed({ channel: carolAll, user: "carol", nsfw: true });
		await addFeed({ channel: bobAll, user: "bob", nsfw: true });
		await addFeed({ channel: allNsfw, nsfw: true });
		let from = h.imgpileEmulator.requests.length;
		expect(await cycle()).toMatchObject({ queries: 1, polled: 1, queued: 0 });
		const seeding = listings(from);
		expect(seeding).toHaveLength(1);
		expect(seeding[0]?.query).toMatchObject({ sort: "latest", nsfw: expect.anything() });
		expect(seeding[0]?.query).not.toHaveProperty("username");
		expect(seeding[0]?.query).not.toHaveProperty("tag");

		seed("Alice's sketch");
		seed("Carol's lake", { username: "carol" });
		seed("Carol's figure study", { username: "carol", isNsfw: true });
		seed("Bob's lake", { username: "bob" });
		seed("Bob's figure study", { username: "bob", isNsfw: true });
		from = h.imgpileEmulator.requests.length;
		await cycle();
		expect(listings(from)).toHaveLength(1);
		await cycle();
		expect(titles(everything)).toEqual(["Alice's sketch", "Carol's lake", "Bob's lake"]);
		expect(titles(carolSafe)).toEqual(["Carol's lake"]);
		expect(titles(carolAll)).toEqual(["Carol's lake", "Carol's figure study"]);
		expect(titles(bobAll)).toEqual(["Bob's lake", "Bob's figure study"]);
		expect(titles(allNsfw)).toEqual([
			"Alice's sketch",
			"Carol's lake",
			"Carol's figure study",
			"Bob's lake",
			"Bob's figure study",
		]);
		expect(await h.store.outbox.pending()).toEqual([]);
	});

	it("an NSFW feed whose channel is no longer age-restricted gets the firehose's safe posts only", async () => {
		const ch = await channel("fh-was-nsfw", true);
		await addFeed({ channel: ch, nsfw: true });
		await cycle();
		ch.setNsfw(false);
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(ch.id);
			return cached !== undefined && "nsfw" in cached && cached.nsfw === false;
		});
		seed("Safe one", { username: "bob" });
		seed("Not here", { username: "bob", isNsfw: true });
		await cycle();
		await cycle();
		expect(titles(ch)).toEqual(["Safe one"]);
	});

	it("a post re-moderated from NSFW to approved reaches the feeds without NSFW then, once", async () => {
		const safe = await channel("fh-remod-safe");
		const adult = await channel("fh-remod-nsfw", true);
		await addFeed({ channel: safe, user: "bob" });
		await addFeed({ channel: adult, user: "bob", nsfw: true });
		await cycle();
		const post = seed("Misflagged", { username: "bob", isNsfw: true });
		await cycle();
		expect(titles(adult)).toEqual(["Misflagged"]);
		expect(titles(safe)).toEqual([]);
		h.imgpileEmulator.setModeration("post", post.slug, "approved");
		await cycle();
		await cycle();
		expect(titles(safe)).toEqual(["Misflagged"]);
		expect(titles(adult)).toEqual(["Misflagged"]);
	});

	it("a busy firehose pages back while a whole page is new, and reads one page once it is quiet", async () => {
		const ch = await channel("fh-busy");
		await addFeed({ channel: ch, user: "carol" });
		await cycle();
		// 25 posts by others, with carol's first and last: three pages are all new.
		seed("Carol early", { username: "carol" });
		for (let i = 0; i < 23; i++) seed(`Noise ${i}`, { username: i % 2 ? "bob" : "alice" });
		seed("Carol late", { username: "carol" });
		let from = h.imgpileEmulator.requests.length;
		const burst = await cycle();
		expect(listings(from)).toHaveLength(3);
		expect(burst).toMatchObject({ requests: 3, queued: 2 });
		expect(titles(ch)).toEqual(["Carol early", "Carol late"]);
		from = h.imgpileEmulator.requests.length;
		await cycle();
		expect(listings(from)).toHaveLength(1);
		expect(titles(ch)).toEqual(["Carol early", "Carol late"]);
	});
});

describe("one poll per tag", () => {
	it("feeds on a tag share one request per cycle whatever their user and NSFW filters", async () => {
		const cats = await channel("tag-cats");
		const carolCats = await channel("tag-carol-cats");
		const catsNsfw = await channel("tag-cats-nsfw", true);
		const dogs = await channel("tag-dogs");
		await addFeed({ channel: cats, tag: "Cats" });
		await addFeed({ channel: carolCats, tag: "cats", user: "Carol" });
		await addFeed({ channel: catsNsfw, tag: "cats", nsfw: true });
		await addFeed({ channel: dogs, tag: "dogs" });
		let from = h.imgpileEmulator.requests.length;
		expect(await cycle()).toMatchObject({ queries: 2, polled: 2 });
		expect(
			listings(from)
				.map((r) => r.query.tag)
				.sort(),
		).toEqual(["cats", "dogs"]);

		seed("Alice's cat", { tag: "cats" });
		seed("Carol's cat", { tag: "cats", username: "carol" });
		seed("Carol's cat, unclothed", { tag: "cats", username: "carol", isNsfw: true });
		seed("Carol's dog", { tag: "dogs", username: "carol" });
		seed("Untagged by carol", { username: "carol" });
		from = h.imgpileEmulator.requests.length;
		await cycle();
		const reads = listings(from);
		expect(reads.map((r) => r.query.tag).sort()).toEqual(["cats", "dogs"]);
		for (const read of reads) expect(read.query).not.toHaveProperty("username");
		await cycle();
		expect(titles(cats)).toEqual(["Alice's cat", "Carol's cat"]);
		expect(titles(carolCats)).toEqual(["Carol's cat"]);
		expect(titles(catsNsfw)).toEqual(["Alice's cat", "Carol's cat", "Carol's cat, unclothed"]);
		expect(titles(dogs)).toEqual(["Carol's dog"]);
	});
});

describe("updated in place from per-combination queries", () => {
	it("takes the old seen sets and frontiers over: what was published meanwhile is announced once, nothing old", async () => {
		const everything = await channel("up-everything");
		const carol = await channel("up-carol");
		const cats = await channel("up-cats");
		await addFeed({ channel: everything });
		await addFeed({ channel: carol, user: "carol" });
		await addFeed({ channel: cats, tag: "cats" });
		const subs = await h.store.subscriptions.listAll();
		const old = [
			seed("Old by alice"),
			seed("Old by carol", { username: "carol" }),
			seed("Old cat", { tag: "cats", username: "bob" }),
		];
		// What the previous version of the bot left: per-combination keys, each having read its
		// listing down to the oldest of these posts (older ones, from other tests, below its frontier).
		const oldQueries: Array<{ filters: FeedFilters; listed: typeof old }> = [
			{ filters: { tag: null, username: null, nsfw: false }, listed: old },
			{ filters: { tag: null, username: "carol", nsfw: false }, listed: old.slice(1, 2) },
			{ filters: { tag: "cats", username: null, nsfw: false }, listed: old.slice(2) },
		];
		for (const sub of subs) await h.store.feedState.forget(pollKeyOf(sub.filters));
		for (const { filters, listed } of oldQueries) {
			const oldest = listed[0];
			if (!oldest) throw new Error("each old query listed a post");
			await h.store.feedState.markSeen(
				queryKeyOf(filters),
				listed.map((post) => post.id),
			);
			await h.store.feedState.setCursor(queryKeyOf(filters), {
				lastPolledAt: new Date(now).toISOString(),
				frontier: { createdAt: oldest.created_at, id: oldest.id },
			});
		}
		await h.restartBot();
		// Published while the bot was being updated.
		seed("Meanwhile by carol", { username: "carol" });
		seed("Meanwhile cat", { tag: "cats" });

		await cycle();
		await cycle();
		expect(titles(everything)).toEqual(["Meanwhile by carol", "Meanwhile cat"]);
		expect(titles(carol)).toEqual(["Meanwhile by carol"]);
		expect(titles(cats)).toEqual(["Meanwhile cat"]);
		for (const { filters } of oldQueries) expect(await h.store.feedState.isSeeded(queryKeyOf(filters))).toBe(false);

		seed("After by carol", { username: "carol" });
		await cycle();
		await cycle();
		expect(titles(everything)).toEqual(["Meanwhile by carol", "Meanwhile cat", "After by carol"]);
		expect(titles(carol)).toEqual(["Meanwhile by carol", "After by carol"]);
		expect(titles(cats)).toEqual(["Meanwhile cat"]);
	});
});
