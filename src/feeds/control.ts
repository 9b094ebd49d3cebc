/**
 * The whole `/feed` API: what the command may ask of the feeds (subscriptions, backfill, test
 * posts, digests on demand, health), so the command file only parses input and renders answers.
 */

import { SnowflakeUtil } from "discord.js";
import { mayAnnounce } from "../discord/index.js";
import {
	type FeedCursor,
	type FeedFilters,
	type FeedSubscription,
	type FeedSubscriptionPatch,
	type NewFeedSubscription,
	outboxKeyOf,
	pollKeyOf,
	queryKeyOf,
} from "../store/index.js";
import { sendTo } from "./destination.js";
import { digest } from "./digests.js";
import { classifyDiscordError } from "./discord.js";
import { FeedSendError } from "./failures.js";
import { gateReached } from "./gates.js";
import { type NotifyControl, NotifyControlApi } from "./notify-control.js";
import { carriesMarker, digestMarker, type FeedPostPayload, payloadOf, testAnnouncement } from "./render.js";
import { type FeedRuntime, isActive, newCycle, translatorFor } from "./runtime.js";
import { nextDigestTime } from "./schedule.js";
import { forumPostName } from "./styles.js";
import { syncStatus } from "./sync.js";

/** What the `/feed` command may ask of the scheduler. */
export interface FeedControl {
	readonly intervalMs: number;
	now(): number;
	/** Subscriptions changed (added, removed, paused…): re-read them before the next cycle. */
	changed(): void;
	/** Personal notifications (`/notify`): status, follow lists, changes. */
	readonly notify: NotifyControl;
	/** Puts the `backfill` latest matching posts into the subscription's outbox; how many. */
	backfill(subscription: FeedSubscription): Promise<number>;
	/** A query gets active subscriptions again after none: it is read afresh (nothing from the pause is announced). */
	reactivated(subscription: FeedSubscription): Promise<void>;
	/** Sends the latest matching post to the channel, marked as a test. */
	sendTest(subscription: FeedSubscription): Promise<"sent" | "nothing">;
	/** Sends what a digest subscription has gathered, now; how many posts (0: nothing was sent). */
	sendDigestNow(subscription: FeedSubscription): Promise<number>;
	/** The poll period in use, and whether it is longer than configured (imgpile's rate limit). */
	status(): { periodMs: number; slowed: boolean; pausedUntil: number | null; leader: boolean };
	/** The guild's subscriptions. */
	list(guildId: string): Promise<FeedSubscription[]>;
	/** The guild's subscription with this id (another guild's ids are unknown here). */
	find(guildId: string, id: string): Promise<FeedSubscription | undefined>;
	/** The guild's time zone (digest times). */
	timezone(guildId: string): Promise<string>;
	/** A new subscription, its first digest scheduled in the guild's time zone, its query read afresh if new. */
	add(input: Omit<NewFeedSubscription, "nextDigestAt">): Promise<{ subscription: FeedSubscription; timezone: string }>;
	/**
	 * Changes a subscription (channel, filters, announcement options); new filters are read as a
	 * new query is (nothing from before is announced), and the old query's state goes when no one
	 * uses it any more. Undefined if it was removed meanwhile.
	 */
	edit(subscription: FeedSubscription, patch: FeedSubscriptionPatch): Promise<FeedSubscription | undefined>;
	/** How the subscription's query is being polled. */
	cursor(subscription: FeedSubscription): Promise<FeedCursor>;
	/** Removes the subscription and its pending deliveries (and its query's state when no one else uses it); how many deliveries were dropped. */
	remove(subscription: FeedSubscription): Promise<number>;
	pause(subscription: FeedSubscription): Promise<void>;
	/** Active again (unpaused, not disabled); a stopped subscription's query is read afresh. */
	resume(subscription: FeedSubscription): Promise<FeedSubscription | undefined>;
	// ── /feed why, /feed preview ──
	/** Where and when the subscription announced the post; undefined when it did not (or it cannot be found). */
	announcement(subscription: FeedSubscription, postId: number): Promise<Announcement | undefined>;
	/** The post in the subscription's delivery: waiting in its outbox (not sent yet), and whether its polls read it. */
	delivery(subscription: FeedSubscription, postId: number): Promise<PostDelivery>;
	/** The latest post these filters would announce in a channel (age-restricted or not); undefined: none yet. */
	latest(filters: FeedFilters, channelNsfw: boolean): Promise<FeedPostPayload | undefined>;
	/**
	 * How far behind live sync is for the subscription: `behind` posts it follows (announcements
	 * younger than 7 days, posts its score gate waits on) were not read from imgpile for more than
	 * 10 minutes because re-reads did not fit the budget's sync share (FEED_SYNC_SHARE);
	 * `oldestUnsyncedAt`: when the longest-waiting of them was last read (ISO), null when none waits.
	 */
	syncStatus(subscription: FeedSubscription): Promise<{ behind: number; oldestUnsyncedAt: string | null }>;
}

