/**
 * The Discord emulator against the real discord.js Client: a tiny inline bot (never a stub of
 * discord.js) exercises login, commands, replies, defers, modals, buttons, permissions,
 * validation, rate limits, gateway resume and the CDN.
 */
import {
	ActionRowBuilder,
	ApplicationCommandType,
	AttachmentBuilder,
	ButtonBuilder,
	ButtonStyle,
	type ChatInputCommandInteraction,
	Client,
	ContextMenuCommandBuilder,
	DiscordAPIError,
	EmbedBuilder,
	Events,
	GatewayIntentBits,
	MessageFlags,
	ModalBuilder,
	PermissionFlagsBits,
	RateLimitError,
	REST,
	Routes,
	SlashCommandBuilder,
	TextInputBuilder,
	TextInputStyle,
} from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
	type Channel,
	DEFAULT_BOT_PERMISSIONS,
	type DiscordEmulator,
	ENFORCED_NONCE_WINDOW_MS,
	type Guild,
	generatedBytes,
	ManualClock,
	startDiscordEmulator,
	type User,
} from "./discord/index.js";

const PNG_HEAD = Buffer.from("89504e470d0a1a0a0000000d49484452000000100000000c08060000001f15c489", "hex"); // 16x12

const PICTURE = Buffer.concat([PNG_HEAD, Buffer.alloc(3000, 7)]);

const commands = [
	new SlashCommandBuilder().setName("ping").setDescription("Replies pong"),
	new SlashCommandBuilder().setName("slow").setDescription("Defers, then edits"),
	new SlashCommandBuilder().setName("late").setDescription("Replies too late"),
	new SlashCommandBuilder().setName("form").setDescription("Opens a modal"),
	new SlashCommandBuilder().setName("buttons").setDescription("Shows buttons"),
	new SlashCommandBuilder().setName("secret").setDescription("Ephemeral reply"),
	new SlashCommandBuilder().setName("announce").setDescription("Posts in the channel"),
	new SlashCommandBuilder().setName("long").setDescription("Too long a reply"),
	new SlashCommandBuilder().setName("double").setDescription("Acknowledges twice"),
	new SlashCommandBuilder().setName("lost").setDescription("Posts to an unknown channel"),
	new SlashCommandBuilder().setName("followup").setDescription("Reply then followup"),
	new SlashCommandBuilder().setName("file").setDescription("Replies with a file"),
	new SlashCommandBuilder().setName("resp").setDescription("Reply withResponse, then fetchReply"),
	new SlashCommandBuilder().setName("sendfile").setDescription("Posts a file in the channel"),
	new SlashCommandBuilder()
		.setName("upload")
		.setDescription("Reads an attachment")
		.addAttachmentOption((o) => o.setName("file").setDescription("The file").setRequired(true)),
	new SlashCommandBuilder()
		.setName("pick")
		.setDescription("Autocomplete")
		.addStringOption((o) => o.setName("fruit").setDescription("A fruit").setAutocomplete(true).setRequired(true)),
	new SlashCommandBuilder()
		.setName("admin")
		.setDescription("Needs Manage Server")
		.setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild),
	new ContextMenuCommandBuilder().setName("Quote").setType(ApplicationCommandType.Message),
];

interface BotError {
	command: string;
	code: number | string | null;
}

/** A tiny bot: real discord.js Client, logged in to the emulator. */
async function startBot(discord: DiscordEmulator) {
	const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.restUrl } });
	const errors: BotError[] = [];
	const codeOf = (err: unknown) =>
		err instanceof DiscordAPIError ? err.code : err instanceof Error ? err.message : null;
	const guard = async (name: string, fn: () => Promise<unknown>) => {
		try {
			await fn();
		} catch (err) {
			errors.push({ command: name, code: codeOf(err) });
		}
	};

	const onCommand = async (ix: ChatInputCommandInteraction) => {
		switch (ix.commandName) {
			case "ping":
				await ix.reply({ content: "pong", embeds: [new EmbedBuilder().setTitle("Pong").setDescription("It works")] });
				return;
			case "slow":
				await ix.deferReply();
				await new Promise((r) => setTimeout(r, 50));
				await ix.editReply("done slowly");
				return;
			case "late":
				await new Promise((r) => setTimeout(r, 700));
				await ix.reply("too late");
				return;
			case "form":
				await ix.showModal(
					new ModalBuilder()
						.setCustomId("profile")
						.setTitle("Your profile")
						.addComponents(
							new ActionRowBuilder<TextInputBuilder>().addComponents(
								new TextInputBuilder()
									.setCustomId("name")
									.setLabel("Name")
									.setStyle(TextInputStyle.Short)
									.setMaxLength(20),
							),
						),
				);
				return;
			case "buttons":
				await ix.reply({
					content: "choose",
					components: [
						new ActionRowBuilder<ButtonBuilder>().addComponents(
							new ButtonBuilder().setCustomId("bump").setLabel("Bump").setStyle(ButtonStyle.Primary),
							new ButtonBuilder().setCustomId("del").setLabel("Delete").setStyle(ButtonStyle.Danger),
						),
					],
				});
				return;
			case "secret":
				await ix.reply({ content: "only you", flags: MessageFlags.Ephemeral });
				return;
			case "announce":
				await ix.deferReply({ flags: MessageFlags.Ephemeral });
				try {
					if (!ix.channel?.isSendable()) throw new Error("not sendable");
					await ix.channel.send({ content: "announcement" });
					await ix.editReply("sent");
				} catch (err) {
					await ix.editReply(`failed: ${String(codeOf(err))}`);
				}
				return;
			case "long":
				await ix.reply("x".repeat(2001));
				return;
			case "double":
				await ix.reply("one");
				await client.rest.post(Routes.interactionCallback(ix.id, ix.token), {
					body: { type: 4, data: { content: "two" } },
					auth: false,
				});
				return;
			case "lost":
				await ix.deferReply();
				try {
					await client.rest.post(Routes.channelMessages("123456789012345678"), { body: { content: "hello?" } });
					await ix.editReply("posted?!");
				} catch (err) {
					await ix.editReply(`lost: ${String(codeOf(err))}`);
				}
				return;
			case "followup":
				await ix.reply("first");
				await ix.followUp({ content: "second, quietly", flags: MessageFlags.Ephemeral });
				return;
			case "upload": {
				const att = ix.options.getAttachment("file", true);
				await ix.deferReply();
				const res = await fetch(att.url);
				const bytes = Buffer.from(await res.arrayBuffer());
				await ix.editReply(`${att.name} ${att.contentType} ${bytes.length} ${res.status} ${att.width}x${att.height}`);
				return;
			}
			case "admin":
				await ix.reply("admin ok");
				return;
			case "resp": {
				const res = await ix.reply({ content: "with response", withResponse: true });
				const fetched = await ix.fetchReply();
				await ix.followUp(
					`${res.resource?.message?.id === fetched.id} ${res.interaction.responseMessageId === fetched.id}`,
				);
				return;
			}
			case "file":
				await ix.reply({
					content: "here",
					files: [new AttachmentBuilder(PICTURE, { name: "pic.png", description: "a picture" })],
					embeds: [new EmbedBuilder().setTitle("Picture").setImage("attachment://pic.png")],
				});
				return;
			case "sendfile":
				await ix.deferReply({ flags: MessageFlags.Ephemeral });
				try {
					if (!ix.channel?.isSendable()) throw new Error("not sendable");
					await ix.channel.send({ files: [new AttachmentBuilder(PICTURE, { name: "pic.png" })] });
					await ix.editReply("sent");
				} catch (err) {
					await ix.editReply(`failed: ${String(codeOf(err))}`);
				}
				return;
		}
	};

	client.on(Events.InteractionCreate, (ix) => {
		const name =
			ix.isCommand() || ix.isAutocomplete()
				? ix.commandName
				: ix.isMessageComponent() || ix.isModalSubmit()
					? ix.customId
					: "?";
		void guard(name, async () => {
			if (ix.isAutocomplete()) {
				const typed = ix.options.getFocused().toLowerCase();
				const fruits = ["apple", "apricot", "banana", "cherry"].filter((f) => f.startsWith(typed));
				await ix.respond(fruits.map((f) => ({ name: f, value: f })));
			} else if (ix.isChatInputCommand()) {
				await onCommand(ix);
			} else if (ix.isMessageContextMenuCommand()) {
				const att = ix.targetMessage.attachments.first();
				await ix.reply({ content: `> ${ix.targetMessage.content}${att ? ` [${att.name} ${att.size}]` : ""}` });
			} else if (ix.isModalSubmit()) {
				await ix.reply({ content: `Hello ${ix.fields.getTextInputValue("name")}`, flags: MessageFlags.Ephemeral });
			} else if (ix.isButton()) {
				if (ix.customId === "bump") await ix.update({ content: "bumped", components: [] });
				else await ix.deferUpdate().then(() => ix.deleteReply());
			}
		});
	});

	const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
	await client.login(discord.botToken);
	await ready;
	await client.application?.commands.set(commands.map((c) => c.toJSON()));
	return { client, errors };
}

