/**
 * Live sync and score gates end to end (issue #12): the real bot against the Discord and imgpile
 * emulators. Time is a clock the test moves by hand; each `cycle()` is one poll period later
 * followed by one scheduler cycle, so nothing here sleeps.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TickReport } from "../../src/feeds/index.js";
import type { Post } from "../../src/imgpile/index.js";
import type { FeedSubscription, NewFeedSubscription } from "../../src/store/index.js";
import type { Channel, Json, Message } from "../emulators/discord/index.js";
import { Harness, imgpileUsers } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-7c1d9e2a4b6f8035";
const INTERVAL = 60_000;
const MINUTE = 60_000;
const DAY = 24 * 3_600_000;

let now = Date.now();
const clock = () => now;

/** Where a test wants the next delivery or sync effect to stop, as if the process were killed there. */
let crashAt: "afterAccepted" | "afterSynced" | null = null;
class SimulatedCrash extends Error {}
const crashHook = (moment: "afterAccepted" | "afterSynced") => () => {
	if (crashAt !== moment) return;
	crashAt = null;
	throw new SimulatedCrash(`simulated crash ${moment}`);
};

let h: Harness;

/** A bot on both emulators, the feeds on the test's clock; `budget`: the feeds' imgpile budget. */
function start(budget?: { perMinute: number; syncShare: number }): Promise<Harness> {
	return Harness.start({
		imgpile: { now: clock, users: imgpileUsers({ username: "feedbot", token: FEED_TOKEN }) },
		discord: { rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } } },
		feeds: {
			now: clock,
			intervalMs: INTERVAL,
			token: FEED_TOKEN,
			pageSize: budget ? 2 : 3,
			budget,
			hooks: { afterAccepted: crashHook("afterAccepted"), afterSynced: crashHook("afterSynced") },
		},
	});
}

beforeAll(async () => {
	h = await start();
});

afterAll(async () => {
	await h?.close();
});

beforeEach(() => {
	h.imgpileEmulator.clearFaults();
	h.imgpileEmulator.resetRateLimits();
});

afterEach(async () => {
	for (const sub of await h.store.subscriptions.listAll()) {
		await h.store.subscriptions.remove(sub.id);
		await h.store.outbox.removeForSubscription(sub.id);
	}
	h.bot.feeds.changed();
	crashAt = null;
	h.discord.assertNoViolations();
});

async function cycle(ms = INTERVAL): Promise<TickReport> {
	now += ms;
	return h.bot.tick();
}

async function channel(name: string, options: { nsfw?: boolean } = {}): Promise<Channel> {
	const created = h.guild.createChannel({ name, nsfw: options.nsfw });
	await h.discord.waitFor(() => h.bot.client.channels.cache.has(created.id), { what: `#${name} in the bot's cache` });
	return created;
}

/** A live feed of `tag` in `ch`, as `/feed add` makes it (options the command may not have yet). */
async function addFeed(
	ch: Channel,
	tag: string,
	extra: Partial<Pick<NewFeedSubscription, "removed" | "minScore" | "withinMs" | "mode" | "everyMs">> = {},
): Promise<FeedSubscription> {
	const { subscription } = await h.bot.feeds.add({
		guildId: h.guild.id,
		channelId: ch.id,
		filters: { tag, username: null, nsfw: false },
		mode: "live",
		everyMs: null,
		at: null,
		backfill: 0,
		createdBy: h.alice.id,
		...extra,
	});
	// The query's first poll only marks what is there as seen.
	await cycle();
	return subscription;
}

const botMessages = (ch: Channel): Message[] =>
	h.discord.messages(ch).filter((m) => m.author.id === h.discord.botUser.id);
const embedOf = (m: Pick<Message, "embeds"> | undefined) => m?.embeds[0] as Json | undefined;
const titles = (ch: Channel) => botMessages(ch).map((m) => embedOf(m)?.title);
const scoreShown = (m: Message | undefined) =>
	((embedOf(m)?.fields as Json[] | undefined) ?? []).find((f) => f.name === "Score")?.value;
