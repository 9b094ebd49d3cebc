/**
 * The Discord emulator's direct messages and user-installed app, against discord.js's REST client
 * and a real discord.js Client: 50007 when a user does not take the bot's DMs (closed, or no shared
 * guild and no user install), DM history and edits, MESSAGE_CREATE only with DirectMessages, and
 * commands run through a user install in the three interaction contexts.
 */
import {
	type APIMessage,
	ApplicationIntegrationType,
	Client,
	Events,
	GatewayIntentBits,
	InteractionContextType,
	type Message,
	Partials,
	REST,
	Routes,
	SlashCommandBuilder,
} from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	type Channel,
	type DiscordEmulator,
	type Guild,
	ManualClock,
	RESPONSE_ONLY_PERMISSIONS,
	startDiscordEmulator,
	type User,
} from "./discord/index.js";
import { refusal } from "./discord/testing.js";

describe("direct messages", () => {
	const clock = new ManualClock();
	let discord: DiscordEmulator;
	let rest: REST;
	let guild: Guild;
	let member: User;

	beforeAll(async () => {
		discord = await startDiscordEmulator({
			clock,
			rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } },
		});
		rest = new REST({ api: discord.restUrl }).setToken(discord.botToken);
		guild = discord.createGuild({ name: "Home" });
		member = discord.createUser({ username: "member" });
		guild.addMember(member);
	});

	afterAll(async () => {
		await discord?.close();
	});

	const openDM = async (user: User) =>
		(await rest.post(Routes.userChannels(), { body: { recipient_id: user.id } })) as { id: string; type: number };
	const send = (channelId: string, body: Record<string, unknown>) =>
		rest.post(Routes.channelMessages(channelId), { body }) as Promise<APIMessage>;

	it("the DM channel always opens; a message is refused with 50007 unless the user takes the bot's DMs", async () => {
		const stranger = discord.createUser({ username: "stranger" });
		const dm = await openDM(stranger);
		expect(dm).toMatchObject({ id: discord.dmChannel(stranger).id, type: 1 });
		const invalidBefore = discord.invalidRequests();

		// No shared guild, no user install.
		let error = await refusal(send(dm.id, { content: "hi" }));
		expect([error.status, error.code, error.message]).toEqual([403, 50007, "Cannot send messages to this user"]);

		// The app installed to their account: DM-able without a shared guild, until they close DMs.
		discord.installUserApp(stranger);
		await send(dm.id, { content: "hello there" });
		stranger.closeDMs();
		error = await refusal(send(dm.id, { content: "again" }));
		expect(error.code).toBe(50007);
		stranger.openDMs();
		discord.uninstallUserApp(stranger);
		expect((await refusal(send(dm.id, { content: "gone" }))).code).toBe(50007);

		// A guild member who closed DMs.
		member.closeDMs();
		expect((await refusal(send((await openDM(member)).id, { content: "psst" }))).code).toBe(50007);
		member.openDMs();
		await send((await openDM(member)).id, { content: "psst" });

		expect(discord.dmsTo(stranger).map((m) => m.content)).toEqual(["hello there"]);
		expect(discord.dmsTo(member).map((m) => m.content)).toEqual(["psst"]);
		// Refusals count as invalid requests (403), but a correct bot cannot know beforehand.
		expect(discord.invalidRequests() - invalidBefore).toBe(4);
		discord.assertNoViolations();
	});

	it("DM messages: embeds, components, enforce_nonce, history newest first, GET one, edit and delete", async () => {
		const dm = await openDM(member);
		const first = await send(dm.id, {
			content: "one",
			embeds: [{ title: "A post" }],
			components: [{ type: 1, components: [{ type: 2, style: 5, label: "Open", url: "https://imgpile.example/p/1" }] }],
			nonce: "n-1",
			enforce_nonce: true,
		});
		expect(first).toMatchObject({ channel_id: dm.id, nonce: "n-1", embeds: [{ title: "A post" }] });
		expect(first).not.toHaveProperty("guild_id");
		// The same nonce within 5 minutes: the first message again, nothing new.
		expect((await send(dm.id, { content: "one again", nonce: "n-1", enforce_nonce: true })).id).toBe(first.id);
		const second = await send(dm.id, { content: "two", allowed_mentions: { parse: [] } });
		const third = await send(dm.id, { content: "three" });

		const history = (await rest.get(Routes.channelMessages(dm.id), {
			query: new URLSearchParams({ limit: "2" }),
		})) as APIMessage[];
		expect(history.map((m) => m.content)).toEqual(["three", "two"]);
		expect(history[0]).not.toHaveProperty("nonce");
		const before = (await rest.get(Routes.channelMessages(dm.id), {
			query: new URLSearchParams({ before: second.id }),
		})) as APIMessage[];
		expect(before.map((m) => m.id)).toContain(first.id);
		const after = (await rest.get(Routes.channelMessages(dm.id), {
			query: new URLSearchParams({ after: second.id }),
		})) as APIMessage[];
		expect(after.map((m) => m.content)).toEqual(["three"]);
		expect(((await rest.get(Routes.channelMessage(dm.id, first.id))) as APIMessage).content).toBe("one");

		const edited = (await rest.patch(Routes.channelMessage(dm.id, third.id), {
			body: { content: "three, edited" },
		})) as APIMessage;
		expect(edited.edited_timestamp).not.toBeNull();
		await rest.delete(Routes.channelMessage(dm.id, second.id));
		// What the user received, oldest first: the earlier test's DM, then these (no duplicate, "two" deleted).
		expect(discord.dmsTo(member).map((m) => m.content)).toEqual(["psst", "one", "three, edited"]);
		discord.assertNoViolations();
	});

	it("DM bodies are validated like guild messages (50035, 50006), and a user's DM message cannot be edited", async () => {
		const dm = await openDM(member);
		expect((await refusal(send(dm.id, { content: "x".repeat(2001) }))).code).toBe(50035);
		expect(
			(await refusal(send(dm.id, { content: "hi", allowed_mentions: { parse: ["users"], users: [member.id] } }))).code,
		).toBe(50035);
		expect((await refusal(send(dm.id, { content: "" }))).code).toBe(50006);
		const theirs = await discord.postUserMessage({ user: member, channel: discord.dmChannel(member), content: "mine" });
		expect((await refusal(rest.patch(Routes.channelMessage(dm.id, theirs.id), { body: { content: "no" } }))).code).toBe(
			50005,
		);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50035, 50035, 50006, 50005]);
	});
});

