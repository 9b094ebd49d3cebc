/**
 * What a store engine offers the repositories (through `Kv`): JSON values per namespaced key,
 * and the atomic operations that several processes sharing one engine need. SQLite (one
 * process: a per-key in-process lock) and Redis (Lua scripts: atomic for every process) both
 * implement it; see docs/ARCHITECTURE.md "Store".
 */

/**
 * A lease held with a fencing token. A write that carries it is done only while the lease is
 * still held by `owner` with this `token`, checked atomically with the write; otherwise it
 * throws StoreFencedError and changes nothing.
 */
export interface Fence {
	readonly lease: string;
	readonly owner: string;
	readonly token: number;
}

/** `update` of a read-modify-write: the new value (undefined deletes; `current` itself writes nothing). */
export type Update<T, R> = (current: T | undefined) => { value: T | undefined; result: R };

export interface CounterAdd {
	/** Added to the counter (negative subtracts; the counter never goes below 0). */
	delta: number;
	ttlMs: number;
	/** Refuse (change nothing) when the counter would exceed this. */
	max?: number;
}

export interface KvBackend {
	readonly kind: "sqlite" | "redis";
	/** Whether other processes may write the same data (Redis): caches must then be invalidated. */
	readonly shared: boolean;
	get(namespace: string, key: string): Promise<unknown>;
	getMany(namespace: string, keys: readonly string[]): Promise<unknown[]>;
	set(namespace: string, key: string, value: unknown, ttlMs?: number): Promise<void>;
	delete(namespace: string, key: string): Promise<boolean>;
	has(namespace: string, key: string): Promise<boolean>;
	/** Every live [key, value] of a namespace, a page at a time (order unspecified). */
	scan(namespace: string): AsyncIterable<[string, unknown]>;
	/**
	 * Atomic read-modify-write of one key. `update` may run more than once (optimistic engines
	 * retry on a concurrent write), so it must not have side effects.
	 */
	modify<T, R>(namespace: string, key: string, update: Update<T, R>, ttlMs?: number, fence?: Fence): Promise<R>;
	/** Atomic counter change; `ok` false (and `value` the current count) when `max` refused it. */
	add(namespace: string, key: string, change: CounterAdd): Promise<{ ok: boolean; value: number }>;
	/**
	 * Runs `fn` holding this process's lock on the key: only engines written by one process
	 * (SQLite) have it; code for a shared engine uses `modify` or engine-specific scripts.
	 */
	locked?<T>(lockKey: string, fn: () => Promise<T>): Promise<T>;
	/** Throws StoreFencedError unless the fence holds (engines whose writes are not scripts; call under `locked`). */
	checkFence?(fence: Fence): Promise<void>;
	/**
	 * Shared engines: from now on, every write to `namespace` is announced to the other
	 * processes, and `listener` hears of theirs (key undefined: anything may have changed).
	 */
	onRemoteWrite?(namespace: string, listener: (key: string | undefined) => void): void;
	close(): Promise<void>;
}