const rereads = (post: Post) =>
	h.imgpileEmulator.requests.filter((r) => r.listener === "api" && r.path === `/api/v1/posts/${post.slug}`);

/** A cycle stopped by the simulated crash (the next one is the restarted process's). */
async function crashingCycle(): Promise<void> {
	await cycle().catch((error: unknown) => {
		if (!(error instanceof SimulatedCrash)) throw error;
	});
}

/** Seeds a post a second after the previous one (listings order by time). */
function seed(tag: string, title: string): Post {
	now += 1_000;
	return h.imgpileEmulator.seedPost({ username: "alice", tags: [tag], title });
}

/** A message as it was at one moment (the emulator's Message changes with each edit). */
interface Snapshot {
	id: string;
	embeds: Json[];
	components: Json[];
}

function snapshot(message: Message | undefined): Snapshot {
	expect(message).toBeDefined();
	const { id, embeds, components } = message as Message;
	return { id, embeds: structuredClone(embeds), components: structuredClone(components) as Json[] };
}

/** A new post, announced: the message as it was sent. */
async function announced(ch: Channel, tag: string, title: string): Promise<{ post: Post; message: Snapshot }> {
	const post = seed(tag, title);
	await cycle();
	return { post, message: snapshot(botMessages(ch).find((m) => embedOf(m)?.title === title)) };
}

