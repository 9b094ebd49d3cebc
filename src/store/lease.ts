import { setTimeout as delay } from "node:timers/promises";
import type { Fence } from "./backend.js";
import { StoreValidationError } from "./errors.js";
import type { Kv } from "./kv.js";
import { type Clock, systemClock } from "./util.js";

export interface LeaseRecord {
	/** Who holds it (a process id of the caller's choosing). */
	owner: string;
	/** Epoch ms (on the lease's clock) after which anyone may take it over. */
	expiresAt: number;
	/** Random per write: tells a read-back of our own write from someone else's write of the same owner. */
	nonce: string;
	/** Fencing token: one more on every takeover, the same on renewals (absent in records of old versions). */
	token?: number;
}

export interface LeaseState {
	held: boolean;
	/** The current holder as last read (undefined: nobody). */
	owner: string | undefined;
	expiresAt: number | undefined;
	/** When held: what writes made under this lease carry (see Fence). */
	fence?: Fence;
}

/** Leases as the store offers them, on any engine (SQLite: best effort, below; Redis: atomic). */
export interface Leases {
	/** The lease as stored, or undefined. */
	get(name: string): Promise<LeaseRecord | undefined>;
	/**
	 * Takes the lease for `owner`, or renews it when `owner` holds it already, until `ttlMs`
	 * after `now`. Resolves with whether `owner` holds it, and then its fence.
	 */
	acquire(name: string, owner: string, ttlMs: number, now?: number): Promise<LeaseState>;
	/** Gives the lease up if `owner` holds it (a clean shutdown: the next process need not wait for expiry). */
	release(name: string, owner: string): Promise<boolean>;
	/** Whether the lease is still held with this fence (checked right before acting on it). */
	holds(fence: Fence): Promise<boolean>;
}

export interface LeaseOptions {
	/**
	 * Real-time wait between writing a takeover and reading it back (default 150 ms). Another process
	 * taking over at the same moment has written by then, and the read-back shows who won.
	 */
	confirmDelayMs?: number;
}

/**
 * Best-effort leases (key = lease name, e.g. "feeds"): one holder at a time, renewed by writing
 * a later expiry, taken over by anyone once expired. keyv offers no compare-and-set, so a takeover
 * is "write, wait `confirmDelayMs`, read back": the last writer wins, and the losers see it.
 *
 * Limits (documented, accepted):
 * - Two processes that both read "expired" and whose writes land more than `confirmDelayMs`
 *   apart can both read back their own write: for that one cycle both hold the lease. The next
 *   `acquire` of each re-reads the record first, so the overlap ends at the next renewal.
 * - A holder that stalls (GC pause, suspended VM) past `expiresAt` without noticing keeps
 *   acting until its next `acquire`. Keep the TTL several times the renewal period.
 * - Expiry is compared on each process's own clock: clocks must roughly agree (NTP).
 * Callers must therefore keep their work idempotent (the feed outbox and seen sets are), so an
 * overlap costs duplicate effort, not wrong results.
 */
export class LeaseRepository implements Leases {
	readonly #kv: Kv;
	readonly #clock: Clock;
	readonly #confirmDelayMs: number;

	constructor(kv: Kv, clock: Clock = systemClock, options: LeaseOptions = {}) {
		this.#kv = kv;
		this.#clock = clock;
		this.#confirmDelayMs = options.confirmDelayMs ?? 150;
	}

	/** The lease as stored, or undefined. */
	async get(name: string): Promise<LeaseRecord | undefined> {
		return this.#kv.get<LeaseRecord>(checkName(name));
	}

	/**
	 * Takes the lease for `owner`, or renews it when `owner` holds it already, until `ttlMs` after
	 * `now` (default: the store's clock; a caller with its own clock passes its time, and every
	 * caller of one lease must use the same kind of clock). Resolves with whether `owner` holds it.
	 */
	async acquire(name: string, owner: string, ttlMs: number, now: number = this.#clock()): Promise<LeaseState> {
		checkLease(name, owner, ttlMs);
		const nonce = Math.random().toString(36).slice(2, 12);
		const { wrote, current } = await this.#kv.locked(name, async () => {
			const stored = await this.#kv.get<LeaseRecord>(name);
			if (stored && stored.owner !== owner && stored.expiresAt > now) {
				return { wrote: undefined, current: stored };
			}
			const renewal = stored?.owner === owner && stored.expiresAt > now;
			const token = renewal ? (stored.token ?? 0) : (stored?.token ?? 0) + 1;
			const record: LeaseRecord = { owner, expiresAt: now + ttlMs, nonce, token };
			await this.#kv.set(name, record);
			return { wrote: record, current: stored };
		});
		if (!wrote) return { held: false, owner: current?.owner, expiresAt: current?.expiresAt };
		const fence: Fence = { lease: name, owner, token: wrote.token ?? 0 };
		// A renewal (we held it and nobody took it over meanwhile) needs no confirmation.
		if (current?.owner === owner && current.token === wrote.token) {
			return { held: true, owner, expiresAt: wrote.expiresAt, fence };
		}
		if (this.#confirmDelayMs > 0) await delay(this.#confirmDelayMs);
		const after = await this.#kv.get<LeaseRecord>(name);
		const held = after?.owner === owner && after.nonce === nonce;
		return { held, owner: after?.owner, expiresAt: after?.expiresAt, ...(held ? { fence } : {}) };
	}

	async holds(fence: Fence): Promise<boolean> {
		const stored = await this.#kv.get<LeaseRecord>(checkName(fence.lease));
		return stored?.owner === fence.owner && (stored.token ?? 0) === fence.token;
	}

	/** Gives the lease up if `owner` holds it (a clean shutdown: the next process need not wait for expiry). */
	async release(name: string, owner: string): Promise<boolean> {
		checkName(name);
		return this.#kv.locked(name, async () => {
			const stored = await this.#kv.get<LeaseRecord>(name);
			if (stored?.owner !== owner || stored.expiresAt === 0) return false;
			// Kept, expired, so the next holder's fencing token is still one more than this one's.
			await this.#kv.set(name, { ...stored, expiresAt: 0 } satisfies LeaseRecord);
			return true;
		});
	}
}

/** Validates what `acquire` is given (both engines). */
export function checkLease(name: string, owner: string, ttlMs: number): void {
	checkName(name);
	if (typeof owner !== "string" || owner.length === 0 || owner.length > 200) {
		throw new StoreValidationError("lease owner must be a non-empty string");
	}
	if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new StoreValidationError("lease ttlMs must be positive");
}

export function checkName(name: string): string {
	if (typeof name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
		throw new StoreValidationError(`lease name must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`);
	}
	return name;
}
