/**
 * `/feed`: announcements and digests of new imgpile posts in a channel (Manage Server).
 *
 *   /feed add channel:#art tag:cats [user] [nsfw] [mode:live|digest] [every:2h] [at:09:00] [backfill:3]
 *   /feed list | remove id | pause id | resume id | test id | digest id
 *
 * The scheduler (src/feeds) does the polling and delivery; this module checks input and the
 * bot's permissions up front, and tells admins how each subscription is doing.
 */
import {
	ApplicationCommandOptionType,
	type AutocompleteInteraction,
	ChannelType,
	type ChatInputCommandInteraction,
	type GuildBasedChannel,
	InteractionContextType,
	PermissionFlagsBits,
} from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { checkDestination, findChannel } from "../src/bot/feed-destination.js";
import { discordTime, modeText, sendingTo, subscriptionLines } from "../src/bot/feed-status.js";
import { isManager, requireManager } from "../src/bot/guards.js";
import { parseUsername } from "../src/bot/input.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { channelAllowsNsfw, quoteInput, truncate } from "../src/discord/index.js";
import {
	describeFilters,
	type FeedControl,
	formatInterval,
	normalizeTimeOfDay,
	parseInterval,
} from "../src/feeds/index.js";
import { type MessageKey, named } from "../src/i18n/index.js";
import { type FeedFilters, type FeedMode, queryKeyOf } from "../src/store/index.js";

/** Subscriptions per server at most. */
export const MAX_FEEDS_PER_GUILD = 25;
const MIN_DIGEST_MS = 15 * 60_000;
const MAX_DIGEST_MS = 7 * 86_400_000;
const DEFAULT_DIGEST_AT = "09:00";
const TAG = /^[\p{L}\p{N}_.-]{1,50}$/u;

const idOption = { type: ApplicationCommandOptionType.String, name: "id", required: true, autocomplete: true } as const;

/** A subcommand whose only option is the feed id. */
const byId = <const N extends string>(name: N) =>
	({ type: ApplicationCommandOptionType.Subcommand, name, options: [idOption] }) as const;

export const data = chatCommand("feed", {
	contexts: [InteractionContextType.Guild],
	default_member_permissions: String(PermissionFlagsBits.ManageGuild),
	options: [
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "add",
			options: [
				{
					type: ApplicationCommandOptionType.Channel,
					name: "channel",
					required: true,
					// Discord offers only these types. Media channels (16) are not listed: Discord's API spec
					// does not accept 16 in channel_types, so the picker never offers them.
					channel_types: [
						ChannelType.GuildText,
						ChannelType.GuildAnnouncement,
						ChannelType.GuildForum,
						ChannelType.PublicThread,
						ChannelType.PrivateThread,
						ChannelType.AnnouncementThread,
					],
				},
				{ type: ApplicationCommandOptionType.String, name: "tag" },
				{ type: ApplicationCommandOptionType.String, name: "user" },
				{ type: ApplicationCommandOptionType.Boolean, name: "nsfw" },
				{
					type: ApplicationCommandOptionType.String,
					name: "mode",
					choices: [
						{ value: "live", ...named("cmd.feed.choice.live") },
						{ value: "digest", ...named("cmd.feed.choice.digest") },
					],
				},
				{ type: ApplicationCommandOptionType.String, name: "every" },
				{ type: ApplicationCommandOptionType.String, name: "at" },
				{ type: ApplicationCommandOptionType.Integer, name: "backfill", min_value: 0, max_value: 10 },
			],
		},
		{ type: ApplicationCommandOptionType.Subcommand, name: "list", options: [] },
		byId("remove"),
		byId("pause"),
		byId("resume"),
		byId("test"),
		byId("digest"),
	],
});

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const guildId = requireManager(ctx.t, interaction);
	switch (optionsOf(data, interaction).getSubcommand(true)) {
		case "add":
			return add(ctx, interaction, guildId);
		case "list":
			return list(ctx, guildId);
		case "remove":
			return remove(ctx, interaction, guildId);
		case "pause":
			return pause(ctx, interaction, guildId);
		case "resume":
			return resume(ctx, interaction, guildId);
		case "test":
			return test(ctx, interaction, guildId);
		case "digest":
			return digestNow(ctx, interaction, guildId);
	}
	throw new UserError("error.unknownAction");
}

function feeds(ctx: HandlerContext): FeedControl {
	if (!ctx.feeds) throw new UserError("feed.unavailable");
	return ctx.feeds;
}

// ── add ─────────────────────────────────────────────────────────────────────

