/**
 * The whole `/feed` API: what the command may ask of the feeds (subscriptions, backfill, test
 * posts, digests on demand, health), so the command file only parses input and renders answers.
 */
import { type FeedSubscription, queryKeyOf } from "../store/index.js";
import { digest } from "./digests.js";
import { classifyDiscordError } from "./discord.js";
import { FeedSendError } from "./failures.js";
import { mayAnnounce, payloadOf, testAnnouncement } from "./render.js";
import { type FeedRuntime, isActive, newCycle, translatorFor } from "./runtime.js";

/** What the `/feed` command may ask of the scheduler. */
export interface FeedControl {
	readonly intervalMs: number;
	now(): number;
	/** Subscriptions changed (added, removed, paused…): re-read them before the next cycle. */
	changed(): void;
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
}

export class FeedControlApi implements FeedControl {
	readonly intervalMs: number;
	protected readonly runtime: FeedRuntime;

	constructor(runtime: FeedRuntime) {
		this.runtime = runtime;
		this.intervalMs = runtime.intervalMs;
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
			.filter((post) => mayAnnounce(post.moderation_status, sub.filters.nsfw))
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
		}
		if (sub.mode === "live") this.runtime.retryAt.set(sub.id, now);
		return queued;
	}

	async reactivated(sub: FeedSubscription): Promise<void> {
		const queryKey = queryKeyOf(sub.filters);
		const others = (await this.runtime.store.subscriptions.listAll()).filter(
			(other) => other.id !== sub.id && isActive(other) && queryKeyOf(other.filters) === queryKey,
		);
		if (others.length === 0) {
			// Nobody followed this query meanwhile: read it afresh, as a new query.
			await this.runtime.store.feedState.forget(queryKey);
			this.runtime.queries.delete(queryKey);
		}
		if (sub.mode === "live") this.runtime.retryAt.set(sub.id, this.runtime.now());
		this.changed();
	}

	async sendTest(sub: FeedSubscription): Promise<"sent" | "nothing"> {
		const now = this.runtime.now();
		this.runtime.budget.spent(now);
		const fetched = await this.runtime.source.first(sub.filters, 10);
		this.runtime.budget.observe(now, fetched.limit, fetched.remaining);
		const channelNsfw = this.runtime.discord.channel(sub.channelId)?.nsfw ?? false;
		const post = fetched.page.data.find((candidate) => mayAnnounce(candidate.moderation_status, channelNsfw));
		if (!post) return "nothing";
		const body = testAnnouncement(translatorFor(this.runtime, sub.guildId), payloadOf(post), {
			channelNsfw,
			subscriptionId: sub.id,
		});
		try {
			await this.runtime.discord.send(sub.channelId, body);
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
		const ctx = newCycle(now, this.runtime.leader, this.runtime.periodMs);
		return this.runtime.locks.run(sub.id, () => digest(this.runtime, ctx, sub, "manual"));
	}
}
