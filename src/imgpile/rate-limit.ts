/**
 * Client-side pacing for imgpile: one lane per token (and one for guest requests), so a busy
 * token waits on its own budget and never starves the others. Each lane is a token bucket sized
 * from imgpile's documented limits and kept in step with the `X-RateLimit-*` headers, a cap on
 * requests in flight, and a block set by `Retry-After`.
 */

/**
 * `Retry-After` as milliseconds: delay-seconds (imgpile sends integers, fractional ones are
 * accepted too) or an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
	const text = (Array.isArray(value) ? value[0] : value)?.trim();
	if (!text) return undefined;
	if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
	// An HTTP date names its day and month ("Thu, 26 Nov 2026 12:00:30 GMT").
	const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : Number.NaN;
	if (Number.isNaN(date)) return undefined;
	return Math.max(0, date - now);
}

export function parseIntHeader(value: string | string[] | undefined): number | undefined {
	const text = Array.isArray(value) ? value[0] : value;
	if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
	return Number(text);
}

/**
 * imgpile's budget of one identity, kept with the other processes of the bot (on Redis): how
 * long to wait before one more request may go (0: go now, and it is counted). The identity is
 * the lane's key (a token's hash, or "guest"), never a token.
 */
export interface SharedBudget {
	take(identity: string, perMinute: number): Promise<number>;
}

export interface LaneOptions {
	/** Requests per minute this lane may make (the bucket's size and refill rate). */
	perMinute: number;
	/** Requests in flight at once. */
	maxConcurrent: number;
	now?: () => number;
}

interface Waiter {
	grant: () => void;
	reject: (reason: unknown) => void;
	signal: AbortSignal | undefined;
	onAbort: () => void;
}

export class Lane {
	/** What we were configured with: imgpile's header may lower the budget, never raise it above this. */
	readonly #configured: number;
	#capacity: number;
	#tokens: number;
	#lastRefill: number;
	#blockedUntil = 0;
	#inFlight = 0;
	readonly #maxConcurrent: number;
	readonly #now: () => number;
	readonly #waiters: Waiter[] = [];
	#timer: NodeJS.Timeout | undefined;

	constructor(options: LaneOptions) {
		this.#configured = options.perMinute;
		this.#capacity = options.perMinute;
		this.#tokens = options.perMinute;
		this.#maxConcurrent = options.maxConcurrent;
		this.#now = options.now ?? Date.now;
		this.#lastRefill = this.#now();
	}

	get idle(): boolean {
		this.#refill();
		return this.#inFlight === 0 && this.#waiters.length === 0 && this.#tokens >= this.#capacity;
	}

	/** Requests a minute this lane may make now (imgpile's header may have lowered it). */
	get perMinute(): number {
		return this.#capacity;
	}

	get queued(): number {
		return this.#waiters.length;
	}

	/** How long imgpile told this lane to wait from now (0 when it may go). */
	get blockedForMs(): number {
		return Math.max(0, this.#blockedUntil - this.#now());
	}

	/** Waits for a slot; the caller must call `release()` once its request is over. */
	acquire(signal?: AbortSignal): Promise<void> {
		signal?.throwIfAborted();
		return new Promise<void>((resolve, reject) => {
			const waiter: Waiter = {
				grant: () => {
					signal?.removeEventListener("abort", waiter.onAbort);
					resolve();
				},
				reject,
				signal,
				onAbort: () => {
					const index = this.#waiters.indexOf(waiter);
					if (index !== -1) this.#waiters.splice(index, 1);
					reject(signal?.reason);
					this.#pump();
				},
			};
			signal?.addEventListener("abort", waiter.onAbort, { once: true });
			this.#waiters.push(waiter);
			this.#pump();
		});
	}

	release(): void {
		this.#inFlight--;
		this.#pump();
	}

	/** Brings the local budget in line with what imgpile says is left. */
	observe(limit: number | undefined, remaining: number | undefined): void {
		this.#refill();
		if (limit !== undefined && limit > 0) {
			this.#capacity = Math.min(this.#configured, limit);
			this.#tokens = Math.min(this.#tokens, this.#capacity);
		}
		if (remaining !== undefined) this.#tokens = Math.min(this.#tokens, remaining);
	}

	/** Nothing leaves this lane before `until` (epoch ms): imgpile said to wait. */
	blockUntil(until: number): void {
		if (until > this.#blockedUntil) this.#blockedUntil = until;
		this.#tokens = Math.min(this.#tokens, 0);
		this.#pump();
	}

	#refill(): void {
		const now = this.#now();
		const elapsed = now - this.#lastRefill;
		if (elapsed > 0) {
			this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#capacity) / 60_000);
			this.#lastRefill = now;
		}
	}

	#pump(): void {
		if (this.#timer) {
			clearTimeout(this.#timer);
			this.#timer = undefined;
		}
		while (this.#waiters.length > 0 && this.#inFlight < this.#maxConcurrent) {
			this.#refill();
			const now = this.#now();
			let waitMs = 0;
			if (now < this.#blockedUntil) waitMs = this.#blockedUntil - now;
			else if (this.#tokens < 1) waitMs = Math.ceil(((1 - this.#tokens) * 60_000) / this.#capacity);
			if (waitMs > 0) {
				this.#timer = setTimeout(() => this.#pump(), waitMs);
				this.#timer.unref();
				return;
			}
			const waiter = this.#waiters.shift();
			if (!waiter) return;
			this.#tokens -= 1;
			this.#inFlight++;
			waiter.grant();
		}
	}
}

/** Lanes by key, created on demand, idle ones dropped so the map stays small. */
export class Lanes {
	readonly #lanes = new Map<string, Lane>();
	readonly #make: (key: string) => Lane;

	constructor(make: (key: string) => Lane) {
		this.#make = make;
	}

	get(key: string): Lane {
		let lane = this.#lanes.get(key);
		if (!lane) {
			if (this.#lanes.size >= 256) this.#sweep();
			lane = this.#make(key);
			this.#lanes.set(key, lane);
		}
		return lane;
	}

	get size(): number {
		return this.#lanes.size;
	}

	#sweep(): void {
		for (const [key, lane] of this.#lanes) if (lane.idle) this.#lanes.delete(key);
	}
}