async function add(ctx: HandlerContext, interaction: ChatInputCommandInteraction, guildId: string): Promise<void> {
	const control = feeds(ctx);
	const channelId = optionsOf(data, interaction).getChannel("channel", true).id;
	const filters = filtersFrom(interaction);
	const { mode, everyMs, at } = scheduleFrom(interaction);
	const backfill = optionsOf(data, interaction).getInteger("backfill") ?? 0;

	await checkDestination(interaction, channelId, { filters, mentionRoleId: null, publish: false });
	const existing = await control.list(guildId);
	if (existing.length >= MAX_FEEDS_PER_GUILD) throw new UserError("feed.add.tooMany", { max: MAX_FEEDS_PER_GUILD });
	const key = queryKeyOf(filters);
	const twin = existing.find((sub) => sub.channelId === channelId && queryKeyOf(sub.filters) === key);
	if (twin) throw new UserError("feed.add.duplicate", { id: twin.id, channel: `<#${channelId}>` });

	await ctx.respond.defer({ ephemeral: true });
	const { subscription: sub, timezone } = await control.add({
		guildId,
		channelId,
		filters,
		mode,
		everyMs,
		at,
		backfill,
		createdBy: interaction.user.id,
	});
	ctx.log.info({ subscriptionId: sub.id, channelId, queryKey: key, mode }, "feed subscription added");

	const lines = [
		ctx.t("feed.add.done", {
			id: sub.id,
			filters: describeFilters(ctx.t, sub.filters),
			channel: `<#${channelId}>`,
			mode: modeText(ctx, sub, timezone),
		}),
	];
	lines.push(
		mode === "live"
			? ctx.t("feed.add.liveNext", { interval: formatInterval(control.intervalMs) })
			: ctx.t("feed.add.digestNext", { time: discordTime(sub.nextDigestAt, "f") }),
	);
	if (backfill > 0) {
		try {
			const queued = await control.backfill(sub);
			lines.push(queued > 0 ? ctx.t("feed.add.backfill", { count: queued }) : ctx.t("feed.add.backfillNone"));
		} catch (error) {
			ctx.log.warn({ err: error, subscriptionId: sub.id }, "feed backfill failed");
			lines.push(ctx.t("feed.add.backfillFailed"));
		}
	}
	control.changed();
	await ctx.respond.reply({ content: lines.join("\n"), ephemeral: true, allowedMentions: { parse: [] } });
}

