/**
 * Per-route rate limits, bucketed per route + major parameter (channel, guild, webhook id+token),
 * with Discord's headers on every response and 429 bodies `{ message, retry_after, global }`.
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
}

export const DEFAULT_RATE_LIMITS: Required<RateLimitOptions> = {
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
	},
};

export interface ForcedRateLimit {
	/** Route key ("POST /channels/{channel_id}/messages", ":param" style accepted) or "*" for any route. */
	route: string;
	/** How many upcoming matching requests get a 429 (default 1). */
	times?: number;
	/** retry_after in ms (default 250). */
	retryAfterMs?: number;
	global?: boolean;
}

interface Bucket {
	remaining: number;
	resetAt: number;
}

export function normalizeRouteKey(key: string): string {
	const [method = "", path = ""] = key.trim().split(/\s+/, 2);
	return `${method.toUpperCase()} ${path.replace(/:([A-Za-z_]+)/g, "{$1}")}`;
}

export class RateLimiter {
	private readonly buckets = new Map<string, Bucket>();
	private readonly forced: Array<Required<ForcedRateLimit>> = [];
	private readonly rules: Map<string, RateLimitRule | null>;
	private readonly fallback: RateLimitRule | null;

	constructor(opts: RateLimitOptions = {}) {
		this.fallback = opts.default === undefined ? DEFAULT_RATE_LIMITS.default : opts.default;
		this.rules = new Map();
		for (const [k, v] of Object.entries({ ...DEFAULT_RATE_LIMITS.routes, ...(opts.routes ?? {}) })) {
			this.rules.set(normalizeRouteKey(k), v);
		}
	}

	force(f: ForcedRateLimit): void {
		this.forced.push({
			route: f.route === "*" ? "*" : normalizeRouteKey(f.route),
			times: f.times ?? 1,
			retryAfterMs: f.retryAfterMs ?? 250,
			global: f.global ?? false,
		});
	}

	reset(): void {
		this.buckets.clear();
		this.forced.length = 0;
	}

	private ruleFor(routeKey: string): RateLimitRule | null {
		return this.rules.has(routeKey) ? (this.rules.get(routeKey) ?? null) : this.fallback;
	}

	/**
	 * Counts a request. Returns the headers for the response, or throws a 429 DiscordError
	 * (`violation` "rate-limit" unless it was forced by a test).
	 */
	take(routeKey: string, major: string): Record<string, string> {
		const hash = createHash("sha1").update(routeKey).digest("hex").slice(0, 32);
		const now = Date.now();
		const forced = this.forced.find((f) => f.route === "*" || f.route === routeKey);
		if (forced) {
			forced.times--;
			if (forced.times <= 0) this.forced.splice(this.forced.indexOf(forced), 1);
			throw tooMany(forced.retryAfterMs, forced.global, hash, this.ruleFor(routeKey)?.limit ?? 1, now, null);
		}
		const rule = this.ruleFor(routeKey);
		if (!rule) return {};
		const key = `${routeKey}|${major}`;
		let bucket = this.buckets.get(key);
		if (!bucket || now >= bucket.resetAt) {
			bucket = { remaining: rule.limit, resetAt: now + rule.windowMs };
			this.buckets.set(key, bucket);
		}
		if (bucket.remaining <= 0) {
			throw tooMany(bucket.resetAt - now, false, hash, rule.limit, now, "rate-limit");
		}
		bucket.remaining--;
		const resetAfter = (bucket.resetAt - now) / 1000;
		return {
			"X-RateLimit-Limit": String(rule.limit),
			"X-RateLimit-Remaining": String(bucket.remaining),
			"X-RateLimit-Reset": (bucket.resetAt / 1000).toFixed(3),
			"X-RateLimit-Reset-After": resetAfter.toFixed(3),
			"X-RateLimit-Bucket": hash,
		};
	}
}

function tooMany(
	retryMs: number,
	global: boolean,
	hash: string,
	limit: number,
	now: number,
	violation: "rate-limit" | null,
): DiscordError {
	const seconds = Math.max(0.001, retryMs / 1000);
	const headers: Record<string, string> = {
		"Retry-After": String(Math.ceil(seconds)),
		"X-RateLimit-Limit": String(limit),
		"X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset": ((now + retryMs) / 1000).toFixed(3),
		"X-RateLimit-Reset-After": seconds.toFixed(3),
		"X-RateLimit-Bucket": hash,
		"X-RateLimit-Scope": global ? "global" : "user",
	};
	if (global) headers["X-RateLimit-Global"] = "true";
	return new DiscordError(
		429,
		{ message: "You are being rate limited.", retry_after: Number(seconds.toFixed(3)), global },
		violation,
		headers,
	);
}
