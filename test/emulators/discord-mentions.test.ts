/**
 * The Discord emulator computes mentions as Discord does (content, `allowed_mentions`,
 * permissions) on channel messages, interaction responses and followups, and records every ping.
 * A tiny real discord.js bot sends the messages.
 */
import {
	type APIMessage,
	Client,
	Events,
	GatewayIntentBits,
	MessageFlags,
	Routes,
	SlashCommandBuilder,
} from "discord.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
	type Channel,
	type DiscordEmulator,
	type Guild,
	type Role,
	startDiscordEmulator,
	type User,
} from "./discord/index.js";

let discord: DiscordEmulator;
let client: Client;
let guild: Guild;
let general: Channel;
let hidden: Channel;
let alice: User;
let bob: User;
let outsider: User;
let loud: Role;
let quiet: Role;

const say = new SlashCommandBuilder()
	.setName("say")
	.setDescription("Says text")
	.addStringOption((o) => o.setName("text").setDescription("Text").setRequired(true))
	.addStringOption((o) => o.setName("how").setDescription("How").setRequired(true));

beforeAll(async () => {
	// Many sends to one channel: not this test's business to wait out Discord's 5 per 5 s.
	discord = await startDiscordEmulator({
		rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } },
	});
	alice = discord.createUser({ username: "alice" });
	bob = discord.createUser({ username: "bob" });
	outsider = discord.createUser({ username: "outsider" });
	guild = discord.createGuild({ name: "Mentions", owner: alice });
	guild.addMember(bob);
	general = guild.createChannel({ name: "general" });
	hidden = guild.createChannel({ name: "hidden" });
	hidden.setPermissionOverwrite(bob, { deny: ["ViewChannel"] });
	loud = guild.createRole({ name: "loud", mentionable: true });
	quiet = guild.createRole({ name: "quiet" });

	client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.restUrl } });
	client.on(Events.InteractionCreate, async (ix) => {
		if (!ix.isChatInputCommand()) return;
		const content = ix.options.getString("text", true);
		switch (ix.options.getString("how", true)) {
			case "reply":
				await ix.reply({ content });
				break;
			case "quiet":
				await ix.reply({ content, allowedMentions: { parse: [] } });
				break;
			case "ephemeral":
				await ix.reply({ content, flags: MessageFlags.Ephemeral });
				break;
			case "followup":
				await ix.reply({ content: "first", allowedMentions: { parse: [] } });
				await ix.followUp({ content });
				break;
			case "deferred":
				await ix.deferReply();
				await ix.editReply({ content });
				break;
		}
	});
	const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
	await client.login(discord.botToken);
	await ready;
	await client.application?.commands.set([say.toJSON()]);
});

afterAll(async () => {
	await client?.destroy();
	await discord?.close();
});

beforeEach(() => {
	discord.pings.splice(0);
	guild.setBotPermissions(["ViewChannel", "SendMessages", "EmbedLinks", "ReadMessageHistory"]);
});

const send = (channel: Channel, body: Record<string, unknown>) =>
	client.rest.post(Routes.channelMessages(channel.id), { body }) as Promise<APIMessage>;
const targets = () => discord.pings.map((p) => `${p.target}:${p.id}`).sort();
const everything = () => `<@${alice.id}> <@!${bob.id}> <@&${loud.id}> <@&${quiet.id}> @everyone`;

