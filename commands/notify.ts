/**
 * `/notify`: personal notifications, as batched DMs of new imgpile posts (the same settings in
 * every server and in DMs; it works as a user app too).
 *
 *   /notify follows enabled:<bool> [username]   posts of the imgpile users you follow
 *   /notify tag add|remove <tag> | tag list     posts with a tag (at most 10)
 *   /notify settings [every] [quiet] [tz] [nsfw]
 *   /notify status | resume
 *
 * The feed scheduler (src/feeds) finds the posts and sends the DMs; this module checks input and
 * keeps the profile (src/store/notify.ts). Every answer is ephemeral; bad input changes nothing.
 */
import {
	ApplicationCommandOptionType,
	ApplicationIntegrationType,
	type AutocompleteInteraction,
	type ChatInputCommandInteraction,
	InteractionContextType,
} from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { personalIdentity } from "../src/bot/identity.js";
import { parseTag, parseUsername } from "../src/bot/input.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { boldName, truncate } from "../src/discord/index.js";
import type { FeedControl } from "../src/feeds/index.js";
import type { NotifyControl } from "../src/feeds/notify-control.js";
import { FollowingBudgetError } from "../src/feeds/notify-following.js";
import {
	formatQuiet,
	type NotifyInput,
	parseEvery,
	parseQuiet,
	parseTimeZone,
	timeZoneChoices,
} from "../src/feeds/notify-schedule.js";
import { formatInterval } from "../src/feeds/schedule.js";
import { ImgpileNotFoundError } from "../src/imgpile/index.js";
import { NOTIFY_MAX_TAGS, type NotifyProfile, notifyWanted } from "../src/store/index.js";

const tagOption = { type: ApplicationCommandOptionType.String, name: "tag", required: true } as const;

export const data = chatCommand("notify", {
	// Servers, the bot's DMs, and (installed as a user app) any DM or group DM.
	contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
	integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
	options: [
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "follows",
			options: [
				{ type: ApplicationCommandOptionType.Boolean, name: "enabled", required: true },
				{ type: ApplicationCommandOptionType.String, name: "username" },
			],
		},
		{
			type: ApplicationCommandOptionType.SubcommandGroup,
			name: "tag",
			options: [
				{ type: ApplicationCommandOptionType.Subcommand, name: "add", options: [tagOption] },
				{
					type: ApplicationCommandOptionType.Subcommand,
					name: "remove",
					options: [{ ...tagOption, autocomplete: true }],
				},
				{ type: ApplicationCommandOptionType.Subcommand, name: "list", options: [] },
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "settings",
			options: [
				{ type: ApplicationCommandOptionType.String, name: "every" },
				{ type: ApplicationCommandOptionType.String, name: "quiet" },
				{ type: ApplicationCommandOptionType.String, name: "tz", autocomplete: true },
				{ type: ApplicationCommandOptionType.Boolean, name: "nsfw" },
			],
		},
		{ type: ApplicationCommandOptionType.Subcommand, name: "status", options: [] },
		{ type: ApplicationCommandOptionType.Subcommand, name: "resume", options: [] },
	],
});

type Handler = (ctx: HandlerContext, interaction: ChatInputCommandInteraction) => Promise<void>;

/** Each subcommand's handler, by its path (`tag add`); declared below, read at call time. */
function handlerOf(path: string): Handler | undefined {
	const handlers: Record<string, Handler> = {
		follows,
		"tag add": tagAdd,
		"tag remove": tagRemove,
		"tag list": tagList,
		settings,
		status,
		resume,
	};
	return handlers[path];
}

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const path = [options.getSubcommandGroup(false), options.getSubcommand(true)].filter(Boolean).join(" ");
	const handler = handlerOf(path);
	if (!handler) throw new UserError("error.unknownAction");
	return handler(ctx, interaction);
}

function control(ctx: HandlerContext): FeedControl {
	if (!ctx.feeds) throw new UserError("notify.unavailable");
	return ctx.feeds;
}

