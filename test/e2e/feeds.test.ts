/**
 * /feed and the feed scheduler end to end: the real bot against the Discord and imgpile
 * emulators. Time is a clock the test moves by hand; each `cycle()` is one poll period later
 * followed by one scheduler cycle (`Bot.tick()`), so nothing here sleeps.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TickReport } from "../../src/feeds/index.js";
import type { Channel, Guild, Json, Message, OptionValue, User } from "../emulators/discord/index.js";
import { MALFORMED_AVATAR, MALFORMED_URLS } from "../support/urls.js";
import { CrashSwitch, removeAllFeeds, startFeedHarness } from "./feed-world.js";
import { type Harness, IMGPILE_USERS } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-7c1d9e2a4b6f8035";
const INTERVAL = 60_000;

let now = Date.now();
const clock = () => now;

/** Where a test wants the next delivery to stop, as if the process were killed there. */
const crash = new CrashSwitch();

let h: Harness;

beforeAll(async () => {
	h = await startFeedHarness({ clock, token: FEED_TOKEN, intervalMs: INTERVAL, crash });
	const opened = await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "link" });
	await opened.settled();
	const linked = await h.discord.submitModal({ user: h.alice, from: opened, fields: { token: IMGPILE_USERS.alice } });
	await linked.settled();
});

afterAll(async () => {
	await h?.close();
});

beforeEach(() => {
	h.imgpileEmulator.clearFaults();
	h.imgpileEmulator.resetRateLimits();
});

afterEach(async () => {
	await removeAllFeeds(h, crash);
	h.discord.assertNoViolations();
});

async function run(subcommand: string, options: Record<string, OptionValue>, user: User = h.alice, from = h.general) {
	const ix = await h.discord.slash({ user, channel: from, command: "feed", subcommand, options });
	await ix.settled();
	return ix;
}

/** `/feed add`; returns the new feed's id. */
async function addFeed(options: Record<string, OptionValue>, user: User = h.alice, from = h.general): Promise<string> {
	const ix = await run("add", options, user, from);
	const id = /Feed `([a-z0-9]+)` added/.exec(ix.reply?.content ?? "")?.[1];
	expect(id, ix.describe()).toBeTruthy();
	return id ?? "";
}

/** One poll period later, one scheduler cycle. */
async function cycle(ms = INTERVAL): Promise<TickReport> {
	now += ms;
	return h.bot.tick();
}

async function channel(name: string, options: { nsfw?: boolean; guild?: Guild } = {}): Promise<Channel> {
	const created = (options.guild ?? h.guild).createChannel({ name, nsfw: options.nsfw });
	await h.discord.waitFor(() => h.bot.client.channels.cache.has(created.id), { what: `#${name} in the bot's cache` });
	return created;
}

const botMessages = (ch: Channel): Message[] =>
	h.discord.messages(ch).filter((m) => m.author.id === h.discord.botUser.id);
const titles = (ch: Channel): string[] => botMessages(ch).map((m) => String(m.embeds[0]?.title ?? ""));
const buttons = (message: Message | undefined): Json[] =>
	(message?.components ?? []).flatMap((row) => (row.components as Json[] | undefined) ?? []);
const feedRequests = (tag: string) =>
	h.imgpileEmulator.requests.filter((r) => r.listener === "api" && r.path === "/api/v1/posts" && r.query.tag === tag);

function seed(tag: string, title: string, extra: { username?: string; isNsfw?: boolean; moderation?: "pending" } = {}) {
	return h.imgpileEmulator.seedPost({
		username: extra.username ?? "alice",
		tags: [tag],
		title,
		isNsfw: extra.isNsfw,
		moderation: extra.moderation,
	});
}

