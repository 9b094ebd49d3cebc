/**
 * Where feed announcements go, end to end (the real bot against the Discord and imgpile
 * emulators): forum posts with tags, threads, crossposts in announcement channels within
 * Discord's 10 per hour, role pings, the compact and image styles, crashes in the middle of a
 * forum post or a compact send, and the destination checks. Time is the harness clock (shared
 * with the Discord emulator, so Discord's hour passes with it); nothing sleeps.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TickReport } from "../../src/feeds/index.js";
import type { FeedSubscriptionPatch } from "../../src/store/index.js";
import {
	type Channel,
	CROSSPOST_WINDOW_MS,
	type Json,
	type Message,
	MessageFlags,
	type OptionValue,
} from "../emulators/discord/index.js";
import { CrashSwitch, removeAllFeeds, startFeedHarness } from "./feed-world.js";
import type { Harness } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-3b8e1d6c0a9f2754";
const INTERVAL = 60_000;

let now = Date.now();
const clock = () => now;

/** Where a test wants the next delivery to stop, as if the process were killed there. */
const crash = new CrashSwitch();

let h: Harness;

beforeAll(async () => {
	// Discord's clock is the feeds': its hour of crossposts passes with the test's.
	h = await startFeedHarness({
		clock,
		token: FEED_TOKEN,
		intervalMs: INTERVAL,
		crash,
		discord: { clock: { now: clock } },
	});
});

afterAll(async () => {
	await h?.close();
});

beforeEach(() => {
	h.discord.pings.splice(0);
});

afterEach(async () => {
	await removeAllFeeds(h, crash);
	h.discord.assertNoViolations();
});

async function run(subcommand: string, options: Record<string, OptionValue>) {
	const ix = await h.discord.slash({ user: h.alice, channel: h.general, command: "feed", subcommand, options });
	await ix.settled();
	return ix;
}

/** `/feed add`, then the options `/feed add` does not take yet set on the subscription; its id. */
async function addFeed(options: Record<string, OptionValue>, patch: FeedSubscriptionPatch = {}): Promise<string> {
	const ix = await run("add", options);
	const id = /Feed `([a-z0-9]+)` added/.exec(ix.reply?.content ?? "")?.[1] ?? "";
	expect(id, ix.describe()).toBeTruthy();
	if (Object.keys(patch).length > 0) {
		await h.store.subscriptions.update(id, patch);
		h.bot.feeds.changed();
	}
	return id;
}

async function cycle(ms = INTERVAL): Promise<TickReport> {
	now += ms;
	return h.bot.tick();
}

/** A channel of `type`, once the bot's cache has it. */
async function channel(name: string, type: "text" | "announcement" | "forum" = "text", nsfw = false): Promise<Channel> {
	const created = h.guild.createChannel({ name, type, nsfw });
	await h.discord.waitFor(() => h.bot.client.channels.cache.has(created.id), { what: `#${name} in the bot's cache` });
	return created;
}

/** A thread of `parent`, once the bot's cache has it. */
async function thread(parent: Channel, name: string): Promise<Channel> {
	const created = parent.createThread({ name, owner: h.alice });
	await h.discord.waitFor(() => h.bot.client.channels.cache.has(created.id), {
		what: `thread ${name} in the bot's cache`,
	});
	return created;
}

const botMessages = (ch: Channel): Message[] =>
	h.discord.messages(ch).filter((m) => m.author.id === h.discord.botUser.id);
const forumPosts = (forum: Channel): Channel[] =>
	[...h.discord.world.channels.values()].filter((c) => c.parentId === forum.id && !c.deleted);
const pingsIn = (ch: Channel) => h.discord.pings.filter((p) => p.channelId === ch.id).map((p) => `${p.target}:${p.id}`);

function seed(tag: string, title: string | null, extra: { tags?: string[]; isNsfw?: boolean } = {}) {
	return h.imgpileEmulator.seedPost({
		username: "alice",
		tags: [tag, ...(extra.tags ?? [])],
		title: title ?? undefined,
		isNsfw: extra.isNsfw,
	});
}

