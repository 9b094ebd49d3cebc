import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import { Agent, type Dispatcher, request } from "undici";
import type { Metrics } from "../metrics.js";
import {
	errorCode,
	httpError,
	ImgpileError,
	ImgpileFileTooLargeError,
	ImgpileHttpError,
	ImgpileNetworkError,
	ImgpileRateLimitError,
	ImgpileTimeoutError,
	type RequestInfo,
} from "./errors.js";
import { Lane, Lanes, parseIntHeader, parseRetryAfter, type SharedBudget } from "./rate-limit.js";
import { type ErrorBody, IMGPILE_LIMITS } from "./types.js";

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

/**
 * When a failed request may be sent again by the client itself.
 * - `idempotent`: GET, and PATCH/DELETE, which are safe to repeat: on 429, 5xx, network errors, timeouts.
 * - `rejected-only`: a POST whose effect must not happen twice (a vote toggles): only when imgpile
 *   certainly did not act on it (429, or the connection was refused).
 * - `never`: uploads. Their body is a one-shot stream and a duplicate burns the user's daily quota.
 */
export type RetryPolicy = "idempotent" | "rejected-only" | "never";

export interface ImgpileHttpOptions {
	/** e.g. https://imgpile.com/api/v1 */
	apiUrl: string;
	/** e.g. https://cdn.imgpile.com/api/v1/media */
	uploadUrl: string;
	userAgent?: string;
	timeouts?: {
		/** TCP/TLS connect. Default 10 s. */
		connectMs?: number;
		/** From the request being sent to the response headers. Default 30 s. */
		headersMs?: number;
		/** Longest silence while reading a response body. Default 30 s. */
		bodyMs?: number;
	};
	retry?: {
		/** Extra attempts after the first. Default 3. */
		maxRetries?: number;
		/** First backoff step. Default 250 ms. */
		baseDelayMs?: number;
		/** Backoff cap. Default 8 s. */
		maxDelayMs?: number;
		/** A `Retry-After` longer than this is not waited out here: the error goes to the caller. Default 60 s. */
		maxRetryAfterMs?: number;
	};
	pacing?: {
		/** Default 120 (imgpile's documented per-user limit). */
		authPerMinute?: number;
		/** Default 30 (imgpile's documented per-IP limit for guest requests). */
		publicPerMinute?: number;
		/** Requests in flight per token. Default 4. */
		maxConcurrentPerToken?: number;
	};
	/** The budget this identity shares with other processes (several bot processes on one store). */
	sharedBudget?: SharedBudget | undefined;
	/** Largest upload imgpile takes. Default 100 MiB. */
	maxFileBytes?: number;
	/** Bring your own undici dispatcher (then `timeouts.connectMs` is yours to set on it). */
	dispatcher?: Dispatcher;
	logger?: Logger;
	/** Counts failed requests (imgpile_bot_imgpile_errors_total). */
	metrics?: Metrics | undefined;
	/** For tests: jitter source. */
	random?: () => number;
}

export interface HttpRequest {
	method: HttpMethod;
	url: URL;
	token: string | undefined;
	json?: unknown;
	body?: AsyncIterable<Uint8Array>;
	headers?: Record<string, string>;
	signal?: AbortSignal | undefined;
	retry: RetryPolicy;
	/** Response timeout (headers, and silence in the body) for this request, instead of the transport's. */
	timeoutMs?: number | undefined;
	/**
	 * For a caller that keeps imgpile's limits on its own clock (the feed scheduler): fail at once
	 * with a 429 when the lane is blocked longer than `maxBlockedMs`; a 429 answer does not block
	 * the lane (the bot's other requests learn imgpile's wait from their own answers), and only
	 * successful answers' headers adjust it.
	 */
	ownPacing?: { maxBlockedMs: number } | undefined;
}

export interface HttpResponse<T> {
	status: number;
	body: T;
	/** `X-RateLimit-Limit` / `-Remaining` of the response, when present. */
	limit: number | undefined;
	remaining: number | undefined;
}

