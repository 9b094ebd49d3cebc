/**
 * /feed why and /feed preview end to end: the real bot against the Discord and imgpile
 * emulators. Time is a clock the test moves by hand (`cycle()`: one poll period later, one
 * scheduler cycle), so nothing here sleeps.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { NewFeedSubscription } from "../../src/store/index.js";
import type { Channel, Interaction, Json, Message, OptionValue, User } from "../emulators/discord/index.js";
import { feedSteps } from "./feed-world.js";
import { Harness, IMGPILE_USERS, imgpileUsers } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-3b8e1f6a2c9d0457";
const INTERVAL = 60_000;
const HOUR = 3_600_000;

// Ahead of the real clock (which stamps subscriptions' createdAt): a post seeded "now" is newer
// than any feed the test added before it, however long the harness took to start.
let now = Date.now() + HOUR;
const clock = () => now;

let h: Harness;

beforeAll(async () => {
	h = await Harness.start({
		imgpile: { now: clock, users: imgpileUsers({ username: "feedbot", token: FEED_TOKEN }) },
		discord: { rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } } },
		feeds: { now: clock, intervalMs: INTERVAL, token: FEED_TOKEN, pageSize: 10 },
	});
	await h.link(h.alice, IMGPILE_USERS.alice);
});

const { addFeed, cycle, channel } = feedSteps(
	() => h,
	{
		advance: (ms) => {
			now += ms;
		},
	},
	INTERVAL,
);

afterAll(async () => {
	await h?.close();
});

beforeEach(() => {
	h.imgpileEmulator.resetRateLimits();
});

afterEach(async () => {
	// Each test starts without the previous tests' feeds (or their queries' state).
	for (const sub of await h.bot.feeds.list(h.guild.id)) await h.bot.feeds.remove(sub);
	h.discord.assertNoViolations();
});

async function run(
	subcommand: string,
	options: Record<string, OptionValue>,
	{ user = h.alice, from = h.general, locale }: { user?: User; from?: Channel; locale?: string } = {},
): Promise<Interaction> {
	const ix = await h.discord.slash({ user, channel: from, command: "feed", subcommand, options, locale });
	await ix.settled();
	return ix;
}

/** A subscription made through the store, for settings `/feed add` does not offer on this branch (score gates). */
async function storedFeed(
	input: Partial<NewFeedSubscription> & Pick<NewFeedSubscription, "channelId">,
): Promise<string> {
	const sub = await h.store.subscriptions.create({
		guildId: h.guild.id,
		filters: { tag: null, username: null, nsfw: false },
		mode: "live",
		everyMs: null,
		at: null,
		backfill: 0,
		createdBy: h.alice.id,
		...input,
	});
	h.bot.feeds.changed();
	return sub.id;
}

function seed(
	tag: string,
	title: string,
	extra: { username?: string; isNsfw?: boolean; moderation?: "pending" | "rejected"; createdAt?: Date } = {},
) {
	return h.imgpileEmulator.seedPost({ username: extra.username ?? "alice", tags: [tag], title, ...extra });
}

const botMessages = (ch: Channel): Message[] =>
	h.discord.messages(ch).filter((m) => m.author.id === h.discord.botUser.id);

/** The answer of `/feed why`: the embed's lines by feed id. */
function lines(ix: Interaction): Map<string, string> {
	const description = String(ix.reply?.embeds[0]?.description ?? "");
	const out = new Map<string, string>();
	for (const line of description.split("\n")) {
		const id = /^`([A-Za-z0-9_-]+)`/.exec(line)?.[1];
		if (id) out.set(id, line);
	}
	return out;
}

async function why(post: string, options: Record<string, OptionValue> = {}, as: { locale?: string } = {}) {
	const ix = await run("why", { post, ...options }, as);
	expect(ix.ephemeral, ix.describe()).toBe(true);
	return ix;
}

const nextCheck = async (id: string): Promise<string> => {
	const sub = await h.store.subscriptions.get(id);
	const cursor = await h.bot.feeds.cursor(sub as NonNullable<typeof sub>);
	const at = Date.parse(cursor.lastPolledAt ?? "") + h.bot.feeds.status().periodMs;
	return `<t:${Math.floor(at / 1000)}:R>`;
};

