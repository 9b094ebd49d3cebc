import type { Fence } from "./backend.js";
import { StoreValidationError } from "./errors.js";
import type { Kv } from "./kv.js";
import { asNumberArray, asStringArray, assertId, type Clock, isoAt, systemClock } from "./util.js";

export type OutboxState = "pending" | "sent";

export interface OutboxEntry {
	/** `${subscriptionId}:${postId}` */
	key: string;
	subscriptionId: string;
	postId: number;
	/** Whatever the delivery worker needs to render the message (JSON). */
	payload: unknown;
	/** ISO timestamp. */
	createdAt: string;
	/** Earliest delivery time (digests), ISO; null = as soon as possible. */
	dueAt: string | null;
	attempts: number;
	/** Set by `recordSent` once Discord accepted the message. */
	discordMessageId: string | null;
	/** "sent": Discord accepted it but `done` was not recorded yet (finish it, do not send again). */
	state: OutboxState;
}

export interface OutboxPut {
	subscriptionId: string;
	postId: number;
	payload: unknown;
	dueAt?: string | null;
}

export interface PendingQuery {
	/** Only this subscription's entries. */
	subscriptionId?: string;
	/** Only entries due at or before this time (entries with dueAt null are always due). */
	dueBefore?: Date | string | number;
	/** At most this many entries (the oldest). */
	limit?: number;
}

export interface OutboxOptions {
	/** Delivered post ids remembered per subscription, so a late re-put is refused. Default 10,000. */
	doneRetention?: number;
}

/**
 * The feed outbox on any engine: durable deliveries, written before any Discord call and removed
 * only after Discord accepted the message. Writes the feed leader makes carry its fence: they
 * throw StoreFencedError (and change nothing) once another process leads.
 */
export interface Outbox {
	readonly doneRetention: number;
	/**
	 * Adds a delivery unless this subscription's post already has one, pending or done: an existing
	 * entry is never overwritten, and a delivered post is never queued again (within the tombstone window).
	 */
	put(input: OutboxPut, fence?: Fence): Promise<{ created: boolean; key: string }>;
	get(key: string): Promise<OutboxEntry | undefined>;
	/**
	 * Entries not done yet, oldest first. Includes entries in state "sent" (Discord accepted them
	 * before a crash): the worker should `done` those instead of sending them again.
	 */
	pending(query?: PendingQuery): Promise<OutboxEntry[]>;
	/** The subscriptions that have entries not done (from the index: one may turn out to have none left). */
	waiting(): Promise<string[]>;
	/** Records that Discord accepted the message; false if the entry no longer exists. */
	recordSent(key: string, discordMessageId: string, fence?: Fence): Promise<boolean>;
	/**
	 * Marks the delivery finished: the entry goes away and its post id joins the subscription's
	 * tombstones. Idempotent; true if an entry was removed.
	 */
	done(key: string, fence?: Fence): Promise<boolean>;
	/** Counts a failed delivery attempt; returns the new count, or undefined if the entry is gone. */
	bumpAttempt(key: string, fence?: Fence): Promise<number | undefined>;
	/**
	 * Drops every not-done entry and the tombstones of a subscription (it was removed). Returns how many
	 * entries were dropped. A poll already in flight may still put entries afterwards: the delivery
	 * worker must drop entries whose subscription no longer exists.
	 */
	removeForSubscription(subscriptionId: string): Promise<number>;
}

/** Builds the outbox key of a subscription's post. */
export function outboxKeyOf(subscriptionId: string, postId: number): string {
	return `${subscriptionId}:${postId}`;
}

const SUBS_INDEX = "subs";
const entryKey = (key: string) => `entry:${key}`;
const pendingIndexOf = (subscriptionId: string) => `pending:${subscriptionId}`;
const doneKeyOf = (subscriptionId: string) => `done:${subscriptionId}`;
const lockOf = (subscriptionId: string) => `lock:${subscriptionId}`;

interface StoredDone {
	v: 1;
	/** Delivered post ids, oldest first. */
	postIds: number[];
}

/**
 * Durable deliveries: written before any Discord call, removed (`done`) only after Discord accepted
 * the message. Keys: `entry:<sid>:<postId>`, `pending:<sid>` (not-done entry keys, in put order),
 * `done:<sid>` (bounded tombstones of delivered post ids), `subs` (subscriptions with not-done entries).
 * Every change of one subscription's keys runs under the lock `lock:<sid>`; the `subs` index lock is
 * taken inside it, never the other way round.
 */
export class OutboxRepository implements Outbox {
	readonly doneRetention: number;
	readonly #kv: Kv;
	readonly #clock: Clock;

	constructor(kv: Kv, options: OutboxOptions = {}, clock: Clock = systemClock) {
		this.doneRetention = doneRetentionOf(options);
		this.#kv = kv;
		this.#clock = clock;
	}

