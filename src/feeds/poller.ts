/**
 * One poll of one query: `GET /posts?sort=latest&…`, then `links.next` while every post of the
 * page is new (a burst), up to a cap; and which of the posts read are new.
 *
 * "New" = not in the query's seen set — so a post that enters the feed late (pending → approved)
 * is new when it shows up, whatever its id — and not below the previous poll's frontier (the
 * oldest post that poll read; "end" when it read the whole feed). Every listed post at or above
 * the frontier was read, hence seen, by then: an unseen one there is new. Below the frontier
 * posts were never read: they slid into view because newer posts were deleted or hidden (never
 * new), or they were approved after more than a page of newer posts (the documented limit: a
 * late post is announced if it is not older than the oldest post of the previous read). With no
 * frontier known (a cursor from before it existed), posts below the deepest seen post of this
 * read are treated the same way.
 */
import type { Post } from "../imgpile/index.js";
import type { FeedFilters, FeedFrontier } from "../store/index.js";
import type { FeedSource } from "./source.js";

export interface PollResult {
	/** New posts, oldest first (the order they are announced in). */
	fresh: Post[];
	/** Unseen posts that are not new (below the previous frontier), newest first. */
	stale: Post[];
	/** Every post read (newest first), for seeding. */
	read: Post[];
	requests: number;
	/** Stopped at the page cap before reaching a seen post: older new posts may be missed. */
	capped: boolean;
	/** How far this read went (the next poll's frontier). */
	frontier: FeedFrontier | null;
	/** The last rate-limit headers seen. */
	limit: number | undefined;
	remaining: number | undefined;
}

export interface PollOptions {
	source: FeedSource;
	filters: FeedFilters;
	seen: ReadonlySet<number>;
	/** The previous poll's frontier (null: unknown). */
	frontier: FeedFrontier | null;
	/** First poll of the query: read page one only (it is all marked seen, nothing announced). */
	seeding: boolean;
	pageSize: number;
	maxPages: number;
	/** Called before each request; false stops paging (the budget ran out): the poll counts as not done. */
	mayRequest: () => boolean;
	/** Called after each request with its headers. */
	onResponse: (limit: number | undefined, remaining: number | undefined) => void;
}

export class PollIncompleteError extends Error {
	override name = "PollIncompleteError";
}

/**
 * Polls; throws the source's error (the poll did not happen: nothing may be marked seen) or
 * PollIncompleteError when the budget stopped it mid-burst.
 */
export async function pollQuery(options: PollOptions): Promise<PollResult> {
	const { source, filters, seen } = options;
	const read: Post[] = [];
	const ids = new Set<number>();
	let requests = 0;
	let limit: number | undefined;
	let remaining: number | undefined;
	let capped = false;
	let reachedEnd = false;

	const fetched = await source.first(filters, options.pageSize);
	requests++;
	({ limit, remaining } = fetched);
	options.onResponse(limit, remaining);
	let page = fetched.page;
	for (let pages = 1; ; pages++) {
		let sawSeen = false;
		for (const post of page.data) {
			if (typeof post?.id !== "number" || ids.has(post.id)) continue;
			ids.add(post.id);
			read.push(post);
			if (seen.has(post.id)) sawSeen = true;
		}
		if (!page.links.next) {
			reachedEnd = true;
			break;
		}
		if (options.seeding || sawSeen) break;
		if (pages >= options.maxPages) {
			capped = true;
			break;
		}
		if (!options.mayRequest()) throw new PollIncompleteError("imgpile budget used up in the middle of a burst");
		const next = await source.next(page);
		requests++;
		if (!next) {
			reachedEnd = true;
			break;
		}
		({ limit, remaining } = next);
		options.onResponse(limit, remaining);
		page = next.page;
	}

	const last = read.at(-1);
	const frontier: FeedFrontier | null = reachedEnd
		? "end"
		: last
			? { createdAt: last.created_at, id: last.id }
			: options.frontier;
	if (options.seeding) return { fresh: [], stale: [], read, requests, capped, frontier, limit, remaining };
	return { ...newAmong(read, seen, options.frontier), read, requests, capped, frontier, limit, remaining };
}

/**
 * Which of the posts read (newest first) are new against a seen set and the previous frontier
 * (see the top of this file): `fresh` oldest first; `stale` the unseen ones that are not new
 * (below the frontier: they slid into view), to be marked seen so that a later read, whose
 * frontier is deeper, does not take them for new.
 */
export function newAmong(
	read: readonly Post[],
	seen: ReadonlySet<number>,
	previous: FeedFrontier | null,
): { fresh: Post[]; stale: Post[] } {
	let candidates: readonly Post[];
	if (previous === "end") {
		candidates = read;
	} else if (previous) {
		candidates = read.filter((post) => compareFeedOrder(post, previous) >= 0);
	} else {
		let deepestSeen = -1;
		for (let i = read.length - 1; i >= 0; i--) {
			const post = read[i];
			if (post && seen.has(post.id)) {
				deepestSeen = i;
				break;
			}
		}
		candidates = deepestSeen === -1 ? read : read.slice(0, deepestSeen);
	}
	const kept = new Set(candidates);
	const fresh = candidates.filter((post) => !seen.has(post.id)).reverse();
	const stale = read.filter((post) => !kept.has(post) && !seen.has(post.id));
	return { fresh, stale };
}

/** Feed order (`sort=latest`: created_at, then id): > 0 when `post` is newer than `mark`. */
export function compareFeedOrder(
	post: Pick<Post, "created_at" | "id">,
	mark: { createdAt: string; id: number },
): number {
	const a = Date.parse(post.created_at);
	const b = Date.parse(mark.createdAt);
	if (!Number.isNaN(a) && !Number.isNaN(b) && a !== b) return a - b;
	return post.id - mark.id;
}
