/**
 * The options `/feed add` and `/feed edit` share, as typed definitions, and how their values are
 * read and checked: filters, digest schedule, and the announcement options. Every bad value is a
 * UserError saying what is wrong; nothing is changed before all of them are read.
 */
import { ApplicationCommandOptionType, ChannelType } from "discord.js";
import { quoteInput } from "../discord/index.js";
import { normalizeTimeOfDay, parseInterval } from "../feeds/index.js";
import { named } from "../i18n/index.js";
import type { FeedFilters, FeedMode, FeedSubscription } from "../store/index.js";
import type { OptionsOf } from "./definitions.js";
import { UserError } from "./errors.js";
import { parseTag, parseUsername } from "./input.js";

/** The options `add` and `edit` set besides the channel, filters and schedule. */
export type AnnounceOptions = Pick<
	FeedSubscription,
	"style" | "mentionRoleId" | "publish" | "minScore" | "withinMs" | "removed"
>;

/** Subscriptions per server at most. */

const MIN_DIGEST_MS = 15 * 60_000;
const MAX_DIGEST_MS = 7 * 86_400_000;
const DEFAULT_DIGEST_AT = "09:00";

/** Where a feed posts: the kinds Discord's picker offers. */
export const channelOption = <const R extends boolean>(required: R) =>
	({
		type: ApplicationCommandOptionType.Channel,
		name: "channel",
		required,
		// Media channels (16) are not listed: Discord's API spec does not accept 16 in channel_types,
		// so the picker never offers them.
		channel_types: [
			ChannelType.GuildText,
			ChannelType.GuildAnnouncement,
			ChannelType.GuildForum,
			ChannelType.PublicThread,
			ChannelType.PrivateThread,
			ChannelType.AnnouncementThread,
		],
	}) as const;

/** How announcements look (also a `/feed preview` option). */
export const STYLE_OPTION = {
	type: ApplicationCommandOptionType.String,
	name: "style",
	choices: [
		{ value: "full", ...named("cmd.feed.choice.full") },
		{ value: "compact", ...named("cmd.feed.choice.compact") },
		{ value: "image", ...named("cmd.feed.choice.image") },
	],
} as const;

/** How announcements look and behave; the same on `add` and `edit`. */
export const ANNOUNCE_OPTIONS = [
	STYLE_OPTION,
	{ type: ApplicationCommandOptionType.Role, name: "mention" },
	{ type: ApplicationCommandOptionType.Boolean, name: "publish" },
	{ type: ApplicationCommandOptionType.Integer, name: "min-score", min_value: 1, max_value: 1_000_000 },
	{ type: ApplicationCommandOptionType.String, name: "within" },
	{
		type: ApplicationCommandOptionType.String,
		name: "removed",
		choices: [
			{ value: "delete", ...named("cmd.feed.choice.delete") },
			{ value: "note", ...named("cmd.feed.choice.note") },
		],
	},
] as const;

/** Which posts: by tag, by imgpile user, with or without NSFW. */
export const FILTER_OPTIONS = [
	{ type: ApplicationCommandOptionType.String, name: "tag" },
	{ type: ApplicationCommandOptionType.String, name: "user" },
	{ type: ApplicationCommandOptionType.Boolean, name: "nsfw" },
] as const;

/** Live, or a digest every so often or daily at a time. */
export const SCHEDULE_OPTIONS = [
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
] as const;

/** The option reads of a command whose options include `O` (structural, so any such command's fit). */
type Reader<O> = Pick<OptionsOf<{ readonly options: O }>, "getString" | "getBoolean" | "getInteger" | "getRole">;
type FilterReader = Reader<typeof FILTER_OPTIONS>;
type ScheduleReader = Reader<typeof SCHEDULE_OPTIONS>;
type AnnounceReader = Reader<typeof ANNOUNCE_OPTIONS>;

export function filtersFrom(options: FilterReader): FeedFilters {
	const given = givenFilters(options);
	return { tag: given.tag ?? null, username: given.username ?? null, nsfw: given.nsfw ?? false };
}

/** The filter options given (absent ones undefined), checked. */
export function givenFilters(options: FilterReader): Partial<FeedFilters> {
	const given: Partial<FeedFilters> = {};
	const rawTag = options.getString("tag");
	if (rawTag !== null) given.tag = parseTag(rawTag);
	const rawUser = options.getString("user");
	if (rawUser !== null) given.username = parseUsername(rawUser);
	const nsfw = options.getBoolean("nsfw");
	if (nsfw !== null) given.nsfw = nsfw;
	return given;
}

const MIN_WINDOW_MS = 3_600_000;
const MAX_WINDOW_MS = 7 * 86_400_000;

/** The announcement options given (absent ones left out), checked. */
export function announceFrom(options: AnnounceReader): Partial<AnnounceOptions> {
	const given: Partial<AnnounceOptions> = {};
	const style = options.getString("style");
	if (style !== null) given.style = oneOf(style, ["full", "compact", "image"] as const);
	const role = options.getRole("mention");
	if (role) given.mentionRoleId = role.id;
	const publish = options.getBoolean("publish");
	if (publish !== null) given.publish = publish;
	const minScore = options.getInteger("min-score");
	if (minScore !== null) given.minScore = minScore;
	const within = options.getString("within");
	if (within !== null) {
		const ms = parseInterval(within);
		if (ms === undefined || ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) {
			throw new UserError("feed.add.badWithin", { input: quoteInput(within) });
		}
		given.withinMs = ms;
	}
	const removed = options.getString("removed");
	if (removed !== null) given.removed = oneOf(removed, ["delete", "note"] as const);
	return given;
}

/** A choice Discord should have limited to `allowed` (anything else is a forged request). */
function oneOf<const T extends string>(value: string, allowed: readonly T[]): T {
	if (!(allowed as readonly string[]).includes(value)) throw new UserError("error.unknownAction");
	return value as T;
}

export function scheduleFrom(options: ScheduleReader): {
	mode: FeedMode;
	everyMs: number | null;
	at: string | null;
} {
	const everyText = options.getString("every");
	const atText = options.getString("at");
	const modeText = options.getString("mode");
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