	async put(input: OutboxPut, fence?: Fence): Promise<{ created: boolean; key: string }> {
		const entry = newEntry(input, this.#clock);
		const { key, subscriptionId, postId } = entry;
		const created = await this.#kv.locked(lockOf(subscriptionId), async () => {
			await this.#kv.checkFence(fence);
			if (await this.#kv.has(entryKey(key))) {
				return false;
			}
			const done = await this.#kv.get<StoredDone>(doneKeyOf(subscriptionId));
			if (asNumberArray(done?.postIds).includes(postId)) {
				return false;
			}
			// Indexes first, entry last: a crash in between leaves an index key without entry (pruned by
			// `pending`, and the post is not marked seen yet so the next poll puts it again), never an
			// entry that no listing reaches.
			await this.#kv.modify<string[], void>(SUBS_INDEX, (current) => {
				const sids = asStringArray(current);
				return { value: sids.includes(subscriptionId) ? current : [...sids, subscriptionId], result: undefined };
			});
			const pending = asStringArray(await this.#kv.get<string[]>(pendingIndexOf(subscriptionId)));
			if (!pending.includes(key)) {
				await this.#kv.set(pendingIndexOf(subscriptionId), [...pending, key]);
			}
			await this.#kv.set(entryKey(key), entry);
			return true;
		});
		return { created, key };
	}

	async get(key: string): Promise<OutboxEntry | undefined> {
		parseOutboxKey(key);
		return this.#kv.get<OutboxEntry>(entryKey(key));
	}

	async pending(query: PendingQuery = {}): Promise<OutboxEntry[]> {
		if (query.dueBefore !== undefined) toMs(query.dueBefore);
		let subscriptionIds: string[];
		if (query.subscriptionId !== undefined) {
			assertId("subscriptionId", query.subscriptionId);
			subscriptionIds = [query.subscriptionId];
		} else {
			subscriptionIds = asStringArray(await this.#kv.get<string[]>(SUBS_INDEX));
		}
		const entries: OutboxEntry[] = [];
		for (const subscriptionId of subscriptionIds) {
			const keys = asStringArray(await this.#kv.get<string[]>(pendingIndexOf(subscriptionId)));
			const found = await this.#kv.getAll<OutboxEntry>(keys.map(entryKey));
			if (found.some((entry) => entry === undefined)) {
				await this.#pruneIndex(subscriptionId);
			}
			for (const entry of found) {
				if (entry !== undefined) {
					entries.push(entry);
				}
			}
		}
		return selectPending(entries, query);
	}

	async waiting(): Promise<string[]> {
		return asStringArray(await this.#kv.get<string[]>(SUBS_INDEX));
	}

	async recordSent(key: string, discordMessageId: string, fence?: Fence): Promise<boolean> {
		const { subscriptionId } = parseOutboxKey(key);
		assertId("discordMessageId", discordMessageId);
		return this.#kv.locked(lockOf(subscriptionId), async () => {
			await this.#kv.checkFence(fence);
			const entry = await this.#kv.get<OutboxEntry>(entryKey(key));
			if (!entry) {
				return false;
			}
			await this.#kv.set(entryKey(key), { ...entry, state: "sent", discordMessageId } satisfies OutboxEntry);
			return true;
		});
	}

	async done(key: string, fence?: Fence): Promise<boolean> {
		const { subscriptionId, postId } = parseOutboxKey(key);
		return this.#kv.locked(lockOf(subscriptionId), async () => {
			await this.#kv.checkFence(fence);
			// Tombstone first: whatever happens next, the post cannot be queued again.
			const done = await this.#kv.get<StoredDone>(doneKeyOf(subscriptionId));
			const postIds = [...asNumberArray(done?.postIds).filter((id) => id !== postId), postId];
			const bounded =
				postIds.length > this.doneRetention ? postIds.slice(postIds.length - this.doneRetention) : postIds;
			await this.#kv.set(doneKeyOf(subscriptionId), { v: 1, postIds: bounded } satisfies StoredDone);
			const removed = await this.#kv.delete(entryKey(key));
			await this.#removeFromPendingIndex(subscriptionId, [key]);
			return removed;
		});
	}

	async bumpAttempt(key: string, fence?: Fence): Promise<number | undefined> {
		const { subscriptionId } = parseOutboxKey(key);
		return this.#kv.locked(lockOf(subscriptionId), async () => {
			await this.#kv.checkFence(fence);
			const entry = await this.#kv.get<OutboxEntry>(entryKey(key));
			if (!entry) {
				return undefined;
			}
			const attempts = entry.attempts + 1;
			await this.#kv.set(entryKey(key), { ...entry, attempts } satisfies OutboxEntry);
			return attempts;
		});
	}

	async removeForSubscription(subscriptionId: string): Promise<number> {
		assertId("subscriptionId", subscriptionId);
		return this.#kv.locked(lockOf(subscriptionId), async () => {
			const keys = asStringArray(await this.#kv.get<string[]>(pendingIndexOf(subscriptionId)));
			let removed = 0;
			for (const key of keys) {
				if (await this.#kv.delete(entryKey(key))) {
					removed++;
				}
			}
			await this.#kv.delete(doneKeyOf(subscriptionId));
			await this.#removeFromPendingIndex(subscriptionId, keys);
			return removed;
		});
	}

	/** Caller holds lockOf(subscriptionId). */
	async #removeFromPendingIndex(subscriptionId: string, keys: readonly string[]): Promise<void> {
		const drop = new Set(keys);
		const remaining = asStringArray(await this.#kv.get<string[]>(pendingIndexOf(subscriptionId))).filter(
			(key) => !drop.has(key),
		);
		if (remaining.length > 0) {
			await this.#kv.set(pendingIndexOf(subscriptionId), remaining);
			return;
		}
		await this.#kv.delete(pendingIndexOf(subscriptionId));
		await this.#kv.modify<string[], void>(SUBS_INDEX, (current) => {
			const sids = asStringArray(current).filter((sid) => sid !== subscriptionId);
			return { value: sids.length > 0 ? sids : undefined, result: undefined };
		});
	}

	/** Removes index keys whose entry is gone (left by a crash inside `done`). */
	async #pruneIndex(subscriptionId: string): Promise<void> {
		await this.#kv.locked(lockOf(subscriptionId), async () => {
			const keys = asStringArray(await this.#kv.get<string[]>(pendingIndexOf(subscriptionId)));
			const present = await Promise.all(keys.map((key) => this.#kv.has(entryKey(key))));
			const missing = keys.filter((_, index) => !present[index]);
			if (missing.length > 0) {
				await this.#removeFromPendingIndex(subscriptionId, missing);
			}
		});
	}
}

