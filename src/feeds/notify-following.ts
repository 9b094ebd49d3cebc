/**
 * Whom an imgpile user follows, for personal notifications: `GET /users/{username}/following`
 * (public), every page up to a cap, as the feed identity (a guest, or IMGPILE_FEED_TOKEN) and
 * within the feeds' budget. `/notify follows` reads it at once; the feed leader refreshes it
 * hourly. One attempt per page (the caller decides when to try again).
 */
import { ImgpileRateLimitError, type ListedPage, type UserSummary } from "../imgpile/index.js";
import type { FeedRuntime } from "./runtime.js";

/** Users per page read (imgpile allows up to 250; 100 keeps each answer small). */
export const FOLLOWING_PAGE_SIZE = 100;
/** Pages read at most: whom a user follows beyond the first 1,000 is not read. */
export const FOLLOWING_MAX_PAGES = 10;

const TIMEOUT_MS = 15_000;

export interface FollowingList {
	/** Lowercased, each once, in imgpile's order (newest follow first). */
	usernames: string[];
	/** The list has more than FOLLOWING_MAX_PAGES pages: only the first ones were read. */
	capped: boolean;
	/** Requests made. */
	requests: number;
}

/** Paging of the read (tests use small ones). */
export interface FollowingLimits {
	/** Default FOLLOWING_PAGE_SIZE. */
	pageSize?: number;
	/** Default FOLLOWING_MAX_PAGES. */
	maxPages?: number;
	/**
	 * The leader's hourly refresh: spent from the share the feeds keep for background reads (live
	 * sync's, FEED_SYNC_SHARE), so it never takes the polls' room; `/notify follows` reads at once.
	 */
	background?: boolean;
}

/** The feeds' budget had no room for a page: nothing was stored; try again at `resumeAt` (epoch ms). */
export class FollowingBudgetError extends Error {
	override name = "FollowingBudgetError";
	readonly resumeAt: number;

	constructor(resumeAt: number) {
		super("the feeds' imgpile budget has no room to read a following list now");
		this.resumeAt = resumeAt;
	}
}

/**
 * Reads whom `username` follows. Throws FollowingBudgetError when the budget has no room for a
 * page (before the first or mid-way: a partial list is never returned), the client's
 * ImgpileNotFoundError for an unknown username, and its other errors as they come (a 429 also
 * slows the feeds down, as a poll's would).
 */
export async function readFollowing(
	rt: Pick<FeedRuntime, "imgpile" | "token" | "budget">,
	username: string,
	now: number,
	limits: FollowingLimits = {},
): Promise<FollowingList> {
	const pageSize = limits.pageSize ?? FOLLOWING_PAGE_SIZE;
	const maxPages = limits.maxPages ?? FOLLOWING_MAX_PAGES;
	const client = rt.imgpile.as(rt.token);
	const seen = new Set<string>();
	let requests = 0;
	const read = async (fetch: () => Promise<ListedPage<UserSummary> | null>) => {
		if (!(limits.background ? rt.budget.canSpendSync(now) : rt.budget.canSpend(now))) {
			throw new FollowingBudgetError(rt.budget.resumeAt(now));
		}
		if (limits.background) rt.budget.spentSync(now);
		else rt.budget.spent(now);
		requests++;
		try {
			const listed = await fetch();
			if (listed) rt.budget.observe(now, listed.limit, listed.remaining);
			return listed;
		} catch (error) {
			if (error instanceof ImgpileRateLimitError) rt.budget.rateLimited(now, error.retryAfterMs);
			throw error;
		}
	};
	let listed = await read(() => client.followingOnce(username, { limit: pageSize }, { timeoutMs: TIMEOUT_MS }));
	for (let pages = 1; listed; pages++) {
		for (const user of listed.page.data) {
			if (typeof user?.username === "string" && user.username !== "") seen.add(user.username.toLowerCase());
		}
		if (listed.page.links.next === null) return { usernames: [...seen], capped: false, requests };
		if (pages >= maxPages) return { usernames: [...seen], capped: true, requests };
		const page = listed.page;
		listed = await read(() => client.nextPageOnce(page, { timeoutMs: TIMEOUT_MS }));
	}
	return { usernames: [...seen], capped: false, requests };
}