describe("forum and media channels", () => {
	it("each announcement is a forum post titled after the imgpile post, its preview the first message, matching tags applied", async () => {
		const forum = await channel("art-forum", "forum");
		const [cats, art] = forum.setTags(["Cats", "ART", "Dogs"]);
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(forum.id);
			return cached !== undefined && "availableTags" in cached && cached.availableTags.length === 3;
		});
		const id = await addFeed({ channel: forum, tag: "fcats" });
		await cycle();
		const tagged = seed("fcats", "A cat, drawn", { tags: ["cats", "art"] });
		const untitled = seed("fcats", null);
		const long = seed("fcats", "L".repeat(150));
		await cycle();
		const posts = forumPosts(forum);
		expect(posts.map((p) => p.name)).toEqual(["A cat, drawn", "Post by alice", `${"L".repeat(99)}…`]);
		expect(posts[0]?.appliedTags).toEqual([cats?.id, art?.id]);
		expect(posts[1]?.appliedTags).toEqual([]);
		const first = h.discord.messages(posts[0] as Channel)[0];
		expect(first?.id).toBe(posts[0]?.id);
		expect(first?.embeds[0]).toMatchObject({
			title: "A cat, drawn",
			footer: { text: `imgpile feed · ${id}:${tagged.id}` },
			image: { url: expect.stringContaining(`${tagged.media?.[0]?.slug}`) },
		});
		expect(h.discord.messages(posts[1] as Channel)[0]?.embeds[0]?.footer).toEqual({
			text: `imgpile feed · ${id}:${untitled.id}`,
		});
		expect(h.discord.messages(posts[2] as Channel)[0]?.embeds[0]?.footer).toEqual({
			text: `imgpile feed · ${id}:${long.id}`,
		});
		expect(await h.store.outbox.pending()).toEqual([]);
	});

	it("a forum without tags costs no post reads; an imgpile failure posts without tags", async () => {
		const plain = await channel("plain-forum", "forum");
		const plainId = await addFeed({ channel: plain, tag: "fplain" });
		await cycle();
		const reads = () => h.imgpileEmulator.requests.filter((r) => r.path.startsWith("/api/v1/posts/")).length;
		const before = reads();
		seed("fplain", "No tags here", { tags: ["cats"] });
		await cycle();
		expect(forumPosts(plain).map((p) => p.name)).toEqual(["No tags here"]);
		expect(reads()).toBe(before);
		// /feed test in a forum: a post of its own.
		expect((await run("test", { id: plainId })).reply?.content).toContain("was sent to");
		expect(forumPosts(plain).map((p) => p.name)).toEqual(["No tags here", "No tags here"]);

		const tagged = await channel("tagged-forum", "forum");
		tagged.setTags(["Cats"]);
		await addFeed({ channel: tagged, tag: "ffail" });
		await cycle();
		seed("ffail", "Tags unknown", { tags: ["cats"] });
		h.imgpileEmulator.injectFault({ method: "GET", path: /^\/api\/v1\/posts\/[^/]+$/, status: 404, times: 1 });
		await cycle();
		h.imgpileEmulator.clearFaults();
		expect(forumPosts(tagged).map((p) => [p.name, p.appliedTags])).toEqual([["Tags unknown", []]]);
	});

	it("a title changed on imgpile renames the forum post and edits its first message", async () => {
		const forum = await channel("rename-forum", "forum");
		await addFeed({ channel: forum, tag: "frename" });
		await cycle();
		const post = seed("frename", "First title");
		await cycle();
		h.imgpileEmulator.editPost(post.slug, { title: "Better title" });
		await cycle();
		const [renamed] = forumPosts(forum);
		expect(renamed?.name).toBe("Better title");
		expect(botMessages(renamed as Channel)[0]?.embeds[0]?.title).toBe("Better title");
	});

	it("a post removed on imgpile takes its forum post with it (Manage Threads), else the post's message", async () => {
		const forum = await channel("sync-forum", "forum");
		await addFeed({ channel: forum, tag: "fgone" });
		await cycle();
		const first = seed("fgone", "Soon gone");
		seed("fgone", "Stays");
		await cycle();
		expect(forumPosts(forum).map((p) => p.name)).toEqual(["Soon gone", "Stays"]);
		// Without Manage Threads the bot can delete its own message, not the thread.
		h.imgpileEmulator.removePost(first.slug);
		await cycle();
		const [kept, stays] = forumPosts(forum);
		expect([kept?.name, stays?.name]).toEqual(["Soon gone", "Stays"]);
		expect(botMessages(kept as Channel)).toEqual([]);

		forum.setPermissionOverwrite(h.discord.botUser, { allow: ["ManageThreads"] });
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(forum.id);
			return cached !== undefined && "permissionOverwrites" in cached && cached.permissionOverwrites.cache.size > 0;
		});
		const second = seed("fgone", "Gone with its post");
		seed("fgone", "Newest");
		await cycle();
		h.imgpileEmulator.removePost(second.slug);
		await cycle();
		expect(forumPosts(forum).map((p) => p.name)).toEqual(["Soon gone", "Stays", "Newest"]);
	});

	it("killed before or after Discord accepted a forum post: exactly one post after a restart", async () => {
		const forum = await channel("crash-forum", "forum");
		await addFeed({ channel: forum, tag: "fcrash" });
		await cycle();
		for (const moment of ["beforeSend", "afterAccepted"] as const) {
			seed("fcrash", `Crash ${moment}`);
			crash.at = moment;
			await expect(cycle()).rejects.toThrow(/simulated crash/);
			await h.restartBot();
			await h.bot.tick();
			await cycle();
		}
		expect(forumPosts(forum).map((p) => p.name)).toEqual(["Crash beforeSend", "Crash afterAccepted"]);
		expect(await h.store.outbox.pending()).toEqual([]);
	});
	it("a digest in a forum is one post of its own; killed after Discord accepted it, not posted again", async () => {
		const forum = await channel("digest-forum", "forum");
		const id = await addFeed({ channel: forum, tag: "fdigest", every: "1h" });
		await cycle();
		seed("fdigest", "Digested 1");
		seed("fdigest", "Digested 2");
		await cycle();
		crash.at = "afterAccepted";
		expect((await run("digest", { id })).reply?.content).toContain("went wrong");
		expect(forumPosts(forum).map((p) => p.name)).toEqual(["2 new posts: #fdigest"]);
		await h.restartBot();
		const report = await h.bot.tick();
		expect(report.recovered).toBe(2);
		now = Date.parse((await h.store.subscriptions.get(id))?.nextDigestAt ?? "");
		await cycle(1);
		expect(forumPosts(forum)).toHaveLength(1);
		expect(await h.store.outbox.pending()).toEqual([]);
	});
});