describe("/feed add", () => {
	it("checks the bot's permissions and the NSFW rule up front, and says what is missing", async () => {
		const locked = await channel("locked");
		locked.setPermissionOverwrite(h.discord.botUser, { deny: ["EmbedLinks"] });
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(locked.id);
			return cached && "permissionOverwrites" in cached && cached.permissionOverwrites.cache.size > 0;
		});
		const refused = await run("add", { channel: locked, tag: "x" });
		expect(refused.ephemeral).toBe(true);
		expect(refused.reply?.content).toBe(
			`I am missing permissions in <#${locked.id}>: Embed Links. Give me those there, then try again.`,
		);
		const nsfw = await run("add", { channel: h.general, tag: "x", nsfw: true });
		expect(nsfw.reply?.content).toContain("NSFW feeds only go to age-restricted channels");
		const live = await run("add", { channel: h.general, tag: "x", every: "2h", mode: "live" });
		expect(live.reply?.content).toContain("`every` and `at` are for digests");
		// Manage Server only (default_member_permissions): Discord does not even offer it to bob.
		await expect(run("add", { channel: h.general, tag: "x" }, h.bob)).rejects.toThrow(/needs ManageGuild/);
		expect(await h.store.subscriptions.listAll()).toEqual([]);
	});
});

describe("/feed add: channel kinds", () => {
	it("announces in announcement channels; media channels are not offered (forums and threads: feeds-destinations)", async () => {
		const media = h.guild.createChannel({ name: "art-media", type: "media" });
		// Not in the option's channel_types: Discord's picker does not even offer a media channel.
		await expect(run("add", { channel: media, tag: "kinds" })).rejects.toThrow(/not in channel_types/);
		expect(await h.store.subscriptions.listAll()).toEqual([]);

		const news = h.guild.createChannel({ name: "news", type: "announcement" });
		await h.discord.waitFor(() => h.bot.client.channels.cache.has(news.id), { what: "#news in the bot's cache" });
		await addFeed({ channel: news, tag: "kinds" });
		await cycle();
		seed("kinds", "In the news");
		await cycle();
		expect(titles(news)).toEqual(["In the news"]);
	});
});

