/**
 * Discord's rate limits, as @discordjs/rest reads them:
 * - global: 50 requests per second per bot token (fixed 1 s windows, like the client's own
 *   `globalRequestsPerSecond` pacing); interaction callbacks and interaction webhooks (no bot
 *   token) are exempt, as on Discord. 429 with `global: true`, `X-RateLimit-Global: true`,
 *   `X-RateLimit-Scope: global` and no bucket headers.
 * - per route, bucketed per route + major parameter (channel, guild, webhook id+token), with
 *   `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket` on every counted response;
 *   429 scope `user`.
 * - shared: a per-resource limit (a hot channel, a message's reactions) that other users use up
 *   too, so the bot cannot see it coming: 429 scope `shared`, not counted as an invalid request.
 * - invalid requests (401, 403, 429 but shared ones) in a sliding 10-minute window; past 10,000
 *   Discord's Cloudflare bans the client: every request then gets a plain-text 429 (no JSON, no
 *   bucket headers) with Retry-After until the ban ends. Discord counts per IP; every client of
 *   the emulator is the bot, so there is one count.
 * Windows run on real time (the client waits on real time too), not on the injectable clock.
 */
import { createHash } from "node:crypto";
import { DiscordError } from "./http.js";

export interface RateLimitRule {
	limit: number;
	windowMs: number;
}

export interface RateLimitOptions {
	/** Rule for routes without their own; `null` = unlimited (headers still sent). Default 50 per second. */
	default?: RateLimitRule | null;
	/** By route key "METHOD /template", e.g. "POST /channels/{channel_id}/messages"; `null` = unlimited. */
	routes?: Record<string, RateLimitRule | null>;
	/** Requests per bot token over every authenticated route; `null` = none. Default 50 per second. */
	global?: RateLimitRule | null;
	/** Per-resource (shared) limits by major parameter: a channel or guild id, or "webhook_id/token". */
	shared?: Record<string, RateLimitRule>;
	/** The invalid-request limit before a Cloudflare ban; `null` = never banned (still counted). */
	invalidRequests?: Partial<InvalidRequestLimit> | null;
}

export interface InvalidRequestLimit {
	/** Invalid requests allowed in the window (default 10,000: the 10,001st bans). */
	limit: number;
	/** Sliding window (default 10 minutes). */
	windowMs: number;
	/** How long a ban lasts (default 1 hour). */
	banMs: number;
}

export const DEFAULT_GLOBAL_RATE_LIMIT: RateLimitRule = { limit: 50, windowMs: 1000 };
export const DEFAULT_INVALID_REQUEST_LIMIT: InvalidRequestLimit = {
	limit: 10_000,
	windowMs: 10 * 60_000,
	banMs: 60 * 60_000,
};

export type RateLimitScope = "user" | "global" | "shared";

export const DEFAULT_RATE_LIMITS: Required<Pick<RateLimitOptions, "default" | "routes">> = {
	default: { limit: 50, windowMs: 1000 },
	routes: {
		"POST /channels/{channel_id}/messages": { limit: 5, windowMs: 5000 },
		"PATCH /channels/{channel_id}/messages/{message_id}": { limit: 5, windowMs: 5000 },
		"DELETE /channels/{channel_id}/messages/{message_id}": { limit: 5, windowMs: 5000 },
		"POST /webhooks/{webhook_id}/{webhook_token}": { limit: 5, windowMs: 2000 },
		"PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original": { limit: 5, windowMs: 2000 },
		"PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": { limit: 5, windowMs: 2000 },
		"PUT /applications/{application_id}/commands": { limit: 10, windowMs: 20_000 },
		"PUT /applications/{application_id}/guilds/{guild_id}/commands": { limit: 10, windowMs: 20_000 },
		"POST /interactions/{interaction_id}/{interaction_token}/callback": null,
		// Discord: one reaction per 0.25 s per channel (its reaction bucket).
		"PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": { limit: 1, windowMs: 250 },
		"DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": { limit: 1, windowMs: 250 },
	},
};

export interface ForcedRateLimit {
	/** Route key ("POST /channels/{channel_id}/messages", ":param" style accepted) or "*" for any route. */
	route: string;
	/** How many upcoming matching requests get a 429 (default 1). */
	times?: number;
	/** retry_after in ms (default 250). */
	retryAfterMs?: number;
	/** Same as `scope: "global"`. */
	global?: boolean;
	/** Default "user" ("global" with `global: true`). */
	scope?: RateLimitScope;
}

