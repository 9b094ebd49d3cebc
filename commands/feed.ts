/**
 * `/feed`: announcements and digests of new imgpile posts in a channel (Manage Server).
 *
 *   /feed add channel:#art tag:cats [user] [nsfw] [mode:live|digest] [every:2h] [at:09:00] [backfill:3]
 *             [style:full|compact|image] [mention:@role] [publish] [min-score:10 within:12h] [removed:delete|note]
 *   /feed edit id [channel] [tag] [user] [nsfw] [style] [mention] [publish] [min-score] [within] [removed] [clear]
 *   /feed list | remove id | pause id | resume id | test id | digest id
 *   /feed why post [feed] | preview [feed] [channel] [tag] [user] [nsfw] [style]
 *
 * The scheduler (src/feeds) does the polling and delivery; this module checks input and the
 * bot's permissions up front, and tells admins how each subscription is doing.
 */
import {
	ApplicationCommandOptionType,
	type AutocompleteInteraction,
	type ChatInputCommandInteraction,
	InteractionContextType,
	PermissionFlagsBits,
} from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { checkDestination, findChannel } from "../src/bot/feed-destination.js";
import {
	ANNOUNCE_OPTIONS,
	type AnnounceOptions,
	announceFrom,
	channelOption,
	FILTER_OPTIONS,
	filtersFrom,
	givenFilters,
	SCHEDULE_OPTIONS,
	scheduleFrom,
} from "../src/bot/feed-input.js";
import { feedPreview, previewSubcommand } from "../src/bot/feed-preview.js";
import { discordTime, modeText, optionsText, sendingTo, subscriptionLines } from "../src/bot/feed-status.js";
import { feedWhy, whySubcommand } from "../src/bot/feed-why.js";
import { isManager, requireManager } from "../src/bot/guards.js";
import { parsePostSlug } from "../src/bot/input.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { quoteInput, truncate } from "../src/discord/index.js";
import { describeFilters, type FeedControl, formatInterval } from "../src/feeds/index.js";
import { named } from "../src/i18n/index.js";
import { type FeedFilters, queryKeyOf, SUBSCRIPTION_DEFAULTS } from "../src/store/index.js";

