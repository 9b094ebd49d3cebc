/**
 * `/feed why post:<slug|link> [feed]`: for each feed of the server (or the one named), whether
 * the post was announced (where, when) or the first reason it was not, in this order: the feed
 * stopped or paused, the post not approved or not public on imgpile, a filter rule, NSFW in a
 * channel that is not age-restricted, queued (not sent yet), older than the feed, below the score
 * gate, not read yet (when the next poll is).
 */
import { ApplicationCommandOptionType } from "discord.js";
import { channelAllowsNsfw, charLength, postUrl, quoteInput, safeText, truncate } from "../discord/index.js";
import { type FeedControl, filteredBy, formatInterval, reasonText } from "../feeds/index.js";
import type { Post } from "../imgpile/index.js";
import { DEFAULT_SCORE_WINDOW_MS, type FeedSubscription } from "../store/index.js";
import { UserError } from "./errors.js";
import { discordTime } from "./feed-status.js";
import { readerFor } from "./identity.js";
import { naming } from "./readers.js";
import type { HandlerContext } from "./types.js";

/** The `/feed why` subcommand's definition (in `/feed`'s options; texts from the `cmd.feed.*` keys). */
export const whySubcommand = {
	type: ApplicationCommandOptionType.Subcommand,
	name: "why",
	options: [
		{ type: ApplicationCommandOptionType.String, name: "post", required: true },
		{ type: ApplicationCommandOptionType.String, name: "feed", autocomplete: true },
	],
} as const;

export interface FeedWhyInput {
	post: { slug: string; key?: string | undefined };
	/** Only this feed (the `feed` option), else every feed of the server. */
	feedId: string | null;
	/** Who asks: the post is read as them (their link, else a guest), so owners learn about their own posts. */
	who: { guildId: string; user: { id: string } };
	/** The server's channel as the gateway cache has it (its NSFW setting), if known. */
	channel(channelId: string): unknown;
}

/** Discord's limit on an embed description. */
const DESCRIPTION_MAX = 4096;
/** Room kept for the "and N more" line. */
const MORE_RESERVE = 200;