interface Bucket {
	remaining: number;
	resetAt: number;
}

interface Forced {
	route: string;
	times: number;
	retryAfterMs: number;
	scope: RateLimitScope;
}

export function normalizeRouteKey(key: string): string {
	const [method = "", path = ""] = key.trim().split(/\s+/, 2);
	return `${method.toUpperCase()} ${path.replace(/:([A-Za-z_]+)/g, "{$1}")}`;
}

export class RateLimiter {
	private readonly buckets = new Map<string, Bucket>();
	private readonly sharedBuckets = new Map<string, Bucket>();
	private readonly forced: Forced[] = [];
	private readonly rules: Map<string, RateLimitRule | null>;
	private readonly fallback: RateLimitRule | null;
	private readonly globalRule: RateLimitRule | null;
	private readonly sharedRules: Map<string, RateLimitRule>;
	private readonly invalidLimit: InvalidRequestLimit | null;
	private globalBucket: Bucket | null = null;
	/** Times (ms) of the invalid requests still in the window, oldest first. */
	private invalid: number[] = [];
	private bannedUntil = 0;

	constructor(opts: RateLimitOptions = {}) {
		this.fallback = opts.default === undefined ? DEFAULT_RATE_LIMITS.default : opts.default;
		this.rules = new Map();
		for (const [k, v] of Object.entries({ ...DEFAULT_RATE_LIMITS.routes, ...(opts.routes ?? {}) })) {
			this.rules.set(normalizeRouteKey(k), v);
		}
		this.globalRule = opts.global === undefined ? DEFAULT_GLOBAL_RATE_LIMIT : opts.global;
		this.sharedRules = new Map(Object.entries(opts.shared ?? {}));
		this.invalidLimit =
			opts.invalidRequests === null ? null : { ...DEFAULT_INVALID_REQUEST_LIMIT, ...(opts.invalidRequests ?? {}) };
	}

	force(f: ForcedRateLimit): void {
		this.forced.push({
			route: f.route === "*" ? "*" : normalizeRouteKey(f.route),
			times: f.times ?? 1,
			retryAfterMs: f.retryAfterMs ?? 250,
			scope: f.scope ?? (f.global ? "global" : "user"),
		});
	}

	/** Sets (or with `null` lifts) the shared limit of a resource: a channel or guild id, or "webhook_id/token". */
	limitResource(major: string, rule: RateLimitRule | null): void {
		if (rule) this.sharedRules.set(major, rule);
		else this.sharedRules.delete(major);
		this.sharedBuckets.delete(major);
	}

	reset(): void {
		this.buckets.clear();
		this.sharedBuckets.clear();
		this.globalBucket = null;
		this.forced.length = 0;
		this.invalid = [];
		this.bannedUntil = 0;
	}

	private ruleFor(routeKey: string): RateLimitRule | null {
		return this.rules.has(routeKey) ? (this.rules.get(routeKey) ?? null) : this.fallback;
	}

	/**
	 * Counts a request. Returns the headers for the response, or throws a 429 DiscordError
	 * (`violation` "rate-limit" for a limit the bot could have seen coming: global or per route).
	 * `global`: whether the request counts against the bot token's global limit.
	 */
	take(routeKey: string, major: string, opts: { global?: boolean } = {}): Record<string, string> {
		const hash = createHash("sha1").update(routeKey).digest("hex").slice(0, 32);
		const now = Date.now();
		const forced = this.forced.find((f) => f.route === "*" || f.route === routeKey);
		if (forced) {
			forced.times--;
			if (forced.times <= 0) this.forced.splice(this.forced.indexOf(forced), 1);
			if (forced.scope === "global") throw globalTooMany(forced.retryAfterMs, null);
			const limit = this.ruleFor(routeKey)?.limit ?? 1;
			throw tooMany(
				forced.retryAfterMs,
				forced.scope,
				bucketHeaders(limit, 0, now + forced.retryAfterMs, now, hash),
				null,
			);
		}
		if (opts.global && this.globalRule) {
			const bucket = refill(this.globalBucket, this.globalRule, now);
			this.globalBucket = bucket;
			if (bucket.remaining <= 0) throw globalTooMany(bucket.resetAt - now, "rate-limit");
			bucket.remaining--;
		}
		const rule = this.ruleFor(routeKey);
		let bucket: Bucket | null = null;
		if (rule) {
			const key = `${routeKey}|${major}`;
			bucket = refill(this.buckets.get(key), rule, now);
			this.buckets.set(key, bucket);
			if (bucket.remaining <= 0) {
				const headers = bucketHeaders(rule.limit, 0, bucket.resetAt, now, hash);
				throw tooMany(bucket.resetAt - now, "user", headers, "rate-limit");
			}
		}
		const sharedRule = this.sharedRules.get(major);
		if (sharedRule) {
			const shared = refill(this.sharedBuckets.get(major), sharedRule, now);
			this.sharedBuckets.set(major, shared);
			if (shared.remaining <= 0) {
				// Headers of the bot's own bucket (not exhausted): a shared limit does not show before it hits.
				const headers = rule && bucket ? bucketHeaders(rule.limit, bucket.remaining, bucket.resetAt, now, hash) : {};
				throw tooMany(shared.resetAt - now, "shared", headers, null);
			}
			shared.remaining--;
		}
		if (!rule || !bucket) return {};
		bucket.remaining--;
		return bucketHeaders(rule.limit, bucket.remaining, bucket.resetAt, now, hash);
	}