describe("live announcements", () => {
	it("first poll is silent; one new post is announced once, with embed, buttons and its outbox key", async () => {
		const ch = await channel("live-one");
		seed("one", "Old news 1");
		seed("one", "Old news 2");
		const id = await addFeed({ channel: ch, tag: "one" });
		const first = await h.bot.tick();
		expect(first).toMatchObject({ leader: true, polled: 1, queued: 0 });
		expect(botMessages(ch)).toEqual([]);

		const post = seed("one", "Fresh", { username: "bob" });
		await cycle();
		await cycle();
		const messages = botMessages(ch);
		expect(titles(ch)).toEqual(["Fresh"]);
		const embed = messages[0]?.embeds[0] as Json;
		expect(embed).toMatchObject({
			title: "Fresh",
			url: `https://imgpile.com/p/${post.slug}`,
			author: { name: "bob" },
			footer: { text: `imgpile feed · ${id}:${post.id}` },
			image: { url: expect.stringContaining(`${post.media?.[0]?.slug}`) },
		});
		expect(JSON.stringify(embed.fields)).toContain('"Media","value":"1"');
		expect(buttons(messages[0])).toEqual([
			expect.objectContaining({ label: "▲ 0", custom_id: `vote:post:${post.id}:up` }),
			expect.objectContaining({ label: "▼", custom_id: `vote:post:${post.id}:down` }),
			expect.objectContaining({ label: "Follow bob", custom_id: "follow:bob" }),
			expect.objectContaining({ label: "Open on imgpile", url: `https://imgpile.com/p/${post.slug}` }),
		]);
		expect(await h.store.outbox.pending()).toEqual([]);
		const sub = await h.store.subscriptions.get(id);
		expect(sub?.lastDeliveryAt).toBe(new Date(now - INTERVAL).toISOString());
	});

	it("an avatar or preview URL Discord would refuse is left out, and the announcement goes", async () => {
		const ch = await channel("live-bad-urls");
		h.imgpileEmulator.addUser({ username: "mallory", token: "ip-mallory-5e8a1c3f7b20d964", avatar: MALFORMED_AVATAR });
		await addFeed({ channel: ch, tag: "badurls" });
		await cycle();
		const kinds = Object.keys(MALFORMED_URLS) as Array<keyof typeof MALFORMED_URLS>;
		for (const kind of kinds) {
			const post = seed("badurls", `Bad ${kind}`, { username: "mallory" });
			h.imgpileEmulator.setMediaUrls(post.media?.[0]?.slug ?? "", { lg: MALFORMED_URLS[kind] });
		}
		await cycle();
		expect(titles(ch)).toEqual(kinds.map((kind) => `Bad ${kind}`));
		for (const message of botMessages(ch)) {
			expect(message.embeds[0]).toMatchObject({ author: { name: "mallory" } });
			expect(message.embeds[0]).not.toHaveProperty("image");
			expect(message.embeds[0]?.author).not.toHaveProperty("icon_url");
		}
		expect(await h.store.outbox.pending()).toEqual([]);
	});

	it("25 new posts between two polls (three pages) are all announced, oldest first", async () => {
		const ch = await channel("live-burst");
		seed("burst", "Before 1");
		seed("burst", "Before 2");
		await addFeed({ channel: ch, tag: "burst" });
		await cycle();
		const names = Array.from({ length: 25 }, (_, i) => `Burst ${i + 1}`);
		for (const name of names) seed("burst", name);
		const requestsBefore = feedRequests("burst").length;
		const report = await cycle();
		expect(feedRequests("burst").length - requestsBefore).toBe(3);
		expect(report).toMatchObject({ requests: 3, queued: 25, delivered: 25 });
		expect(titles(ch)).toEqual(names);
		await cycle();
		expect(titles(ch)).toEqual(names);
	});

	it("a post approved late is announced once, when it shows up", async () => {
		const ch = await channel("live-late");
		await addFeed({ channel: ch, tag: "late" });
		await cycle();
		const late = seed("late", "Late one", { moderation: "pending" });
		seed("late", "On time");
		await cycle();
		expect(titles(ch)).toEqual(["On time"]);
		h.imgpileEmulator.setModeration("post", late.slug, "approved");
		await cycle();
		await cycle();
		expect(titles(ch)).toEqual(["On time", "Late one"]);
	});

	it("tag and user filters: each channel gets only its posts", async () => {
		const byTag = await channel("by-tag");
		const byUser = await channel("by-user");
		await addFeed({ channel: byTag, tag: "Cats" });
		await addFeed({ channel: byUser, user: "carol" });
		await cycle();
		seed("cats", "Alice's cat");
		seed("dogs", "Carol's dog", { username: "carol" });
		seed("cats", "Carol's cat", { username: "carol" });
		seed("dogs", "Alice's dog");
		await cycle();
		expect(titles(byTag)).toEqual(["Alice's cat", "Carol's cat"]);
		expect(titles(byUser)).toEqual(["Carol's dog", "Carol's cat"]);
	});

	it("NSFW posts go to the age-restricted channel only", async () => {
		const safe = await channel("safe-art");
		await addFeed({ channel: h.nsfw, tag: "art", nsfw: true });
		await addFeed({ channel: safe, tag: "art" });
		await cycle();
		seed("art", "Landscape");
		seed("art", "Figure study", { isNsfw: true });
		await cycle();
		expect(titles(h.nsfw)).toEqual(["Landscape", "Figure study"]);
		expect(titles(safe)).toEqual(["Landscape"]);
		expect(JSON.stringify(botMessages(h.nsfw)[1]?.embeds)).toContain("NSFW");
	});

	it("two guilds on the same filters: one imgpile request per cycle for both", async () => {
		const other = h.discord.createGuild({ name: "Elsewhere", owner: h.bob });
		await h.discord.waitFor(() => h.bot.client.guilds.cache.has(other.id), { what: "the second guild" });
		const there = await channel("shared-there", { guild: other });
		const here = await channel("shared-here");
		await addFeed({ channel: here, tag: "shared" });
		await addFeed({ channel: there, tag: "shared" }, h.bob, there);
		let before = feedRequests("shared").length;
		await cycle();
		expect(feedRequests("shared").length - before).toBe(1);
		seed("shared", "For everyone");
		before = feedRequests("shared").length;
		await cycle();
		expect(feedRequests("shared").length - before).toBe(1);
		expect(titles(here)).toEqual(["For everyone"]);
		expect(titles(there)).toEqual(["For everyone"]);
	});

	it("waits out a Discord 429 and delivers once", async () => {
		const ch = await channel("live-429");
		await addFeed({ channel: ch, tag: "slowdiscord" });
		await cycle();
		seed("slowdiscord", "Patient");
		h.discord.forceRateLimit({ route: "POST /channels/{channel_id}/messages", times: 2, retryAfterMs: 100 });
		await cycle();
		expect(titles(ch)).toEqual(["Patient"]);
	});

	it("the Upvote and Follow buttons of an announcement act as the clicker", async () => {
		const ch = await channel("live-vote");
		await addFeed({ channel: ch, tag: "vote" });
		await cycle();
		const post = seed("vote", "Vote me", { username: "bob" });
		await cycle();
		const message = botMessages(ch)[0] as Message;
		const upvote = await h.discord.clickButton({ user: h.alice, message, label: "▲ 0" });
		await upvote.settled();
		expect(upvote.ephemeral).toBe(true);
		expect(upvote.reply?.content).toBe(`▲ Upvoted post #${post.id}. Score: 1.`);
		expect((await h.imgpile.as().getPost(post.slug)).score).toBe(1);
		const follow = await h.discord.clickButton({ user: h.alice, message, label: "Follow bob" });
		await follow.settled();
		expect(follow.reply?.content).toBe("You now follow **bob** on imgpile.");
	});

	it("a post with hostile Markdown is announced, and shown by /post show, escaped and within Discord's limits", async () => {
		const ch = await channel("live-hostile");
		await addFeed({ channel: ch, tag: "hostile" });
		await cycle();
		const title = `[free nitro](https://evil.example) @everyone <@&123456789012345678> ${"🔥".repeat(300)}`;
		const description =
			"# Big news\n-# small print\n> quoted\n- listed\n[here](https://evil.example) @here <@123456789012345678>";
		const post = h.imgpileEmulator.seedPost({ username: "alice", tags: ["hostile"], title, description });
		await cycle();
		await cycle();
		const [announced] = botMessages(ch);
		const escapedTitle = "\\[free nitro\\](https://evil.example) \\@everyone \\<\\@&123456789012345678> 🔥";
		const announcedTitle = String(announced?.embeds[0]?.title);
		expect(announcedTitle.startsWith(escapedTitle)).toBe(true);
		expect(announcedTitle.endsWith("🔥…")).toBe(true);
		expect([...announcedTitle]).toHaveLength(256);

		const shown = await h.discord.slash({
			user: h.alice,
			channel: ch,
			command: "post",
			subcommand: "show",
			options: { post: post.slug },
		});
		await shown.settled();
		expect(shown.ephemeral).toBe(false);
		const embed = shown.reply?.embeds[0];
		expect(embed?.title).toBe(announced?.embeds[0]?.title);
		expect(embed?.description).toBe(
			"\\# Big news\n\\-# small print\n\\> quoted\n\\- listed\n\\[here\\](https://evil.example) \\@here \\<\\@123456789012345678>",
		);
		h.discord.assertNoViolations();
	});
});