function filtersFrom(interaction: ChatInputCommandInteraction): FeedFilters {
	const rawTag = optionsOf(data, interaction).getString("tag");
	let tag: string | null = null;
	if (rawTag !== null) {
		const clean = rawTag.trim().replace(/^#+/, "").toLowerCase();
		if (!TAG.test(clean)) throw new UserError("feed.add.badTag", { input: quoteInput(rawTag) });
		tag = clean;
	}
	const rawUser = optionsOf(data, interaction).getString("user");
	const username = rawUser === null ? null : parseUsername(rawUser);
	return { tag, username, nsfw: optionsOf(data, interaction).getBoolean("nsfw") ?? false };
}

function scheduleFrom(interaction: ChatInputCommandInteraction): {
	mode: FeedMode;
	everyMs: number | null;
	at: string | null;
} {
	const everyText = optionsOf(data, interaction).getString("every");
	const atText = optionsOf(data, interaction).getString("at");
	const modeText = optionsOf(data, interaction).getString("mode");
	if (modeText !== null && modeText !== "live" && modeText !== "digest") throw new UserError("error.unknownAction");
	const mode: FeedMode = (modeText as FeedMode | null) ?? (everyText !== null || atText !== null ? "digest" : "live");
	if (mode === "live") {
		if (everyText !== null || atText !== null) throw new UserError("feed.add.liveNoSchedule");
		return { mode, everyMs: null, at: null };
	}
	if (everyText !== null && atText !== null) throw new UserError("feed.add.everyOrAt");
	if (everyText !== null) {
		const everyMs = parseInterval(everyText);
		if (everyMs === undefined || everyMs < MIN_DIGEST_MS || everyMs > MAX_DIGEST_MS) {
			throw new UserError("feed.add.badEvery", { input: quoteInput(everyText) });
		}
		return { mode, everyMs, at: null };
	}
	if (atText !== null) {
		const at = normalizeTimeOfDay(atText);
		if (!at) throw new UserError("feed.add.badAt", { input: quoteInput(atText) });
		return { mode, everyMs: null, at };
	}
	return { mode, everyMs: null, at: DEFAULT_DIGEST_AT };
}

// ── list ────────────────────────────────────────────────────────────────────

async function list(ctx: HandlerContext, guildId: string): Promise<void> {
	const control = feeds(ctx);
	const subs = await control.list(guildId);
	if (subs.length === 0) {
		await ctx.respond.reply({ content: ctx.t("feed.list.empty"), ephemeral: true });
		return;
	}
	const lines = await subscriptionLines(ctx, control, subs, await control.timezone(guildId));
	await ctx.respond.reply({
		embeds: [
			{
				title: ctx.t("feed.list.title", { count: subs.length }),
				description: truncate(lines.join("\n\n"), 4096),
			},
		],
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

// ── remove, pause, resume ───────────────────────────────────────────────────

/** The guild's subscription named by the `id` option (another guild's ids are unknown here). */
async function owned(ctx: HandlerContext, interaction: ChatInputCommandInteraction, guildId: string) {
	const id = optionsOf(data, interaction).getString("id", true).trim().split(/\s/)[0] ?? "";
	const sub = await feeds(ctx).find(guildId, id);
	if (!sub) throw new UserError("feed.notFound", { id: quoteInput(id) });
	return sub;
}

async function remove(ctx: HandlerContext, interaction: ChatInputCommandInteraction, guildId: string): Promise<void> {
	const sub = await owned(ctx, interaction, guildId);
	const dropped = await feeds(ctx).remove(sub);
	ctx.log.info({ subscriptionId: sub.id, dropped }, "feed subscription removed");
	await ctx.respond.reply({
		content: ctx.t("feed.removed", { id: sub.id, channel: `<#${sub.channelId}>` }),
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

async function pause(ctx: HandlerContext, interaction: ChatInputCommandInteraction, guildId: string): Promise<void> {
	const sub = await owned(ctx, interaction, guildId);
	await feeds(ctx).pause(sub);
	await ctx.respond.reply({ content: ctx.t("feed.paused", { id: sub.id }), ephemeral: true });
}

async function resume(ctx: HandlerContext, interaction: ChatInputCommandInteraction, guildId: string): Promise<void> {
	const control = feeds(ctx);
	const sub = await owned(ctx, interaction, guildId);
	const channel = await findChannel(interaction, sub.channelId);
	if (!channel) throw new UserError("feed.resume.channelGone", { id: sub.id });
	await checkDestination(interaction, sub.channelId, sub, channel);
	await control.resume(sub);
	ctx.log.info({ subscriptionId: sub.id }, "feed subscription resumed");
	await ctx.respond.reply({
		content: ctx.t("feed.resumed", { id: sub.id, channel: `<#${sub.channelId}>` }),
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

// ── test, digest ────────────────────────────────────────────────────────────

async function test(ctx: HandlerContext, interaction: ChatInputCommandInteraction, guildId: string): Promise<void> {
	const control = feeds(ctx);
	const sub = await owned(ctx, interaction, guildId);
	await ctx.respond.defer({ ephemeral: true });
	const outcome = await sendingTo(ctx, sub, () => control.sendTest(sub));
	await ctx.respond.reply({
		content:
			outcome === "sent"
				? ctx.t("feed.test.sent", { channel: `<#${sub.channelId}>` })
				: ctx.t("feed.test.nothing", { filters: describeFilters(ctx.t, sub.filters) }),
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

async function digestNow(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction,
	guildId: string,
): Promise<void> {
	const control = feeds(ctx);
	const sub = await owned(ctx, interaction, guildId);
	if (sub.mode !== "digest") throw new UserError("feed.digest.notDigest", { id: sub.id });
	await ctx.respond.defer({ ephemeral: true });
	const count = await sendingTo(ctx, sub, () => control.sendDigestNow(sub));
	await ctx.respond.reply({
		content:
			count > 0
				? ctx.t("feed.digest.sent", { count, channel: `<#${sub.channelId}>` })
				: ctx.t("feed.digest.empty", { id: sub.id }),
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

// ── autocomplete ────────────────────────────────────────────────────────────

async function autocomplete(ctx: HandlerContext, interaction: AutocompleteInteraction): Promise<void> {
	if (!isManager(interaction)) {
		await interaction.respond([]);
		return;
	}
	const typed = String(interaction.options.getFocused()).trim().toLowerCase();
	const subs = ctx.feeds ? await ctx.feeds.list(interaction.guildId) : [];
	const choices = subs
		.map((sub) => {
			const channel = interaction.guild?.channels.cache.get(sub.channelId)?.name ?? sub.channelId;
			const state = sub.disabledReason ? " ⛔" : sub.paused ? " ⏸" : "";
			return {
				name: truncate(`${sub.id} · #${channel} · ${describeFilters(ctx.t, sub.filters)}${state}`, 100),
				value: sub.id,
			};
		})
		.filter((choice) => typed === "" || choice.name.toLowerCase().includes(typed))
		.slice(0, 25);
	await interaction.respond(choices);
}

export default {
	command: { data, execute, autocomplete },
} satisfies CommandModule;