/** Splits an outbox key into its subscription id and post id. */
export function parseOutboxKey(key: string): { subscriptionId: string; postId: number } {
	const separator = typeof key === "string" ? key.lastIndexOf(":") : -1;
	const subscriptionId = separator > 0 ? key.slice(0, separator) : "";
	const postId = separator > 0 ? Number(key.slice(separator + 1)) : Number.NaN;
	if (!/^[A-Za-z0-9_-]{1,64}$/.test(subscriptionId) || !Number.isSafeInteger(postId) || postId < 0) {
		throw new StoreValidationError(`not an outbox key (<subscriptionId>:<postId>): ${JSON.stringify(key)}`);
	}
	return { subscriptionId, postId };
}

/** The validated `doneRetention` option (default 10,000). */
export function doneRetentionOf(options: OutboxOptions): number {
	const retention = options.doneRetention ?? 10_000;
	if (!Number.isSafeInteger(retention) || retention < 1) {
		throw new StoreValidationError(`doneRetention must be a positive integer, got ${retention}`);
	}
	return retention;
}

/** A new pending entry for `input` (validated): the same on every engine. */
export function newEntry(input: OutboxPut, clock: Clock): OutboxEntry {
	const { subscriptionId, postId } = input;
	checkRef(subscriptionId, postId);
	const dueAt = input.dueAt ?? null;
	if (dueAt !== null && Number.isNaN(Date.parse(dueAt))) {
		throw new StoreValidationError(`dueAt must be an ISO timestamp or null, got ${dueAt}`);
	}
	checkJson(input.payload);
	return {
		key: outboxKeyOf(subscriptionId, postId),
		subscriptionId,
		postId,
		payload: input.payload ?? null,
		createdAt: isoAt(clock),
		dueAt,
		attempts: 0,
		discordMessageId: null,
		state: "pending",
	};
}

/** The pending entries a query asks for, oldest first (put order among equal times). */
export function selectPending(entries: OutboxEntry[], query: PendingQuery): OutboxEntry[] {
	const dueBefore = query.dueBefore === undefined ? undefined : toMs(query.dueBefore);
	const due =
		dueBefore === undefined
			? entries
			: entries.filter((entry) => entry.dueAt === null || Date.parse(entry.dueAt) <= dueBefore);
	// Array#sort is stable: equal timestamps keep put order.
	due.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
	return query.limit === undefined ? due : due.slice(0, Math.max(0, query.limit));
}

function checkRef(subscriptionId: string, postId: number): void {
	assertId("subscriptionId", subscriptionId);
	if (!Number.isSafeInteger(postId) || postId < 0) {
		throw new StoreValidationError(`postId must be a non-negative integer, got ${postId}`);
	}
}

function checkJson(payload: unknown): void {
	try {
		JSON.stringify(payload);
	} catch (error) {
		throw new StoreValidationError(`outbox payload must be JSON-serializable: ${(error as Error).message}`);
	}
}

function toMs(value: Date | string | number): number {
	const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
	if (Number.isNaN(ms)) {
		throw new StoreValidationError(`dueBefore is not a valid time: ${String(value)}`);
	}
	return ms;
}