/** Tells the scheduler, then answers (ephemeral, never pinging). */
async function answer(ctx: HandlerContext, notify: NotifyControl | undefined, lines: string[]): Promise<void> {
	notify?.changed();
	await ctx.respond.reply({
		content: truncate(lines.join("\n"), 2000),
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

/**
 * Changes the user's profile atomically; turning something on when nothing was on starts
 * `since` now (older posts are never sent), and DMs are written in the interaction's locale.
 */
function change(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction,
	edit: (profile: NotifyProfile) => NotifyProfile,
): Promise<NotifyProfile> {
	const now = new Date(ctx.now()).toISOString();
	return ctx.store.notify.update(interaction.user.id, (current) => {
		const next = edit(current);
		const since = notifyWanted(next) && !notifyWanted(current) ? now : next.since;
		return { ...next, since, locale: interaction.locale };
	});
}

// ── follows ─────────────────────────────────────────────────────────────────

async function follows(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const typed = options.getString("username");
	const given = typed === null ? null : parseUsername(typed);
	if (!options.getBoolean("enabled", true)) {
		const profile = await change(ctx, interaction, (p) => ({ ...p, follows: false, username: given ?? p.username }));
		return answer(ctx, ctx.feeds?.notify, [ctx.t("notify.follows.off"), ...stillOn(ctx, profile)]);
	}
	// Personal: the user's own imgpile account (its username, since imgpile cannot tell us whose a token is).
	await personalIdentity(ctx, interaction);
	const notify = control(ctx).notify;
	const username = given ?? (await ctx.store.notify.getOrDefault(interaction.user.id)).username;
	if (!username) throw new UserError("notify.follows.needUsername");
	await ctx.respond.defer({ ephemeral: true });
	const read = await readList(notify, interaction.user.id, username);
	await change(ctx, interaction, (p) => ({ ...p, follows: true, username }));
	const lines = [ctx.t("notify.follows.on", { username: boldName(username), count: read.count })];
	if (read.capped) lines.push(ctx.t("notify.follows.capped", { count: read.count }));
	if (read.count === 0) lines.push(ctx.t("notify.follows.none", { username: boldName(username) }));
	return answer(ctx, notify, lines);
}

async function readList(notify: NotifyControl, userId: string, username: string) {
	try {
		return await notify.refreshFollowing(userId, username);
	} catch (error) {
		if (error instanceof ImgpileNotFoundError)
			throw new UserError("notify.follows.unknownUser", { username: boldName(username) });
		if (error instanceof FollowingBudgetError) {
			throw new UserError("notify.follows.busy", { time: `<t:${Math.ceil(error.resumeAt / 1000)}:R>` });
		}
		throw error;
	}
}

/** After turning something off: what is still on, or that nothing is. */
function stillOn(ctx: HandlerContext, profile: NotifyProfile): string[] {
	return notifyWanted(profile) ? [] : [ctx.t("notify.nothingOn")];
}

// ── tags ────────────────────────────────────────────────────────────────────

// Tags are shown raw inside code spans: parseTag lets through no character Markdown reads there.
async function tagAdd(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const tag = parseTag(optionsOf(data, interaction).getString("tag", true));
	const current = await ctx.store.notify.getOrDefault(interaction.user.id);
	if (current.tags.includes(tag)) throw new UserError("notify.tag.already", { tag });
	const profile = await change(ctx, interaction, (p) => {
		if (p.tags.includes(tag)) return p;
		if (p.tags.length >= NOTIFY_MAX_TAGS) throw new UserError("notify.tag.tooMany", { max: NOTIFY_MAX_TAGS });
		return { ...p, tags: [...p.tags, tag] };
	});
	return answer(ctx, ctx.feeds?.notify, [
		ctx.t("notify.tag.added", { tag, count: profile.tags.length, max: NOTIFY_MAX_TAGS }),
	]);
}

async function tagRemove(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const tag = parseTag(optionsOf(data, interaction).getString("tag", true));
	const current = await ctx.store.notify.getOrDefault(interaction.user.id);
	if (!current.tags.includes(tag)) throw new UserError("notify.tag.notFound", { tag });
	const profile = await change(ctx, interaction, (p) => ({ ...p, tags: p.tags.filter((t) => t !== tag) }));
	return answer(ctx, ctx.feeds?.notify, [ctx.t("notify.tag.removed", { tag }), ...stillOn(ctx, profile)]);
}

async function tagList(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const { tags } = await ctx.store.notify.getOrDefault(interaction.user.id);
	await answer(ctx, undefined, [tagsLine(ctx, tags)]);
}

function tagsLine(ctx: HandlerContext, tags: readonly string[]): string {
	return tags.length === 0
		? ctx.t("notify.tag.listEmpty")
		: ctx.t("notify.tag.list", {
				count: tags.length,
				max: NOTIFY_MAX_TAGS,
				tags: tags.map((tag) => `\`#${tag}\``).join(" "),
			});
}

// ── settings ────────────────────────────────────────────────────────────────

/** A parsed setting's value, or its refusal as the user's message. */
function accepted<T>(input: NotifyInput<T>): T {
	if (!input.ok) throw new UserError(input.key, input.params);
	return input.value;
}

async function settings(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const every = options.getString("every");
	const quiet = options.getString("quiet");
	const tz = options.getString("tz");
	const nsfw = options.getBoolean("nsfw");
	if (every === null && quiet === null && tz === null && nsfw === null) throw new UserError("notify.settings.nothing");
	// Every value is read before anything changes.
	const patch: Partial<NotifyProfile> = {};
	if (every !== null) patch.everyMs = accepted(parseEvery(every));
	if (quiet !== null) patch.quiet = accepted(parseQuiet(quiet));
	if (tz !== null) patch.tz = accepted(parseTimeZone(tz));
	if (nsfw !== null) patch.nsfw = nsfw;
	const profile = await change(ctx, interaction, (p) => ({ ...p, ...patch }));
	const lines = [ctx.t("notify.settings.done"), ...settingsLines(ctx, profile)];
	if (nsfw === true) lines.push(ctx.t("notify.settings.nsfwNote"));
	return answer(ctx, ctx.feeds?.notify, lines);
}

function settingsLines(ctx: HandlerContext, profile: NotifyProfile): string[] {
	const tz = profile.tz ?? "UTC";
	return [
		ctx.t("notify.status.every", { every: formatInterval(profile.everyMs) }),
		profile.quiet
			? ctx.t("notify.status.quiet", { quiet: formatQuiet(profile.quiet), tz })
			: ctx.t("notify.status.quietOff", { tz }),
		ctx.t(profile.nsfw ? "notify.status.nsfwOn" : "notify.status.nsfwOff"),
	];
}

// ── status, resume ──────────────────────────────────────────────────────────

async function status(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const { profile, waiting, nextBatchAt } = await control(ctx).notify.status(interaction.user.id);
	const lines = [ctx.t("notify.status.title")];
	if (profile.follows && profile.username) {
		lines.push(
			ctx.t("notify.status.followsOn", {
				username: boldName(profile.username),
				count: profile.following?.length ?? 0,
			}),
		);
	} else lines.push(ctx.t("notify.status.followsOff"));
	lines.push(tagsLine(ctx, profile.tags), ...settingsLines(ctx, profile));
	if (profile.paused) {
		lines.push(
			ctx.t("notify.status.paused", { since: `<t:${Math.floor(Date.parse(profile.paused.since) / 1000)}:R>` }),
		);
	}
	if (!notifyWanted(profile)) lines.push(ctx.t("notify.nothingOn"));
	if (waiting > 0) {
		lines.push(ctx.t("notify.status.waiting", { count: waiting }));
		if (!profile.paused && nextBatchAt !== null) {
			lines.push(ctx.t("notify.status.next", { time: `<t:${Math.ceil(nextBatchAt / 1000)}:R>` }));
		}
	} else if (notifyWanted(profile)) lines.push(ctx.t("notify.status.noneWaiting"));
	await answer(ctx, undefined, lines);
}

async function resume(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const current = await ctx.store.notify.getOrDefault(interaction.user.id);
	if (!current.paused) throw new UserError("notify.resume.notPaused");
	await change(ctx, interaction, (p) => ({ ...p, paused: null }));
	return answer(ctx, ctx.feeds?.notify, [ctx.t("notify.resume.done")]);
}

// ── autocomplete ────────────────────────────────────────────────────────────

async function autocomplete(ctx: HandlerContext, interaction: AutocompleteInteraction): Promise<void> {
	const focused = interaction.options.getFocused(true);
	const typed = String(focused.value);
	if (focused.name === "tz") {
		await interaction.respond(timeZoneChoices(typed, ctx.now()));
		return;
	}
	const needle = typed.trim().replace(/^#+/, "").toLowerCase();
	const { tags } = await ctx.store.notify.getOrDefault(interaction.user.id);
	await interaction.respond(
		tags.filter((tag) => tag.includes(needle)).map((tag) => ({ name: truncate(`#${tag}`, 100), value: tag })),
	);
}

export default {
	command: { data, execute, autocomplete },
} satisfies CommandModule;