describe("/feed why", () => {
	it("announced: a link to the Discord message and when; the other feeds say which filter kept it out", async () => {
		const ch = await channel("why-announced");
		const live = await addFeed({ channel: ch, tag: "whyann" });
		const byCarol = await addFeed({ channel: ch, tag: "whyann", user: "carol" });
		const otherTag = await addFeed({ channel: ch, tag: "whyother" });
		const inGeneral = await addFeed({ channel: h.general, tag: "whygeneral" });
		await cycle();
		const post = seed("whyann", "Announced one");
		await cycle();
		const [message] = botMessages(ch);
		expect(message?.embeds[0]?.title).toBe("Announced one");

		// A post link works as well as its slug.
		const ix = await why(`https://imgpile.com/p/${post.slug}`);
		const embed = ix.reply?.embeds[0] as Json;
		expect(embed.title).toBe("Announced one in this server's feeds");
		expect(embed.url).toBe(`https://imgpile.com/p/${post.slug}`);
		const answer = lines(ix);
		// The link is found now from the message's footer marker; the live sync's record (src/feeds/sync.ts) gives it too.
		expect(answer.get(live)).toMatch(
			new RegExp(
				`^\`${live}\` → <#${ch.id}>: ✅ announced <t:\\d+:R>: https://discord\\.com/channels/${h.guild.id}/${ch.id}/${message?.id}$`,
			),
		);
		expect(answer.get(byCarol)).toBe(
			`\`${byCarol}\` → <#${ch.id}>: 🔍 filtered out: the feed takes posts by carol only, and this one is by alice.`,
		);
		expect(answer.get(otherTag)).toBe(
			`\`${otherTag}\` → <#${ch.id}>: 🔍 filtered out: the feed takes posts tagged #whyother only, and this one has #whyann.`,
		);
		expect(answer.get(inGeneral)).toContain(
			`→ <#${h.general.id}>: 🔍 filtered out: the feed takes posts tagged #whygeneral only`,
		);
		expect(answer.size).toBe(4);

		// An NSFW post: the feeds that leave NSFW out say so.
		const adult = seed("whyann", "Adult one", { isNsfw: true });
		expect(lines(await why(adult.slug, { feed: live })).get(live)).toBe(
			`\`${live}\` → <#${ch.id}>: 🔍 filtered out: the post is NSFW and the feed leaves NSFW posts out.`,
		);
		// Announced comes first: pausing the feed afterwards does not change the answer.
		await run("pause", { id: live });
		expect(lines(await why(post.slug, { feed: live })).get(live)).toContain("✅ announced");
	});

	it("many feeds: one line each, within Discord's 4096 characters, then how many more", async () => {
		const tags = Array.from({ length: 30 }, (_, i) => `${"long".repeat(11)}${String(i).padStart(2, "0")}`);
		const post = h.imgpileEmulator.seedPost({ username: "alice", tags, title: "Many tags" });
		const ids: string[] = [];
		for (let i = 0; i < 25; i++) {
			ids.push(
				await storedFeed({ channelId: h.general.id, filters: { tag: `whymany${i}`, username: null, nsfw: false } }),
			);
		}
		const ix = await why(post.slug);
		const description = String(ix.reply?.embeds[0]?.description);
		expect(description.length).toBeLessThanOrEqual(4096);
		const shown = lines(ix);
		expect(shown.size).toBeGreaterThan(5);
		expect(shown.size).toBeLessThan(25);
		expect([...shown.keys()]).toEqual(ids.slice(0, shown.size));
		for (const line of shown.values()) expect(line).toContain("🔍 filtered out: the feed takes posts tagged #whymany");
		expect(description.split("\n").at(-1)).toBe(`…and ${25 - shown.size} more feeds: name one with \`feed:\`.`);
	});

	it("pending, rejected and private on imgpile", async () => {
		const id = await addFeed({ channel: h.general, tag: "whymod" });
		await cycle();
		const pending = seed("whymod", "Waiting", { moderation: "pending" });
		// Rejected posts are readable by their owner only: alice asks, with her imgpile account linked.
		const rejected = seed("whymod", "Refused", { moderation: "rejected" });
		await cycle();
		expect(lines(await why(pending.slug)).get(id)).toContain(
			"⏳ the post is still waiting for moderation on imgpile; feeds announce it once it is approved.",
		);
		expect(lines(await why(rejected.slug)).get(id)).toContain("🚫 imgpile rejected the post: no feed announces it.");
		// Private: seen as such by its owner (alice), or by anyone holding its share link's key.
		const own = h.imgpileEmulator.seedPost({ username: "alice", tags: ["whymod"], visibility: "private" });
		const bobs = h.imgpileEmulator.seedPost({ username: "bob", tags: ["whymod"], visibility: "private" });
		const notPublic = "🔒 the post is not public on imgpile (private or hidden): no feed announces it.";
		expect(lines(await why(own.slug)).get(id)).toContain(notPublic);
		expect(lines(await why(`https://imgpile.com/p/${bobs.slug}?key=${bobs.access_key}`)).get(id)).toContain(notPublic);
	});

	it("NSFW post, channel no longer age-restricted", async () => {
		const ch = await channel("why-adult", true);
		const id = await addFeed({ channel: ch, tag: "whyadult", nsfw: true });
		await cycle();
		ch.setNsfw(false);
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(ch.id);
			return cached !== undefined && "nsfw" in cached && cached.nsfw === false;
		});
		const post = seed("whyadult", "Figure", { isNsfw: true });
		await cycle();
		expect(botMessages(ch)).toEqual([]);
		expect(lines(await why(post.slug)).get(id)).toBe(
			`\`${id}\` → <#${ch.id}>: 🔞 the post is NSFW and <#${ch.id}> is not age-restricted.`,
		);
	});

	it("paused, and stopped (with why), before anything else", async () => {
		const paused = await addFeed({ channel: h.general, tag: "whystate" });
		const stopped = await addFeed({ channel: h.nsfw, tag: "whystate" });
		await cycle();
		await run("pause", { id: paused });
		await h.store.subscriptions.update(stopped, { disabledReason: "missing_permissions" });
		h.bot.feeds.changed();
		const post = seed("whystate", "While away");
		await cycle();
		const answer = lines(await why(post.slug));
		expect(answer.get(paused)).toContain(`⏸️ the feed is paused (\`/feed resume id:${paused}\` announces again).`);
		expect(answer.get(stopped)).toContain("⛔ the feed stopped: I can no longer send messages or embeds there.");
	});

	it("older than the feed (and not backfilled), queued by a backfill, not seen yet with the next check", async () => {
		const old = seed("whytime", "From yesterday", { createdAt: new Date(Date.now() - 24 * HOUR) });
		const older = seed("whytime", "From the day before", { createdAt: new Date(Date.now() - 48 * HOUR) });
		const id = await addFeed({ channel: h.general, tag: "whytime", backfill: 1 });
		// The backfill queued the latest one; the next cycle delivers it.
		expect(lines(await why(old.slug)).get(id)).toContain("📬 queued, not delivered yet");
		const added = (await h.store.subscriptions.get(id))?.createdAt ?? "";
		const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
		expect(lines(await why(older.slug)).get(id)).toContain(
			`🕰️ older than the feed: posted <t:${seconds(older.created_at)}:f>, before the feed was added (<t:${seconds(added)}:f>), and not among the posts it backfilled.`,
		);
		await cycle();
		const fresh = seed("whytime", "Just now");
		expect(lines(await why(fresh.slug)).get(id)).toContain(
			`👀 not seen yet: the feed checks imgpile next ${await nextCheck(id)}.`,
		);
		await cycle();
		expect(lines(await why(fresh.slug)).get(id)).toContain("✅ announced");
	});

	it("a digest's post: gathered for the next digest", async () => {
		const id = await addFeed({ channel: h.general, tag: "whydigest", every: "6h" });
		await cycle();
		const post = seed("whydigest", "For later");
		await cycle();
		const sub = await h.store.subscriptions.get(id);
		const due = Math.floor(Date.parse(sub?.nextDigestAt ?? "") / 1000);
		expect(lines(await why(post.slug)).get(id)).toContain(`📬 gathered for the next digest (<t:${due}:R>).`);
	});

	it("score gate: below the score, then past the window", async () => {
		const ch = await channel("why-gated");
		const gated = await storedFeed({
			channelId: ch.id,
			filters: { tag: "whygate", username: null, nsfw: false },
			minScore: 5,
			withinMs: 2 * HOUR,
		});
		await cycle();
		const post = seed("whygate", "Not popular");
		await cycle();
		const closes = Math.floor((Date.parse(post.created_at) + 2 * HOUR) / 1000);
		expect(lines(await why(post.slug)).get(gated)).toContain(
			`📉 below the score gate: score 0, the feed announces from 5 (if reached <t:${closes}:R>).`,
		);
		now += 3 * HOUR;
		expect(lines(await why(post.slug)).get(gated)).toContain(
			"⌛ past the score gate: it did not reach 5 within 2 h of being posted.",
		);
	});

	it("in Chinese for a zh-CN user, errors too", async () => {
		const id = await addFeed({ channel: h.general, tag: "whyzh" });
		await cycle();
		const post = seed("whyzh", "你好");
		await cycle();
		const zh = await why(post.slug, {}, { locale: "zh-CN" });
		expect(zh.reply?.embeds[0]?.title).toBe("你好 在本服务器的订阅中");
		expect(lines(zh).get(id)).toMatch(/^`\w+` → <#\d+>：✅ 已播报（<t:\d+:R>）：https:\/\/discord\.com\/channels\//);
		const bad = await run("why", { post: "not a post!" }, { locale: "zh-CN" });
		expect(bad.ephemeral).toBe(true);
		expect(bad.reply?.content).toContain("不是帖子短码，也不是 imgpile 帖子链接");
	});

	it("untrusted text is escaped and pings nobody", async () => {
		const id = await addFeed({ channel: h.general, tag: "whyhostile", user: "bob" });
		await cycle();
		const post = seed("whyhostile", `**Loud** @everyone <@${h.bob.id}> [x](https://evil.example)`);
		const ix = await why(post.slug);
		const title = String(ix.reply?.embeds[0]?.title);
		expect(title).toContain("\\*\\*Loud\\*\\*");
		expect(title).toContain("\\@everyone");
		expect(title).not.toMatch(/(^|[^\\])@everyone/);
		expect(lines(ix).get(id)).toContain("by bob only, and this one is by alice.");
		expect(ix.pings).toEqual([]);
	});

	it("bad input: not a slug or link, unknown post, unknown feed, no feeds", async () => {
		const none = await run("why", { post: "abcd1234" });
		expect(none.ephemeral).toBe(true);
		expect(none.reply?.content).toBe("No feeds in this server yet. Add one with `/feed add`.");
		await addFeed({ channel: h.general, tag: "whybad" });
		const notPost = await run("why", { post: "https://example.com/p/abcd1234" });
		expect(notPost.ephemeral).toBe(true);
		expect(notPost.reply?.content).toContain("That link points to `example.com`, not imgpile.");
		const garbage = await run("why", { post: "hello world" });
		expect(garbage.reply?.content).toContain("`hello world` is not a post slug or an imgpile post link");
		const unknown = await run("why", { post: "zzzz9999" });
		expect(unknown.ephemeral).toBe(true);
		expect(unknown.reply?.content).toBe("imgpile could not find post `zzzz9999`.");
		const noFeed = await run("why", { post: "zzzz9999", feed: "nope" });
		expect(noFeed.ephemeral).toBe(true);
		expect(noFeed.reply?.content).toBe("This server has no feed `nope`. See `/feed list`.");
	});

	it("the feed option autocompletes the server's feed ids", async () => {
		const id = await addFeed({ channel: h.general, tag: "whyauto" });
		const choices = await h.discord.autocomplete({
			user: h.alice,
			channel: h.general,
			command: "feed",
			subcommand: "why",
			options: { post: "abcd1234", feed: "" },
			focused: "feed",
		});
		expect(choices).toEqual([expect.objectContaining({ value: id, name: expect.stringContaining("#whyauto") })]);
	});
});

