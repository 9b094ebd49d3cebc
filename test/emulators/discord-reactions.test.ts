/**
 * The Discord emulator's reactions and threads started from a message, against discord.js's REST
 * client, raw fetch (for the rate-limit headers) and a real discord.js Client (gateway events):
 * permissions, unknown emojis, the 20-emoji cap, archived threads, the 1 per 0.25 s bucket, and
 * 160004 / 50024 for threads.
 */
import {
	type APIChannel,
	type APIMessage,
	type APIUser,
	Client,
	Events,
	GatewayIntentBits,
	REST,
	Routes,
} from "discord.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
	type Channel,
	type DiscordEmulator,
	type Guild,
	MAX_REACTION_EMOJIS,
	MessageFlags,
	startDiscordEmulator,
	type User,
} from "./discord/index.js";
import { refusal } from "./discord/testing.js";

let discord: DiscordEmulator;
let rest: REST;
let guild: Guild;
let general: Channel;
let alice: User;

const FULL = [
	"ViewChannel",
	"SendMessages",
	"SendMessagesInThreads",
	"ReadMessageHistory",
	"AddReactions",
	"CreatePublicThreads",
	"UseExternalEmojis",
] as const;

beforeAll(async () => {
	// Two clients log in within seconds: the 5 s identify spacing check is off.
	discord = await startDiscordEmulator({
		sessionStartLimit: { windowMs: 0 },
		rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } },
	});
	rest = new REST({ api: discord.restUrl }).setToken(discord.botToken);
	alice = discord.createUser({ username: "alice" });
	// @everyone without Add Reactions / Create Public Threads: the bot's role decides.
	guild = discord.createGuild({ name: "Reactions", owner: alice, everyonePermissions: ["ViewChannel"] });
	general = guild.createChannel({ name: "general" });
});

afterAll(async () => {
	await discord?.close();
});

beforeEach(() => {
	guild.setBotPermissions([...FULL]);
});

const send = (channel: Channel, content: string) =>
	rest.post(Routes.channelMessages(channel.id), { body: { content } }) as Promise<APIMessage>;
const react = (channel: Channel, messageId: string, emoji: string) =>
	rest.put(Routes.channelMessageOwnReaction(channel.id, messageId, encodeURIComponent(emoji)));
const getMessage = (channel: Channel, id: string) =>
	rest.get(Routes.channelMessage(channel.id, id)) as Promise<APIMessage>;

