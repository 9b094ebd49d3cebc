/**
 * Where a feed's messages go and how they get there: a message in a text or announcement channel
 * or a thread; a new post in a forum or media channel (titled after the imgpile post, with the
 * forum's tags that match the post's); then, in an announcement channel with `publish`, a
 * crosspost to the following servers (Discord allows 10 per hour per channel).
 *
 * Finding a delivery again after a crash works the same for every destination: a forum's posts
 * (the bot's own, by name when it is known) are read for the marker in their first message, like
 * a channel's recent messages. A crosspost is repeated safely (Discord answers "already
 * crossposted"), so a message recorded as sent is published before its entry is done.
 */
import type { RESTPostAPIChannelMessageJSONBody } from "discord.js";
import type { FeedSubscription } from "../store/index.js";
import { type ChannelInfo, classifyDiscordError, type DestinationKind } from "./discord.js";
import { alreadyPosted, deliveryFailed } from "./failures.js";
import type { FeedPostPayload } from "./payload.js";
import { carriesMarker } from "./render.js";
import { type CycleContext, type FeedRuntime, iso, MAX_BACKOFF_MS } from "./runtime.js";
import type { AnnouncedAt } from "./sync.js";

/** Discord's crosspost limit: 10 per hour per announcement channel. */
const CROSSPOSTS_PER_HOUR = 10;
const CROSSPOST_WINDOW_MS = 60 * 60_000;
/** A forum takes at most 5 tags per post. */
const MAX_TAGS = 5;
/** Forum posts of the bot read for a marker when the post's name is not known (a digest). */
const UNNAMED_CANDIDATES = 5;

/** A message for the subscription's destination: its body, and in a forum the post's name and tags. */
export interface Outgoing {
	body: RESTPostAPIChannelMessageJSONBody;
	postName: string;
	tags?: readonly string[];
}

/** Sends to the subscription's destination; where the message landed (a forum post: its thread). */
export async function sendTo(
	rt: FeedRuntime,
	sub: FeedSubscription,
	kind: DestinationKind,
	out: Outgoing,
): Promise<AnnouncedAt> {
	if (kind !== "forum") {
		const { id } = await rt.discord.send(sub.channelId, out.body);
		return { channelId: sub.channelId, messageId: id };
	}
	// A forum post's message takes no nonce: the marker in it is what recovery finds.
	const { nonce: _nonce, enforce_nonce: _enforce, ...message } = out.body;
	const tags = out.tags ?? [];
	const { threadId, messageId } = await rt.discord.createPost(sub.channelId, {
		name: out.postName,
		message,
		...(tags.length > 0 ? { applied_tags: [...tags] } : {}),
	});
	return { channelId: threadId, messageId };
}

/** Where a message recorded as sent is: a forum post's first message has its thread's id. */
export function whereSent(sub: FeedSubscription, kind: DestinationKind | undefined, messageId: string): AnnouncedAt {
	return { channelId: kind === "forum" ? messageId : sub.channelId, messageId };
}

/**
 * The destination's kind without waiting on Discord when the cache knows it (an interrupted
 * delivery is finished even while the channel cannot be read; undefined then).
 */
export async function kindOf(rt: FeedRuntime, sub: FeedSubscription): Promise<DestinationKind | undefined> {
	const cached = rt.discord.channel(sub.channelId);
	if (cached) return cached.kind;
	const info = await rt.discord.channelInfo(sub.channelId, sub.guildId).catch(() => undefined);
	return info?.kind;
}

/**
 * Whether a message carrying `marker` already reached the destination (where), so a delivery
 * that may have gone before a crash is not sent twice; "stop" when Discord refused the read.
 */
export async function findDelivered(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	kind: DestinationKind | undefined,
	marker: string,
	postName?: string,
): Promise<AnnouncedAt | undefined | "stop"> {
	if (kind !== "forum") {
		const found = await alreadyPosted(rt, ctx, sub, marker);
		return typeof found === "string" ? { channelId: sub.channelId, messageId: found } : found;
	}
	try {
		const me = rt.discord.botUserId();
		const mine = (await rt.discord.forumPosts(sub.channelId, sub.guildId))
			.filter((post) => me === undefined || post.ownerId === me)
			.sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
		const candidates = postName ? mine.filter((post) => post.name === postName) : mine.slice(0, UNNAMED_CANDIDATES);
		for (const post of candidates) {
			const first = await rt.discord.message(post.id, post.id).catch(() => undefined);
			if (first && carriesMarker(first, marker)) return { channelId: post.id, messageId: first.id };
		}
		return undefined;
	} catch (error) {
		const outcome = await deliveryFailed(rt, ctx, sub, 0, error, [marker]);
		return outcome === "stop" ? "stop" : undefined;
	}
}