describe("/feed preview", () => {
	it("a feed's latest post as it would be announced, to the asker alone; nothing is posted", async () => {
		const ch = await channel("preview-feed");
		const id = await addFeed({ channel: ch, tag: "preview" });
		await cycle();
		seed("preview", "Older");
		const latest = seed("preview", "Newest", { username: "bob" });
		const before = h.discord.events.filter((event) => !event.ephemeral).length;
		const ix = await run("preview", { feed: id });
		expect(ix.ephemeral, ix.describe()).toBe(true);
		expect(ix.reply?.content).toBe(
			`👁️ Preview: the latest post for #preview as it would be announced in <#${ch.id}>. Nothing was posted.`,
		);
		expect(ix.reply?.embeds[0]).toMatchObject({
			title: "Newest",
			url: `https://imgpile.com/p/${latest.slug}`,
			author: { name: "bob" },
			footer: { text: "imgpile feed · preview" },
			image: { url: expect.stringContaining(String(latest.media?.[0]?.slug)) },
		});
		const labels = (ix.reply?.components ?? []).flatMap((row) => (row.components as Json[]) ?? []).map((b) => b.label);
		expect(labels).toEqual(["▲ 0", "▼", "Follow bob", "Open on imgpile"]);
		expect(botMessages(ch)).toEqual([]);
		expect(h.discord.events.filter((event) => !event.ephemeral).length).toBe(before);
		// Its buttons work as on an announcement: they act as whoever clicks.
		const upvote = await h.discord.clickButton({ user: h.alice, message: ix.reply as Message, label: "▲ 0" });
		await upvote.settled();
		expect(upvote.reply?.content).toBe(`▲ Upvoted post #${latest.id}. Score: 1.`);
		expect((await h.imgpile.as().getPost(latest.slug)).score).toBe(1);
	});

	it("before /feed add: the chosen filters and style, in the chosen channel", async () => {
		const ch = await channel("preview-filters");
		seed("pvfilter", "By alice");
		const carols = seed("pvfilter", "By carol", { username: "carol" });
		seed("pvfilter", "Newest by alice");
		const ix = await run("preview", { channel: ch, tag: "pvfilter", user: "carol", style: "compact" });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain(`#pvfilter by carol as it would be announced in <#${ch.id}>`);
		expect(JSON.stringify(ix.reply?.embeds ?? []) + (ix.reply?.content ?? "")).toContain(
			`https://imgpile.com/p/${carols.slug}`,
		);
		expect(botMessages(ch)).toEqual([]);
		const zh = await run("preview", { channel: ch, tag: "pvfilter", user: "carol" }, { locale: "zh-CN" });
		expect(zh.ephemeral).toBe(true);
		expect(zh.reply?.content).toBe(
			`👁️ 预览：#pvfilter 来自 carol 的最新帖子在 <#${ch.id}> 中播报时的样子。没有发送任何消息。`,
		);
		expect(zh.reply?.embeds[0]?.footer).toEqual({ text: expect.stringMatching(/ · 预览$/) });
		const nothing = await run("preview", { tag: "pvnothing" });
		expect(nothing.reply?.content).toBe("No post matches #pvnothing yet, so there is nothing to preview.");
	});

	it("the NSFW rule holds: no NSFW filter for a channel that is not age-restricted, no NSFW image where it is not allowed", async () => {
		const refused = await run("preview", { tag: "pvnsfw", nsfw: true });
		expect(refused.ephemeral).toBe(true);
		expect(refused.reply?.content).toBe(
			`NSFW feeds only go to age-restricted channels, and <#${h.general.id}> is not one.`,
		);
		const id = await addFeed({ channel: h.nsfw, tag: "pvnsfw", nsfw: true });
		seed("pvnsfw", "Adult", { isNsfw: true });
		// Asked from #general: the post the feed would announce, without its image.
		const elsewhere = await run("preview", { feed: id });
		expect(elsewhere.ephemeral).toBe(true);
		expect(elsewhere.reply?.embeds[0]?.title).toBe("Adult");
		expect(elsewhere.reply?.embeds[0]).not.toHaveProperty("image");
		expect(elsewhere.reply?.content).toContain(
			"🔞 This channel is not age-restricted, so the NSFW image is left out here",
		);
		// Asked in the age-restricted channel: as it is announced there.
		const there = await run("preview", { feed: id }, { from: h.nsfw });
		expect(there.reply?.embeds[0]).toHaveProperty("image");
		// A feed without NSFW previews the latest safe post, even in an age-restricted channel.
		seed("pvnsfw", "Safe");
		seed("pvnsfw", "Adult again", { isNsfw: true });
		const safe = await run("preview", { tag: "pvnsfw" }, { from: h.nsfw });
		expect(safe.reply?.embeds[0]?.title).toBe("Safe");
		expect(botMessages(h.nsfw)).toEqual([]);
	});
});
