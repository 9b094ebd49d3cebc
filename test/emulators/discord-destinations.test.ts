/**
 * The Discord emulator's feed destinations, against discord.js's REST client: forum and media
 * posts (tags, Create Posts, REQUIRE_TAG, name limits), sending into threads (Send Messages in
 * Threads, locked, archived), announcement crossposts (permissions, CROSSPOSTED, followers, 10 per
 * hour per channel), and role pings by `allowed_mentions.roles`.
 */
import { type APIMessage, type APIThreadChannel, RateLimitError, REST, Routes } from "discord.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
	type Channel,
	CROSSPOST_WINDOW_MS,
	type DiscordEmulator,
	type Guild,
	ManualClock,
	MessageFlags,
	startDiscordEmulator,
	type User,
} from "./discord/index.js";
import { refusal } from "./discord/testing.js";

let discord: DiscordEmulator;
let clock: ManualClock;
let rest: REST;
let guild: Guild;
let alice: User;

const FULL = ["ViewChannel", "SendMessages", "SendMessagesInThreads", "EmbedLinks", "ReadMessageHistory"] as const;

beforeAll(async () => {
	clock = new ManualClock();
	discord = await startDiscordEmulator({
		clock,
		rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } },
	});
	alice = discord.createUser({ username: "alice" });
	guild = discord.createGuild({ name: "Destinations", owner: alice });
	// A long crosspost wait is an error here, not an hour of sleep.
	rest = new REST({ api: discord.restUrl, rejectOnRateLimit: (data) => data.retryAfter > 60_000 }).setToken(
		discord.botToken,
	);
});

afterAll(async () => {
	await discord?.close();
});

beforeEach(() => {
	guild.setBotPermissions([...FULL]);
});

const post = (forum: Channel, body: Record<string, unknown>) =>
	rest.post(Routes.threads(forum.id), { body }) as Promise<APIThreadChannel & { message: APIMessage }>;
const send = (channel: Channel, body: Record<string, unknown>) =>
	rest.post(Routes.channelMessages(channel.id), { body }) as Promise<APIMessage>;

describe("forum and media posts", () => {
	it("a post is a thread with its first message (same id), its tags, Create Posts needed", async () => {
		const forum = guild.createChannel({ name: "art", type: "forum" });
		const [cats, dogs] = forum.setTags(["Cats", "Dogs"]);
		const read = (await rest.get(Routes.channel(forum.id))) as { available_tags: Array<{ id: string; name: string }> };
		expect(read.available_tags.map((tag) => tag.name)).toEqual(["Cats", "Dogs"]);

		const created = await post(forum, {
			name: "A cat",
			message: { content: "hello", embeds: [{ title: "A cat" }], allowed_mentions: { parse: [] } },
			applied_tags: [cats?.id],
		});
		expect(created).toMatchObject({ type: 11, parent_id: forum.id, name: "A cat", applied_tags: [cats?.id] });
		expect(created.message).toMatchObject({ id: created.id, channel_id: created.id, content: "hello" });
		const thread = discord.world.channels.get(created.id) as Channel;
		expect(discord.messages(thread).map((m) => m.content)).toEqual(["hello"]);
		// Found again through the guild's active threads, and archived ones through the forum's list.
		const active = (await rest.get(Routes.guildActiveThreads(guild.id))) as { threads: Array<{ id: string }> };
		expect(active.threads.map((t) => t.id)).toContain(created.id);
		thread.setArchived(true);
		const archived = (await rest.get(Routes.channelThreads(forum.id, "public"))) as { threads: Array<{ id: string }> };
		expect(archived.threads.map((t) => t.id)).toEqual([created.id]);

		const unknownTag = await refusal(
			post(forum, { name: "x", message: { content: "x" }, applied_tags: ["1234567890123456789"] }),
		);
		expect(unknownTag.code).toBe(50035);
		const tooLong = await refusal(post(forum, { name: "x".repeat(101), message: { content: "x" } }));
		expect(tooLong.code).toBe(50035);
		expect(discord.takeViolations().map((v) => v.kind)).toEqual(["validation", "validation"]);

		forum.setPermissionOverwrite(discord.botUser, { deny: ["SendMessages"] });
		const noCreatePosts = await refusal(
			post(forum, { name: "x", message: { content: "x" }, applied_tags: [dogs?.id] }),
		);
		expect(noCreatePosts.code).toBe(50013);
		expect(discord.takeViolations().map((v) => v.kind)).toEqual(["permission"]);
		forum.removePermissionOverwrite(discord.botUser);

		// A forum holds posts only.
		const direct = await refusal(send(forum, { content: "x" }));
		expect(direct.code).toBe(50008);
	});

	it("a forum that requires a tag refuses a post without one (40067); media channels take posts too", async () => {
		const forum = guild.createChannel({ name: "strict", type: "forum" });
		const [only] = forum.setTags(["Only"], { requireTag: true });
		const untagged = await refusal(post(forum, { name: "x", message: { content: "x" } }));
		expect(untagged.code).toBe(40067);
		await post(forum, { name: "tagged", message: { content: "x" }, applied_tags: [only?.id] });

		const media = guild.createChannel({ name: "gallery", type: "media" });
		const made = await post(media, {
			name: "pic",
			message: { embeds: [{ image: { url: "https://imgpile.com/a.png" } }] },
		});
		expect(made.parent_id).toBe(media.id);
	});
});