describe("announcements stay true", () => {
	it("edits the announcement when the title changes on imgpile, without pinging or posting again", async () => {
		const ch = await channel("sync-title");
		await addFeed(ch, "sync-title");
		const { post, message } = await announced(ch, "sync-title", "First title");
		h.imgpileEmulator.editPost(post.slug, { title: "Better *title*", description: "now with words" });
		await cycle();
		const messages = botMessages(ch);
		expect(messages).toHaveLength(1);
		expect(messages[0]?.id).toBe(message.id);
		expect(embedOf(messages[0])?.title).toBe("Better \\*title\\*");
		// Same look as when it was sent: buttons, footer marker, preview.
		expect(messages[0]?.components).toEqual(message.components);
		expect(embedOf(messages[0])?.footer).toEqual(embedOf(message)?.footer);
		expect(embedOf(messages[0])?.image).toEqual(embedOf(message)?.image);
		const edits = h.discord.events.filter((e) => e.kind === "edit" && e.messageId === message.id);
		expect(edits).toHaveLength(1);
		// An edit never pings (a role mention in the content included), and carries no nonce.
		const patch = h.discord.requests.find((r) => r.method === "PATCH" && r.path.endsWith(`/${message.id}`));
		expect(patch?.body).toMatchObject({ allowed_mentions: { parse: [] } });
		expect(patch?.body).not.toHaveProperty("nonce");
		// Nothing new to show: no further edits.
		await cycle();
		expect(h.discord.events.filter((e) => e.kind === "edit" && e.messageId === message.id)).toHaveLength(1);
	});

	it("deletes the announcement of a post deleted, made private, hidden or rejected on imgpile", async () => {
		const ch = await channel("sync-gone");
		await addFeed(ch, "sync-gone");
		const changes: Array<(post: Post) => void> = [
			(post) => h.imgpileEmulator.removePost(post.slug),
			(post) => h.imgpileEmulator.editPost(post.slug, { visibility: "private" }),
			(post) => h.imgpileEmulator.editPost(post.slug, { visibility: "hidden" }),
			(post) => h.imgpileEmulator.setModeration("post", post.slug, "rejected"),
		];
		for (const [i, change] of changes.entries()) {
			const { post } = await announced(ch, "sync-gone", `Gone ${i}`);
			// A newer post: the listing still spans the one that went away.
			await announced(ch, "sync-gone", `Stays ${i}`);
			change(post);
			await cycle();
			expect(titles(ch)).not.toContain(`Gone ${i}`);
		}
		expect(titles(ch)).toEqual(["Stays 0", "Stays 1", "Stays 2", "Stays 3"]);
	});

	it("replaces the announcement by a short localized note with removed: note", async () => {
		const ch = await channel("sync-note");
		await addFeed(ch, "sync-note", { removed: "note" });
		const { post, message } = await announced(ch, "sync-note", "Soon gone");
		await announced(ch, "sync-note", "Newer");
		h.imgpileEmulator.setModeration("post", post.slug, "rejected");
		await cycle();
		const noted = botMessages(ch).find((m) => m.id === message.id);
		expect(noted?.content).toBe("This post was removed from imgpile.");
		expect(noted?.embeds).toEqual([]);
		expect(noted?.components).toEqual([]);
		expect(botMessages(ch)).toHaveLength(2);
	});

	it("the note is one edit of the announcement: done again after a crash, it posts nothing", async () => {
		const ch = await channel("sync-note-crash");
		await addFeed(ch, "sync-note-crash", { removed: "note" });
		const { post, message } = await announced(ch, "sync-note-crash", "Soon gone");
		await announced(ch, "sync-note-crash", "Newer");
		h.imgpileEmulator.setModeration("post", post.slug, "rejected");
		crashAt = "afterSynced";
		await cycle();
		await h.restartBot();
		await cycle(11 * MINUTE);
		await cycle(11 * MINUTE);
		const messages = botMessages(ch);
		expect(messages.map((m) => m.content)).toEqual(["This post was removed from imgpile.", ""]);
		// The same edit twice (before the crash, and after): never a second message.
		const edits = h.discord.requests.filter((r) => r.method === "PATCH" && r.path.endsWith(`/${message.id}`));
		expect(edits).toHaveLength(2);
		expect(edits[1]?.body).toEqual(edits[0]?.body);
		expect(messages[0]?.id).toBe(message.id);
		const record = await h.store.announcements.get(post.id);
		expect(record?.messages[0]?.state ?? "forgotten").not.toBe("shown");
	});

	it("a delete repeated after a crash is harmless (the message is already gone: 10008)", async () => {
		const ch = await channel("sync-redelete");
		await addFeed(ch, "sync-redelete");
		const { post } = await announced(ch, "sync-redelete", "Deleted twice");
		await announced(ch, "sync-redelete", "Newer");
		h.imgpileEmulator.removePost(post.slug);
		crashAt = "afterSynced";
		await cycle();
		expect(titles(ch)).toEqual(["Newer"]);
		await h.restartBot();
		await cycle(11 * MINUTE);
		await cycle(11 * MINUTE);
		expect(titles(ch)).toEqual(["Newer"]);
		// Deleted once, asked again after the crash: Discord said Unknown Message, and that was that.
		const deletes = h.discord.requests.filter((r) => r.method === "DELETE" && r.path.includes(ch.id));
		expect(deletes.map((r) => r.code)).toEqual([null, 10008]);
	});

	it("removes the preview of a post re-moderated to NSFW outside an age-restricted channel, keeps it inside", async () => {
		const ch = await channel("sync-sfw");
		const adult = await channel("sync-adult", { nsfw: true });
		await addFeed(ch, "sync-nsfw");
		const { subscription: inAdult } = await h.bot.feeds.add({
			guildId: h.guild.id,
			channelId: adult.id,
			filters: { tag: "sync-nsfw", username: null, nsfw: true },
			mode: "live",
			everyMs: null,
			at: null,
			backfill: 0,
			createdBy: h.alice.id,
		});
		await cycle();
		const { post, message } = await announced(ch, "sync-nsfw", "Turns NSFW");
		await announced(ch, "sync-nsfw", "Newer");
		const inAdultMessage = botMessages(adult).find((m) => embedOf(m)?.title === "Turns NSFW");
		expect(embedOf(message)?.image).toBeDefined();
		h.imgpileEmulator.setModeration("post", post.slug, "nsfw");
		await cycle();
		const edited = botMessages(ch).find((m) => m.id === message.id);
		expect(embedOf(edited)?.title).toBe("Turns NSFW");
		expect(embedOf(edited)?.image).toBeUndefined();
		const adultNow = botMessages(adult).find((m) => m.id === inAdultMessage?.id);
		expect(embedOf(adultNow)?.image).toBeDefined();
		expect(inAdult.id).toBeTruthy();
	});

	it("keeps a digest true: an edited post is shown anew, a removed one leaves the digest", async () => {
		const ch = await channel("sync-digest");
		const sub = await addFeed(ch, "sync-digest", { mode: "digest", everyMs: DAY });
		const [a, b] = [seed("sync-digest", "Digest A"), seed("sync-digest", "Digest B"), seed("sync-digest", "Digest C")];
		await cycle();
		expect(await h.bot.feeds.sendDigestNow(sub)).toBe(3);
		const embedTitles = () => (botMessages(ch)[0]?.embeds ?? []).map((embed) => (embed as Json).title);
		expect(embedTitles()).toEqual(["Digest C", "Digest B", "Digest A"]);
		const sent = snapshot(botMessages(ch)[0]);
		h.imgpileEmulator.editPost(b?.slug ?? "", { title: "Digest B, better" });
		await cycle();
		expect(embedTitles()).toEqual(["Digest C", "Digest B, better", "Digest A"]);
		h.imgpileEmulator.removePost(a?.slug ?? "");
		await cycle();
		expect(embedTitles()).toEqual(["Digest C", "Digest B, better"]);
		expect(botMessages(ch).map((m) => m.id)).toEqual([sent.id]);
		// The footer marker stays, so a digest interrupted by a crash is still recognised.
		expect(botMessages(ch)[0]?.embeds.at(-1)?.footer).toEqual(sent.embeds.at(-1)?.footer);
	});

	it("refreshes the score shown at most every 10 minutes, and not once the post is 7 days old", async () => {
		const ch = await channel("sync-score");
		await addFeed(ch, "sync-score");
		const { post, message } = await announced(ch, "sync-score", "Voted on");
		const shown = () => scoreShown(botMessages(ch).find((m) => m.id === message.id));
		expect(shown()).toBe("0");
		h.imgpileEmulator.setScore(post.slug, 5);
		await cycle();
		expect(shown()).toBe("0");
		for (let i = 0; i < 8; i++) await cycle();
		expect(shown()).toBe("0");
		await cycle();
		expect(shown()).toBe("5");
		h.imgpileEmulator.setScore(post.slug, 7);
		await cycle();
		expect(shown()).toBe("5");
		h.imgpileEmulator.setScore(post.slug, 9);
		await cycle(7 * DAY);
		await cycle(20 * MINUTE);
		expect(shown()).toBe("5");
	});

	it("keeps what it shows true after a crash between Discord accepting the announcement and the record", async () => {
		const ch = await channel("sync-crash");
		await addFeed(ch, "sync-crash");
		crashAt = "afterAccepted";
		const post = seed("sync-crash", "Crash here");
		await crashingCycle();
		await cycle();
		expect(botMessages(ch)).toHaveLength(1);
		h.imgpileEmulator.editPost(post.slug, { title: "Crash survived" });
		await cycle();
		expect(titles(ch)).toEqual(["Crash survived"]);
	});
});