describe("threads", () => {
	it("a feed posts into an existing thread; NSFW follows the parent; an archived thread reopens with the post", async () => {
		const parent = await channel("thread-parent");
		const topic = await thread(parent, "feed-topic");
		const adult = await thread(h.nsfw, "adult-topic");
		await addFeed({ channel: topic, tag: "thr" });
		await addFeed({ channel: adult, tag: "thr", nsfw: true });
		// The parent is not age-restricted: an NSFW feed may not go to its thread.
		const refused = await run("add", { channel: topic, tag: "thr2", nsfw: true });
		expect(refused.reply?.content).toContain("NSFW feeds only go to age-restricted channels");
		await cycle();
		seed("thr", "Safe one");
		seed("thr", "Spicy one", { isNsfw: true });
		await cycle();
		expect(botMessages(topic).map((m) => m.embeds[0]?.title)).toEqual(["Safe one"]);
		expect(botMessages(adult).map((m) => m.embeds[0]?.title)).toEqual(["Safe one", "Spicy one"]);
		expect(botMessages(parent)).toEqual([]);

		topic.setArchived(true);
		seed("thr", "Wakes it");
		await cycle();
		expect(botMessages(topic).map((m) => m.embeds[0]?.title)).toEqual(["Safe one", "Wakes it"]);
		expect(topic.thread?.archived).toBe(false);
	});

	it("a locked thread stops the feed and the admin is told once; a deleted thread too", async () => {
		const parent = await channel("lock-parent");
		const locked = await thread(parent, "to-lock");
		const doomed = await thread(parent, "to-delete");
		const lockedId = await addFeed({ channel: locked, tag: "lock" });
		const doomedId = await addFeed({ channel: doomed, tag: "lock" });
		await cycle();
		locked.setLocked(true);
		doomed.delete();
		seed("lock", "Nobody hears");
		await cycle();
		seed("lock", "Still nobody");
		await cycle();
		expect((await h.store.subscriptions.get(lockedId))?.disabledReason).toBe("thread_locked");
		expect((await h.store.subscriptions.get(doomedId))?.disabledReason).toBe("channel_deleted");
		const dm = h.discord.messages(h.discord.dmChannel(h.alice));
		const notices = dm.filter((m) => m.content.includes(`Feed \`${lockedId}\``));
		expect(notices).toHaveLength(1);
		expect(notices[0]?.content).toContain("the thread was locked");
		expect(dm.filter((m) => m.content.includes(`Feed \`${doomedId}\``))).toHaveLength(1);
		expect(botMessages(locked)).toEqual([]);
		// /feed resume checks again: the thread is still locked.
		const resume = await run("resume", { id: lockedId });
		expect(resume.reply?.content).toBe(
			`<#${locked.id}> is a locked thread: I cannot post there. Unlock it, or pick another channel.`,
		);
	});
});