describe("mentions in channel messages", () => {
	it("without allowed_mentions: users, mentionable roles; @everyone and other roles only with Mention Everyone", async () => {
		const sent = await send(general, { content: everything() });
		expect(sent.mentions.map((u) => u.id).sort()).toEqual([alice.id, bob.id].sort());
		expect(sent.mention_roles).toEqual([loud.id]);
		expect(sent.mention_everyone).toBe(false);
		expect(targets()).toEqual([`role:${loud.id}`, `user:${alice.id}`, `user:${bob.id}`].sort());

		discord.pings.splice(0);
		guild.setBotPermissions(["ViewChannel", "SendMessages", "MentionEveryone"]);
		const loudly = await send(general, { content: everything() });
		expect(loudly.mention_roles.sort()).toEqual([loud.id, quiet.id].sort());
		expect(loudly.mention_everyone).toBe(true);
		expect(targets()).toContain(`everyone:${guild.id}`);
		expect(targets()).toContain(`role:${quiet.id}`);
		// As Discord returns it on a read too.
		const read = (await client.rest.get(Routes.channelMessage(general.id, loudly.id))) as APIMessage;
		expect(read.mention_everyone).toBe(true);
		expect(read.mentions).toHaveLength(2);
	});

	it("allowed_mentions decides: parse [], a users list, parse everyone", async () => {
		guild.setBotPermissions(["ViewChannel", "SendMessages", "MentionEveryone"]);
		const none = await send(general, { content: everything(), allowed_mentions: { parse: [] } });
		expect(none.mentions).toEqual([]);
		expect(none.mention_roles).toEqual([]);
		expect(none.mention_everyone).toBe(false);
		expect(discord.pings).toEqual([]);

		const listed = await send(general, { content: everything(), allowed_mentions: { users: [bob.id, outsider.id] } });
		expect(listed.mentions.map((u) => u.id)).toEqual([bob.id]);
		expect(targets()).toEqual([`user:${bob.id}`]);

		discord.pings.splice(0);
		const here = await send(general, { content: "@here look", allowed_mentions: { parse: ["everyone"] } });
		expect(here.mention_everyone).toBe(true);
		expect(targets()).toEqual([`here:${guild.id}`]);
	});

	it("a reply pings the replied-to author unless replied_user is false", async () => {
		const theirs = await discord.postUserMessage({ user: bob, channel: general, content: "hi" });
		const reference = { message_id: theirs.id };
		await send(general, { content: "default", message_reference: reference });
		expect(targets()).toEqual([`user:${bob.id}`]);
		discord.pings.splice(0);
		await send(general, { content: "quiet", message_reference: reference, allowed_mentions: { parse: [] } });
		await send(general, {
			content: "quiet too",
			message_reference: reference,
			allowed_mentions: { parse: [], replied_user: false },
		});
		expect(discord.pings).toEqual([]);
		await send(general, {
			content: "asked",
			message_reference: reference,
			allowed_mentions: { parse: [], replied_user: true },
		});
		expect(targets()).toEqual([`user:${bob.id}`]);
	});

	it("mentions in embeds never ping; nobody who cannot see the channel is notified", async () => {
		await send(general, { embeds: [{ title: "@everyone", description: `<@${bob.id}> <@&${loud.id}>` }] });
		expect(discord.pings).toEqual([]);
		const sent = await send(hidden, { content: `<@${bob.id}>` });
		expect(sent.mentions.map((u) => u.id)).toEqual([bob.id]);
		expect(discord.pings).toEqual([]);
	});

	it("refuses parse users together with a users list, as Discord does", async () => {
		await expect(
			send(general, { content: "x", allowed_mentions: { parse: ["users"], users: [bob.id] } }),
		).rejects.toMatchObject({ code: 50035 });
		expect(discord.takeViolations()).toHaveLength(1);
	});
});

describe("mentions in interaction responses", () => {
	const run = async (how: string) => {
		const ix = await discord.slash({
			user: alice,
			channel: general,
			command: "say",
			options: { text: `<@${bob.id}>`, how },
		});
		await discord.waitFor(() => ix.isSettled && (how !== "followup" || ix.followups.length > 0));
		return ix;
	};

	it("responses, followups and the edit of a deferred response parse the content by default", async () => {
		for (const how of ["reply", "followup", "deferred"]) {
			discord.pings.splice(0);
			const ix = await run(how);
			expect(targets(), `${how}\n${ix.describe()}`).toEqual([`user:${bob.id}`]);
			expect(discord.pings[0]?.messageId).toBe(ix.messages.at(-1)?.id);
			expect(ix.pings).toEqual(discord.pings);
		}
	});

	it("allowed_mentions parse [] and ephemeral messages ping nobody", async () => {
		await run("quiet");
		await run("ephemeral");
		expect(discord.pings).toEqual([]);
		discord.assertNoViolations();
	});
});