const RETRY_DEFAULTS = { maxRetries: 3, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/** Transport for the imgpile client: undici, per-token pacing, retries, typed errors. */
export class ImgpileHttp {
	readonly apiUrl: URL;
	readonly uploadUrl: URL;
	readonly maxFileBytes: number;
	readonly #dispatcher: Dispatcher;
	readonly #ownsDispatcher: boolean;
	readonly #headersTimeout: number;
	readonly #bodyTimeout: number;
	readonly #retry: typeof RETRY_DEFAULTS;
	readonly #lanes: Lanes;
	readonly #userAgent: string;
	readonly #logger: Logger | undefined;
	readonly #metrics: Metrics | undefined;
	readonly #random: () => number;
	readonly #shared: SharedBudget | undefined;

	constructor(options: ImgpileHttpOptions) {
		this.apiUrl = new URL(options.apiUrl.replace(/\/+$/, ""));
		this.uploadUrl = new URL(options.uploadUrl);
		this.maxFileBytes = options.maxFileBytes ?? IMGPILE_LIMITS.maxFileBytes;
		this.#headersTimeout = options.timeouts?.headersMs ?? 30_000;
		this.#bodyTimeout = options.timeouts?.bodyMs ?? 30_000;
		this.#ownsDispatcher = options.dispatcher === undefined;
		this.#dispatcher =
			options.dispatcher ??
			new Agent({
				connect: { timeout: options.timeouts?.connectMs ?? 10_000 },
				headersTimeout: this.#headersTimeout,
				bodyTimeout: this.#bodyTimeout,
				keepAliveTimeout: 10_000,
			});
		this.#retry = { ...RETRY_DEFAULTS, ...options.retry };
		const authPerMinute = options.pacing?.authPerMinute ?? IMGPILE_LIMITS.authRequestsPerMinute;
		const publicPerMinute = options.pacing?.publicPerMinute ?? IMGPILE_LIMITS.publicRequestsPerMinute;
		const maxConcurrent = options.pacing?.maxConcurrentPerToken ?? 4;
		this.#lanes = new Lanes(
			(key) => new Lane({ perMinute: key === GUEST_LANE ? publicPerMinute : authPerMinute, maxConcurrent }),
		);
		this.#userAgent = options.userAgent ?? "imgpile-bot (+https://github.com/imgpile-bot)";
		this.#logger = options.logger;
		this.#metrics = options.metrics;
		this.#random = options.random ?? Math.random;
		this.#shared = options.sharedBudget;
	}

	/** The pacing lane of a token (undefined: guest requests). */
	lane(token: string | undefined): Lane {
		return this.#lanes.get(laneKey(token));
	}

	/** An API URL from a path below the API base and a query (undefined values are left out). */
	apiEndpoint(path: string, query?: Record<string, string | number | boolean | undefined>): URL {
		const url = new URL(`${this.apiUrl.pathname}${path}`, this.apiUrl);
		for (const [name, value] of Object.entries(query ?? {})) {
			if (value === undefined || value === false) continue;
			url.searchParams.set(name, value === true ? "1" : String(value));
		}
		return url;
	}

	/** Whether a URL imgpile handed back (a `links.next`) is on the API we talk to, so the token may go there. */
	isApiUrl(url: URL): boolean {
		return url.origin === this.apiUrl.origin && url.pathname.startsWith(`${this.apiUrl.pathname}/`);
	}

	async send<T>(req: HttpRequest): Promise<HttpResponse<T>> {
		const info: RequestInfo = { method: req.method, path: req.url.pathname };
		const lane = this.lane(req.token);
		// imgpile asked this token to wait longer than we would: tell the caller now, send nothing.
		if (lane.blockedForMs > (req.ownPacing?.maxBlockedMs ?? this.#retry.maxRetryAfterMs)) {
			throw new ImgpileRateLimitError(429, { message: "Too Many Attempts." }, info, lane.blockedForMs);
		}
		for (let attempt = 0; ; attempt++) {
			const started = performance.now();
			let failure: ImgpileError;
			await lane.acquire(req.signal);
			try {
				await this.#takeShared(req, info, lane);
				const response = await this.#once(req, info);
				const limit = parseIntHeader(response.headers["x-ratelimit-limit"]);
				const remaining = parseIntHeader(response.headers["x-ratelimit-remaining"]);
				const ok = response.statusCode >= 200 && response.statusCode < 300;
				if (ok || !req.ownPacing) lane.observe(limit, remaining);
				const text = await response.body.text();
				this.#logger?.debug(
					{
						method: req.method,
						path: info.path,
						status: response.statusCode,
						ms: Math.round(performance.now() - started),
					},
					"imgpile request",
				);
				if (ok) {
					const body = parseSuccess<T>(text, response.statusCode, info);
					return { status: response.statusCode, body, limit, remaining };
				}
				const retryAfterMs = parseRetryAfter(response.headers["retry-after"]);
				if (response.statusCode === 429 && !req.ownPacing) lane.blockUntil(Date.now() + (retryAfterMs ?? 1_000));
				failure = httpError(response.statusCode, parseErrorBody(text), info, retryAfterMs);
			} catch (error) {
				if (req.signal?.aborted) throw req.signal.reason;
				failure = transportError(error, info);
			} finally {
				lane.release();
			}
			this.#metrics?.imgpileError(failure instanceof ImgpileHttpError ? failure.status : failure.kind);
			const wait = this.#retryDelay(req.retry, failure, attempt);
			if (wait === undefined) throw failure;
			this.#logger?.warn(
				{ method: req.method, path: info.path, kind: failure.kind, attempt: attempt + 1, waitMs: wait },
				"imgpile request failed, retrying",
			);
			await delay(wait, undefined, { signal: req.signal });
		}
	}

	/** Waits for this identity's turn in the budget all processes share (none: nothing to wait for). */
	async #takeShared(req: HttpRequest, info: RequestInfo, lane: Lane): Promise<void> {
		if (!this.#shared) return;
		for (;;) {
			let waitMs: number;
			try {
				waitMs = await this.#shared.take(laneKey(req.token), lane.perMinute);
			} catch (error) {
				// The shared store is down: this process's own pacing still holds.
				this.#logger?.warn({ err: error }, "shared imgpile budget unavailable; pacing this process alone");
				return;
			}
			if (waitMs <= 0) return;
			if (req.ownPacing && waitMs > req.ownPacing.maxBlockedMs) {
				throw new ImgpileRateLimitError(429, { message: "Too Many Attempts." }, info, waitMs);
			}
			await delay(waitMs, undefined, { signal: req.signal });
		}
	}

	async close(): Promise<void> {
		if (this.#ownsDispatcher) await this.#dispatcher.close();
	}

	async #once(req: HttpRequest, info: RequestInfo) {
		const headers: Record<string, string> = {
			accept: "application/json",
			"user-agent": this.#userAgent,
			...req.headers,
		};
		if (req.token) headers.authorization = `Bearer ${req.token}`;
		// undici takes an async iterable body as it is (Dispatcher docs; request()'s typings only name
		// Readable) and pulls the next chunk when the socket wants more: no Readable.from() in between,
		// with its own read-ahead buffer and stream machinery per chunk.
		let body: string | Readable | undefined = req.body as Readable | undefined;
		if (req.json !== undefined) {
			headers["content-type"] = "application/json";
			body = JSON.stringify(req.json);
		}
		try {
			return await request(req.url, {
				method: req.method,
				headers,
				body,
				dispatcher: this.#dispatcher,
				signal: req.signal,
				headersTimeout: req.timeoutMs ?? this.#headersTimeout,
				bodyTimeout: req.timeoutMs ?? this.#bodyTimeout,
			});
		} catch (error) {
			// A body stream that refused to go on (too large) surfaces as its own error.
			const own = findOwnError(error);
			if (own) throw own;
			throw transportError(error, info);
		}
	}

	#retryDelay(policy: RetryPolicy, failure: ImgpileError, attempt: number): number | undefined {
		if (attempt >= this.#retry.maxRetries || !failure.retryable || policy === "never") return undefined;
		const rejected =
			failure.kind === "rate_limited" || (failure instanceof ImgpileNetworkError && failure.code === "ECONNREFUSED");
		if (policy === "rejected-only" && !rejected) return undefined;
		if (failure instanceof ImgpileRateLimitError && failure.retryAfterMs !== undefined) {
			if (failure.retryAfterMs > this.#retry.maxRetryAfterMs) return undefined;
			return failure.retryAfterMs + Math.floor(this.#random() * 100);
		}
		// Capped exponential backoff with full jitter.
		const ceiling = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** attempt);
		return Math.floor(ceiling / 2 + (this.#random() * ceiling) / 2);
	}
}

const GUEST_LANE = "guest";

function laneKey(token: string | undefined): string {
	return token ? createHash("sha256").update(token).digest("base64url").slice(0, 22) : GUEST_LANE;
}

function parseSuccess<T>(text: string, status: number, info: RequestInfo): T {
	if (text === "") return undefined as T;
	try {
		return JSON.parse(text) as T;
	} catch {
		throw new ImgpileHttpError("server", status, { message: "response was not JSON" }, info, false);
	}
}

function parseErrorBody(text: string): ErrorBody | undefined {
	try {
		const parsed: unknown = JSON.parse(text);
		return typeof parsed === "object" && parsed !== null ? (parsed as ErrorBody) : undefined;
	} catch {
		return undefined;
	}
}

const TIMEOUT_CODES: Record<string, "connect" | "headers" | "body"> = {
	UND_ERR_CONNECT_TIMEOUT: "connect",
	UND_ERR_HEADERS_TIMEOUT: "headers",
	UND_ERR_BODY_TIMEOUT: "body",
};

function transportError(error: unknown, info: RequestInfo): ImgpileError {
	if (error instanceof ImgpileError) return error;
	const phase = TIMEOUT_CODES[errorCode(error) ?? ""];
	if (phase) return new ImgpileTimeoutError(info, phase, error);
	return new ImgpileNetworkError(info, error);
}

function findOwnError(error: unknown): ImgpileFileTooLargeError | undefined {
	for (let current = error, depth = 0; current && depth < 5; depth++) {
		if (current instanceof ImgpileFileTooLargeError) return current;
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}