describe("announcement channels: publish", () => {
	it("crossposts each announcement to followers; past 10 an hour: sent, not published, until when is kept; then publishes again", async () => {
		const news = await channel("pub-news", "announcement");
		const follower = h.discord.createGuild({ name: "Follower", owner: h.bob }).createChannel({ name: "from-news" });
		news.follow(follower);
		const id = await addFeed({ channel: news, tag: "pub" }, { publish: true });
		await cycle();
		for (let i = 1; i <= 11; i++) seed("pub", `News ${i}`);
		await cycle();
		const published = (m: Message) => (m.flags & MessageFlags.Crossposted) !== 0;
		const sent = botMessages(news);
		expect(sent.map((m) => m.embeds[0]?.title)).toEqual(Array.from({ length: 11 }, (_, i) => `News ${i + 1}`));
		expect(sent.map(published)).toEqual([...Array(10).fill(true), false]);
		expect(h.discord.messages(follower)).toHaveLength(10);
		const limited = (await h.store.subscriptions.get(id))?.publishLimitedUntil;
		// Discord's wait: until the first crosspost of the hour (made now, on the shared clock) is an hour old.
		expect(Date.parse(limited ?? "")).toBeGreaterThanOrEqual(now + CROSSPOST_WINDOW_MS);
		expect(Date.parse(limited ?? "")).toBeLessThan(now + CROSSPOST_WINDOW_MS + 5_000);
		// The bot counted its own 10: the 11th was not even tried (no 429 from Discord).
		const crossposts = () => h.discord.requests.filter((r) => r.route?.endsWith("/crosspost")).length;
		expect(h.discord.requests.filter((r) => r.route?.endsWith("/crosspost") && r.status === 429)).toEqual([]);
		const tried = crossposts();
		expect(tried).toBe(10);
		seed("pub", "News 12");
		await cycle();
		expect(crossposts()).toBe(tried);
		expect(botMessages(news).map(published).at(-1)).toBe(false);

		now = Date.parse(limited ?? "") + 1;
		seed("pub", "News 13");
		await cycle();
		expect(botMessages(news).map(published).at(-1)).toBe(true);
		expect((await h.store.subscriptions.get(id))?.publishLimitedUntil).toBeNull();
		expect(h.discord.messages(follower)).toHaveLength(11);
	});

	it("people used the hour's crossposts: Discord's 429 (49 minutes) is not waited out; the message goes unpublished", async () => {
		const news = await channel("pub-busy", "announcement");
		const id = await addFeed({ channel: news, tag: "pubbusy" }, { publish: true });
		await cycle();
		// Ten crossposts by the channel's members ten minutes ago: the bot cannot know.
		const theirs = now - 10 * 60_000;
		for (let i = 0; i < 10; i++) news.crosspostTimes.push(theirs);
		seed("pubbusy", "Too busy to publish");
		await cycle();
		expect(botMessages(news).map((m) => m.flags & MessageFlags.Crossposted)).toEqual([0]);
		const tried = h.discord.requests.filter((r) => r.route?.endsWith("/crosspost") && r.path.includes(news.id));
		expect(tried.map((r) => r.status)).toEqual([429]);
		const limited = Date.parse((await h.store.subscriptions.get(id))?.publishLimitedUntil ?? "");
		// Until their crossposts are an hour old, as Discord said.
		expect(limited).toBeGreaterThanOrEqual(theirs + CROSSPOST_WINDOW_MS);
		expect(limited).toBeLessThan(theirs + CROSSPOST_WINDOW_MS + 5_000);
		expect(await h.store.outbox.pending()).toEqual([]);
	});

	it("killed after Discord accepted, before the crosspost: published once after a restart", async () => {
		const news = await channel("pub-crash", "announcement");
		await addFeed({ channel: news, tag: "pubcrash" }, { publish: true });
		await cycle();
		seed("pubcrash", "Published once");
		crash.at = "afterAccepted";
		await expect(cycle()).rejects.toThrow(/simulated crash/);
		expect(botMessages(news).map((m) => m.flags & MessageFlags.Crossposted)).toEqual([0]);
		await h.restartBot();
		await h.bot.tick();
		expect(botMessages(news).map((m) => m.flags & MessageFlags.Crossposted)).toEqual([MessageFlags.Crossposted]);
		expect(await h.store.outbox.pending()).toEqual([]);
	});
});

