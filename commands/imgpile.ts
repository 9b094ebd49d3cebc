import {
	ApplicationCommandOptionType,
	ChannelType,
	type ChatInputCommandInteraction,
	ComponentType,
	type ModalComponentData,
	type ModalSubmitInteraction,
	PermissionFlagsBits,
	PermissionsBitField,
	TextInputStyle,
} from "discord.js";
import { snowflakeAt } from "../src/bot/auto-rehost-backlog.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { requireManager } from "../src/bot/guards.js";
import { linkedIdentity } from "../src/bot/identity.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { customId } from "../src/discord/index.js";
import { type MessageKey, named, type Translate } from "../src/i18n/index.js";
import { IMGPILE_LIMITS } from "../src/imgpile/index.js";
import { AUTO_REHOST_CHANNELS_MAX, type AutoRehostReplyMode } from "../src/store/index.js";

/** Where members post: text and announcement channels, their threads, forums (each post a thread). */
const AUTO_REHOST_CHANNEL_TYPES = [
	ChannelType.GuildText,
	ChannelType.GuildAnnouncement,
	ChannelType.AnnouncementThread,
	ChannelType.PublicThread,
	ChannelType.PrivateThread,
	ChannelType.GuildForum,
] as const;

/** `/imgpile`: link, unlink, status, sharex, server-token set|clear, settings rehost-reply|auto-rehost|auto-rehost-me. */
export const data = chatCommand("imgpile", {
	options: [
		{ type: ApplicationCommandOptionType.Subcommand, name: "link" },
		{ type: ApplicationCommandOptionType.Subcommand, name: "unlink" },
		{ type: ApplicationCommandOptionType.Subcommand, name: "status" },
		{ type: ApplicationCommandOptionType.Subcommand, name: "sharex" },
		{
			type: ApplicationCommandOptionType.SubcommandGroup,
			name: "server-token",
			options: [
				{
					type: ApplicationCommandOptionType.Subcommand,
					name: "set",
					options: [
						{
							type: ApplicationCommandOptionType.Integer,
							name: "cap",
							min_value: 1,
							max_value: IMGPILE_LIMITS.uploadsPerDay,
						},
					],
				},
				{ type: ApplicationCommandOptionType.Subcommand, name: "clear" },
			],
		},
		{
			type: ApplicationCommandOptionType.SubcommandGroup,
			name: "settings",
			options: [
				{
					type: ApplicationCommandOptionType.Subcommand,
					name: "rehost-reply",
					options: [
						{
							type: ApplicationCommandOptionType.String,
							name: "mode",
							choices: [
								{ value: "ephemeral", ...named("cmd.settings.choice.ephemeral") },
								{ value: "public", ...named("cmd.settings.choice.public") },
							],
						},
					],
				},
				{
					type: ApplicationCommandOptionType.Subcommand,
					name: "auto-rehost",
					options: [
						{ type: ApplicationCommandOptionType.Boolean, name: "enabled", required: true },
						{ type: ApplicationCommandOptionType.Channel, name: "channel", channel_types: AUTO_REHOST_CHANNEL_TYPES },
						{ type: ApplicationCommandOptionType.Boolean, name: "server-token" },
						{
							type: ApplicationCommandOptionType.String,
							name: "reply",
							choices: [
								{ value: "message", ...named("cmd.imgpile.choice.reply.message") },
								{ value: "thread", ...named("cmd.imgpile.choice.reply.thread") },
							],
						},
					],
				},
				{
					type: ApplicationCommandOptionType.Subcommand,
					name: "auto-rehost-me",
					options: [{ type: ApplicationCommandOptionType.Boolean, name: "enabled", required: true }],
				},
			],
		},
	],
});