/** A message that announced a post: the channel it is in, the message, when (ISO). */
export interface Announcement {
	channelId: string;
	messageId: string;
	at: string;
}

export interface PostDelivery {
	/** In the outbox and not sent yet: when it is due (null: now; a digest's time), failed attempts so far. */
	queued: { dueAt: string | null; attempts: number } | null;
	/** In the query's seen set: a poll read it (and queued it for the subscriptions active then). */
	seen: boolean;
}

export class FeedControlApi implements FeedControl {
	readonly intervalMs: number;
	readonly notify: NotifyControl;
	protected readonly runtime: FeedRuntime;

	constructor(runtime: FeedRuntime) {
		this.runtime = runtime;
		this.intervalMs = runtime.intervalMs;
		this.notify = new NotifyControlApi(runtime);
	}

	now(): number {
		return this.runtime.now();
	}

	changed(): void {
		this.runtime.dirty = true;
	}

	status(): { periodMs: number; slowed: boolean; pausedUntil: number | null; leader: boolean } {
		const rt = this.runtime;
		const now = rt.now();
		const pausedUntil = rt.budget.pausedUntil > now ? rt.budget.pausedUntil : null;
		// The period the next cycle will use (a 429 just now already lengthened it).
		const periodMs = Math.max(rt.periodMs, rt.budget.period(this.intervalMs, rt.queryCount, now));
		return {
			periodMs,
			slowed: periodMs > this.intervalMs || pausedUntil !== null,
			pausedUntil,
			leader: rt.leader,
		};
	}

	async backfill(sub: FeedSubscription): Promise<number> {
		if (sub.backfill <= 0) return 0;
		const now = this.runtime.now();
		this.runtime.budget.spent(now);
		const fetched = await this.runtime.source.first(sub.filters, Math.min(sub.backfill, this.runtime.pageSize));
		this.runtime.budget.observe(now, fetched.limit, fetched.remaining);
		const posts = fetched.page.data
			.filter((post) => mayAnnounce(post.moderation_status, sub.filters.nsfw) && gateReached(sub, post, now))
			.slice(0, sub.backfill)
			.reverse();
		const dueAt = sub.mode === "digest" ? (sub.nextDigestAt ?? null) : null;
		let queued = 0;
		for (const post of posts) {
			const { created } = await this.runtime.store.outbox.put({
				subscriptionId: sub.id,
				postId: post.id,
				payload: payloadOf(post),
				dueAt,
			});
			if (created) queued++;
			else this.runtime.metrics?.duplicateAvoided("outbox");
		}
		if (sub.mode === "live") this.runtime.retryAt.set(sub.id, now);
		return queued;
	}

	async reactivated(sub: FeedSubscription): Promise<void> {
		const pollKey = pollKeyOf(sub.filters);
		const queryKey = queryKeyOf(sub.filters);
		const others = (await this.runtime.store.subscriptions.listAll()).filter(
			(other) => other.id !== sub.id && isActive(other),
		);
		if (!others.some((other) => pollKeyOf(other.filters) === pollKey)) {
			// Nobody followed this poll meanwhile: read it afresh, as a new poll.
			await this.runtime.store.feedState.forget(pollKey);
			this.runtime.queries.delete(pollKey);
		}
		// State from before polls were shared (see polling.ts) holds only while others kept it current.
		if (!others.some((other) => queryKeyOf(other.filters) === queryKey)) {
			await this.runtime.store.feedState.forget(queryKey);
		}
		if (sub.mode === "live") this.runtime.retryAt.set(sub.id, this.runtime.now());
		this.changed();
	}