describe("Discord emulator with a real discord.js Client", () => {
	const clock = new ManualClock();
	let discord: DiscordEmulator;
	let guild: Guild;
	let general: Channel;
	let nsfw: Channel;
	let thread: Channel;
	let alice: User;
	let bot: Awaited<ReturnType<typeof startBot>>;

	beforeAll(async () => {
		discord = await startDiscordEmulator({ clock, interactionAckTimeoutMs: 500 });
		guild = discord.createGuild({ name: "Sandbox" });
		general = guild.createChannel({ name: "general" });
		nsfw = guild.createChannel({ name: "nsfw-art", nsfw: true });
		thread = general.createThread({ name: "t" });
		alice = discord.createUser({ username: "alice", locale: "fr" });
		guild.addMember(alice);
		bot = await startBot(discord);
	});

	afterAll(async () => {
		await bot?.client.destroy();
		await discord?.close();
	});

	it("logs in: READY, then the guild with channels, threads, roles and members in the cache", () => {
		const { client } = bot;
		expect(client.user?.id).toBe(discord.botUser.id);
		expect(client.application?.id).toBe(discord.applicationId);
		const g = client.guilds.cache.get(guild.id);
		expect(g?.name).toBe("Sandbox");
		expect(g?.roles.everyone.id).toBe(guild.id);
		expect(g?.members.cache.has(alice.id)).toBe(true);
		const gen = client.channels.cache.get(general.id);
		expect(gen?.isTextBased() && !gen.isDMBased() && gen.name).toBe("general");
		const n = client.channels.cache.get(nsfw.id);
		expect(n && "nsfw" in n && n.nsfw).toBe(true);
		const t = client.channels.cache.get(thread.id);
		expect(t?.isThread() && t.parentId).toBe(general.id);
		const perms = g?.channels.cache.get(general.id)?.permissionsFor(client.user!.id);
		expect(perms?.has(PermissionFlagsBits.SendMessages)).toBe(true);
		expect(perms?.has(PermissionFlagsBits.ManageGuild)).toBe(false);
		expect(discord.gatewayLog.some((e) => e.t === "READY")).toBe(true);
		expect(discord.gatewayLog.filter((e) => e.t === "GUILD_CREATE")).toHaveLength(1);
	});

	it("registers commands through the spec validator, and records an invalid one as a violation", async () => {
		const names = discord.registeredCommands().map((c) => c.name);
		expect(names).toEqual(expect.arrayContaining(["ping", "upload", "Quote"]));
		expect(discord.events.some((e) => e.kind === "commands")).toBe(true);
		discord.assertNoViolations();
		const err = await bot.client.rest
			.post(Routes.applicationCommands(discord.applicationId), {
				body: { name: "Bad Name", description: "d".repeat(101) },
			})
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(DiscordAPIError);
		expect((err as DiscordAPIError).code).toBe(50035);
		const [v, ...rest] = discord.takeViolations();
		expect(rest).toHaveLength(0);
		expect(v?.kind).toBe("validation");
		expect(JSON.stringify(v?.errors)).toContain("description");
		expect(JSON.stringify(v?.errors)).toContain("APPLICATION_COMMAND_INVALID_NAME");
	});

	it("slash -> reply (content and embed), with the interaction payload discord.js expects", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "ping" });
		await ix.settled();
		expect(ix.callbackType).toBe(4);
		expect(ix.reply?.content).toBe("pong");
		expect(ix.reply?.embeds[0]?.title).toBe("Pong");
		expect(ix.ephemeral).toBe(false);
		expect(discord.messages(general).at(-1)?.id).toBe(ix.reply?.id);
		expect(ix.payload.locale).toBe("fr");
		expect(discord.events.at(-1)).toMatchObject({
			kind: "callback",
			callbackType: 4,
			content: "pong",
			channelId: general.id,
		});
		discord.assertNoViolations();
	});

	it("throws clearly for unregistered commands and users who may not run them", async () => {
		await expect(discord.slash({ user: alice, channel: general, command: "nope" })).rejects.toThrow(
			/not registered a slash command named "nope"/,
		);
		await expect(discord.slash({ user: alice, channel: general, command: "admin" })).rejects.toThrow(/ManageGuild/);
		const bob = discord.createUser({ username: "bob" });
		guild.addMember(bob, { permissions: ["ManageGuild"] });
		const ix = await discord.slash({ user: bob, channel: general, command: "admin" });
		await ix.settled();
		expect(ix.reply?.content).toBe("admin ok");
	});

	it("defer -> edit of the deferred reply", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "slow" });
		const first = await ix.response();
		expect(first.type).toBe(5);
		await ix.settled();
		expect(ix.reply?.content).toBe("done slowly");
		expect(ix.reply?.loading).toBe(false);
		expect(discord.events.filter((e) => e.interactionId === ix.id).map((e) => e.kind)).toEqual(["callback", "edit"]);
	});

	it("a reply after the ack window fails with 10062 and is recorded", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "late" });
		await discord.waitFor(() => bot.errors.find((e) => e.command === "late"));
		expect(bot.errors.find((e) => e.command === "late")?.code).toBe(10062);
		expect(ix.acknowledged).toBe(false);
		expect(ix.errors[0]?.code).toBe(10062);
		const codes = discord.takeViolations().map((v) => v.code);
		expect(codes).toEqual([10062, 10062]); // the window passing, then the late callback
	});

	it("acknowledging twice answers 40060", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "double" });
		await discord.waitFor(() => bot.errors.find((e) => e.command === "double"));
		expect(bot.errors.find((e) => e.command === "double")?.code).toBe(40060);
		expect(ix.reply?.content).toBe("one");
		expect(discord.takeViolations().map((v) => v.code)).toEqual([40060]);
	});

	it("modal open + submit", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "form" });
		await ix.settled();
		expect(ix.modal?.custom_id).toBe("profile");
		expect(ix.reply).toBeUndefined();
		await expect(discord.submitModal({ from: ix, fields: { name: "x".repeat(21) } })).rejects.toThrow(/max_length 20/);
		const submit = await discord.submitModal({ from: ix, fields: { name: "Alice" } });
		await submit.settled();
		expect(submit.reply?.content).toBe("Hello Alice");
		expect(submit.ephemeral).toBe(true);
		discord.assertNoViolations();
	});

	it("button click -> update of the message; deferUpdate + delete", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "buttons" });
		await ix.settled();
		const message = ix.reply!;
		expect(message.components).toHaveLength(1);
		await expect(discord.clickButton({ user: alice, message, label: "Nope" })).rejects.toThrow(/Bump/);
		const click = await discord.clickButton({ user: alice, message, label: "Bump" });
		await click.settled();
		expect(click.callbackType).toBe(7);
		expect(message.content).toBe("bumped");
		expect(message.components).toEqual([]);

		const again = await discord.slash({ user: alice, channel: general, command: "buttons" });
		await again.settled();
		const del = await discord.clickButton({ user: alice, message: again.reply!, customId: "del" });
		await discord.waitFor(() => again.reply === undefined || again.reply.deleted);
		expect(del.callbackType).toBe(6);
		expect(discord.messages(general).some((m) => m.id === del.sourceMessage?.id)).toBe(false);
		discord.assertNoViolations();
	});

	it("ephemeral replies and followups keep the flag and stay out of the channel", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "secret" });
		await ix.settled();
		expect(ix.reply?.flags).toBe(MessageFlags.Ephemeral);
		expect(discord.events.at(-1)?.ephemeral).toBe(true);
		expect(discord.messages(general).some((m) => m.id === ix.reply?.id)).toBe(false);

		const f = await discord.slash({ user: alice, channel: general, command: "followup" });
		await discord.waitFor(() => f.followups.length === 1);
		expect(f.messages.map((m) => [m.content, m.ephemeral])).toEqual([
			["first", false],
			["second, quietly", true],
		]);
		discord.assertNoViolations();
	});

	it("channel.send without Send Messages -> 403 50013", async () => {
		general.setPermissionOverwrite(discord.botUser, { deny: ["SendMessages"] });
		await discord.waitFor(() => {
			const ch = bot.client.channels.cache.get(general.id);
			return (
				ch && "permissionsFor" in ch && !ch.permissionsFor(bot.client.user!.id)?.has(PermissionFlagsBits.SendMessages)
			);
		});
		const ix = await discord.slash({ user: alice, channel: general, command: "announce" });
		await discord.waitFor(() => ix.reply?.content.startsWith("failed"));
		expect(ix.reply?.content).toBe("failed: 50013");
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50013]);
		general.removePermissionOverwrite(discord.botUser);
		const ok = await discord.slash({ user: alice, channel: general, command: "announce" });
		await discord.waitFor(() => ok.reply?.content === "sent");
		expect(discord.messages(general).at(-1)?.content).toBe("announcement");
	});

	it("threads: commands work there and the bot sends with Send Messages in Threads", async () => {
		general.setPermissionOverwrite(guild.botRole, { deny: ["SendMessages"] });
		const ix = await discord.slash({ user: alice, channel: thread, command: "announce" });
		await discord.waitFor(() => ix.reply && !ix.reply.loading);
		expect(ix.reply?.content).toBe("sent");
		expect(discord.messages(thread).at(-1)?.content).toBe("announcement");
		general.removePermissionOverwrite(guild.botRole);
		discord.assertNoViolations();
	});

	it("with_response=true returns the callback response; fetchReply reads @original", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "resp" });
		await discord.waitFor(() => ix.followups.length === 1);
		expect(ix.followups[0]?.content).toBe("true true");
		expect(ix.callback?.withResponse).toBe(true);
		discord.assertNoViolations();
	});

	it("unknown channel -> 404 10003", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "lost" });
		await discord.waitFor(() => ix.reply?.content.startsWith("lost"));
		expect(ix.reply?.content).toBe("lost: 10003");
		discord.assertNoViolations();
	});

	it("content over 2000 characters -> 400 50035, recorded", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "long" });
		await discord.waitFor(() => bot.errors.find((e) => e.command === "long"));
		expect(bot.errors.find((e) => e.command === "long")?.code).toBe(50035);
		const violations = discord.takeViolations();
		expect(violations.map((v) => v.code)).toContain(50035);
		expect(JSON.stringify(violations.find((v) => v.code === 50035)?.errors)).toContain(
			"Must be 2000 or fewer in length.",
		);
		expect(ix.acknowledged).toBe(false);
		await discord.waitFor(() => ix.ackExpired);
		discord.takeViolations();
	});

	it("a forced 429 is retried by @discordjs/rest after retry_after", async () => {
		discord.forceRateLimit({ route: "POST /channels/{channel_id}/messages", retryAfterMs: 200 });
		const started = Date.now();
		const ix = await discord.slash({ user: alice, channel: general, command: "announce" });
		await discord.waitFor(() => ix.reply?.content === "sent");
		expect(Date.now() - started).toBeGreaterThanOrEqual(200);
		const posts = discord.requests.filter((r) => r.route === "POST /channels/{channel_id}/messages").slice(-2);
		expect(posts.map((r) => r.status)).toEqual([429, 200]);
		discord.assertNoViolations();
	});

	it("autocomplete returns the bot's choices; message commands get the resolved message", async () => {
		const choices = await discord.autocomplete({
			user: alice,
			channel: general,
			command: "pick",
			options: { fruit: "ap" },
			focused: "fruit",
		});
		expect(choices.map((c) => c.value)).toEqual(["apple", "apricot"]);

		const posted = await discord.postUserMessage({
			user: alice,
			channel: general,
			content: "look at this",
			attachments: [{ filename: "cat.png", source: { generate: { size: 5000, headBytes: PNG_HEAD } } }],
		});
		const ix = await discord.messageCommand({ user: alice, message: posted, name: "Quote" });
		await ix.settled();
		expect(ix.reply?.content).toBe("> look at this [cat.png 5000]");
		discord.assertNoViolations();
	});

	it("gateway drop -> the client resumes, gets what it missed, and the next interaction works", async () => {
		const resumed = discord.nextDispatch("RESUMED");
		const shardResumed = new Promise<void>((resolve) => bot.client.once(Events.ShardResume, () => resolve()));
		discord.dropGateway({ resumable: true });
		// Dispatched while the bot is disconnected: replayed on RESUME.
		const away = guild.createChannel({ name: "while-away" });
		await resumed;
		await shardResumed;
		await discord.waitFor(() => bot.client.channels.cache.has(away.id));
		const next = await discord.slash({ user: alice, channel: away, command: "ping" });
		await next.settled();
		expect(next.reply?.content).toBe("pong");
		expect(discord.gatewayLog.filter((e) => e.direction === "out" && e.t === "READY")).toHaveLength(1);
		expect(discord.gatewayLog.some((e) => e.direction === "close" && e.code === 4000)).toBe(true);
		discord.assertNoViolations();
	});

	it("attachments: the bot downloads an option attachment from the CDN; expired or forged urls are 404", async () => {
		const ix = await discord.slash({
			user: alice,
			channel: general,
			command: "upload",
			attachments: { file: { filename: "photo.png", source: { generate: { size: 70_000, headBytes: PNG_HEAD } } } },
		});
		await ix.settled();
		expect(ix.reply?.content).toBe("photo.png image/png 70000 200 16x12");
		const resolved = (
			ix.payload.data as { resolved: { attachments: Record<string, { url: string; proxy_url: string }> } }
		).resolved;
		const apiAtt = Object.values(resolved.attachments)[0]!;
		expect(apiAtt.url.startsWith(`${discord.cdnUrl}/ephemeral-attachments/`)).toBe(true);
		const proxied = await fetch(apiAtt.proxy_url);
		expect(Buffer.from(await proxied.arrayBuffer()).equals(generatedBytes(70_000, PNG_HEAD))).toBe(true);
		const ranged = await fetch(apiAtt.url, { headers: { Range: "bytes=0-7" } });
		expect(ranged.status).toBe(206);
		expect(Buffer.from(await ranged.arrayBuffer()).equals(PNG_HEAD.subarray(0, 8))).toBe(true);

		const forged = apiAtt.url.replace(/hm=[0-9a-f]+/, `hm=${"0".repeat(64)}`);
		expect((await fetch(forged)).status).toBe(404);
		clock.advance(25 * 3600_000);
		const expired = await fetch(apiAtt.url);
		expect(expired.status).toBe(404);
		expect(await expired.text()).toBe("This content is no longer available.");
		discord.assertNoViolations();
	});

	it("the bot uploads files (multipart): stored, described, served by the CDN; Attach Files is enforced", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "file" });
		await ix.settled();
		const att = ix.reply?.attachments[0];
		expect(att).toMatchObject({
			filename: "pic.png",
			size: PICTURE.length,
			contentType: "image/png",
			width: 16,
			height: 12,
		});
		expect(att?.description).toBe("a picture");
		expect(ix.reply?.embeds[0]).toMatchObject({ image: { url: "attachment://pic.png" } });
		const url = discord.events.at(-1)?.attachments[0]?.url ?? "";
		expect(url).toMatch(/\/attachments\/\d+\/\d+\/pic\.png\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]+&$/);
		expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(PICTURE)).toBe(true);
		expect(discord.requests.find((r) => r.path.endsWith("/callback") && r.files.length === 1)?.files[0]).toMatchObject({
			field: "files[0]",
			filename: "pic.png",
		});

		general.setPermissionOverwrite(guild.botRole, { deny: ["AttachFiles"] });
		const denied = await discord.slash({ user: alice, channel: general, command: "sendfile" });
		await discord.waitFor(() => denied.reply?.content.startsWith("failed"));
		expect(denied.reply?.content).toBe("failed: 50013");
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50013]);
		general.removePermissionOverwrite(guild.botRole);
	});

	it("followups after 15 minutes fail with 50027", async () => {
		const ix = await discord.slash({ user: alice, channel: general, command: "ping" });
		await ix.settled();
		clock.advance(16 * 60_000);
		const err = await bot.client.rest
			.post(Routes.webhook(discord.applicationId, ix.token), { body: { content: "late followup" }, auth: false })
			.catch((e: unknown) => e);
		expect((err as DiscordAPIError).code).toBe(50027);
		expect(discord.takeViolations().map((v) => v.code)).toEqual([50027]);
	});

	it("enforce_nonce: a repeat within minutes returns the first message; reads carry no nonce", async () => {
		const ch = guild.createChannel({ name: "nonces" });
		const send = (body: Record<string, unknown>) =>
			bot.client.rest.post(Routes.channelMessages(ch.id), { body }) as Promise<{ id: string; nonce?: unknown }>;
		const first = await send({ content: "once", nonce: "n-1", enforce_nonce: true });
		expect(first.nonce).toBe("n-1");
		clock.advance(60_000);
		expect((await send({ content: "twice?", nonce: "n-1", enforce_nonce: true })).id).toBe(first.id);
		expect(discord.messages(ch).map((m) => m.content)).toEqual(["once"]);
		// Not enforced, or past the window: a new message.
		await send({ content: "not enforced", nonce: "n-1" });
		clock.advance(ENFORCED_NONCE_WINDOW_MS + 1000);
		await send({ content: "later", nonce: "n-1", enforce_nonce: true });
		expect(discord.messages(ch).map((m) => m.content)).toEqual(["once", "not enforced", "later"]);
		const listed = (await bot.client.rest.get(Routes.channelMessages(ch.id))) as Array<Record<string, unknown>>;
		const one = (await bot.client.rest.get(Routes.channelMessage(ch.id, first.id))) as Record<string, unknown>;
		expect([...listed, one].filter((m) => "nonce" in m)).toEqual([]);
		discord.assertNoViolations();
	});
});