const LINK_MODAL = "imgpile-link";
const SERVER_TOKEN_MODAL = "imgpile-server-token";
const TOKEN_FIELD = "token";

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const group = options.getSubcommandGroup(false);
	const sub = options.getSubcommand(true);
	if (group === "settings" && sub === "auto-rehost-me") return autoRehostMe(ctx, interaction);
	if (group === "settings" && sub === "auto-rehost") return autoRehost(ctx, interaction);
	if (group === "settings") return rehostReplySetting(ctx, interaction, requireManager(ctx.t, interaction));
	if (group === "server-token") {
		const guildId = requireManager(ctx.t, interaction);
		if (sub === "set") {
			const cap = options.getInteger("cap") ?? 20;
			return ctx.respond.showModal(
				tokenModal(ctx.t, customId(SERVER_TOKEN_MODAL, cap), "serverToken.modal.title", "serverToken.modal.label"),
			);
		}
		const cleared = await ctx.store.guilds.clearServerToken(guildId);
		return ctx.respond.reply({ content: ctx.t(cleared ? "serverToken.cleared" : "serverToken.none"), ephemeral: true });
	}
	switch (sub) {
		case "link":
			return ctx.respond.showModal(tokenModal(ctx.t, customId(LINK_MODAL), "link.modal.title", "link.modal.label"));
		case "unlink": {
			const removed = await ctx.store.tokens.unlink({ guildId: interaction.guildId, userId: interaction.user.id });
			return ctx.respond.reply({ content: ctx.t(removed ? "unlink.done" : "unlink.none"), ephemeral: true });
		}
		case "status":
			return status(ctx, interaction);
		case "sharex":
			return sharex(ctx, interaction);
	}
	throw new UserError("error.unknownAction");
}

/** The token modal was submitted: check the token with imgpile, then keep it (encrypted). */
async function linkSubmitted(ctx: HandlerContext, interaction: ModalSubmitInteraction): Promise<void> {
	const token = interaction.fields.getTextInputValue(TOKEN_FIELD).trim();
	if (!token) throw new UserError("link.empty");
	ctx.secrets.add(token);
	await ctx.respond.defer({ ephemeral: true });
	if (!(await ctx.imgpile.as(token).verifyToken())) throw new UserError("link.invalid");
	const linked = await ctx.store.tokens.link({ guildId: interaction.guildId, userId: interaction.user.id, token });
	ctx.log.info({ scope: linked.scope }, "imgpile token linked");
	await ctx.respond.reply({
		content: ctx.t(linked.scope === "guild" ? "link.done.guild" : "link.done.dm", { last4: linked.last4 || "····" }),
	});
}

async function serverTokenSubmitted(ctx: HandlerContext, interaction: ModalSubmitInteraction, args: string[]) {
	const guildId = requireManager(ctx.t, interaction);
	const cap = clampCap(Number(args[0]));
	const token = interaction.fields.getTextInputValue(TOKEN_FIELD).trim();
	if (!token) throw new UserError("link.empty");
	ctx.secrets.add(token);
	await ctx.respond.defer({ ephemeral: true });
	if (!(await ctx.imgpile.as(token).verifyToken())) throw new UserError("serverToken.invalid");
	const info = await ctx.store.guilds.setServerToken(guildId, token, interaction.user.id);
	await ctx.store.guilds.update(guildId, { serverTokenDailyCap: cap });
	ctx.log.info({ cap }, "server token set");
	await ctx.respond.reply({ content: ctx.t("serverToken.set", { last4: info.last4 || "····", cap }) });
}

/** `/imgpile settings rehost-reply [mode]`: how "Rehost to imgpile" answers; no mode shows it. */
async function rehostReplySetting(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction,
	guildId: string,
): Promise<void> {
	const choice = optionsOf(data, interaction).getString("mode");
	if (choice === null) {
		const { rehostReply } = await ctx.store.guilds.get(guildId);
		await ctx.respond.reply({
			content: ctx.t("settings.current", { mode: ctx.t(`settings.mode.${rehostReply}`) }),
			ephemeral: true,
		});
		return;
	}
	if (choice !== "public" && choice !== "ephemeral") throw new UserError("error.unknownAction");
	await ctx.store.guilds.update(guildId, { rehostReply: choice });
	ctx.log.info({ rehostReply: choice }, "rehost reply mode changed");
	await ctx.respond.reply({ content: ctx.t(`settings.rehostReply.${choice}`), ephemeral: true });
}