/**
 * The forum's tags whose name is one of the post's imgpile tags (case-insensitive). The outbox
 * does not keep a post's tags (imgpile's listing has none): they are read, within the feeds'
 * imgpile budget, only for a forum that has tags; without them the post goes untagged.
 */
export async function forumTags(
	rt: FeedRuntime,
	ctx: CycleContext,
	channel: ChannelInfo,
	post: FeedPostPayload,
): Promise<string[]> {
	if (channel.kind !== "forum" || channel.tags.length === 0 || !rt.budget.canSpend(ctx.now)) return [];
	rt.budget.spent(ctx.now);
	ctx.report.requests++;
	try {
		const read = await rt.imgpile.as(rt.token).getPost(post.slug, { perPage: 1, signal: AbortSignal.timeout(10_000) });
		const names = new Set((read.tags ?? []).map((tag) => tag.toLowerCase()));
		return channel.tags
			.filter((tag) => names.has(tag.name.toLowerCase()))
			.slice(0, MAX_TAGS)
			.map((tag) => tag.id);
	} catch (error) {
		rt.log.debug({ err: error, slug: post.slug }, "could not read the post's tags; posting without forum tags");
		return [];
	}
}

/**
 * Crossposts an announcement of a `publish` subscription in an announcement channel. Past
 * Discord's 10 per hour the message stays unpublished and `publishLimitedUntil` says until when
 * (nothing is tried meanwhile); the first publish after it clears it. "retry": Discord could not
 * be reached, the entry stays as sent and is published at a later cycle.
 */
export async function publish(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	kind: DestinationKind | undefined,
	where: AnnouncedAt,
): Promise<"ok" | "retry"> {
	if (!sub.publish || kind !== "announcement") return "ok";
	const limitedUntil = sub.publishLimitedUntil ? Date.parse(sub.publishLimitedUntil) : Number.NaN;
	if (limitedUntil > ctx.now) return "ok";
	// Discord's count is the authority (people publish too, another process may have): this one
	// only saves the 429 when this process alone reached 10 within the hour.
	const recent = (rt.crossposts.get(where.channelId) ?? []).filter((at) => at > ctx.now - CROSSPOST_WINDOW_MS);
	let outcome: Awaited<ReturnType<typeof rt.discord.crosspost>>;
	try {
		const oldest = recent[0];
		outcome =
			recent.length >= CROSSPOSTS_PER_HOUR && oldest !== undefined
				? { published: false, retryAfterMs: oldest + CROSSPOST_WINDOW_MS - ctx.now }
				: await rt.discord.crosspost(where.channelId, where.messageId);
	} catch (error) {
		if (classifyDiscordError(error).kind === "transient") {
			rt.log.warn({ err: error, subscriptionId: sub.id }, "crosspost failed; will try again");
			rt.retryAt.set(sub.id, ctx.now + Math.min(MAX_BACKOFF_MS, rt.intervalMs));
			return "retry";
		}
		// The message was deleted meanwhile, or publishing is not allowed: it stays as it is.
		rt.log.warn({ err: error, subscriptionId: sub.id, messageId: where.messageId }, "announcement not crossposted");
		return "ok";
	}
	if (outcome.published) recent.push(ctx.now);
	rt.crossposts.set(where.channelId, recent);
	const until = outcome.published ? null : iso(ctx.now + outcome.retryAfterMs);
	if (until !== sub.publishLimitedUntil) {
		await rt.store.subscriptions.update(sub.id, { publishLimitedUntil: until });
		sub.publishLimitedUntil = until;
		rt.dirty = true;
	}
	if (!outcome.published) {
		rt.log.info({ subscriptionId: sub.id, until }, "crosspost limit reached: announcements go unpublished until then");
	}
	return "ok";
}