describe("role ping", () => {
	it("pings exactly that role, once per announcement and per digest; nothing in a post's text pings", async () => {
		const fans = h.guild.createRole({ name: "fans", mentionable: true });
		const other = h.guild.createRole({ name: "other", mentionable: true });
		const ch = await channel("ping-live");
		const compact = await channel("ping-compact");
		const digestCh = await channel("ping-digest");
		await addFeed({ channel: ch, tag: "ping" }, { mentionRoleId: fans.id });
		// Compact puts the post's title in the content: still only the role pings.
		await addFeed({ channel: compact, tag: "ping" }, { mentionRoleId: fans.id, style: "compact" });
		const digestId = await addFeed({ channel: digestCh, tag: "ping", every: "1h" }, { mentionRoleId: fans.id });
		await cycle();
		seed("ping", `@everyone <@&${other.id}> <@${h.bob.id}> look`);
		seed("ping", "Second");
		await cycle();
		expect(pingsIn(ch)).toEqual([`role:${fans.id}`, `role:${fans.id}`]);
		expect(botMessages(ch).map((m) => m.content)).toEqual([`<@&${fans.id}>`, `<@&${fans.id}>`]);
		expect(pingsIn(compact)).toEqual([`role:${fans.id}`, `role:${fans.id}`]);
		expect(botMessages(compact)[0]?.content.startsWith(`<@&${fans.id}> **[\\@everyone \\<\\@&`)).toBe(true);
		const digest = await run("digest", { id: digestId });
		expect(digest.reply?.content).toContain("digest of 2 posts");
		expect(pingsIn(digestCh)).toEqual([`role:${fans.id}`]);
	});

	it("a role the bot cannot ping (not mentionable, no Mention Everyone) is refused with its name; publish outside announcement channels too", async () => {
		const quiet = h.guild.createRole({ name: "quiet" });
		const ch = await channel("ping-refused");
		const id = await addFeed({ channel: ch, tag: "quiet" }, { mentionRoleId: quiet.id, paused: true });
		const refused = await run("resume", { id });
		expect(refused.ephemeral).toBe(true);
		expect(refused.reply?.content).toContain(`I cannot ping <@&${quiet.id}> in <#${ch.id}>`);
		await h.store.subscriptions.update(id, { mentionRoleId: h.guild.id });
		expect((await run("resume", { id })).reply?.content).toContain("Feeds do not ping @everyone");
		await h.store.subscriptions.update(id, { mentionRoleId: null, publish: true });
		expect((await run("resume", { id })).reply?.content).toContain(
			`\`publish\` crossposts to following servers, which only announcement channels have, and <#${ch.id}> is not one.`,
		);
		const zh = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "feed",
			subcommand: "resume",
			options: { id },
			locale: "zh-CN",
		});
		await zh.settled();
		expect(zh.reply?.content).toContain("只有公告频道才有此功能");
	});
});