describe("digests", () => {
	it("12 posts make one message at the digest time: the top 10 by score, then 'and 2 more'", async () => {
		const ch = await channel("digest");
		const id = await addFeed({ channel: ch, tag: "daily", every: "1h" });
		await cycle();
		const posts = Array.from({ length: 12 }, (_, i) => seed("daily", `Digest ${i + 1}`));
		await cycle();
		expect(botMessages(ch)).toEqual([]);
		// Votes after the posts were queued: the digest reads the scores as they are when it goes out.
		const voters = [IMGPILE_USERS.alice, IMGPILE_USERS.bob, IMGPILE_USERS.carol];
		const scores = [3, -1, 2, 0, 1, 3, -2, 2, 1, 0, -3, 1];
		for (const [index, score] of scores.entries()) {
			const post = posts[index];
			if (!post) continue;
			for (const token of voters.slice(0, Math.abs(score))) {
				const client = h.imgpile.as(token);
				await (score > 0 ? client.upvotePost(post.id) : client.downvotePost(post.id));
			}
		}
		const sub = await h.store.subscriptions.get(id);
		now = Date.parse(sub?.nextDigestAt ?? "") - 1;
		await cycle(1);
		const messages = botMessages(ch);
		expect(messages).toHaveLength(1);
		const digest = messages[0] as Message;
		expect(digest.content).toContain("**12** new posts: #daily");
		const ranked = posts
			.map((post, index) => ({ title: post.title, score: scores[index] ?? 0, id: post.id }))
			.sort((a, b) => b.score - a.score || b.id - a.id);
		expect(digest.embeds.map((embed) => embed.title)).toEqual(ranked.slice(0, 10).map((p) => p.title));
		const rest = ranked.slice(10).map((p) => posts.find((post) => post.id === p.id)?.slug);
		expect(digest.content).toContain("…and 2 more:");
		for (const slug of rest) expect(digest.content).toContain(`https://imgpile.com/p/${slug}`);
		expect(await h.store.outbox.pending()).toEqual([]);
		const next = await h.store.subscriptions.get(id);
		expect(Date.parse(next?.nextDigestAt ?? "")).toBe(Date.parse(sub?.nextDigestAt ?? "") + 3_600_000);
		// Nothing new: the next digest time passes without a message.
		now = Date.parse(next?.nextDigestAt ?? "");
		await cycle(1);
		expect(botMessages(ch)).toHaveLength(1);
		const manual = await run("digest", { id });
		expect(manual.reply?.content).toBe(`Feed \`${id}\` has gathered nothing since its last digest.`);
	});

	it("re-checks each queued post when it goes out: what became NSFW, rejected, hidden, private or deleted follows its new state", async () => {
		const sfw = await channel("recheck");
		const adult = await channel("recheck-nsfw", { nsfw: true });
		const sfwId = await addFeed({ channel: sfw, tag: "recheck", every: "1h" });
		const adultId = await addFeed({ channel: adult, tag: "recheck", every: "1h", nsfw: true });
		await cycle();
		const [kept, toNsfw, toRejected, toHidden, toPrivate, toDeleted] = [
			"Kept",
			"Turned NSFW",
			"Turned rejected",
			"Turned hidden",
			"Turned private",
			"Deleted",
		].map((title) => seed("recheck", title));
		await cycle();
		expect(await h.store.outbox.pending()).toHaveLength(12);

		const owner = h.imgpile.as(IMGPILE_USERS.alice);
		await owner.updatePost(kept?.slug ?? "", { title: "Kept, renamed" });
		h.imgpileEmulator.setModeration("post", toNsfw?.slug ?? "", "nsfw");
		h.imgpileEmulator.setModeration("post", toRejected?.slug ?? "", "rejected");
		await owner.updatePost(toHidden?.slug ?? "", { visibility: "hidden" });
		await owner.updatePost(toPrivate?.slug ?? "", { visibility: "private" });
		await owner.deletePost(toDeleted?.slug ?? "");

		const due = await Promise.all([sfwId, adultId].map((id) => h.store.subscriptions.get(id)));
		now = Math.max(...due.map((sub) => Date.parse(sub?.nextDigestAt ?? ""))) - 1;
		await cycle(1);
		const [sfwDigest] = botMessages(sfw);
		const [adultDigest] = botMessages(adult);
		expect(botMessages(sfw)).toHaveLength(1);
		expect(botMessages(adult)).toHaveLength(1);

		expect(sfwDigest?.content).toContain("**1** new post: #recheck");
		expect(sfwDigest?.embeds.map((embed) => embed.title)).toEqual(["Kept, renamed"]);
		expect(adultDigest?.embeds.map((embed) => embed.title)).toEqual(["Turned NSFW", "Kept, renamed"]);
		expect(adultDigest?.embeds[0]).toMatchObject({ thumbnail: { url: expect.stringContaining("/f/") } });
		const shown = JSON.stringify([sfwDigest?.content, sfwDigest?.embeds, adultDigest?.content, adultDigest?.embeds]);
		for (const post of [toRejected, toHidden, toPrivate, toDeleted]) {
			expect(shown).not.toContain(post?.title);
			expect(shown).not.toContain(post?.slug);
		}
		expect(JSON.stringify([sfwDigest?.content, sfwDigest?.embeds])).not.toContain(toNsfw?.slug);
		// Nothing left behind to be sent later.
		expect(await h.store.outbox.pending()).toEqual([]);
	});

	it("re-reads queued posts one by one when the listing fails, and waits while imgpile cannot say", async () => {
		const ch = await channel("recheck-get");
		const id = await addFeed({ channel: ch, tag: "recheck-get", every: "1h" });
		await cycle();
		const [kept, toNsfw, toPrivate, toDeleted] = ["Still here", "Now NSFW", "Now private", "Now gone"].map((title) =>
			seed("recheck-get", title),
		);
		await cycle();
		h.imgpileEmulator.setModeration("post", toNsfw?.slug ?? "", "nsfw");
		await h.imgpile.as(IMGPILE_USERS.alice).updatePost(toPrivate?.slug ?? "", { visibility: "private" });
		await h.imgpile.as(IMGPILE_USERS.alice).deletePost(toDeleted?.slug ?? "");

		// imgpile answers nothing: the digest is not sent unchecked, and nothing is lost.
		h.imgpileEmulator.injectFault({ method: "GET", path: /^\/api\/v1\/posts/, status: 500, times: 1000 });
		const sub = await h.store.subscriptions.get(id);
		now = Date.parse(sub?.nextDigestAt ?? "") - 1;
		const waited = await cycle(1);
		expect(waited.deferred).toBeGreaterThan(0);
		expect(botMessages(ch)).toEqual([]);
		expect(await h.store.outbox.pending({ subscriptionId: id })).toHaveLength(4);

		// The listing still fails, single posts can be read: one GET each decides.
		h.imgpileEmulator.clearFaults();
		h.imgpileEmulator.injectFault({ method: "GET", path: "/api/v1/posts", query: { limit: "100" }, status: 500 });
		const before = h.imgpileEmulator.requests.length;
		await cycle(1);
		const reads = h.imgpileEmulator.requests.slice(before).filter((r) => /^\/api\/v1\/posts\/\w+$/.test(r.path));
		expect(reads).toHaveLength(4);
		const messages = botMessages(ch);
		expect(messages).toHaveLength(1);
		expect(messages[0]?.embeds.map((embed) => embed.title)).toEqual([kept?.title]);
		const shown = JSON.stringify([messages[0]?.content, messages[0]?.embeds]);
		for (const post of [toNsfw, toPrivate, toDeleted]) expect(shown).not.toContain(post?.slug);
		expect(await h.store.outbox.pending({ subscriptionId: id })).toEqual([]);
	});

	it("reads one by one only as many posts as the digest shows (10 embeds, 10 links); the rest are counted", async () => {
		const ch = await channel("recheck-cap");
		const id = await addFeed({ channel: ch, tag: "recheck-cap", every: "1h" });
		await cycle();
		const posts = Array.from({ length: 25 }, (_, i) => seed("recheck-cap", `Capped ${i + 1}`));
		await cycle();
		await cycle();
		h.imgpileEmulator.injectFault({ method: "GET", path: "/api/v1/posts", query: { limit: "100" }, status: 500 });
		const sub = await h.store.subscriptions.get(id);
		now = Date.parse(sub?.nextDigestAt ?? "") - 1;
		const before = h.imgpileEmulator.requests.length;
		await cycle(1);
		const reads = h.imgpileEmulator.requests.slice(before).filter((r) => /^\/api\/v1\/posts\/\w+$/.test(r.path));
		expect(reads).toHaveLength(20);
		const [message] = botMessages(ch);
		expect(message?.content).toContain("**25** new posts: #recheck-cap");
		expect(message?.content).toContain("…and 15 more:");
		expect(message?.embeds).toHaveLength(10);
		const read = new Set(reads.map((r) => r.path.split("/").pop()));
		for (const post of posts.filter((p) => !read.has(p.slug))) expect(message?.content).not.toContain(post.slug);
		expect(await h.store.outbox.pending({ subscriptionId: id })).toEqual([]);
	});
});

