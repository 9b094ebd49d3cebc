/**
 * The hourly refresh of whom each user with follows on follows (`GET /users/{username}/following`):
 * the one imgpile cost of notifications beyond the feed polls. Taken after the cycle's polls from
 * the share of the feeds' budget kept for background reads (FEED_SYNC_SHARE, with live sync's
 * re-reads), so polls never wait for it: the longest-unread lists first, and when more users
 * follow than that share reads in an hour, each list is read less often than hourly. A list read
 * is stored on the profile (fenced) and used from the next poll on.
 */
import { ImgpileNotFoundError } from "../imgpile/index.js";
import type { NotifyProfile } from "../store/index.js";
import { FollowingBudgetError, readFollowing } from "./notify-following.js";
import { type CycleContext, type FeedRuntime, iso, parseTime } from "./runtime.js";

/** A following list is read again after this long. */
export const FOLLOWING_REFRESH_MS = 3_600_000;
/** Lists read in one cycle at most (each is one request, more for long lists). */
const REFRESHES_PER_CYCLE = 5;
/** After a failed read (imgpile down), the next try for that user waits this long. */
const RETRY_MS = 10 * 60_000;

/** Profiles whose following list is due for a refresh, the longest-unread first. */
export function dueForRefresh(profiles: readonly NotifyProfile[], now: number): NotifyProfile[] {
	return profiles
		.filter(
			(profile) =>
				profile.follows &&
				profile.username !== null &&
				profile.paused === null &&
				now - (parseTime(profile.followingAt) ?? Number.NEGATIVE_INFINITY) >= FOLLOWING_REFRESH_MS,
		)
		.sort((a, b) => (parseTime(a.followingAt) ?? 0) - (parseTime(b.followingAt) ?? 0));
}

export async function refreshFollows(rt: FeedRuntime, ctx: CycleContext): Promise<void> {
	const profiles = ctx.notify?.profiles ?? [];
	let done = 0;
	for (const profile of dueForRefresh(profiles, ctx.now)) {
		if (done >= REFRESHES_PER_CYCLE || rt.stopped) return;
		if ((rt.followRetryAt.get(profile.userId) ?? 0) > ctx.now) continue;
		const username = profile.username ?? "";
		let usernames: string[];
		try {
			usernames = (await readFollowing(rt, username, ctx.now, { background: true })).usernames;
		} catch (error) {
			if (error instanceof FollowingBudgetError) return; // the next cycle goes on
			if (!(error instanceof ImgpileNotFoundError)) {
				rt.followRetryAt.set(profile.userId, ctx.now + RETRY_MS);
				rt.log.warn({ err: error, userId: profile.userId }, "could not read a following list; will retry");
				continue;
			}
			// The imgpile account is gone: it follows no one (`/notify status` shows the count).
			usernames = [];
		}
		done++;
		ctx.report.followRefreshes++;
		const stored = await rt.store.notify.updateExisting(
			profile.userId,
			(current) =>
				current.username === username ? { ...current, following: usernames, followingAt: iso(ctx.now) } : current,
			ctx.fence,
		);
		// The scheduler keeps profiles for a few cycles: the next poll uses the list read now.
		if (stored) Object.assign(profile, stored);
	}
}