describe("Discord emulator protocol edges", () => {
	let discord: DiscordEmulator;
	let guild: Guild;
	let general: Channel;
	let alice: User;
	const clients: Client[] = [];

	/** A client that identifies again right away after an invalid session (no 5 s identify spacing). */
	const newClient = (intents: GatewayIntentBits[] = [GatewayIntentBits.Guilds]) => {
		const client = new Client({
			intents,
			rest: { api: discord.restUrl },
			ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
		});
		clients.push(client);
		return client;
	};
	const login = async (client: Client) => {
		const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
		await client.login(discord.botToken);
		await ready;
	};

	beforeAll(async () => {
		// These clients skip discord.js's identify spacing (above), so Discord's one IDENTIFY per 5 s is off.
		discord = await startDiscordEmulator({ sessionStartLimit: { windowMs: 0 } });
		guild = discord.createGuild({ name: "Edges", preferredLocale: "de" });
		general = guild.createChannel({ name: "general" });
		alice = discord.createUser({ username: "alice" });
		guild.addMember(alice);
	});

	afterAll(async () => {
		await Promise.all(clients.map((c) => c.destroy()));
		await discord?.close();
	});

	it("a wrong token is refused on REST (401) and the client reports TokenInvalid", async () => {
		const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.restUrl } });
		clients.push(client);
		await expect(client.login("not-the-token")).rejects.toMatchObject({ code: "TokenInvalid" });
		expect(discord.takeViolations().map((v) => [v.kind, v.status])).toEqual([["auth", 401]]);
	});

	it("an invalidated session makes the client identify again; guilds added later arrive as GUILD_CREATE", async () => {
		const client = newClient();
		await login(client);
		const readyAgain = discord.nextDispatch("READY");
		discord.dropGateway({ resumable: false });
		await readyAgain;
		const later = discord.createGuild({ name: "Later" });
		await discord.waitFor(() => client.guilds.cache.get(later.id));
		expect(client.guilds.cache.get(later.id)?.members.me?.id).toBe(discord.botUser.id);
		later.createChannel({ name: "fresh" }).delete();
		await discord.waitFor(() => discord.gatewayLog.some((e) => e.t === "CHANNEL_DELETE"));
		expect(discord.gatewayLog.filter((e) => e.direction === "out" && e.t === "READY")).toHaveLength(2);
		expect(discord.gatewayLog.some((e) => e.direction === "out" && e.op === 9)).toBe(true);
		await client.destroy();
		discord.assertNoViolations();
	});

	it("MESSAGE_CREATE reaches GuildMessages sessions, without content unless MessageContent", async () => {
		const client = newClient([GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
		await login(client);
		const seen: Array<{ content: string; attachments: number }> = [];
		client.on(Events.MessageCreate, (m) => seen.push({ content: m.content, attachments: m.attachments.size }));
		await discord.postUserMessage({
			user: alice,
			channel: general,
			content: "secret words",
			attachments: [{ filename: "a.txt", source: "hi" }],
		});
		await discord.postUserMessage({ user: alice, channel: general, content: `<@${discord.botUser.id}> hello` });
		await discord.waitFor(() => seen.length === 2);
		expect(seen).toEqual([
			{ content: "", attachments: 0 },
			{ content: `<@${discord.botUser.id}> hello`, attachments: 0 },
		]);
		const fetched = await client.rest.get(Routes.channelMessages(general.id));
		expect((fetched as Array<{ content: string }>).map((m) => m.content)).toEqual([
			`<@${discord.botUser.id}> hello`,
			"",
		]);
		await client.destroy();
		discord.assertNoViolations();
	});

	it("MESSAGE_CREATE of the bot's own message carries its nonce (reads do not)", async () => {
		const client = newClient([GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
		await login(client);
		const nonces = new Map<string, unknown>();
		client.on(Events.MessageCreate, (m) => nonces.set(m.id, m.nonce));
		const sent = (await client.rest.post(Routes.channelMessages(general.id), {
			body: { content: "with a nonce", nonce: "edge-1" },
		})) as { id: string };
		expect(await discord.waitFor(() => nonces.get(sent.id))).toBe("edge-1");
		const read = (await client.rest.get(Routes.channelMessage(general.id, sent.id))) as Record<string, unknown>;
		expect(read).not.toHaveProperty("nonce");
		await client.destroy();
		discord.assertNoViolations();
	});

	it("validates bodies: empty message, embed total, action rows, duplicate custom ids, unknown routes", async () => {
		const client = newClient();
		await login(client);
		const post = (body: unknown) =>
			client.rest.post(Routes.channelMessages(general.id), { body }).then(
				() => null,
				(e: unknown) => e as DiscordAPIError,
			);
		expect((await post({ content: "" }))?.code).toBe(50006);
		const big = { embeds: [0, 1, 2].map(() => ({ description: "d".repeat(2500) })) };
		expect(JSON.stringify((await post(big))?.rawError)).toContain("MAX_EMBED_SIZE_EXCEEDED");
		const row = (id: string) => ({ type: 1, components: [{ type: 2, style: 1, label: id, custom_id: id }] });
		const six = await post({ content: "x", components: ["a", "b", "c", "d", "e", "f"].map(row) });
		expect(JSON.stringify(six?.rawError)).toContain("Must be 5 or fewer in length.");
		const dup = await post({ content: "x", components: [row("same"), row("same")] });
		expect(JSON.stringify(dup?.rawError)).toContain("COMPONENT_CUSTOM_ID_DUPLICATED");
		// Limits count code points, as Discord does: 256 emoji make a valid title, 257 do not.
		expect(await post({ embeds: [{ title: "🔥".repeat(256) }] })).toBeNull();
		const long = await post({ embeds: [{ title: "🔥".repeat(257) }] });
		expect(JSON.stringify(long?.rawError)).toContain("Must be 256 or fewer in length.");
		// Half an emoji (an unpaired surrogate) is not valid Unicode anywhere in the body.
		const half = await post({ embeds: [{ title: "🔥".repeat(3).slice(0, 5) }] });
		expect(half?.code).toBe(50035);
		expect(JSON.stringify(half?.rawError)).toContain("STRING_TYPE_INVALID_UNICODE");
		const unknown = await client.rest
			.get("/channels/1/nothing-here" as `/${string}`)
			.catch((e: unknown) => e as DiscordAPIError);
		expect(unknown).toMatchObject({ status: 404, code: 0 });
		expect(discord.takeViolations().map((v) => v.kind)).toEqual([
			"validation",
			"validation",
			"validation",
			"validation",
			"validation",
			"validation",
			"unknown-route",
		]);
		await client.destroy();
	});

	it("embed and link button URLs are checked as Discord does: well formed, scheme, length", async () => {
		const client = newClient();
		await login(client);
		// A channel each: the answers, not Discord's 5 per 5 s per channel, are what this is about.
		const post = (body: unknown) =>
			client.rest.post(Routes.channelMessages(guild.createChannel({ name: "urls" }).id), { body }).then(
				() => "sent",
				(e: unknown) => JSON.stringify((e as DiscordAPIError).rawError),
			);
		const thumb = (url: string) => post({ embeds: [{ title: "t", thumbnail: { url } }] });
		expect(await thumb("javascript:alert(1)")).toContain(
			`"thumbnail":{"url":{"_errors":[{"code":"URL_TYPE_INVALID_SCHEME","message":"Scheme \\"javascript\\" is not supported. Scheme must be one of ('http', 'https', 'attachment')."}]}}`,
		);
		for (const bad of ["https://a.example/two words.png", "/relative.png", "https:/a.example/x.png"])
			expect(await thumb(bad)).toContain("Not a well formed URL.");
		expect(await thumb(`https://a.example/${"x".repeat(2048)}`)).toContain("Must be 2048 or fewer in length.");
		expect(await post({ embeds: [{ title: "t", url: "ftp://a.example/x" }] })).toContain(
			"Scheme must be one of ('http', 'https').",
		);
		expect(await post({ embeds: [{ author: { name: "a", icon_url: "data:image/png;base64,AA" } }] })).toContain(
			"URL_TYPE_INVALID_SCHEME",
		);
		const link = (url: string) =>
			post({ content: "x", components: [{ type: 1, components: [{ type: 2, style: 5, label: "Open", url }] }] });
		expect(await link(`https://a.example/${"x".repeat(500)}`)).toContain("Must be 512 or fewer in length.");
		expect(await link("javascript:alert(1)")).toContain("Scheme must be one of ('http', 'https', 'discord').");
		expect(await link("discord://-/channels/1/2")).toBe("sent");
		expect(await thumb("https://cdn.example/ü.png")).toBe("sent");
		expect(discord.takeViolations().map((v) => v.code)).toEqual(Array(9).fill(50035));
		await client.destroy();
	});

	it("DMs: the bot opens a DM channel and writes to it", async () => {
		const client = newClient();
		await login(client);
		const user = await client.users.fetch(alice.id);
		await user.send("hello in private");
		const dm = discord.dmChannel(alice);
		expect(discord.messages(dm).map((m) => m.content)).toEqual(["hello in private"]);
		await client.destroy();
		discord.assertNoViolations();
	});

	it("a session resumes only on its own resume_gateway_url: on the plain gateway URL it is invalid", async () => {
		/** A raw gateway connection: the frames it received, and a way to wait for the next one. */
		const connect = async (url: string) => {
			const ws = new WebSocket(`${url}?v=10&encoding=json`);
			const frames: Array<{ op: number; t?: string | null; d: unknown }> = [];
			const waiters: Array<() => void> = [];
			ws.on("message", (data) => {
				frames.push(JSON.parse(String(data)));
				for (const wake of waiters.splice(0)) wake();
			});
			const next = async (pred: (f: { op: number; t?: string | null; d: unknown }) => boolean) => {
				for (;;) {
					const found = frames.find(pred);
					if (found) return found;
					await new Promise<void>((resolve) => waiters.push(resolve));
				}
			};
			await next((f) => f.op === 10);
			return { ws, next };
		};
		const first = await connect(discord.gatewayUrl);
		first.ws.send(JSON.stringify({ op: 2, d: { token: discord.botToken, intents: 1, properties: {} } }));
		const ready = (await first.next((f) => f.t === "READY")).d as { session_id: string; resume_gateway_url: string };
		expect(ready.resume_gateway_url).not.toBe(discord.gatewayUrl);
		expect(new URL(ready.resume_gateway_url).host).toBe(new URL(discord.gatewayUrl).host);
		first.ws.close(4000);
		const resume = JSON.stringify({ op: 6, d: { token: discord.botToken, session_id: ready.session_id, seq: 1 } });

		const plain = await connect(discord.gatewayUrl);
		plain.ws.send(resume);
		expect(await plain.next((f) => f.op === 9)).toMatchObject({ op: 9, d: false });
		plain.ws.close(4000);
		expect(discord.takeViolations().map((v) => v.message)).toEqual([
			expect.stringMatching(/RESUME on \/gateway instead of the session's resume_gateway_url/),
		]);

		const own = await connect(ready.resume_gateway_url);
		own.ws.send(resume);
		expect(await own.next((f) => f.t === "RESUMED")).toMatchObject({ op: 0, t: "RESUMED" });
		own.ws.close(1000);
		discord.assertNoViolations();
	});

	it("op 7 RECONNECT and op 9 INVALID_SESSION d: true are resumed; d: false identifies again", async () => {
		const client = newClient();
		await login(client);
		const readies = () => discord.gatewayLog.filter((e) => e.direction === "out" && e.t === "READY").length;
		const before = readies();
		// Each step waits until the client itself has resumed (discord.js handles one at a time).
		const shardResumed = () => new Promise<void>((resolve) => client.once(Events.ShardResume, () => resolve()));
		let resumed = shardResumed();
		discord.requestReconnect();
		await resumed;
		resumed = shardResumed();
		discord.invalidateSession({ resumable: true });
		await resumed;
		expect(readies()).toBe(before);
		const readyAgain = discord.nextDispatch("READY");
		discord.invalidateSession({ resumable: false });
		await readyAgain;
		expect(readies()).toBe(before + 1);
		// After each, dispatches reach the client again.
		const later = guild.createChannel({ name: "after-op9" });
		await discord.waitFor(() => client.channels.cache.has(later.id));
		await client.destroy();
		discord.assertNoViolations();
	});

	it("a guild in an outage: GUILD_DELETE unavailable, also after READY of a new session; back with GUILD_CREATE", async () => {
		const client = newClient();
		await login(client);
		const outageAt = Date.now();
		discord.guildUnavailable(guild);
		await discord.waitFor(() => client.guilds.cache.get(guild.id)?.available === false);
		expect(client.guilds.cache.has(guild.id)).toBe(true);
		// A session started during the outage: READY, then GUILD_DELETE unavailable for the guild.
		const fresh = newClient();
		await login(fresh);
		expect(fresh.guilds.cache.get(guild.id)?.available).toBe(false);
		expect(fresh.channels.cache.has(general.id)).toBe(false);
		// Nothing of the guild is dispatched meanwhile.
		const hidden = guild.createChannel({ name: "during-outage" });
		expect(discord.gatewayLog.some((e) => e.t === "CHANNEL_CREATE" && e.at >= outageAt)).toBe(false);
		discord.guildAvailable(guild);
		await discord.waitFor(() => fresh.guilds.cache.get(guild.id)?.available && fresh.channels.cache.has(hidden.id));
		expect(fresh.channels.cache.has(general.id)).toBe(true);
		await Promise.all([client.destroy(), fresh.destroy()]);
		discord.assertNoViolations();
	});

	it("forum and media channels take no messages (50008); private threads only for members or Manage Threads", async () => {
		const client = newClient();
		await login(client);
		const forum = guild.createChannel({ name: "forum", type: "forum" });
		const media = guild.createChannel({ name: "media", type: "media" });
		const news = guild.createChannel({ name: "news", type: "announcement" });
		await discord.waitFor(() => client.channels.cache.has(news.id));
		expect(client.channels.cache.get(forum.id)?.isThreadOnly()).toBe(true);
		expect(client.channels.cache.get(media.id)?.isThreadOnly()).toBe(true);
		for (const ch of [forum, media]) {
			await expect(client.rest.post(Routes.channelMessages(ch.id), { body: { content: "hi" } })).rejects.toMatchObject({
				status: 400,
				code: 50008,
			});
		}
		await client.rest.post(Routes.channelMessages(news.id), { body: { content: "news" } });
		const post = forum.createThread({ name: "a post", owner: alice });
		expect(post.type).toBe(11);
		await client.rest.post(Routes.channelMessages(post.id), { body: { content: "in the post" } });

		const theirs = general.createThread({ name: "theirs", private: true, owner: alice });
		const ours = general.createThread({ name: "ours", private: true, owner: alice, members: [discord.botUser] });
		await discord.waitFor(() => client.channels.cache.has(ours.id));
		expect(client.channels.cache.has(theirs.id)).toBe(false);
		await expect(client.rest.get(Routes.channel(theirs.id))).rejects.toMatchObject({ status: 403, code: 50001 });
		await client.rest.post(Routes.channelMessages(ours.id), { body: { content: "members only" } });
		guild.setBotPermissions(DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.ManageThreads);
		await client.rest.post(Routes.channelMessages(theirs.id), { body: { content: "a moderator" } });
		guild.setBotPermissions(DEFAULT_BOT_PERMISSIONS);
		await client.destroy();
		// The refused requests above were on purpose (50001 is a violation: a correct bot checks first).
		discord.takeViolations();
	});
});

describe("Discord emulator rate limits", () => {
	const emulators: DiscordEmulator[] = [];
	const clients: Client[] = [];
	const start = async (opts: Parameters<typeof startDiscordEmulator>[0] = {}) => {
		const emulator = await startDiscordEmulator(opts);
		emulators.push(emulator);
		return emulator;
	};
	/** A raw request, so the test sees Discord's answer before any client interprets it. */
	const call = (
		discord: DiscordEmulator,
		path: string,
		init: { method?: string; token?: string; body?: unknown } = {},
	) =>
		fetch(`${discord.restUrl}/v10${path}`, {
			method: init.method ?? "GET",
			headers: {
				Authorization: `Bot ${init.token ?? discord.botToken}`,
				...(init.body !== undefined ? { "Content-Type": "application/json" } : {}),
			},
			body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
		});
	const rest = (discord: DiscordEmulator, options: Partial<ConstructorParameters<typeof REST>[0]> = {}) =>
		new REST({ api: discord.restUrl, ...options }).setToken(discord.botToken);
	const channels = (guild: Guild, n: number) =>
		Array.from({ length: n }, (_, i) => guild.createChannel({ name: `c${i}` }));
	const restCalls = (discord: DiscordEmulator, status: number) => discord.requests.filter((r) => r.status === status);

	afterAll(async () => {
		await Promise.all(clients.map((c) => c.destroy()));
		await Promise.all(emulators.map((e) => e.close()));
	});

	it("global: 50 requests per window per bot token, then 429 global with Discord's headers", async () => {
		// A minute-long window, so a loaded machine still sends all 60 within it (default: one second).
		const discord = await start({ rateLimits: { global: { limit: 50, windowMs: 60_000 } } });
		const all = channels(discord.createGuild({ name: "G" }), 60);
		const answers = await Promise.all(all.map((c) => call(discord, `/channels/${c.id}`)));
		const limited = answers.filter((a) => a.status === 429);
		expect(answers.filter((a) => a.status === 200)).toHaveLength(50);
		expect(limited).toHaveLength(10);
		const first = limited[0] as Response;
		expect(first.headers.get("x-ratelimit-global")).toBe("true");
		expect(first.headers.get("x-ratelimit-scope")).toBe("global");
		expect(Number(first.headers.get("retry-after"))).toBeGreaterThan(50);
		expect(first.headers.get("x-ratelimit-bucket")).toBeNull();
		const body = (await first.json()) as { global: boolean; retry_after: number; message: string };
		expect(body).toMatchObject({ global: true, message: "You are being rate limited." });
		expect(body.retry_after).toBeGreaterThan(0);
		expect(body.retry_after).toBeLessThanOrEqual(60);
		expect(answers.find((a) => a.status === 200)?.headers.get("x-ratelimit-limit")).toBe("50");
		expect(discord.takeViolations().map((v) => [v.kind, v.status])).toEqual(Array(10).fill(["rate-limit", 429]));
		expect(discord.invalidRequests()).toBe(10);
	});

	it("@discordjs/rest paces itself under the global limit (default 50/s), and parses the global 429 when it does not", async () => {
		const discord = await start();
		const guild = discord.createGuild({ name: "G" });
		// Its windows start where its own count does, Discord's (and the emulator's) where requests
		// arrive: the first burst also opens the connections, so it arrives later than the next one.
		// A longer pause after each window than the default 50 ms absorbs that here.
		const paced = rest(discord, { offset: 250 });
		await Promise.all(channels(guild, 120).map((c) => paced.get(Routes.channel(c.id))));
		expect(restCalls(discord, 429)).toEqual([]);
		discord.assertNoViolations();

		// A client that believes the limit is ten times higher gets global 429s, waits them out, and
		// every request still succeeds; rejectOnRateLimit shows how it reads them.
		const eager = rest(discord, { globalRequestsPerSecond: 500 });
		const results = await Promise.all(channels(guild, 120).map((c) => eager.get(Routes.channel(c.id))));
		expect(results).toHaveLength(120);
		expect(restCalls(discord, 429).length).toBeGreaterThan(0);
		expect(new Set(discord.takeViolations().map((v) => v.kind))).toEqual(new Set(["rate-limit"]));
		const rejecting = rest(discord, { globalRequestsPerSecond: 500, rejectOnRateLimit: () => true });
		const errors = await Promise.all(
			channels(guild, 60).map((c) =>
				rejecting.get(Routes.channel(c.id)).then(
					() => null,
					(e: unknown) => e,
				),
			),
		);
		const limited = errors.find((e) => e instanceof RateLimitError);
		expect(limited).toMatchObject({ global: true, scope: "global" });
		discord.takeViolations();
	});

	it("interaction callbacks and followups are exempt from the global limit", async () => {
		const discord = await start({ rateLimits: { global: { limit: 50, windowMs: 60_000 } } });
		const guild = discord.createGuild({ name: "G" });
		const general = guild.createChannel({ name: "general" });
		const alice = discord.createUser({ username: "alice" });
		guild.addMember(alice);
		const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.restUrl } });
		clients.push(client);
		client.on(Events.InteractionCreate, (ix) => {
			if (!ix.isChatInputCommand()) return;
			void ix.reply("pong").then(() => ix.followUp("again"));
		});
		const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
		await client.login(discord.botToken);
		await ready;
		await client.rest.put(Routes.applicationCommands(discord.applicationId), {
			body: [new SlashCommandBuilder().setName("ping").setDescription("Replies pong").toJSON()],
		});
		// The token's global bucket (one minute long here) is used up by other requests.
		await Promise.all(channels(guild, 60).map((c) => call(discord, `/channels/${c.id}`)));
		expect((await call(discord, `/channels/${general.id}`)).headers.get("x-ratelimit-global")).toBe("true");
		discord.takeViolations();
		const ix = await discord.slash({ user: alice, channel: general, command: "ping" });
		await discord.waitFor(() => ix.followups.length === 1);
		expect(ix.reply?.content).toBe("pong");
		expect(ix.followups[0]?.content).toBe("again");
		discord.assertNoViolations();
	});

	it("per route: bucket headers on every response; the sixth message in 5 s gets a 429 of scope user", async () => {
		const discord = await start();
		const guild = discord.createGuild({ name: "G" });
		const [one, two] = channels(guild, 2) as [Channel, Channel];
		const post = (c: Channel) =>
			call(discord, `/channels/${c.id}/messages`, { method: "POST", body: { content: "hi" } });
		const sent: Response[] = [];
		for (let i = 0; i < 6; i++) sent.push(await post(one));
		expect(sent.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
		expect(sent.slice(0, 5).map((r) => r.headers.get("x-ratelimit-remaining"))).toEqual(["4", "3", "2", "1", "0"]);
		const ok = sent[0] as Response;
		expect(ok.headers.get("x-ratelimit-limit")).toBe("5");
		expect(Number(ok.headers.get("x-ratelimit-reset-after"))).toBeGreaterThan(4);
		expect(Number(ok.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
		expect(ok.headers.get("x-ratelimit-scope")).toBeNull();
		const limited = sent[5] as Response;
		expect(limited.headers.get("x-ratelimit-bucket")).toBe(ok.headers.get("x-ratelimit-bucket"));
		expect(limited.headers.get("x-ratelimit-scope")).toBe("user");
		expect(limited.headers.get("x-ratelimit-global")).toBeNull();
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(4);
		expect(await limited.json()).toMatchObject({ global: false });
		expect((await post(two)).status).toBe(200);
		expect(discord.takeViolations().map((v) => v.kind)).toEqual(["rate-limit"]);
		expect(discord.invalidRequests()).toBe(1);
	});

	it("shared: a hot channel answers 429 scope shared, not the bot's fault nor an invalid request", async () => {
		const discord = await start();
		const hot = discord.createGuild({ name: "G" }).createChannel({ name: "hot" });
		discord.limitResource(hot.id, { limit: 2, windowMs: 60_000 });
		const post = () => call(discord, `/channels/${hot.id}/messages`, { method: "POST", body: { content: "hi" } });
		const sent = [await post(), await post(), await post()];
		expect(sent.map((r) => r.status)).toEqual([200, 200, 429]);
		const limited = sent[2] as Response;
		expect(limited.headers.get("x-ratelimit-scope")).toBe("shared");
		expect(limited.headers.get("x-ratelimit-remaining")).toBe("3");
		expect(await limited.json()).toMatchObject({ global: false, message: "The resource is being rate limited." });
		expect(discord.violations).toEqual([]);
		expect(discord.invalidRequests()).toBe(0);

		// @discordjs/rest reads the scope, and waits Retry-After before trying again.
		const rejecting = rest(discord, { rejectOnRateLimit: () => true });
		await expect(rejecting.post(Routes.channelMessages(hot.id), { body: { content: "x" } })).rejects.toMatchObject({
			scope: "shared",
			global: false,
		});
		discord.limitResource(hot.id, { limit: 1, windowMs: 300 });
		const patient = rest(discord);
		await patient.post(Routes.channelMessages(hot.id), { body: { content: "a" } });
		await patient.post(Routes.channelMessages(hot.id), { body: { content: "b" } });
		expect(discord.messages(hot).map((m) => m.content)).toEqual(["hi", "hi", "a", "b"]);
		expect(discord.violations).toEqual([]);
		expect(discord.invalidRequests()).toBe(0);
	});

	it("invalid requests (401, 403, 429 but shared) are counted; past the limit every request gets Cloudflare's 429", async () => {
		const discord = await start({ rateLimits: { invalidRequests: { limit: 3, banMs: 60_000 } } });
		const guild = discord.createGuild({ name: "G" });
		const general = guild.createChannel({ name: "general" });
		const locked = guild.createChannel({ name: "locked" }).setPermissionOverwrite(discord.botUser, {
			deny: ["SendMessages"],
		});
		const statuses = [
			(await call(discord, "/channels/1")).status,
			(await call(discord, `/channels/${general.id}/messages`, { method: "POST", body: { content: "" } })).status,
			(await call(discord, `/channels/${general.id}`, { token: "wrong" })).status,
			(await call(discord, `/channels/${locked.id}/messages`, { method: "POST", body: { content: "x" } })).status,
		];
		discord.limitResource(general.id, { limit: 0, windowMs: 60_000 });
		statuses.push(
			(await call(discord, `/channels/${general.id}/messages`, { method: "POST", body: { content: "x" } })).status,
		);
		discord.forceRateLimit({ route: "GET /channels/{channel_id}" });
		statuses.push((await call(discord, `/channels/${locked.id}`)).status);
		expect(statuses).toEqual([404, 400, 401, 403, 429, 429]);
		expect(discord.invalidRequests()).toBe(3);
		expect((await call(discord, `/channels/${locked.id}`)).status).toBe(200);
		expect(discord.takeViolations().map((v) => v.kind)).toEqual(["validation", "auth", "permission"]);

		expect((await call(discord, `/channels/${locked.id}`, { token: "wrong" })).status).toBe(401);
		expect(discord.takeViolations().map((v) => v.kind)).toEqual(["auth", "invalid-requests"]);
		const banned = await call(discord, `/channels/${locked.id}`);
		expect(banned.status).toBe(429);
		expect(banned.headers.get("content-type")).not.toContain("json");
		expect(await banned.text()).toBe("error code: 1015");
		expect(Number(banned.headers.get("retry-after"))).toBeGreaterThan(50);
		expect(banned.headers.get("x-ratelimit-bucket")).toBeNull();
		expect(banned.headers.get("x-ratelimit-global")).toBeNull();
		// @discordjs/rest takes it as a rate limit to wait out (here: rejected, to see it).
		const rejecting = rest(discord, { rejectOnRateLimit: () => true });
		const error = await rejecting.get(Routes.channel(locked.id)).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(RateLimitError);
		expect((error as RateLimitError).retryAfter).toBeGreaterThan(50_000);
		expect(discord.violations).toEqual([]);
	});

	it("the invalid-request window slides: old ones stop counting", async () => {
		const discord = await start({ rateLimits: { invalidRequests: { windowMs: 200 } } });
		expect((await call(discord, "/users/@me", { token: "wrong" })).status).toBe(401);
		expect(discord.invalidRequests()).toBe(1);
		await discord.waitFor(() => discord.invalidRequests() === 0, { timeoutMs: 2000 });
		discord.takeViolations();
	});
});