describe("crash safety", () => {
	/** A live feed on a new channel whose delivery of one new post is killed at `moment`. */
	async function crashedDelivery(tag: string, title: string, moment: "beforeSend" | "afterAccepted"): Promise<Channel> {
		const ch = await channel(`crash-${tag}`);
		await addFeed({ channel: ch, tag });
		await cycle();
		seed(tag, title);
		crash.at = moment;
		await expect(cycle()).rejects.toThrow(new RegExp(`simulated crash ${moment}`));
		return ch;
	}

	it("killed between the outbox write and the Discord send: delivered exactly once after a restart", async () => {
		const ch = await crashedDelivery("crash1", "Survivor", "beforeSend");
		expect(botMessages(ch)).toEqual([]);
		expect(await h.store.outbox.pending()).toMatchObject([{ attempts: 1, state: "pending" }]);
		await h.restartBot();
		await h.bot.tick();
		await cycle();
		expect(titles(ch)).toEqual(["Survivor"]);
		expect(await h.store.outbox.pending()).toEqual([]);
	});

	it("killed after Discord accepted but before done: not posted again after a restart", async () => {
		const ch = await crashedDelivery("crash2", "Only once", "afterAccepted");
		expect(titles(ch)).toEqual(["Only once"]);
		await h.restartBot();
		const report = await h.bot.tick();
		expect(report.recovered).toBe(1);
		await cycle();
		expect(titles(ch)).toEqual(["Only once"]);
		expect(await h.store.outbox.pending()).toEqual([]);
	});

	it("killed after Discord accepted, history unreadable after the restart: the resend's nonce keeps it to one message", async () => {
		const ch = await crashedDelivery("crash4", "Once despite a resend", "afterAccepted");
		// Without Read Message History the channel reads as empty: recovery cannot see the message.
		ch.setPermissionOverwrite(h.discord.botUser, { deny: ["ReadMessageHistory"] });
		await h.restartBot();
		const report = await h.bot.tick();
		expect(report.recovered).toBe(0);
		expect(
			h.discord.requests.filter((r) => r.route === "POST /channels/{channel_id}/messages" && r.path.includes(ch.id)),
		).toHaveLength(2);
		expect(titles(ch)).toEqual(["Once despite a resend"]);
		expect(await h.store.outbox.pending()).toEqual([]);
		ch.removePermissionOverwrite(h.discord.botUser);
	});

	it("a digest killed after Discord accepted it is not sent again", async () => {
		const ch = await channel("crash-digest");
		const id = await addFeed({ channel: ch, tag: "crash3", every: "1h" });
		await cycle();
		seed("crash3", "D1");
		seed("crash3", "D2");
		await cycle();
		crash.at = "afterAccepted";
		await expect(run("digest", { id }).then((ix) => ix.reply?.content)).resolves.toContain("went wrong");
		expect(botMessages(ch)).toHaveLength(1);
		await h.restartBot();
		await h.bot.tick();
		now = Date.parse((await h.store.subscriptions.get(id))?.nextDigestAt ?? "");
		await cycle(1);
		expect(botMessages(ch)).toHaveLength(1);
		expect(await h.store.outbox.pending()).toEqual([]);
	});
});

