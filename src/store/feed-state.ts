import type { Fence } from "./backend.js";
import { StoreValidationError } from "./errors.js";
import type { Kv } from "./kv.js";
import { asNumberArray } from "./util.js";

export interface FeedCursor {
	/** ISO timestamps, or null. */
	lastPolledAt: string | null;
	backoffUntil: string | null;
	/** Consecutive failed polls. */
	failures: number;
	slowedUntil: string | null;
	/**
	 * How far down the query's feed the last poll read: the oldest post read (`created_at`, id),
	 * or "end" when it read to the end of the feed. Unseen posts above it are new; below it they
	 * were never read (they slid up because newer posts went away). Absent: not known yet.
	 */
	frontier?: FeedFrontier | null;
}

export type FeedFrontier = { createdAt: string; id: number } | "end";

export const EMPTY_CURSOR: Readonly<FeedCursor> = Object.freeze({
	lastPolledAt: null,
	backoffUntil: null,
	failures: 0,
	slowedUntil: null,
});

export interface FeedStateOptions {
	/** Seen post ids kept per query (most recently marked win). Default 5,000. */
	seenRetention?: number;
}

interface StoredSeen {
	v: 1;
	/** Oldest-marked first. */
	ids: number[];
	/**
	 * Seen posts that were NSFW when seen (a poll reading NSFW posts for feeds that do not want
	 * them): should one be approved later, those feeds get it then. Oldest-marked first.
	 */
	held?: number[];
}

/** What else a `markSeen` changes: posts seen while NSFW (`hold`), and held posts dealt with (`release`). */
export interface SeenChanges {
	hold?: readonly number[];
	release?: readonly number[];
}

/**
 * Per-query poll state (keys: `seen:<queryKey>`, `cursor:<queryKey>`). The seen set is a bounded
 * window of the most recently marked post ids: marking an id again moves it to the newest end, and
 * the ids marked longest ago fall out first. The feed leader's writes carry its fence.
 */
export class FeedStateRepository {
	readonly seenRetention: number;
	readonly #kv: Kv;

	constructor(kv: Kv, options: FeedStateOptions = {}) {
		const retention = options.seenRetention ?? 5_000;
		if (!Number.isSafeInteger(retention) || retention < 1) {
			throw new StoreValidationError(`seenRetention must be a positive integer, got ${retention}`);
		}
		this.#kv = kv;
		this.seenRetention = retention;
	}

	async getSeen(queryKey: string): Promise<Set<number>> {
		const stored = await this.#kv.get<StoredSeen>(seenKey(queryKey));
		return new Set(asNumberArray(stored?.ids));
	}

	/** The seen posts held back as NSFW (see `SeenChanges`). */
	async getHeld(queryKey: string): Promise<Set<number>> {
		const stored = await this.#kv.get<StoredSeen>(seenKey(queryKey));
		return new Set(asNumberArray(stored?.held));
	}

	/**
	 * Adds ids to the query's seen window (also marks the query as seeded, even with no ids).
	 * Call only after the outbox entries for these posts exist.
	 */
	async markSeen(
		queryKey: string,
		postIds: readonly number[],
		fence?: Fence,
		changes: SeenChanges = {},
	): Promise<void> {
		for (const id of [...postIds, ...(changes.hold ?? []), ...(changes.release ?? [])]) {
			if (!Number.isSafeInteger(id)) {
				throw new StoreValidationError(`post ids must be integers, got ${id}`);
			}
		}
		const retention = this.seenRetention;
		const window = (current: readonly number[], added: Iterable<number>, removed: ReadonlySet<number>) => {
			const fresh = new Set(added);
			const kept = current.filter((id) => !fresh.has(id) && !removed.has(id));
			const ids = [...kept, ...fresh];
			return ids.length > retention ? ids.slice(ids.length - retention) : ids;
		};
		await this.#kv.modify<StoredSeen, void>(
			seenKey(queryKey),
			(current) => {
				const ids = window(asNumberArray(current?.ids), postIds, new Set());
				const held = window(asNumberArray(current?.held), changes.hold ?? [], new Set(changes.release ?? []));
				return { value: held.length > 0 ? { v: 1, ids, held } : { v: 1, ids }, result: undefined };
			},
			undefined,
			fence,
		);
	}

	/** Whether the query has been polled (and its existing posts marked) at least once. */
	async isSeeded(queryKey: string): Promise<boolean> {
		return this.#kv.has(seenKey(queryKey));
	}

	async getCursor(queryKey: string): Promise<FeedCursor> {
		return { ...EMPTY_CURSOR, ...(await this.#kv.get<Partial<FeedCursor>>(cursorKey(queryKey))) };
	}

	/** Merges `patch` into the cursor and returns the result. */
	async setCursor(queryKey: string, patch: Partial<FeedCursor>, fence?: Fence): Promise<FeedCursor> {
		const clean = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
		return this.#kv.modify<FeedCursor, FeedCursor>(
			cursorKey(queryKey),
			(current) => {
				const next = { ...EMPTY_CURSOR, ...current, ...clean };
				return { value: next, result: next };
			},
			undefined,
			fence,
		);
	}

	/**
	 * Drops the query's seen set and cursor (no subscription uses it any more, or its state moved
	 * to another key). With a fence, only while that lease holds.
	 */
	async forget(queryKey: string, fence?: Fence): Promise<void> {
		if (!fence) {
			await this.#kv.delete(seenKey(queryKey));
			await this.#kv.delete(cursorKey(queryKey));
			return;
		}
		const drop = () => ({ value: undefined, result: undefined });
		await this.#kv.modify<unknown, void>(seenKey(queryKey), drop, undefined, fence);
		await this.#kv.modify<unknown, void>(cursorKey(queryKey), drop, undefined, fence);
	}
}

function checkQueryKey(queryKey: string): string {
	if (typeof queryKey !== "string" || queryKey.length === 0 || queryKey.length > 1024) {
		throw new StoreValidationError("queryKey must be a non-empty string (see queryKeyOf)");
	}
	return queryKey;
}

function seenKey(queryKey: string): string {
	return `seen:${checkQueryKey(queryKey)}`;
}

function cursorKey(queryKey: string): string {
	return `cursor:${checkQueryKey(queryKey)}`;
}