	async sendTest(sub: FeedSubscription): Promise<"sent" | "nothing"> {
		const channelNsfw = this.runtime.discord.channel(sub.channelId)?.nsfw ?? false;
		const post = await this.latest(sub.filters, channelNsfw);
		if (!post) return "nothing";
		const t = translatorFor(this.runtime, sub.guildId);
		const body = testAnnouncement(t, post, { channelNsfw, subscriptionId: sub.id });
		// In a forum, the test is a post of its own.
		const kind = this.runtime.discord.channel(sub.channelId)?.kind ?? "text";
		try {
			await sendTo(this.runtime, sub, kind, { body, postName: forumPostName(t, post) });
		} catch (error) {
			const failure = classifyDiscordError(error);
			throw new FeedSendError(failure.kind === "gone" || failure.kind === "forbidden" ? failure.reason : failure.kind, {
				cause: error,
			});
		}
		return "sent";
	}

	async sendDigestNow(sub: FeedSubscription): Promise<number> {
		const now = this.runtime.now();
		// The leader's digest carries its fence; another process's goes unfenced (nothing to lose).
		const ctx = newCycle(now, this.runtime.leader ? this.runtime.fence : undefined, this.runtime.periodMs);
		return this.runtime.locks.run(sub.id, () => digest(this.runtime, ctx, sub, "manual"));
	}

	list(guildId: string): Promise<FeedSubscription[]> {
		return this.runtime.store.subscriptions.listByGuild(guildId);
	}

	async find(guildId: string, id: string): Promise<FeedSubscription | undefined> {
		const sub = await this.runtime.store.subscriptions.get(id);
		return sub && sub.guildId === guildId ? sub : undefined;
	}

	async timezone(guildId: string): Promise<string> {
		return (await this.runtime.store.guilds.get(guildId)).timezone;
	}

	async add(
		input: Omit<NewFeedSubscription, "nextDigestAt">,
	): Promise<{ subscription: FeedSubscription; timezone: string }> {
		const now = this.now();
		const timezone = await this.timezone(input.guildId);
		const subscription = await this.runtime.store.subscriptions.create({
			...input,
			nextDigestAt: input.mode === "digest" ? new Date(nextDigestTime(input, timezone, now)).toISOString() : null,
		});
		await this.reactivated(subscription);
		return { subscription, timezone };
	}

	async edit(sub: FeedSubscription, patch: FeedSubscriptionPatch): Promise<FeedSubscription | undefined> {
		const updated = await this.runtime.store.subscriptions.update(sub.id, patch);
		if (updated && pollKeyOf(updated.filters) !== pollKeyOf(sub.filters)) {
			await this.reactivated(updated);
			await this.#forgetIfUnused(sub);
		}
		this.changed();
		return updated;
	}

	async cursor(sub: FeedSubscription): Promise<FeedCursor> {
		const cursor = await this.runtime.store.feedState.getCursor(pollKeyOf(sub.filters));
		// Not polled under its shared key yet (just updated from per-combination keys): the old state.
		if (cursor.lastPolledAt === null) return this.runtime.store.feedState.getCursor(queryKeyOf(sub.filters));
		return cursor;
	}

	async remove(sub: FeedSubscription): Promise<number> {
		const { store } = this.runtime;
		await store.subscriptions.remove(sub.id);
		const dropped = await store.outbox.removeForSubscription(sub.id);
		await this.#forgetIfUnused(sub);
		this.changed();
		return dropped;
	}

