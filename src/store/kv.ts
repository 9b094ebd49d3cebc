import type { Keyv } from "keyv";
import type { KeyedMutex } from "./mutex.js";

/**
 * One keyv namespace as the repositories see it: typed get/set/delete/has plus a per-key lock.
 * Only keyv's public get/set/delete/has are used, so any keyv adapter (SQLite now, Redis later)
 * works. Keyv instances must be created with `throwOnErrors: true`: otherwise a failing backend
 * reads as "key absent" and a failed write as success.
 */
export interface KvCacheOptions {
	/** How long a read is served from memory. Another process's writes show after at most this long. */
	ttlMs: number;
	/** Entries kept (oldest dropped first). */
	max: number;
}

/** Every live [key, value] of a namespace (keys without the namespace), a page at a time. */
export type KvScan = (namespace: string) => AsyncIterable<[string, unknown]>;

export class Kv {
	readonly namespace: string;
	readonly #keyv: Keyv;
	readonly #mutex: KeyedMutex;
	/**
	 * Read cache for hot, rarely written namespaces (tokens, guild settings): this process's own
	 * writes go through it, so it is never stale for them. Values are kept as JSON text, so callers
	 * get fresh objects they may change freely. Absent keys are cached too.
	 */
	readonly #cache: Map<string, { json: string | undefined; expires: number }> | undefined;
	readonly #cacheOptions: KvCacheOptions | undefined;
	#batch: Map<string, { resolve: (value: unknown) => void; reject: (error: unknown) => void }[]> | undefined;
	readonly #scan: KvScan | undefined;

	constructor(keyv: Keyv, mutex: KeyedMutex, cache?: KvCacheOptions, scan?: KvScan) {
		if (!keyv.namespace) {
			throw new Error("Kv needs a namespaced Keyv instance");
		}
		this.namespace = keyv.namespace;
		this.#keyv = keyv;
		this.#mutex = mutex;
		this.#cacheOptions = cache;
		this.#cache = cache ? new Map() : undefined;
		this.#scan = scan;
	}

	/** Every entry of the namespace, straight from the backend: for startup checks, never per request. */
	entries(): AsyncIterable<[string, unknown]> {
		if (!this.#scan) throw new Error(`${this.namespace}: this backend cannot list its entries`);
		return this.#scan(this.namespace);
	}

	/** The stored value, or undefined. Values are JSON: callers store ISO strings / numbers, never Dates. */
	async get<T>(key: string): Promise<T | undefined> {
		const cached = this.#cache?.get(key);
		if (cached && cached.expires > Date.now()) {
			return cached.json === undefined ? undefined : (JSON.parse(cached.json) as T);
		}
		const value = await this.#read(key);
		const present = value === undefined || value === null ? undefined : (value as T);
		this.#remember(key, present);
		return present;
	}

	/**
	 * Reads asked for within one turn of the event loop go to the backend as one `getMany` (one
	 * SQL query instead of one each): a burst of interactions reads many keys at once.
	 */
	#read(key: string): Promise<unknown> {
		if (!this.#batch) {
			const batch = new Map<string, { resolve: (value: unknown) => void; reject: (error: unknown) => void }[]>();
			this.#batch = batch;
			setImmediate(() => void this.#flush(batch));
		}
		const batch = this.#batch;
		return new Promise((resolve, reject) => {
			const waiting = batch.get(key);
			if (waiting) waiting.push({ resolve, reject });
			else batch.set(key, [{ resolve, reject }]);
		});
	}

	async #flush(batch: Map<string, { resolve: (value: unknown) => void; reject: (error: unknown) => void }[]>) {
		if (this.#batch === batch) this.#batch = undefined;
		const keys = [...batch.keys()];
		try {
			const values: unknown[] =
				keys.length === 1 ? [await this.#keyv.get(keys[0] as string)] : await this.#keyv.getMany(keys);
			keys.forEach((key, index) => {
				for (const waiter of batch.get(key) ?? []) waiter.resolve(values[index]);
			});
		} catch (error) {
			for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
		}
	}

	#remember(key: string, value: unknown): void {
		if (!this.#cache || !this.#cacheOptions) return;
		this.#cache.delete(key);
		if (this.#cache.size >= this.#cacheOptions.max) {
			const oldest = this.#cache.keys().next();
			if (!oldest.done) this.#cache.delete(oldest.value);
		}
		this.#cache.set(key, {
			json: value === undefined ? undefined : JSON.stringify(value),
			expires: Date.now() + this.#cacheOptions.ttlMs,
		});
	}

	/** Several keys at once, in order (undefined where absent). Plain gets, so errors always surface. */
	async getAll<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
		return Promise.all(keys.map((key) => this.get<T>(key)));
	}

	/** Stores `value`; with `ttlMs` the backend forgets it after that long. */
	async set(key: string, value: unknown, ttlMs?: number): Promise<void> {
		if (value === undefined) {
			throw new Error(`refusing to store undefined under ${this.namespace}:${key}`);
		}
		this.#cache?.delete(key);
		const ok = await this.#keyv.set(key, value, ttlMs);
		if (ok === false) {
			throw new Error(`store write failed for ${this.namespace}:${key}`);
		}
		this.#remember(key, value);
	}

	async delete(key: string): Promise<boolean> {
		this.#cache?.delete(key);
		const deleted = await this.#keyv.delete(key);
		this.#remember(key, undefined);
		return deleted;
	}

	async has(key: string): Promise<boolean> {
		return this.#keyv.has(key);
	}

	/** Runs `fn` while holding this process's lock on `key` (scoped to this namespace). */
	async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
		return this.#mutex.run(`${this.namespace}\u0000${key}`, fn);
	}

	/**
	 * Read-modify-write of one key under its lock. `update` returns the new value, or undefined to
	 * delete; returning `current` itself (same reference) writes nothing.
	 */
	async modify<T, R>(
		key: string,
		update: (current: T | undefined) => { value: T | undefined; result: R },
		ttlMs?: number,
	): Promise<R> {
		return this.locked(key, async () => {
			const current = await this.get<T>(key);
			const { value, result } = update(current);
			if (value === current) {
				return result;
			}
			if (value === undefined) {
				if (current !== undefined) {
					await this.delete(key);
				}
			} else {
				await this.set(key, value, ttlMs);
			}
			return result;
		});
	}
}