describe("reactions", () => {
	it("the bot reacts (204, idempotent), the message shows count and me, users are listed, and it unreacts", async () => {
		const sent = await send(general, "react to me");
		await react(general, sent.id, "👍");
		await react(general, sent.id, "👍");
		const msg = discord.world.messages.get(sent.id);
		if (!msg) throw new Error("message missing");
		discord.react({ user: alice, message: msg, emoji: "👍" });
		expect((await getMessage(general, sent.id)).reactions).toEqual([
			expect.objectContaining({ emoji: { id: null, name: "👍" }, count: 2, me: true }),
		]);
		const users = (await rest.get(
			Routes.channelMessageReaction(general.id, sent.id, encodeURIComponent("👍")),
		)) as APIUser[];
		expect(users.map((u) => u.id).sort()).toEqual([alice.id, discord.botUser.id].sort());

		await rest.delete(Routes.channelMessageOwnReaction(general.id, sent.id, encodeURIComponent("👍")));
		expect((await getMessage(general, sent.id)).reactions).toEqual([expect.objectContaining({ count: 1, me: false })]);
		discord.unreact({ user: alice, message: msg, emoji: "👍" });
		expect(await getMessage(general, sent.id)).not.toHaveProperty("reactions");
		expect(discord.events.filter((e) => e.messageId === sent.id).map((e) => [e.kind, e.emoji ?? null])).toEqual([
			["message", null],
			["reaction", "👍"],
			["unreaction", "👍"],
		]);
		discord.assertNoViolations();
	});

	it("custom emojis by name:id; unknown emojis 10014; another guild's emoji needs Use External Emojis", async () => {
		const sent = await send(general, "custom");
		const pile = guild.createEmoji({ name: "pile" });
		await react(general, sent.id, `pile:${pile.id}`);
		expect((await getMessage(general, sent.id)).reactions?.[0]?.emoji).toEqual({ id: pile.id, name: "pile" });

		for (const emoji of ["notanemoji", "nope:123456789012345678", "a"]) {
			const error = await refusal(react(general, sent.id, emoji));
			expect([error.status, error.code]).toEqual([400, 10014]);
		}
		const elsewhere = discord.createGuild({ name: "Elsewhere" }).createEmoji({ name: "far" });
		guild.setBotPermissions(FULL.filter((p) => p !== "UseExternalEmojis"));
		expect((await refusal(react(general, sent.id, `far:${elsewhere.id}`))).code).toBe(50013);
		guild.setBotPermissions([...FULL]);
		await react(general, sent.id, `far:${elsewhere.id}`);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50013]);
	});

	it("Read Message History always, Add Reactions only for an emoji new on the message (50013)", async () => {
		const room = guild.createChannel({ name: "perms" });
		const sent = await send(room, "perms");
		const msg = discord.world.messages.get(sent.id);
		if (!msg) throw new Error("message missing");
		guild.setBotPermissions(FULL.filter((p) => p !== "AddReactions"));
		expect((await refusal(react(room, sent.id, "🔥"))).code).toBe(50013);
		discord.react({ user: alice, message: msg, emoji: "🔥" });
		await react(room, sent.id, "🔥");
		guild.setBotPermissions(FULL.filter((p) => p !== "ReadMessageHistory"));
		expect((await refusal(react(room, sent.id, "🔥"))).code).toBe(50013);
		guild.setBotPermissions([...FULL]);
		room.setPermissionOverwrite(discord.botUser, { deny: ["ViewChannel"] });
		expect((await refusal(react(room, sent.id, "🔥"))).code).toBe(50001);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50013, 50013, 50001]);
	});

	it(`at most ${MAX_REACTION_EMOJIS} different emojis (30010); none in an archived thread (50083); unknown message 10008`, async () => {
		const sent = await send(general, "many");
		const msg = discord.world.messages.get(sent.id);
		if (!msg) throw new Error("message missing");
		const emojis = [..."😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗"];
		for (const emoji of emojis.slice(0, MAX_REACTION_EMOJIS)) discord.react({ user: alice, message: msg, emoji });
		expect((await refusal(react(general, sent.id, emojis[MAX_REACTION_EMOJIS] ?? ""))).code).toBe(30010);
		await react(general, sent.id, emojis[0] ?? "");

		const thread = general.createThread({ name: "old" });
		const inThread = await send(thread, "in a thread");
		thread.setArchived(true);
		expect((await refusal(react(thread, inThread.id, "👍"))).code).toBe(50083);
		expect((await refusal(react(general, "1234567890123456789", "👍"))).code).toBe(10008);
		discord.assertNoViolations();
	});

	it("reactions are limited to 1 per 0.25 s per channel: the headers say so, a request ignoring them is a 429", async () => {
		const fast = guild.createChannel({ name: "fast" });
		const sent = await send(fast, "fast");
		const url = (emoji: string) =>
			`${discord.restUrl}/v10/channels/${fast.id}/messages/${sent.id}/reactions/${encodeURIComponent(emoji)}/@me`;
		const headers = { Authorization: `Bot ${discord.botToken}` };
		const first = await fetch(url("⭐"), { method: "PUT", headers });
		expect(first.status).toBe(204);
		expect(first.headers.get("x-ratelimit-limit")).toBe("1");
		expect(first.headers.get("x-ratelimit-remaining")).toBe("0");
		expect(Number(first.headers.get("x-ratelimit-reset-after"))).toBeLessThanOrEqual(0.25);
		// The first 429 after a bucket's first request is what @discordjs/rest always costs (it
		// learns the bucket's hash, then sends through a handler that has not seen the headers);
		// the next one ignored the headers.
		const blind = await fetch(url("🌙"), { method: "PUT", headers });
		const ignored = await fetch(url("🌙"), { method: "PUT", headers });
		expect([blind.status, ignored.status]).toEqual([429, 429]);
		expect(discord.takeViolations().map((v) => v.kind)).toEqual(["rate-limit"]);
		// discord.js's REST client waits for the bucket: reactions in a row all land (in a channel
		// whose bucket the raw requests above did not use up).
		const calm = guild.createChannel({ name: "calm" });
		const other = await send(calm, "calm");
		for (const emoji of ["🍎", "🍐", "🍊"]) await react(calm, other.id, emoji);
		expect((await getMessage(calm, other.id)).reactions?.map((r) => r.emoji.name)).toEqual(["🍎", "🍐", "🍊"]);
		discord.assertNoViolations();
	});

	it("MESSAGE_REACTION_ADD / REMOVE reach sessions with GuildMessageReactions, not others", async () => {
		const login = async (intents: GatewayIntentBits[]) => {
			const c = new Client({
				intents,
				rest: { api: discord.restUrl },
				ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
			});
			const ready = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()));
			await c.login(discord.botToken);
			await ready;
			return c;
		};
		const client = await login([GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions]);
		const quiet = await login([GatewayIntentBits.Guilds]);
		const seen: string[] = [];
		const quietSaw: string[] = [];
		client.on(Events.MessageReactionAdd, (r, u) => seen.push(`+${r.emoji.name} ${u.id}`));
		client.on(Events.MessageReactionRemove, (r, u) => seen.push(`-${r.emoji.name} ${u.id}`));
		quiet.on(Events.Raw, (packet: { t: string | null; d?: { id?: string } }) =>
			quietSaw.push(`${String(packet.t)} ${packet.d?.id ?? ""}`),
		);
		try {
			// A channel of its own: this client's REST has not seen the other tests' reaction buckets.
			const watched = guild.createChannel({ name: "watched" });
			const sent = await send(watched, "watched");
			const msg = discord.world.messages.get(sent.id);
			if (!msg) throw new Error("message missing");
			// The message must be cached for discord.js to emit reaction events without partials.
			const channel = await client.channels.fetch(watched.id);
			if (!channel?.isTextBased()) throw new Error("no channel");
			await channel.messages.fetch(sent.id);
			discord.react({ user: alice, message: msg, emoji: "🎉" });
			await client.rest.put(Routes.channelMessageOwnReaction(watched.id, sent.id, encodeURIComponent("🎉")));
			discord.unreact({ user: alice, message: msg, emoji: "🎉" });
			await discord.waitFor(() => seen.length === 3);
			expect(seen).toEqual([`+🎉 ${alice.id}`, `+🎉 ${discord.botUser.id}`, `-🎉 ${alice.id}`]);
			// Dispatches reach a session in order: once CHANNEL_CREATE is there, reactions would have been too.
			const marker = guild.createChannel({ name: "marker" });
			await discord.waitFor(() => quietSaw.includes(`CHANNEL_CREATE ${marker.id}`));
			expect(quietSaw.filter((t) => t.startsWith("MESSAGE_REACTION"))).toEqual([]);
		} finally {
			await Promise.all([client.destroy(), quiet.destroy()]);
		}
		discord.assertNoViolations();
	});
});