describe("guild outage", () => {
	it("feeds wait out a guild outage, even a restart without its channels: nothing lost or disabled, delivered once after", async () => {
		const other = h.discord.createGuild({ name: "Outage", owner: h.carol });
		await h.discord.waitFor(() => h.bot.client.guilds.cache.has(other.id), { what: "the Outage guild" });
		const art = await channel("outage-art", { nsfw: true, guild: other });
		const id = await addFeed({ channel: art, tag: "outage", nsfw: true }, h.carol, art);
		await cycle();
		h.discord.guildUnavailable(other);
		await h.discord.waitFor(() => h.bot.client.guilds.cache.get(other.id)?.available === false);
		// The bot restarts during the outage: Discord sends GUILD_DELETE { unavailable } after READY,
		// so the guild's channels are not even in the cache.
		await h.restartBot();
		expect(h.bot.client.channels.cache.has(art.id)).toBe(false);
		seed("outage", "Figure in the dark", { isNsfw: true });
		seed("outage", "Landscape in the dark");
		await cycle();
		expect(botMessages(art)).toEqual([]);
		expect((await h.store.subscriptions.get(id))?.disabledReason).toBeNull();
		expect(await h.store.outbox.pending({ subscriptionId: id })).toHaveLength(2);

		h.discord.guildAvailable(other);
		await h.discord.waitFor(() => h.bot.client.channels.cache.has(art.id), { what: "#outage-art back in the cache" });
		await cycle();
		expect(titles(art)).toEqual(["Figure in the dark", "Landscape in the dark"]);
		await cycle();
		expect(titles(art)).toEqual(["Figure in the dark", "Landscape in the dark"]);
		expect(await h.store.outbox.pending({ subscriptionId: id })).toEqual([]);
	});
});