/** Auto-rehost reads members' messages: refused, saying how to turn it on, unless the bot does. */
function requireMessageContent(ctx: HandlerContext): void {
	if (!ctx.messageContent) throw new UserError("autoRehost.needsIntent");
}

/** `/imgpile settings auto-rehost enabled [channel] [server-token] [reply]` (Manage Server). */
async function autoRehost(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const guildId = requireManager(ctx.t, interaction);
	requireMessageContent(ctx);
	const options = optionsOf(data, interaction);
	const enabled = options.getBoolean("enabled", true);
	const channelId = options.getChannel("channel")?.id ?? interaction.channelId;
	const serverToken = options.getBoolean("server-token") ?? false;
	const reply: AutoRehostReplyMode = options.getString("reply") === "thread" ? "thread" : "message";
	const channel = `<#${channelId}>`;
	if (!enabled) {
		await ctx.store.guilds.setAutoRehost(guildId, channelId, null);
		await ctx.store.autoRehost.dropCursor(channelId);
		ctx.log.info({ channelId }, "auto-rehost turned off");
		return ctx.respond.reply({ content: ctx.t("autoRehost.off", { channel }), ephemeral: true });
	}
	if (serverToken && !(await ctx.store.guilds.get(guildId)).serverToken) {
		throw new UserError("autoRehost.noServerToken");
	}
	const target = interaction.guild?.channels.cache.get(channelId);
	// Threads and forum posts cannot hold a thread started from a message: there the links are a reply.
	const inThreads = target !== undefined && (target.isThread() || target.type === ChannelType.GuildForum);
	const missing = botMissing(interaction, channelId, reply === "thread" && !inThreads);
	if (missing.length > 0) throw new UserError("autoRehost.botMissing", { channel, permissions: missing.join(", ") });
	const set = await ctx.store.guilds.setAutoRehost(guildId, channelId, {
		serverToken,
		setBy: interaction.user.id,
		reply,
	});
	if (!set) throw new UserError("autoRehost.tooMany", { max: AUTO_REHOST_CHANNELS_MAX });
	// Read back from here after a restart; a channel already on keeps its place.
	await ctx.store.autoRehost.advanceCursor(channelId, snowflakeAt(ctx.now()), { ifAbsent: true });
	ctx.log.info({ channelId, serverToken, reply }, "auto-rehost turned on");
	const lines = [ctx.t(serverToken ? "autoRehost.on.server" : "autoRehost.on.own", { channel })];
	if (reply === "thread") lines.push(ctx.t(inThreads ? "autoRehost.on.threadFallback" : "autoRehost.on.thread"));
	await ctx.respond.reply({ content: lines.join("\n"), ephemeral: true });
}

/**
 * What the bot lacks in the channel to read members' messages and answer with the links (threads
 * and forum posts: Send Messages in Threads; `threads`: also react and start a thread from a
 * message). Empty when the channel is not in the cache.
 */
function botMissing(interaction: ChatInputCommandInteraction, channelId: string, threads: boolean): string[] {
	const target = interaction.guild?.channels.cache.get(channelId);
	const me = interaction.guild?.members.me;
	if (!target || !me) return [];
	const inThreads = target.isThread() || target.type === ChannelType.GuildForum;
	const needed = new PermissionsBitField([
		PermissionFlagsBits.ViewChannel,
		PermissionFlagsBits.ReadMessageHistory,
		PermissionFlagsBits.EmbedLinks,
		inThreads ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages,
	]);
	if (threads) {
		needed.add(
			PermissionFlagsBits.AddReactions,
			PermissionFlagsBits.CreatePublicThreads,
			PermissionFlagsBits.SendMessagesInThreads,
		);
	}
	return needed.remove(target.permissionsFor(me)).toArray();
}

