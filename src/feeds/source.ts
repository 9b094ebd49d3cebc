/**
 * The feeds' reads of imgpile: `GET /posts?sort=latest&…` and its `links.next`, one request per
 * call and never retried here (the scheduler decides when to try again, per query, on its own
 * clock), with the rate-limit headers handed back so the scheduler can keep inside the budget.
 * Requests go through the shared client's pacing lane for the feed identity, so feed polls and
 * the bot's other requests with that identity share one budget.
 */
import type { Logger } from "pino";
import { Agent, request } from "undici";
import {
	httpError,
	type Imgpile,
	ImgpileError,
	ImgpileHttpError,
	ImgpileNetworkError,
	ImgpileTimeoutError,
	type Page,
	type Post,
	parseRetryAfter,
	type RequestInfo,
} from "../imgpile/index.js";
import type { FeedFilters } from "../store/index.js";

export interface FetchedPage {
	page: Page<Post>;
	/** `X-RateLimit-Limit` / `-Remaining` of the response, when present. */
	limit: number | undefined;
	remaining: number | undefined;
}

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
	logger?: Logger | undefined;
	/** Per-request timeout (headers and body). Default 15 s. */
	timeoutMs?: number;
}

export class ImgpileFeedSource implements FeedSource {
	readonly authenticated: boolean;
	readonly #imgpile: Imgpile;
	readonly #token: string | undefined;
	readonly #agent: Agent;
	readonly #timeoutMs: number;
	readonly #logger: Logger | undefined;
	/** The filters each page was read with, so `links.next` keeps them. */
	readonly #origins = new WeakMap<object, URL>();

	constructor(options: ImgpileFeedSourceOptions) {
		this.#imgpile = options.imgpile;
		this.#token = options.token || undefined;
		this.authenticated = this.#token !== undefined;
		this.#timeoutMs = options.timeoutMs ?? 15_000;
		this.#logger = options.logger;
		this.#agent = new Agent({
			connect: { timeout: 10_000 },
			headersTimeout: this.#timeoutMs,
			bodyTimeout: this.#timeoutMs,
			keepAliveTimeout: 30_000,
			connections: 4,
		});
	}

	first(filters: FeedFilters, limit: number): Promise<FetchedPage> {
		const url = this.#imgpile.http.apiEndpoint("/posts", {
			sort: "latest",
			limit,
			tag: filters.tag ?? undefined,
			username: filters.username ?? undefined,
			nsfw: filters.nsfw ? true : undefined,
		});
		return this.#get(url);
	}

	async next(page: Page<Post>): Promise<FetchedPage | null> {
		if (!page.links.next) return null;
		const url = new URL(page.links.next, this.#imgpile.http.apiUrl);
		if (!this.#imgpile.http.isApiUrl(url)) {
			throw new Error(`refusing to follow a pagination link off the imgpile API: ${url.origin}`);
		}
		for (const [name, value] of this.#origins.get(page)?.searchParams ?? []) {
			if (name !== "page" && !url.searchParams.has(name)) url.searchParams.set(name, value);
		}
		return this.#get(url);
	}

	async close(): Promise<void> {
		await this.#agent.close();
	}

	async #get(url: URL): Promise<FetchedPage> {
		const info: RequestInfo = { method: "GET", path: url.pathname };
		const lane = this.#imgpile.http.lane(this.#token);
		// imgpile told this identity to wait (a 429 on another request): do not hold the cycle up.
		if (lane.blockedForMs > 5_000) {
			throw httpError(429, { message: "Too Many Attempts." }, info, lane.blockedForMs);
		}
		await lane.acquire();
		const started = performance.now();
		try {
			const headers: Record<string, string> = { accept: "application/json", "user-agent": "imgpile-bot feeds" };
			if (this.#token) headers.authorization = `Bearer ${this.#token}`;
			let response: Awaited<ReturnType<typeof request>>;
			try {
				response = await request(url, {
					method: "GET",
					headers,
					dispatcher: this.#agent,
					headersTimeout: this.#timeoutMs,
					bodyTimeout: this.#timeoutMs,
				});
			} catch (error) {
				throw transportError(error, info);
			}
			const limit = intHeader(response.headers["x-ratelimit-limit"]);
			const remaining = intHeader(response.headers["x-ratelimit-remaining"]);
			let text: string;
			try {
				text = await response.body.text();
			} catch (error) {
				throw transportError(error, info);
			}
			this.#logger?.debug(
				{
					path: url.pathname,
					query: url.search,
					status: response.statusCode,
					ms: Math.round(performance.now() - started),
				},
				"imgpile feed request",
			);
			if (response.statusCode < 200 || response.statusCode >= 300) {
				// No lane.blockUntil on 429: the scheduler backs the feeds off on its own clock, and the
				// bot's other requests learn imgpile's wait from their own answers.
				const retryAfterMs = parseRetryAfter(response.headers["retry-after"]);
				throw httpError(response.statusCode, parseJson(text) ?? undefined, info, retryAfterMs);
			}
			// The shared lane learns what is left, so the bot's other requests slow down too.
			lane.observe(limit, remaining);
			const body = parseJson(text);
			if (!isPostPage(body)) {
				throw new ImgpileHttpError("server", response.statusCode, { message: "not a page of posts" }, info, true);
			}
			this.#origins.set(body, url);
			return { page: body, limit, remaining };
		} finally {
			lane.release();
		}
	}
}

function intHeader(value: string | string[] | undefined): number | undefined {
	const text = Array.isArray(value) ? value[0] : value;
	return text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

function parseJson(text: string): Record<string, unknown> | null {
	try {
		const parsed: unknown = JSON.parse(text);
		return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

function isPostPage(body: unknown): body is Page<Post> {
	if (typeof body !== "object" || body === null) return false;
	const page = body as { data?: unknown; links?: unknown };
	return Array.isArray(page.data) && typeof page.links === "object" && page.links !== null;
}

const TIMEOUT_CODES: Record<string, "connect" | "headers" | "body"> = {
	UND_ERR_CONNECT_TIMEOUT: "connect",
	UND_ERR_HEADERS_TIMEOUT: "headers",
	UND_ERR_BODY_TIMEOUT: "body",
};

function transportError(error: unknown, info: RequestInfo): ImgpileError {
	if (error instanceof ImgpileError) return error;
	const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
	const phase = TIMEOUT_CODES[code];
	if (phase) return new ImgpileTimeoutError(info, phase, error);
	return new ImgpileNetworkError(info, error);
}
