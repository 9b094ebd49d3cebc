/**
 * The feeds' share of imgpile's request budget, on the scheduler's clock.
 *
 * imgpile allows 30 requests a minute per IP without a token and 120 per user with one
 * (`X-RateLimit-Limit` may say less; we believe it). The feeds take at most `share` of that (the
 * rest stays for the bot's interactive requests with the same identity), and:
 * - stretch the poll period when the queries (plus their recent extra pages) would not fit in it;
 * - pause polling while `X-RateLimit-Remaining` is at the reserve, until the minute window has
 *   passed;
 * - pause for `Retry-After` on a 429, and then poll at a slower period for a while (doubling on
 *   each 429, easing back after quiet periods).
 * Slowing down never drops posts: a query polled later pages back further.
 */

const MINUTE = 60_000;

export interface BudgetOptions {
	/** Requests per minute imgpile allows this identity (30 guest, 120 with a token). */
	perMinute: number;
	/** Fraction of it the feeds may use. Default 0.8. */
	share?: number;
	/** Requests left that the feeds never take (for interactive use). Default 2. */
	reserve?: number;
	/** Fraction of the feeds' requests live sync may spend on re-reading posts (FEED_SYNC_SHARE). Default 0.2. */
	syncShare?: number;
}

export class FeedBudget {
	#perMinute: number;
	readonly #configuredPerMinute: number;
	readonly #share: number;
	readonly #reserve: number;
	/** Times of our recent requests (last minute). */
	#recent: number[] = [];
	#remaining: { value: number; at: number } | undefined;
	#pausedUntil = 0;
	/** ×1, ×2, ×4, ×8 after 429s; eases back by one step per quiet stretch. */
	#multiplier = 1;
	#lastEase = 0;
	/** Average extra pages per poll (bursts), smoothed. */
	#extraPages = 0;
	readonly #syncShare: number;
	/** Times of live sync's recent re-reads (last minute; also in #recent). */
	#recentSync: number[] = [];

	constructor(options: BudgetOptions) {
		this.#syncShare = Math.min(1, Math.max(0, options.syncShare ?? 0.2));
		this.#perMinute = options.perMinute;
		this.#configuredPerMinute = options.perMinute;
		this.#share = options.share ?? 0.8;
		this.#reserve = options.reserve ?? 2;
	}

	/** Requests a minute the feeds may make now. */
	get feedPerMinute(): number {
		return Math.max(1, Math.floor(this.#perMinute * this.#share));
	}

	get multiplier(): number {
		return this.#multiplier;
	}

	/** Until when polling is paused (epoch ms on the scheduler's clock; 0 when not). */
	get pausedUntil(): number {
		return this.#pausedUntil;
	}

	/**
	 * The poll period for `queries` queries: the configured one, or longer when they would not fit
	 * the budget, times the 429 multiplier.
	 */
	period(configuredMs: number, queries: number, now: number): number {
		this.#ease(now, configuredMs);
		const perCycle = Math.max(1, queries) * (1 + this.#extraPages);
		const needed = Math.ceil((perCycle * MINUTE) / this.feedPerMinute);
		const base = Math.max(configuredMs, needed);
		return Math.ceil((base * this.#multiplier) / 1000) * 1000;
	}

	/** Whether one more request fits now. */
	canSpend(now: number): boolean {
		if (now < this.#pausedUntil) return false;
		this.#trim(now);
		if (this.#recent.length >= this.feedPerMinute) return false;
		const remaining = this.#remaining;
		if (remaining && now - remaining.at < MINUTE && remaining.value <= this.#reserve) return false;
		return true;
	}

	/** When spending may resume (for "slowed until"). */
	resumeAt(now: number): number {
		if (now < this.#pausedUntil) return this.#pausedUntil;
		this.#trim(now);
		let at = now;
		const oldest = this.#recent[0];
		if (this.#recent.length >= this.feedPerMinute && oldest !== undefined) at = Math.max(at, oldest + MINUTE);
		const remaining = this.#remaining;
		if (remaining && now - remaining.at < MINUTE && remaining.value <= this.#reserve)
			at = Math.max(at, remaining.at + MINUTE);
		return at;
	}

	/** A request was made (whatever its answer). */
	spent(now: number): void {
		this.#recent.push(now);
	}

	/** What imgpile's headers said. */
	observe(now: number, limit: number | undefined, remaining: number | undefined): void {
		if (limit !== undefined && limit > 0) this.#perMinute = Math.min(this.#configuredPerMinute, limit);
		if (remaining !== undefined) this.#remaining = { value: remaining, at: now };
	}

	/** A 429: wait `retryAfterMs` (a minute when imgpile did not say), then poll more slowly. */
	rateLimited(now: number, retryAfterMs: number | undefined): void {
		this.#pausedUntil = Math.max(this.#pausedUntil, now + Math.max(1_000, retryAfterMs ?? MINUTE));
		this.#multiplier = Math.min(8, this.#multiplier * 2);
		this.#lastEase = now;
	}

	/** Pages beyond the first that a poll needed (smoothed, so bursts lengthen the period a little). */
	pages(extra: number): void {
		this.#extraPages = this.#extraPages * 0.8 + Math.max(0, extra) * 0.2;
	}

	// ── Live sync's share ───────────────────────────────────────────────────

	/** Re-reads a minute live sync may make (0: it only uses what polls read). */
	get syncPerMinute(): number {
		return Math.floor(this.feedPerMinute * this.#syncShare);
	}

	/** Whether live sync may re-read one more post now: within its share and the feeds' whole budget. */
	canSpendSync(now: number): boolean {
		while (this.#recentSync.length > 0 && (this.#recentSync[0] ?? 0) <= now - MINUTE) this.#recentSync.shift();
		return this.#recentSync.length < this.syncPerMinute && this.canSpend(now);
	}

	/** Live sync made a request (counts against the feeds' budget too). */
	spentSync(now: number): void {
		this.#recentSync.push(now);
		this.spent(now);
	}

	#ease(now: number, configuredMs: number): void {
		if (this.#multiplier === 1) return;
		// One step back after ten (current) periods without a 429.
		if (now - this.#lastEase >= 10 * configuredMs * this.#multiplier) {
			this.#multiplier = Math.max(1, this.#multiplier / 2);
			this.#lastEase = now;
		}
	}

	#trim(now: number): void {
		while (this.#recent.length > 0 && (this.#recent[0] ?? 0) <= now - MINUTE) this.#recent.shift();
	}
}