describe("sending into threads", () => {
	it("needs Send Messages in Threads (not Send Messages); an archived thread is unarchived by a post; a locked one refuses", async () => {
		const parent = guild.createChannel({ name: "chat" });
		const thread = parent.createThread({ name: "topic", owner: alice });
		parent.setPermissionOverwrite(discord.botUser, { deny: ["SendMessages"] });
		await send(thread, { content: "in the thread" });
		parent.setPermissionOverwrite(discord.botUser, { deny: ["SendMessagesInThreads"] });
		expect((await refusal(send(thread, { content: "no" }))).code).toBe(50013);
		expect(discord.takeViolations().map((v) => v.kind)).toEqual(["permission"]);
		parent.removePermissionOverwrite(discord.botUser);

		thread.setArchived(true);
		await send(thread, { content: "wakes it up" });
		expect(thread.thread?.archived).toBe(false);

		thread.setLocked(true);
		thread.setArchived(true);
		expect((await refusal(send(thread, { content: "locked out" }))).code).toBe(160005);
		expect(thread.thread?.archived).toBe(true);
		guild.setBotPermissions([...FULL, "ManageThreads"]);
		await send(thread, { content: "a moderator may" });
		expect(discord.messages(thread).map((m) => m.content)).toEqual(["in the thread", "wakes it up", "a moderator may"]);
	});
});

describe("announcement crossposts", () => {
	it("publishes the bot's own message to followers (CROSSPOSTED), once; others' need Manage Messages", async () => {
		const news = guild.createChannel({ name: "news", type: "announcement" });
		const elsewhere = discord.createGuild({ name: "Follower", owner: alice }).createChannel({ name: "feed" });
		news.follow(elsewhere);
		const sent = await send(news, { content: "big news" });
		const published = (await rest.post(Routes.channelMessageCrosspost(news.id, sent.id))) as APIMessage;
		expect(published.flags).toBe(MessageFlags.Crossposted);
		expect(discord.messages(elsewhere)).toMatchObject([{ content: "big news", flags: MessageFlags.IsCrosspost }]);
		const again = await refusal(rest.post(Routes.channelMessageCrosspost(news.id, sent.id)));
		expect(again.code).toBe(40033);

		const theirs = await discord.postUserMessage({ user: alice, channel: news, content: "mine" });
		expect((await refusal(rest.post(Routes.channelMessageCrosspost(news.id, theirs.id)))).code).toBe(50013);
		discord.takeViolations();
		const plain = await send(guild.createChannel({ name: "plain" }), { content: "x" });
		expect((await refusal(rest.post(Routes.channelMessageCrosspost(plain.channel_id, plain.id)))).code).toBe(50024);
		discord.takeViolations();
	});

	it("10 crossposts per hour per channel: the 11th is a shared 429 with the real wait, then it works again", async () => {
		const news = guild.createChannel({ name: "busy-news", type: "announcement" });
		const ids: string[] = [];
		for (let i = 0; i < 11; i++) ids.push((await send(news, { content: `n${i}` })).id);
		for (const id of ids.slice(0, 10)) await rest.post(Routes.channelMessageCrosspost(news.id, id));
		clock.advance(10 * 60_000);
		const limited = await rest.post(Routes.channelMessageCrosspost(news.id, ids[10] ?? "")).catch((e: unknown) => e);
		expect(limited).toBeInstanceOf(RateLimitError);
		// Discord's wait: until the oldest of the hour's crossposts leaves the window (50 minutes).
		expect((limited as RateLimitError).retryAfter).toBeGreaterThan(49 * 60_000);
		expect((limited as RateLimitError).scope).toBe("shared");
		expect(discord.takeViolations()).toEqual([]);
		clock.advance(CROSSPOST_WINDOW_MS);
		await rest.post(Routes.channelMessageCrosspost(news.id, ids[10] ?? ""));
		expect(discord.messages(news).filter((m) => m.flags & MessageFlags.Crossposted)).toHaveLength(11);
	});
});

describe("role pings", () => {
	it("allowed_mentions.roles pings that role only; a role not mentionable needs Mention Everyone, else no ping", async () => {
		const fans = guild.createRole({ name: "fans", mentionable: true });
		const quiet = guild.createRole({ name: "quiet" });
		const ch = guild.createChannel({ name: "pings" });
		discord.pings.splice(0);
		const sent = await send(ch, {
			content: `<@&${fans.id}> <@&${quiet.id}> @everyone <@${alice.id}>`,
			allowed_mentions: { parse: [], roles: [fans.id] },
		});
		expect(sent.mention_roles).toEqual([fans.id]);
		expect(discord.pings.map((p) => `${p.target}:${p.id}`)).toEqual([`role:${fans.id}`]);

		discord.pings.splice(0);
		const silent = await send(ch, { content: `<@&${quiet.id}>`, allowed_mentions: { parse: [], roles: [quiet.id] } });
		expect(silent.mention_roles).toEqual([]);
		expect(discord.pings).toEqual([]);
		guild.setBotPermissions([...FULL, "MentionEveryone"]);
		await send(ch, { content: `<@&${quiet.id}>`, allowed_mentions: { parse: [], roles: [quiet.id] } });
		expect(discord.pings.map((p) => `${p.target}:${p.id}`)).toEqual([`role:${quiet.id}`]);
	});
});