describe("score-gated feeds", () => {
	it("announces a post once its score reaches N within the window, never twice, never after the window", async () => {
		const ch = await channel("gate");
		await addFeed(ch, "gate", { minScore: 3, withinMs: 3_600_000 });
		const hot = seed("gate", "Hot");
		const late = seed("gate", "Late");
		await cycle();
		expect(botMessages(ch)).toEqual([]);
		h.imgpileEmulator.setScore(hot.slug, 3);
		await cycle();
		await cycle();
		expect(titles(ch)).toEqual(["Hot"]);
		h.imgpileEmulator.setScore(hot.slug, 0);
		await cycle();
		h.imgpileEmulator.setScore(hot.slug, 10);
		await cycle();
		await cycle();
		expect(titles(ch)).toEqual(["Hot"]);
		// An hour later, "Late" is past the window: its score comes too late.
		now += 61 * MINUTE;
		h.imgpileEmulator.setScore(late.slug, 50);
		await cycle();
		await cycle();
		expect(titles(ch)).toEqual(["Hot"]);
	});

	it("watches a post that fell out of the polled pages by re-reading it", async () => {
		const ch = await channel("gate-deep");
		await addFeed(ch, "gate-deep", { minScore: 2 });
		const deep = seed("gate-deep", "Deep");
		await cycle();
		for (let i = 0; i < 4; i++) seed("gate-deep", `Filler ${i}`);
		await cycle();
		h.imgpileEmulator.setScore(deep.slug, 2);
		await cycle();
		expect(botMessages(ch)).toEqual([]);
		for (let i = 0; i < 10; i++) await cycle();
		expect(rereads(deep).length).toBeGreaterThan(0);
		expect(titles(ch)).toEqual(["Deep"]);
	});

	it("is announced exactly once across a crash after Discord accepted it", async () => {
		const ch = await channel("gate-crash");
		await addFeed(ch, "gate-crash", { minScore: 1 });
		const post = seed("gate-crash", "Gate crash");
		await cycle();
		h.imgpileEmulator.setScore(post.slug, 1);
		crashAt = "afterAccepted";
		await crashingCycle();
		await cycle();
		await cycle();
		expect(titles(ch)).toEqual(["Gate crash"]);
	});
});

