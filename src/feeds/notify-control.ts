/**
 * What `/notify` may ask of the feed scheduler (personal notifications ride on its polls and are
 * delivered by its leader; see docs/ARCHITECTURE.md "Personal notifications").
 */
import type { NotifyProfile } from "../store/index.js";
import { readFollowing } from "./notify-following.js";
import { nextBatchAt } from "./notify-schedule.js";
import { type FeedRuntime, iso, parseTime } from "./runtime.js";

export interface NotifyStatus {
	profile: NotifyProfile;
	/** Posts queued for the user's next batch. */
	waiting: number;
	/** When the next batch DM may go (epoch ms: `every` and quiet hours applied); null when nothing waits. */
	nextBatchAt: number | null;
}

/** A following list just read: how many users, and whether the page cap cut it short. */
export interface FollowingRead {
	count: number;
	capped: boolean;
}

export interface NotifyControl {
	/** A user's tags or follows changed: the polls are re-read before the next cycle. */
	changed(): void;
	status(userId: string): Promise<NotifyStatus>;
	/**
	 * Reads whom `username` follows on imgpile now (a few requests at most, within the feeds'
	 * budget) and stores it (and the username) on the user's profile. Throws the imgpile client's
	 * ImgpileNotFoundError for an unknown username, FollowingBudgetError when the budget has no
	 * room; nothing is stored then.
	 */
	refreshFollowing(userId: string, username: string): Promise<FollowingRead>;
}

/** `feeds.notify`: the scheduler's runtime, seen from `/notify`. */
export class NotifyControlApi implements NotifyControl {
	readonly #rt: FeedRuntime;

	constructor(runtime: FeedRuntime) {
		this.#rt = runtime;
	}

	changed(): void {
		this.#rt.dirty = true;
	}

	async status(userId: string): Promise<NotifyStatus> {
		const { store } = this.#rt;
		const profile = await store.notify.getOrDefault(userId);
		// "sent" entries reached Discord before a crash: the leader only finishes them.
		const waiting = (await store.notifyOutbox.pending({ subscriptionId: userId })).filter(
			(entry) => entry.state === "pending",
		);
		const next = nextBatchAt({
			now: this.#rt.now(),
			lastBatchAt: parseTime(profile.lastBatchAt),
			oldestQueuedAt: parseTime(waiting[0]?.createdAt),
			everyMs: profile.everyMs,
			quiet: profile.quiet,
			tz: profile.tz ?? "UTC",
		});
		return { profile, waiting: waiting.length, nextBatchAt: next };
	}

	async refreshFollowing(userId: string, username: string): Promise<FollowingRead> {
		const now = this.#rt.now();
		const list = await readFollowing(this.#rt, username, now);
		await this.#rt.store.notify.update(userId, (profile) => ({
			...profile,
			username,
			following: list.usernames,
			followingAt: iso(now),
		}));
		this.changed();
		return { count: list.usernames.length, capped: list.capped };
	}
}
