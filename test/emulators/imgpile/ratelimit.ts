/**
 * Fixed-window rate limiting on the emulator's clock: one-minute windows for requests
 * (per user or per guest IP) and one-day windows for the upload quota.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface RateDecision {
	allowed: boolean;
	limit: number;
	remaining: number;
	/** Whole seconds until the window resets (>= 1). */
	retryAfter: number;
}

interface Bucket {
	window: number;
	count: number;
}

function secondsUntil(windowEnd: number, now: number): number {
	return Math.max(1, Math.ceil((windowEnd - now) / 1000));
}

export class FixedWindowLimiter {
	private readonly buckets = new Map<string, Bucket>();

	constructor(
		private readonly now: () => number,
		private readonly windowMs: number = MINUTE_MS,
	) {}

	private bucket(key: string): Bucket {
		const window = Math.floor(this.now() / this.windowMs);
		let b = this.buckets.get(key);
		if (!b || b.window !== window) {
			b = { window, count: 0 };
			this.buckets.set(key, b);
		}
		return b;
	}

	private retryAfter(b: Bucket): number {
		return secondsUntil((b.window + 1) * this.windowMs, this.now());
	}

	/** Counts one attempt unless the budget is spent (a refused attempt is not counted). */
	hit(key: string, max: number): RateDecision {
		const b = this.bucket(key);
		if (b.count >= max) return { allowed: false, limit: max, remaining: 0, retryAfter: this.retryAfter(b) };
		b.count++;
		return { allowed: true, limit: max, remaining: max - b.count, retryAfter: this.retryAfter(b) };
	}

	/** The current state without counting anything. */
	peek(key: string, max: number): RateDecision {
		const b = this.bucket(key);
		return {
			allowed: b.count < max,
			limit: max,
			remaining: Math.max(0, max - b.count),
			retryAfter: this.retryAfter(b),
		};
	}

	/** Counts one (already accepted) event, e.g. a stored upload. */
	add(key: string): void {
		this.bucket(key).count++;
	}

	reset(): void {
		this.buckets.clear();
	}
}

export const RATE_WINDOWS = { MINUTE_MS, DAY_MS } as const;