describe("/feed list, test, pause, resume, remove", () => {
	it("manages a feed", async () => {
		const ch = await channel("managed");
		seed("managed", "Latest managed");
		const id = await addFeed({ channel: ch, tag: "managed", backfill: 1 });
		await cycle();
		expect(titles(ch)).toEqual(["Latest managed"]);

		const test = await run("test", { id });
		expect(test.reply?.content).toBe(`🧪 The latest matching post was sent to <#${ch.id}> as a test.`);
		expect(botMessages(ch).at(-1)?.content).toContain(`Test of feed \`${id}\``);

		const list = await run("list", {});
		const text = JSON.stringify(list.reply?.embeds);
		expect(text).toContain(id);
		expect(text).toContain("#managed");
		expect(text).toContain("live");
		expect(text).toContain("OK, checked");

		expect((await run("pause", { id })).reply?.content).toContain("paused");
		seed("managed", "While paused");
		await cycle();
		expect((await run("resume", { id })).reply?.content).toContain("announces again");
		await cycle();
		seed("managed", "After resume");
		await cycle();
		expect(titles(ch)).toEqual(["Latest managed", "Latest managed", "After resume"]);

		expect((await run("remove", { id })).reply?.content).toContain("removed");
		expect(await h.store.subscriptions.get(id)).toBeUndefined();
		const unknown = await run("pause", { id });
		expect(unknown.reply?.content).toContain("has no feed");
	});
});