/** `/imgpile settings auto-rehost-me enabled`: a member opts out of (or back into) this server's auto-rehost. */
async function autoRehostMe(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	if (!interaction.guildId) throw new UserError("error.guildOnly");
	requireMessageContent(ctx);
	const enabled = optionsOf(data, interaction).getBoolean("enabled", true);
	await ctx.store.autoRehost.setOptOut(interaction.guildId, interaction.user.id, !enabled);
	await ctx.respond.reply({ content: ctx.t(enabled ? "autoRehost.me.on" : "autoRehost.me.off"), ephemeral: true });
}

async function status(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const userId = interaction.user.id;
	const guildLink = interaction.guildId
		? await ctx.store.tokens.info({ guildId: interaction.guildId, userId })
		: undefined;
	const link = guildLink ?? (await ctx.store.tokens.info({ guildId: null, userId }));
	const usage = await ctx.store.usage.get(userId);
	const lines: string[] = [];
	if (link && !link.readable) {
		lines.push(ctx.t("identity.unreadable"));
	} else if (link) {
		const since = `<t:${Math.floor(Date.parse(link.linkedAt) / 1000)}:R>`;
		const key = link.scope === "guild" ? "status.linked.guild" : "status.linked.dm";
		lines.push(ctx.t(key, { last4: link.last4 || "····", since }));
	} else if (interaction.guildId && (await ctx.store.guilds.serverTokenUnreadable(interaction.guildId))) {
		lines.push(ctx.t("identity.serverTokenUnreadable"));
	} else if (interaction.guildId && (await ctx.store.guilds.get(interaction.guildId)).serverToken) {
		const settings = await ctx.store.guilds.get(interaction.guildId);
		const used = await ctx.store.usage.serverTokenUploads(interaction.guildId, userId);
		lines.push(ctx.t("status.serverToken", { remaining: Math.max(0, settings.serverTokenDailyCap - used) }));
	} else {
		lines.push(ctx.t("status.notLinked"));
	}
	lines.push(
		ctx.t("status.uploads", {
			count: usage.uploads,
			remaining: Math.max(0, IMGPILE_LIMITS.uploadsPerDay - usage.uploads),
		}),
	);
	await ctx.respond.reply({ content: lines.join("\n"), ephemeral: true });
}

async function sharex(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const linked = await linkedIdentity(ctx, interaction);
	if (!linked) throw new UserError("sharex.needsLink");
	const sxcu = {
		Version: "17.0.0",
		Name: "imgpile",
		DestinationType: "ImageUploader, FileUploader",
		RequestMethod: "POST",
		RequestURL: ctx.imgpileUploadUrl,
		Headers: { Authorization: `Bearer ${linked.token}` },
		Body: "MultipartFormData",
		FileFormName: "file",
		URL: "{json:media.urls.original}",
		ErrorMessage: "{json:message}",
	};
	await ctx.respond.reply({
		content: ctx.t("sharex.ready"),
		files: [{ attachment: Buffer.from(`${JSON.stringify(sxcu, null, 2)}\n`), name: "imgpile.sxcu" }],
		ephemeral: true,
	});
}

function tokenModal(t: Translate, id: string, title: MessageKey, label: MessageKey): ModalComponentData {
	return {
		customId: id,
		title: t(title),
		components: [
			{
				type: ComponentType.ActionRow,
				components: [
					{
						type: ComponentType.TextInput,
						customId: TOKEN_FIELD,
						label: t(label),
						placeholder: t("link.modal.placeholder"),
						style: TextInputStyle.Short,
						minLength: 8,
						maxLength: 200,
						required: true,
					},
				],
			},
		],
	};
}

function clampCap(value: number): number {
	return Number.isInteger(value) ? Math.min(IMGPILE_LIMITS.uploadsPerDay, Math.max(1, value)) : 20;
}

export default {
	command: { data, execute },
	modals: {
		[LINK_MODAL]: linkSubmitted,
		[SERVER_TOKEN_MODAL]: serverTokenSubmitted,
	},
} satisfies CommandModule;
