/**
 * The feeds' reads of imgpile: `GET /posts?sort=latest&…` and its `links.next`, through the
 * shared imgpile client as the feed identity (so feed polls and the bot's other requests with
 * that identity share one pacing lane). One attempt per call, never retried (the scheduler
 * decides when to try again, per query, on its own clock), with the rate-limit headers handed
 * back so the scheduler can keep inside the budget.
 */
import type { Imgpile, ImgpileClient, ListedPage, Page, Post } from "../imgpile/index.js";
import type { FeedFilters } from "../store/index.js";

export type FetchedPage = ListedPage<Post>;

/** What the scheduler reads from imgpile; tests and benchmarks may bring their own. */
export interface FeedSource {
	/** Whether requests carry a token (authenticated budget) or not (guest budget). */
	readonly authenticated: boolean;
	/** Page one of the query, newest first. */
	first(filters: FeedFilters, limit: number): Promise<FetchedPage>;
	/** The page `links.next` points at; null on the last page. */
	next(page: Page<Post>): Promise<FetchedPage | null>;
	close(): Promise<void>;
}

export interface ImgpileFeedSourceOptions {
	imgpile: Imgpile;
	/** Feed token (IMGPILE_FEED_TOKEN); undefined = guest reads. */
	token?: string | undefined;
	/** Per-request timeout (headers and body). Default 15 s. */
	timeoutMs?: number;
}

export class ImgpileFeedSource implements FeedSource {
	readonly #client: ImgpileClient;
	readonly #timeoutMs: number;

	constructor(options: ImgpileFeedSourceOptions) {
		this.#client = options.imgpile.as(options.token);
		this.#timeoutMs = options.timeoutMs ?? 15_000;
	}

	get authenticated(): boolean {
		return this.#client.authenticated;
	}

	first(filters: FeedFilters, limit: number): Promise<FetchedPage> {
		return this.#client.listPostsOnce(
			{
				sort: "latest",
				limit,
				tag: filters.tag ?? undefined,
				username: filters.username ?? undefined,
				nsfw: filters.nsfw ? true : undefined,
			},
			{ timeoutMs: this.#timeoutMs },
		);
	}

	next(page: Page<Post>): Promise<FetchedPage | null> {
		return this.#client.nextPageOnce(page, { timeoutMs: this.#timeoutMs });
	}

	/** Nothing of its own to close: the transport is the shared client's. */
	async close(): Promise<void> {}
}