describe("re-reads within the budget's sync share", () => {
	let main: Harness;
	beforeAll(async () => {
		main = h;
		// 20 requests a minute, the feeds' 80 %: 16, of which live sync may take an eighth: 2.
		h = await start({ perMinute: 20, syncShare: 0.125 });
	});
	afterAll(async () => {
		await h.close();
		h = main;
	});

	it("re-reads the newest announcements first, and says how far behind it is while it cannot keep up", async () => {
		const ch = await channel("tight");
		const sub = await addFeed(ch, "tight");
		const posts: Post[] = [];
		for (let i = 0; i < 7; i++) posts.push((await announced(ch, "tight", `Tight ${i}`)).post);
		// Pages of 2: the polls read the two newest; the five others fell out of view.
		expect(await h.bot.feeds.syncStatus(sub)).toEqual({ behind: 0, oldestUnsyncedAt: null });
		await cycle(11 * MINUTE);
		// Two re-reads a minute: the two newest of the five, and three wait.
		expect(posts.map((post) => rereads(post).length)).toEqual([0, 0, 0, 1, 1, 0, 0]);
		const behind = await h.bot.feeds.syncStatus(sub);
		expect(behind.behind).toBe(3);
		expect(behind.oldestUnsyncedAt).not.toBeNull();
		expect(Date.parse(behind.oldestUnsyncedAt ?? "")).toBeLessThan(now - 10 * MINUTE);
		// What the admins see: /feed list says so.
		const list = async () => {
			const ix = await h.discord.slash({ user: h.alice, channel: h.general, command: "feed", subcommand: "list" });
			await ix.settled();
			return String(ix.reply?.embeds?.[0]?.description ?? "");
		};
		expect(await list()).toContain("Live sync is behind: 3 announcements wait for a re-read");
		await cycle();
		expect(posts.map((post) => rereads(post).length)).toEqual([0, 1, 1, 1, 1, 0, 0]);
		expect((await h.bot.feeds.syncStatus(sub)).behind).toBe(1);
		await cycle();
		expect(posts.map((post) => rereads(post).length)).toEqual([1, 1, 1, 1, 1, 0, 0]);
		expect(await h.bot.feeds.syncStatus(sub)).toEqual({ behind: 0, oldestUnsyncedAt: null });
		expect(await list()).not.toContain("Live sync is behind");
		// Newest announcement first, every time (in the order imgpile got the requests).
		const slugs = posts.map((post) => `/api/v1/posts/${post.slug}`);
		const order = h.imgpileEmulator.requests.flatMap((r) => {
			const i = slugs.indexOf(r.path);
			return r.listener === "api" && i >= 0 ? [i] : [];
		});
		expect(order).toEqual([4, 3, 2, 1, 0]);
	});
});