	/** Drops the state of the queries `sub` had (shared and per-combination) when no subscription uses them any more. */
	async #forgetIfUnused(sub: FeedSubscription): Promise<void> {
		const { store } = this.runtime;
		const others = (await store.subscriptions.listAll()).filter((other) => other.id !== sub.id);
		for (const keyOf of [pollKeyOf, queryKeyOf]) {
			const key = keyOf(sub.filters);
			if (!others.some((other) => keyOf(other.filters) === key)) await store.feedState.forget(key);
		}
	}

	async pause(sub: FeedSubscription): Promise<void> {
		await this.runtime.store.subscriptions.update(sub.id, { paused: true });
		this.changed();
	}

	syncStatus(sub: FeedSubscription): Promise<{ behind: number; oldestUnsyncedAt: string | null }> {
		return syncStatus(this.runtime, sub);
	}

	async resume(sub: FeedSubscription): Promise<FeedSubscription | undefined> {
		const wasStopped = sub.paused || sub.disabledReason !== null;
		const updated = await this.runtime.store.subscriptions.update(sub.id, { paused: false, disabledReason: null });
		if (updated && wasStopped) await this.reactivated(updated);
		this.changed();
		return updated;
	}

	// ── /feed why, /feed preview ──

	async announcement(sub: FeedSubscription, postId: number): Promise<Announcement | undefined> {
		// The live sync's record (kept 8 days); older announcements, or one whose record a crash
		// kept from being written, are looked for in the outbox and the channel.
		const record = await this.runtime.store.announcements.get(postId);
		const message = record?.messages.find((m) => m.subscriptionId === sub.id && m.state !== "lost");
		if (message) return { channelId: message.channelId, messageId: message.messageId, at: message.at };
		return announcedFromOutbox(this.runtime, sub, postId);
	}

	async delivery(sub: FeedSubscription, postId: number): Promise<PostDelivery> {
		const entry = await this.runtime.store.outbox.get(outboxKeyOf(sub.id, postId));
		const seen = (await this.runtime.store.feedState.getSeen(queryKeyOf(sub.filters))).has(postId);
		const queued = entry && entry.state === "pending" ? { dueAt: entry.dueAt, attempts: entry.attempts } : null;
		return { queued, seen };
	}

	async latest(filters: FeedFilters, channelNsfw: boolean): Promise<FeedPostPayload | undefined> {
		const now = this.runtime.now();
		this.runtime.budget.spent(now);
		const fetched = await this.runtime.source.first(filters, 10);
		this.runtime.budget.observe(now, fetched.limit, fetched.remaining);
		const post = fetched.page.data.find((candidate) => mayAnnounce(candidate.moderation_status, channelNsfw));
		return post && payloadOf(post);
	}
}

/**
 * An announcement as the outbox and the channel tell it: an entry Discord accepted (not done
 * yet) names its message; a delivered one is found by its footer marker among the channel's
 * recent messages (a live announcement, or a digest the post was the oldest of). Older ones are
 * not found: undefined.
 */
async function announcedFromOutbox(
	rt: FeedRuntime,
	sub: FeedSubscription,
	postId: number,
): Promise<Announcement | undefined> {
	const key = outboxKeyOf(sub.id, postId);
	const entry = await rt.store.outbox.get(key);
	if (entry?.discordMessageId) {
		return { channelId: sub.channelId, messageId: entry.discordMessageId, at: snowflakeTime(entry.discordMessageId) };
	}
	if (entry) return undefined;
	// Best effort: a channel the bot can no longer read just has no announcement to show.
	const messages = await rt.discord.recentMessages(sub.channelId, rt.historyLimit).catch((error: unknown) => {
		rt.log.debug({ err: error, subscriptionId: sub.id }, "feed why: the channel's recent messages could not be read");
		return [];
	});
	const me = rt.discord.botUserId();
	const found = messages.find(
		(message) =>
			(me === undefined || message.author?.id === me) &&
			(carriesMarker(message, key) || carriesMarker(message, digestMarker(key))),
	);
	return found && { channelId: sub.channelId, messageId: found.id, at: found.timestamp };
}

/** When Discord made the message (its id says). */
function snowflakeTime(id: string): string {
	return new Date(SnowflakeUtil.timestampFrom(id)).toISOString();
}