export const MAX_FEEDS_PER_GUILD = 25;

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
				channelOption(true),
				...FILTER_OPTIONS,
				...SCHEDULE_OPTIONS,
				{ type: ApplicationCommandOptionType.Integer, name: "backfill", min_value: 0, max_value: 10 },
				...ANNOUNCE_OPTIONS,
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "edit",
			options: [
				idOption,
				channelOption(false),
				...FILTER_OPTIONS,
				...ANNOUNCE_OPTIONS,
				{
					type: ApplicationCommandOptionType.String,
					name: "clear",
					choices: [
						{ value: "tag", ...named("cmd.feed.choice.clearTag") },
						{ value: "user", ...named("cmd.feed.choice.clearUser") },
						{ value: "mention", ...named("cmd.feed.choice.clearMention") },
						{ value: "min-score", ...named("cmd.feed.choice.clearScore") },
					],
				},
			],
		},
		{ type: ApplicationCommandOptionType.Subcommand, name: "list", options: [] },
		byId("remove"),
		byId("pause"),
		byId("resume"),
		byId("test"),
		byId("digest"),
		whySubcommand,
		previewSubcommand,
	],
});

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const guildId = requireManager(ctx.t, interaction);
	switch (optionsOf(data, interaction).getSubcommand(true)) {
		case "add":
			return add(ctx, interaction, guildId);
		case "edit":
			return edit(ctx, interaction, guildId);
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
		case "why":
			return feedWhy(ctx, feeds(ctx), guildId, {
				post: parsePostSlug(optionsOf(data, interaction).getString("post", true)),
				feedId: optionsOf(data, interaction).getString("feed"),
				who: { guildId, user: interaction.user },
				channel: (id) => interaction.guild?.channels.cache.get(id),
			});
		case "preview": {
			const options = optionsOf(data, interaction);
			const given = ["tag", "user", "nsfw"].some((name) => interaction.options.get(name) !== null);
			return feedPreview(ctx, feeds(ctx), guildId, {
				feedId: options.getString("feed"),
				filters: given ? filtersFrom(options) : null,
				style: options.getString("style"),
				channelId: interaction.options.getChannel("channel")?.id ?? null,
				here: { id: interaction.channelId, channel: interaction.channel },
				channel: (id) => interaction.guild?.channels.cache.get(id),
			});
		}
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
	const filters = filtersFrom(optionsOf(data, interaction));
	const { mode, everyMs, at } = scheduleFrom(optionsOf(data, interaction));
	const backfill = optionsOf(data, interaction).getInteger("backfill") ?? 0;
	const options = { ...SUBSCRIPTION_DEFAULTS, ...announceFrom(optionsOf(data, interaction)) };
	if (options.withinMs !== null && options.minScore === null) throw new UserError("feed.add.withinNeedsScore");

	await checkDestination(interaction, channelId, { filters, ...options });
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
		...options,
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
	const chosen = optionsText(ctx, sub);
	if (chosen) lines.push(chosen);
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

// ── edit ────────────────────────────────────────────────────────────────────

async function edit(ctx: HandlerContext, interaction: ChatInputCommandInteraction, guildId: string): Promise<void> {
	const control = feeds(ctx);
	const sub = await owned(ctx, interaction, guildId);
	const options = optionsOf(data, interaction);
	const channelId = options.getChannel("channel")?.id ?? sub.channelId;
	const filters: FeedFilters = { ...sub.filters, ...givenFilters(optionsOf(data, interaction)) };
	const patch: Partial<AnnounceOptions> = announceFrom(optionsOf(data, interaction));
	const clear = options.getString("clear");
	if (clear === "tag") filters.tag = null;
	else if (clear === "user") filters.username = null;
	else if (clear === "mention") patch.mentionRoleId = null;
	else if (clear === "min-score") Object.assign(patch, { minScore: null, withinMs: null });
	else if (clear !== null) throw new UserError("error.unknownAction");
	const changes = Object.keys(patch).length + (channelId !== sub.channelId ? 1 : 0);
	if (changes === 0 && queryKeyOf(filters) === queryKeyOf(sub.filters)) throw new UserError("feed.edit.nothing");
	const next = { ...sub, ...patch, channelId, filters };
	if (next.withinMs !== null && next.minScore === null) throw new UserError("feed.add.withinNeedsScore");

	await checkDestination(interaction, channelId, next);
	const key = queryKeyOf(filters);
	const twin = (await control.list(guildId)).find(
		(other) => other.id !== sub.id && other.channelId === channelId && queryKeyOf(other.filters) === key,
	);
	if (twin) throw new UserError("feed.add.duplicate", { id: twin.id, channel: `<#${channelId}>` });

	const updated = await control.edit(sub, {
		...patch,
		channelId,
		filters,
		// A publish limit reached belongs to the channel it was reached in.
		...(next.publish && channelId === sub.channelId ? {} : { publishLimitedUntil: null }),
	});
	if (!updated) throw new UserError("feed.notFound", { id: quoteInput(sub.id) });
	ctx.log.info({ subscriptionId: sub.id, channelId, fields: Object.keys(patch) }, "feed subscription edited");
	const lines = [
		ctx.t("feed.edit.done", {
			id: updated.id,
			filters: describeFilters(ctx.t, updated.filters),
			channel: `<#${updated.channelId}>`,
			mode: modeText(ctx, updated, await control.timezone(guildId)),
		}),
	];
	const chosen = optionsText(ctx, updated);
	if (chosen) lines.push(chosen);
	await ctx.respond.reply({ content: lines.join("\n"), ephemeral: true, allowedMentions: { parse: [] } });
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