export async function feedWhy(
	ctx: HandlerContext,
	control: FeedControl,
	guildId: string,
	input: FeedWhyInput,
): Promise<void> {
	const subs = await subscriptionsAsked(control, guildId, input.feedId);
	await ctx.respond.defer({ ephemeral: true });
	const client = await readerFor(ctx, input.who);
	const post = await naming(ctx.t("what.post", { slug: input.post.slug }), () =>
		client.getPost(input.post.slug, { key: input.post.key, mediaPage: 1, perPage: 1 }),
	);
	const lines: string[] = [];
	for (const sub of subs) {
		const verdict = await verdictFor(ctx, control, sub, {
			post,
			channelNsfw: channelAllowsNsfw(input.channel(sub.channelId)),
			keyed: input.post.key !== undefined,
		});
		lines.push(ctx.t("feed.why.line", { id: sub.id, channel: `<#${sub.channelId}>`, verdict }));
	}
	await ctx.respond.reply({
		embeds: [
			{
				title: ctx.t("feed.why.title", { title: post.title ? safeText(post.title, 200) : ctx.t("post.untitled") }),
				url: postUrl(post.slug),
				description: fitLines(ctx, lines),
			},
		],
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

async function subscriptionsAsked(
	control: FeedControl,
	guildId: string,
	feedId: string | null,
): Promise<FeedSubscription[]> {
	if (feedId !== null) return [await feedNamed(control, guildId, feedId)];
	const subs = await control.list(guildId);
	if (subs.length === 0) throw new UserError("feed.list.empty");
	return subs;
}

/** The server's feed a `feed` option names (its first word: autocomplete choices start with the id). */
export async function feedNamed(control: FeedControl, guildId: string, input: string): Promise<FeedSubscription> {
	const id = input.trim().split(/\s/)[0] ?? "";
	const sub = await control.find(guildId, id);
	if (!sub) throw new UserError("feed.notFound", { id: quoteInput(id) });
	return sub;
}

/** One line per feed; when they do not all fit, as many as fit and how many more. */
function fitLines(ctx: HandlerContext, lines: readonly string[]): string {
	const kept: string[] = [];
	let size = 0;
	for (const line of lines) {
		const length = charLength(line) + 1;
		if (size + length > DESCRIPTION_MAX - MORE_RESERVE) break;
		kept.push(line);
		size += length;
	}
	if (kept.length < lines.length) kept.push(ctx.t("feed.why.more", { count: lines.length - kept.length }));
	return kept.join("\n");
}

/** The answer for one feed, first reason first. */
async function verdictFor(
	ctx: HandlerContext,
	control: FeedControl,
	sub: FeedSubscription,
	{ post, channelNsfw, keyed }: { post: Post; channelNsfw: boolean; keyed: boolean },
): Promise<string> {
	const { t } = ctx;
	const announced = await control.announcement(sub, post.id);
	if (announced) {
		const link = `https://discord.com/channels/${sub.guildId}/${announced.channelId}/${announced.messageId}`;
		return t("feed.why.announced", { time: discordTime(announced.at, "R"), link });
	}
	if (sub.disabledReason !== null) return t("feed.why.stopped", { reason: reasonText(t, sub.disabledReason) });
	if (sub.paused) return t("feed.why.paused", { id: sub.id });
	const imgpileState = imgpileReason(ctx, post, keyed);
	if (imgpileState) return imgpileState;
	const rule = filteredBy(sub.filters, post);
	if (rule === "user") {
		return t("feed.why.filteredUser", {
			user: sub.filters.username ?? "",
			author: post.user ? safeText(post.user.username, 60) : t("feed.why.noAuthor"),
		});
	}
	if (rule === "nsfw") return t("feed.why.filteredNsfw");
	if (rule === "tag") {
		const tags = (post.tags ?? []).map((tag) => `#${safeText(tag, 50)}`).join(" ");
		return t("feed.why.filteredTag", { tag: sub.filters.tag ?? "", tags: truncate(tags, 300) || t("feed.why.noTags") });
	}
	if (post.moderation_status === "nsfw" && !channelNsfw) {
		return t("feed.why.nsfwChannel", { channel: `<#${sub.channelId}>` });
	}
	const delivery = await control.delivery(sub, post.id);
	if (delivery.queued) {
		if (sub.mode === "digest") {
			return t("feed.why.queuedDigest", {
				time: discordTime(delivery.queued.dueAt ?? sub.nextDigestAt, "R"),
			});
		}
		if (delivery.queued.attempts > 0) return t("feed.why.queuedRetry", { attempts: delivery.queued.attempts });
		return t("feed.why.queued");
	}
	const created = Date.parse(post.created_at);
	if (created < Date.parse(sub.createdAt)) {
		return t("feed.why.older", {
			posted: discordTime(post.created_at, "f"),
			created: discordTime(sub.createdAt, "f"),
		});
	}
	const gate = scoreGate(ctx, control, sub, post, created);
	if (gate) return gate;
	if (delivery.seen) return t("feed.why.seen", { channel: `<#${sub.channelId}>` });
	return t("feed.why.notSeen", { time: discordTime(await nextPoll(control, sub), "R") });
}

/**
 * Pending, rejected, or not public on imgpile: no feed announces it. `visibility` comes to the
 * owner only; a post read with an access key is private whoever reads it.
 */
function imgpileReason(ctx: HandlerContext, post: Post, keyed: boolean): string | undefined {
	if (post.moderation_status === "pending") return ctx.t("feed.why.pending");
	if (post.moderation_status === "rejected") return ctx.t("feed.why.rejected");
	if (keyed || (post.visibility !== undefined && post.visibility !== "public")) return ctx.t("feed.why.notPublic");
	return undefined;
}

/** Below the gate's score, or past its window without reaching it. */
function scoreGate(
	ctx: HandlerContext,
	control: FeedControl,
	sub: FeedSubscription,
	post: Post,
	created: number,
): string | undefined {
	if (sub.minScore === null) return undefined;
	const windowMs = sub.withinMs ?? DEFAULT_SCORE_WINDOW_MS;
	const closes = created + windowMs;
	if (control.now() > closes) {
		return ctx.t("feed.why.pastWindow", { min: sub.minScore, window: formatInterval(windowMs) });
	}
	if (post.score < sub.minScore) {
		return ctx.t("feed.why.belowScore", {
			score: post.score,
			min: sub.minScore,
			until: discordTime(new Date(closes).toISOString(), "R"),
		});
	}
	return undefined;
}

/** When the feed's query is read next: a period after its last poll, not before a pause or back-off ends. */
async function nextPoll(control: FeedControl, sub: FeedSubscription): Promise<string> {
	const cursor = await control.cursor(sub);
	const status = control.status();
	const last = cursor.lastPolledAt ? Date.parse(cursor.lastPolledAt) : Number.NaN;
	const candidates = [
		Number.isNaN(last) ? control.now() : last + status.periodMs,
		status.pausedUntil ?? 0,
		cursor.backoffUntil ? Date.parse(cursor.backoffUntil) : 0,
	];
	return new Date(Math.max(control.now(), ...candidates.filter((ms) => !Number.isNaN(ms)))).toISOString();
}