describe("styles", () => {
	it("compact: one line with the link and no preview; image: the image with a small caption; digests alike", async () => {
		const compact = await channel("style-compact");
		const image = await channel("style-image");
		const compactDigest = await channel("style-compact-digest");
		const imageDigest = await channel("style-image-digest");
		const c = await addFeed({ channel: compact, tag: "style" }, { style: "compact" });
		await addFeed({ channel: image, tag: "style" }, { style: "image" });
		const cd = await addFeed({ channel: compactDigest, tag: "style", every: "1h" }, { style: "compact" });
		const id = await addFeed({ channel: imageDigest, tag: "style", every: "1h" }, { style: "image" });
		await cycle();
		const post = seed("style", "Styled [post] *here*");
		const other = seed("style", "Another");
		await cycle();
		const [line] = botMessages(compact);
		expect(line?.embeds).toEqual([]);
		expect(line?.components).toEqual([]);
		expect(line?.content).toBe(
			`**[Styled \\[post\\] \\*here\\*](<https://imgpile.com/p/${post.slug}>)** · by alice · ▲ 0\n-# imgpile feed · ${c}:${post.id}`,
		);
		const [picture] = botMessages(image);
		expect(picture?.components).toEqual([]);
		expect(picture?.embeds).toEqual([
			{
				url: `https://imgpile.com/p/${post.slug}`,
				image: { url: expect.stringContaining(`${post.media?.[0]?.slug}`) },
				footer: { text: expect.stringMatching(/^Styled \\\[post\\\] \\\*here\\\* by alice · imgpile feed · /) },
			},
		]);
		await run("digest", { id: cd });
		const [list] = botMessages(compactDigest);
		expect(list?.embeds).toEqual([]);
		const lines = list?.content.split("\n") ?? [];
		expect(lines).toHaveLength(4);
		// Best score first, then newest: both at 0, so the newer one leads.
		expect(lines[1]).toContain(`(<https://imgpile.com/p/${other.slug}>)`);
		expect(lines[2]).toContain(`(<https://imgpile.com/p/${post.slug}>)`);
		expect(lines[3]).toMatch(new RegExp(`^-# imgpile digest · d:${cd}:`));
		await run("digest", { id });
		const [gallery] = botMessages(imageDigest);
		expect(gallery?.embeds.map((e: Json) => Object.keys(e).sort())).toEqual([
			["footer", "image", "url"],
			["footer", "image", "url"],
		]);
	});

	it("killed after Discord accepted a compact announcement: found by its marker line, not sent again", async () => {
		const ch = await channel("compact-crash");
		await addFeed({ channel: ch, tag: "ccrash" }, { style: "compact" });
		await cycle();
		seed("ccrash", "Compact once");
		crash.at = "afterAccepted";
		await expect(cycle()).rejects.toThrow(/simulated crash/);
		await h.restartBot();
		const report = await h.bot.tick();
		expect(report.recovered).toBe(1);
		await cycle();
		expect(botMessages(ch)).toHaveLength(1);
		expect(await h.store.outbox.pending()).toEqual([]);
	});
});