describe("threads started from a message", () => {
	const start = (channel: Channel, messageId: string, body: Record<string, unknown>) =>
		rest.post(Routes.threads(channel.id, messageId), { body }) as Promise<APIChannel & Record<string, unknown>>;

	it("a public thread with the message's id; the message carries it; posting there needs Send Messages in Threads", async () => {
		guild.setBotPermissions(FULL.filter((p) => p !== "SendMessages"));
		const theirs = await discord.postUserMessage({ user: alice, channel: general, content: "two pictures" });
		const thread = await start(general, theirs.id, {
			name: "Links",
			auto_archive_duration: 60,
			rate_limit_per_user: 5,
		});
		expect(thread).toMatchObject({
			id: theirs.id,
			type: 11,
			parent_id: general.id,
			name: "Links",
			owner_id: discord.botUser.id,
			rate_limit_per_user: 5,
			thread_metadata: expect.objectContaining({ auto_archive_duration: 60, archived: false }),
		});
		const message = await getMessage(general, theirs.id);
		expect(message.thread).toMatchObject({ id: theirs.id, name: "Links" });
		expect((message.flags ?? 0) & MessageFlags.HasThread).toBe(MessageFlags.HasThread);
		expect(discord.threadOf(theirs)?.id).toBe(theirs.id);

		const channel = discord.threadOf(theirs);
		if (!channel) throw new Error("no thread");
		await send(channel, "https://imgpile.example/p/1");
		expect(discord.messages(channel).map((m) => m.content)).toEqual(["https://imgpile.example/p/1"]);
		guild.setBotPermissions(FULL.filter((p) => p !== "SendMessagesInThreads"));
		expect((await refusal(send(channel, "no"))).code).toBe(50013);

		const again = await refusal(start(general, theirs.id, { name: "Again" }));
		expect([again.status, again.code, again.message]).toEqual([
			400,
			160004,
			"A thread has already been created for this message",
		]);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50013]);
	});

	it("an announcement thread in announcement channels; Create Public Threads needed; bodies validated", async () => {
		const news = guild.createChannel({ name: "news", type: "announcement" });
		const sent = await send(news, "news");
		guild.setBotPermissions(FULL.filter((p) => p !== "CreatePublicThreads"));
		expect((await refusal(start(news, sent.id, { name: "Talk" }))).code).toBe(50013);
		guild.setBotPermissions([...FULL]);
		expect((await refusal(start(news, sent.id, { name: "" }))).code).toBe(50035);
		expect((await refusal(start(news, sent.id, { name: "x".repeat(101) }))).code).toBe(50035);
		expect((await refusal(start(news, sent.id, { name: "Talk", auto_archive_duration: 30 }))).code).toBe(50035);
		expect(await start(news, sent.id, { name: "Talk" })).toMatchObject({ id: sent.id, type: 10 });
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50013, 50035, 50035, 50035]);
	});

	it("not in forums, threads or DMs (50024, a violation); THREAD_CREATE reaches the bot", async () => {
		const forum = guild.createChannel({ name: "art", type: "forum" });
		const post = forum.createThread({ name: "post" });
		const inPost = await send(post, "hi");
		expect((await refusal(start(post, inPost.id, { name: "nested" }))).code).toBe(50024);
		const dm = discord.dmChannel(guild.addMember(discord.createUser({ username: "dm-user" })).user);
		const inDM = await send(dm, "hello");
		expect((await refusal(start(dm, inDM.id, { name: "dm thread" }))).code).toBe(50024);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50024, 50024]);

		const client = new Client({
			intents: [GatewayIntentBits.Guilds],
			rest: { api: discord.restUrl },
			ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
		});
		const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
		await client.login(discord.botToken);
		await ready;
		try {
			const created: string[] = [];
			client.on(Events.ThreadCreate, (thread, newly) => created.push(`${thread.id} ${thread.name} ${newly}`));
			const sent = await send(general, "announce me");
			await start(general, sent.id, { name: "Announced" });
			await discord.waitFor(() => created.length === 1);
			expect(created).toEqual([`${sent.id} Announced true`]);
		} finally {
			await client.destroy();
		}
		discord.assertNoViolations();
	});
});