	/**
	 * Counts a response towards the invalid-request limit (401, 403, 429 but shared-scope ones).
	 * Returns true when this one crossed the limit: the Cloudflare ban starts now.
	 */
	countResponse(status: number, scope: string | undefined): boolean {
		if (status !== 401 && status !== 403 && !(status === 429 && scope !== "shared")) return false;
		const now = Date.now();
		this.prune(now);
		this.invalid.push(now);
		if (!this.invalidLimit || this.banned(now) > 0 || this.invalid.length <= this.invalidLimit.limit) return false;
		this.bannedUntil = now + this.invalidLimit.banMs;
		return true;
	}

	/** Invalid requests in the current window (what counts towards the ban). */
	invalidRequests(): number {
		this.prune(Date.now());
		return this.invalid.length;
	}

	/** Milliseconds left of a Cloudflare ban (0: not banned). */
	banned(now = Date.now()): number {
		return Math.max(0, this.bannedUntil - now);
	}

	private prune(now: number): void {
		const windowMs = this.invalidLimit?.windowMs ?? DEFAULT_INVALID_REQUEST_LIMIT.windowMs;
		let drop = 0;
		while (drop < this.invalid.length && (this.invalid[drop] ?? 0) <= now - windowMs) drop++;
		if (drop > 0) this.invalid = this.invalid.slice(drop);
	}
}

/** The bucket for a fixed window starting with its first request, refilled once the window is over. */
function refill(bucket: Bucket | null | undefined, rule: RateLimitRule, now: number): Bucket {
	if (bucket && now < bucket.resetAt) return bucket;
	return { remaining: rule.limit, resetAt: now + rule.windowMs };
}

function bucketHeaders(
	limit: number,
	remaining: number,
	resetAt: number,
	now: number,
	hash: string,
): Record<string, string> {
	return {
		"X-RateLimit-Limit": String(limit),
		"X-RateLimit-Remaining": String(remaining),
		"X-RateLimit-Reset": (resetAt / 1000).toFixed(3),
		"X-RateLimit-Reset-After": (Math.max(0, resetAt - now) / 1000).toFixed(3),
		"X-RateLimit-Bucket": hash,
	};
}

/** A per-route (`user`) or per-resource (`shared`) 429. */
function tooMany(
	retryMs: number,
	scope: "user" | "shared",
	headers: Record<string, string>,
	violation: "rate-limit" | null,
): DiscordError {
	const seconds = Math.max(0.001, retryMs / 1000);
	return new DiscordError(
		429,
		{
			message: scope === "shared" ? "The resource is being rate limited." : "You are being rate limited.",
			retry_after: Number(seconds.toFixed(3)),
			global: false,
		},
		violation,
		{ ...headers, "Retry-After": String(Math.ceil(seconds)), "X-RateLimit-Scope": scope },
	);
}

/** The global 429, as Discord's documentation shows it: no bucket headers. */
function globalTooMany(retryMs: number, violation: "rate-limit" | null): DiscordError {
	const seconds = Math.max(0.001, retryMs / 1000);
	return new DiscordError(
		429,
		{ message: "You are being rate limited.", retry_after: Number(seconds.toFixed(3)), global: true },
		violation,
		{ "Retry-After": String(Math.ceil(seconds)), "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global" },
	);
}