describe("/feed add and /feed edit with the options", () => {
	it("style, mention and publish given at /feed add take effect; refusals name the role or the channel", async () => {
		const news = await channel("opt-news", "announcement");
		const fans = h.guild.createRole({ name: "opt-fans", mentionable: true });
		const quiet = h.guild.createRole({ name: "opt-quiet" });
		const id = await addFeed({ channel: news, tag: "opts", style: "compact", mention: fans, publish: true });
		expect(await h.store.subscriptions.get(id)).toMatchObject({
			style: "compact",
			mentionRoleId: fans.id,
			publish: true,
		});
		await cycle();
		seed("opts", "With options");
		await cycle();
		const [sent] = botMessages(news);
		expect(sent?.content.startsWith(`<@&${fans.id}> **[With options]`)).toBe(true);
		expect((sent?.flags ?? 0) & MessageFlags.Crossposted).toBe(MessageFlags.Crossposted);
		expect(pingsIn(news)).toEqual([`role:${fans.id}`]);

		const plain = await channel("opt-plain");
		const refusals = [
			[{ channel: plain, tag: "opts2", mention: quiet }, `I cannot ping <@&${quiet.id}> in <#${plain.id}>`],
			[{ channel: plain, tag: "opts2", publish: true }, "only announcement channels have"],
		] as const;
		for (const [options, text] of refusals) {
			const refused = await run("add", options);
			expect(refused.ephemeral).toBe(true);
			expect(refused.reply?.content).toContain(text);
		}
		// /feed edit checks the same: moving a publishing feed to a plain channel is refused.
		const moved = await run("edit", { id, channel: plain });
		expect(moved.reply?.content).toContain("only announcement channels have");
		expect((await h.store.subscriptions.get(id))?.channelId).toBe(news.id);
		// With Mention Everyone in the channel, a role that is not mentionable pings all the same.
		plain.setPermissionOverwrite(h.discord.botUser, { allow: ["MentionEveryone"] });
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(plain.id);
			return cached !== undefined && "permissionOverwrites" in cached && cached.permissionOverwrites.cache.size > 0;
		});
		await addFeed({ channel: plain, tag: "opts3", mention: quiet });
		await cycle();
		seed("opts3", "Quiet role pinged");
		await cycle();
		expect(pingsIn(plain)).toEqual([`role:${quiet.id}`]);
		expect(await h.store.subscriptions.listAll()).toHaveLength(2);
	});
});

describe("destination checks", () => {
	it("a forum needs Create Posts and Send Messages in Threads; a thread needs Send Messages in Threads", async () => {
		const forum = await channel("closed-forum", "forum");
		forum.setPermissionOverwrite(h.discord.botUser, { deny: ["SendMessages", "SendMessagesInThreads"] });
		const parent = await channel("closed-parent");
		const topic = await thread(parent, "closed-topic");
		parent.setPermissionOverwrite(h.discord.botUser, { deny: ["SendMessagesInThreads"] });
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(parent.id);
			return cached !== undefined && "permissionOverwrites" in cached && cached.permissionOverwrites.cache.size > 0;
		});
		await h.discord.waitFor(() => {
			const cached = h.bot.client.channels.cache.get(forum.id);
			return cached !== undefined && "permissionOverwrites" in cached && cached.permissionOverwrites.cache.size > 0;
		});
		expect((await run("add", { channel: forum, tag: "closed" })).reply?.content).toBe(
			`I am missing permissions in <#${forum.id}>: Create Posts, Send Messages in Threads. Give me those there, then try again.`,
		);
		expect((await run("add", { channel: topic, tag: "closed" })).reply?.content).toBe(
			`I am missing permissions in <#${topic.id}>: Send Messages in Threads. Give me those there, then try again.`,
		);
		expect(await h.store.subscriptions.listAll()).toEqual([]);
	});
});