describe("DM events and user installs, with a real discord.js Client", () => {
	let discord: DiscordEmulator;
	let guild: Guild;
	let general: Channel;
	let alice: User;
	let bob: User;
	let client: Client;
	const seen: Message[] = [];

	const commands = [
		new SlashCommandBuilder()
			.setName("where")
			.setDescription("Says where it runs")
			.setIntegrationTypes(ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall)
			.setContexts(InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel),
		new SlashCommandBuilder()
			.setName("guildonly")
			.setDescription("Guild install only")
			.setIntegrationTypes(ApplicationIntegrationType.GuildInstall),
		new SlashCommandBuilder()
			.setName("nodm")
			.setDescription("User install, not in private channels")
			.setIntegrationTypes(ApplicationIntegrationType.UserInstall)
			.setContexts(InteractionContextType.Guild, InteractionContextType.BotDM),
	];

	beforeAll(async () => {
		// A second client logs in right after the first (no 5 s identify spacing: the check is off).
		discord = await startDiscordEmulator({ sessionStartLimit: { windowMs: 0 } });
		guild = discord.createGuild({ name: "Home" });
		general = guild.createChannel({ name: "general" });
		alice = discord.createUser({ username: "alice" });
		bob = discord.createUser({ username: "bob" });
		guild.addMember(alice);
		client = new Client({
			intents: [GatewayIntentBits.Guilds, GatewayIntentBits.DirectMessages],
			partials: [Partials.Channel],
			rest: { api: discord.restUrl },
		});
		client.on(Events.MessageCreate, (m) => seen.push(m));
		client.on(Events.InteractionCreate, async (ix) => {
			if (!ix.isChatInputCommand()) return;
			await ix.reply(`context ${ix.context} owners ${JSON.stringify(ix.authorizingIntegrationOwners)}`);
			await ix.followUp("and a followup");
		});
		const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
		await client.login(discord.botToken);
		await ready;
		await client.application?.commands.set(commands.map((c) => c.toJSON()));
	});

	afterAll(async () => {
		await client?.destroy();
		await discord?.close();
	});

	it("a user's DM reaches a DirectMessages session (with content); one without the intent gets nothing", async () => {
		await discord.postUserMessage({ user: alice, channel: discord.dmChannel(alice), content: "hello bot" });
		await discord.waitFor(() => seen.some((m) => m.content === "hello bot"));
		expect(seen.find((m) => m.content === "hello bot")?.channel.isDMBased()).toBe(true);

		const guildsOnly = new Client({
			intents: [GatewayIntentBits.Guilds],
			rest: { api: discord.restUrl },
			ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
		});
		const other: string[] = [];
		guildsOnly.on(Events.MessageCreate, (m) => other.push(m.content));
		const ready = new Promise<void>((resolve) => guildsOnly.once(Events.ClientReady, () => resolve()));
		await guildsOnly.login(discord.botToken);
		await ready;
		await discord.postUserMessage({ user: alice, channel: discord.dmChannel(alice), content: "second" });
		// Dispatches reach a session in order: once CHANNEL_CREATE is there, the DM would have been too.
		const marker = guild.createChannel({ name: "marker" });
		await discord.waitFor(() => guildsOnly.channels.cache.get(marker.id));
		expect(other).toEqual([]);
		await guildsOnly.destroy();
		discord.assertNoViolations();
	});

	it("the application shows the user install; integration types and contexts are validated on registration", async () => {
		const app = (await client.rest.get(Routes.currentApplication())) as Record<string, unknown>;
		expect(app.integration_types_config).toEqual({ "0": {}, "1": {} });
		const bad = async (body: Record<string, unknown>) =>
			(await refusal(client.rest.post(Routes.applicationCommands(discord.applicationId), { body }))).code;
		expect(await bad({ name: "x", description: "x", integration_types: [2] })).toBe(50035);
		expect(await bad({ name: "x", description: "x", contexts: [3] })).toBe(50035);
		expect(await bad({ name: "x", description: "x", contexts: [] })).toBe(50035);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50035, 50035, 50035]);

		const guildOnlyApp = await startDiscordEmulator({ installation: { user: false } });
		try {
			const other = new REST({ api: guildOnlyApp.restUrl }).setToken(guildOnlyApp.botToken);
			expect(
				((await other.get(Routes.currentApplication())) as Record<string, unknown>).integration_types_config,
			).toEqual({
				"0": {},
			});
			const error = await refusal(
				other.post(Routes.applicationCommands(guildOnlyApp.applicationId), {
					body: { name: "x", description: "x", integration_types: [1] },
				}),
			);
			expect(error.code).toBe(50035);
			expect(() => guildOnlyApp.installUserApp(guildOnlyApp.createUser({ username: "u" }))).toThrow(/user installs/);
			guildOnlyApp.takeViolations();
		} finally {
			await guildOnlyApp.close();
		}
	});

	it("via the user install: context 0 in a guild (both owners), 1 in the bot's DM, 2 in a private channel", async () => {
		discord.installUserApp(alice);
		const inGuild = await (
			await discord.slash({ user: alice, channel: general, command: "where", via: "user" })
		).settled();
		expect(inGuild.payload).toMatchObject({
			context: 0,
			authorizing_integration_owners: { "0": guild.id, "1": alice.id },
		});
		expect(inGuild.reply?.content).toContain("context 0");

		const inDM = await discord.slash({ user: alice, channel: discord.dmChannel(alice), command: "where", via: "user" });
		await discord.waitFor(() => inDM.followups.length === 1);
		expect(inDM.payload).toMatchObject({ context: 1, authorizing_integration_owners: { "1": alice.id } });
		// The bot is in its own DM: its answers there reach it as MESSAGE_CREATE.
		await discord.waitFor(() => seen.some((m) => m.id === inDM.followups[0]?.id));

		const group = discord.createPrivateChannel([alice, bob]);
		const before = seen.length;
		const inGroup = await discord.slash({ user: alice, channel: group, command: "where", via: "user" });
		await discord.waitFor(() => inGroup.followups.length === 1);
		expect(inGroup.payload).toMatchObject({
			context: 2,
			authorizing_integration_owners: { "1": alice.id },
			app_permissions: RESPONSE_ONLY_PERMISSIONS.toString(),
		});
		expect(inGroup.payload).not.toHaveProperty("guild_id");
		expect(inGroup.reply?.content).toBe(`context 2 owners ${JSON.stringify({ "1": alice.id })}`);
		expect(inGroup.reply?.toAPI().interaction_metadata).toMatchObject({
			authorizing_integration_owners: { "1": alice.id },
		});
		// The bot is not in that channel: no MESSAGE_CREATE of its answers, and its own REST calls are refused.
		expect(seen.length).toBe(before);
		const error = await refusal(client.rest.post(Routes.channelMessages(group.id), { body: { content: "hi" } }));
		expect([error.status, error.code]).toEqual([403, 50001]);
		expect((await refusal(client.rest.get(Routes.channel(group.id)))).code).toBe(50001);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50001, 50001]);
		discord.uninstallUserApp(alice);
	});

	it("refuses to run what Discord's client would not offer through a user install", async () => {
		const group = discord.createPrivateChannel([alice, bob], { name: "pals" });
		expect(group.type).toBe(3);
		await expect(discord.slash({ user: bob, channel: group, command: "where", via: "user" })).rejects.toThrow(
			/has not installed the app/,
		);
		discord.installUserApp(bob);
		await expect(discord.slash({ user: bob, channel: group, command: "guildonly", via: "user" })).rejects.toThrow(
			/integration_types/,
		);
		await expect(discord.slash({ user: bob, channel: group, command: "nodm", via: "user" })).rejects.toThrow(
			/context 2/,
		);
		// The guild install does not reach private channels.
		await expect(discord.slash({ user: bob, channel: group, command: "where" })).rejects.toThrow(/via: "user"/);
		// A user-installed command in the bot's DM with someone else, or a private channel they are not in.
		await expect(
			discord.slash({ user: bob, channel: discord.dmChannel(alice), command: "where", via: "user" }),
		).rejects.toThrow(/not in the bot's DM/);
		const carol = discord.createUser({ username: "carol" });
		const other = discord.createPrivateChannel([alice, carol]);
		await expect(discord.slash({ user: bob, channel: other, command: "where", via: "user" })).rejects.toThrow(
			/not in private channel/,
		);
		// The guild path is as before.
		const ix = await (await discord.slash({ user: alice, channel: general, command: "guildonly" })).settled();
		expect(ix.payload).toMatchObject({ context: 0, authorizing_integration_owners: { "0": guild.id } });
		discord.uninstallUserApp(bob);
		discord.assertNoViolations();
	});

	it("a user who installed the app takes the bot's DMs without a shared guild", async () => {
		discord.installUserApp(bob);
		const user = await client.users.fetch(bob.id);
		await user.send("welcome");
		expect(discord.dmsTo(bob).map((m) => m.content)).toEqual(["welcome"]);
		discord.uninstallUserApp(bob);
		await expect(user.send("still there?")).rejects.toMatchObject({ code: 50007 });
		discord.assertNoViolations();
	});
});