describe("failures", () => {
	it("channel deleted: the subscription is disabled, the admin is told once by DM, /feed resume refuses", async () => {
		const ch = await channel("doomed");
		const id = await addFeed({ channel: ch, tag: "doomed" });
		await cycle();
		ch.delete();
		await h.discord.waitFor(() => !h.bot.client.channels.cache.has(ch.id), { what: "the channel gone from the cache" });
		seed("doomed", "Lost in the void");
		await cycle();
		expect((await h.store.subscriptions.get(id))?.disabledReason).toBe("channel_deleted");
		const dm = h.discord.messages(h.discord.dmChannel(h.alice));
		const notices = dm.filter((m) => m.content.includes(`Feed \`${id}\``));
		expect(notices).toHaveLength(1);
		expect(notices[0]?.content).toContain("stopped announcing");
		expect(notices[0]?.content).toContain("the channel was deleted.");
		seed("doomed", "Also lost");
		await cycle();
		await cycle();
		expect(h.discord.messages(h.discord.dmChannel(h.alice)).filter((m) => m.content.includes(id))).toHaveLength(1);
		const list = await run("list", {});
		expect(JSON.stringify(list.reply?.embeds)).toContain("Stopped: the channel was deleted.");
		const resume = await run("resume", { id });
		expect(resume.reply?.content).toContain("no longer exists");
	});

	it("imgpile answers 500 for three polls, then recovers: nothing is lost", async () => {
		const ch = await channel("flaky");
		await addFeed({ channel: ch, tag: "flaky" });
		await cycle();
		seed("flaky", "Flaky 1");
		seed("flaky", "Flaky 2");
		h.imgpileEmulator.injectFault({ method: "GET", path: "/api/v1/posts", status: 500, times: 3 });
		await cycle();
		const list = await run("list", {});
		expect(JSON.stringify(list.reply?.embeds)).toContain("imgpile error at the last check");
		for (let i = 0; i < 12 && titles(ch).length < 2; i++) await cycle();
		expect(feedRequests("flaky").filter((r) => r.status === 500)).toHaveLength(3);
		expect(titles(ch)).toEqual(["Flaky 1", "Flaky 2"]);
		await cycle();
		expect(titles(ch)).toEqual(["Flaky 1", "Flaky 2"]);
	});

	it("imgpile answers 429: polling slows down (and /feed list says so), nothing is lost", async () => {
		const ch = await channel("throttled");
		await addFeed({ channel: ch, tag: "throttled" });
		await cycle();
		seed("throttled", "Worth the wait");
		h.imgpileEmulator.injectFault({
			method: "GET",
			path: "/api/v1/posts",
			status: 429,
			headers: { "Retry-After": "90" },
		});
		const limited = await cycle();
		expect(limited.deferred).toBeGreaterThanOrEqual(1);
		expect(titles(ch)).toEqual([]);
		const list = await run("list", {});
		expect(JSON.stringify(list.reply?.embeds)).toContain("Slowed to one check every 2 min");
		for (let i = 0; i < 6 && titles(ch).length < 1; i++) await cycle();
		expect(titles(ch)).toEqual(["Worth the wait"]);
		await cycle();
		expect(titles(ch)).toEqual(["Worth the wait"]);
	});
});
