import type { CounterAdd, Fence, KvBackend, Update } from "./backend.js";

/**
 * One namespace of the store as the repositories see it: typed get/set/delete/has, atomic
 * read-modify-write and counters, on whichever engine (`KvBackend`) the store runs.
 */
export interface KvCacheOptions {
	/**
	 * How long a read is served from memory. On a shared engine other processes' writes are
	 * announced (and drop the copy at once); this bounds staleness should an announcement be lost.
	 */
	ttlMs: number;
	/** Entries kept (oldest dropped first). */
	max: number;
}

type Waiter = { resolve: (value: unknown) => void; reject: (error: unknown) => void };

export class Kv {
	readonly namespace: string;
	readonly #backend: KvBackend;
	/**
	 * Read cache for hot, rarely written namespaces (tokens, guild settings): this process's own
	 * writes go through it, so it is never stale for them. Values are kept as JSON text, so callers
	 * get fresh objects they may change freely. Absent keys are cached too.
	 */
	readonly #cache: Map<string, { json: string | undefined; expires: number }> | undefined;
	readonly #cacheOptions: KvCacheOptions | undefined;
	/** Bumped by every invalidation: a read that started before one must not fill the cache. */
	#epoch = 0;
	#batch: Map<string, Waiter[]> | undefined;

	constructor(backend: KvBackend, namespace: string, cache?: KvCacheOptions) {
		if (!namespace) throw new Error("Kv needs a namespace");
		this.namespace = namespace;
		this.#backend = backend;
		this.#cacheOptions = cache;
		this.#cache = cache ? new Map() : undefined;
		if (cache) {
			backend.onRemoteWrite?.(namespace, (key) => {
				this.#epoch++;
				if (key === undefined) this.#cache?.clear();
				else this.#cache?.delete(key);
			});
		}
	}

	/** Every entry of the namespace, straight from the backend: for startup checks, never per request. */
	entries(): AsyncIterable<[string, unknown]> {
		return this.#backend.scan(this.namespace);
	}

	/** The stored value, or undefined. Values are JSON: callers store ISO strings / numbers, never Dates. */
	async get<T>(key: string): Promise<T | undefined> {
		const cached = this.#cache?.get(key);
		if (cached && cached.expires > Date.now()) {
			return cached.json === undefined ? undefined : (JSON.parse(cached.json) as T);
		}
		const epoch = this.#epoch;
		const value = await this.#read(key);
		const present = value === undefined || value === null ? undefined : (value as T);
		if (epoch === this.#epoch) this.#remember(key, present);
		return present;
	}

	/**
	 * Reads asked for within one turn of the event loop go to the backend as one `getMany` (one
	 * query instead of one each): a burst of interactions reads many keys at once.
	 */
	#read(key: string): Promise<unknown> {
		if (!this.#batch) {
			const batch = new Map<string, Waiter[]>();
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

	async #flush(batch: Map<string, Waiter[]>) {
		if (this.#batch === batch) this.#batch = undefined;
		const keys = [...batch.keys()];
		try {
			const values: unknown[] =
				keys.length === 1
					? [await this.#backend.get(this.namespace, keys[0] as string)]
					: await this.#backend.getMany(this.namespace, keys);
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
		const epoch = this.#epoch;
		await this.#backend.set(this.namespace, key, value, ttlMs);
		if (epoch === this.#epoch) this.#remember(key, value);
	}

	async delete(key: string): Promise<boolean> {
		this.#cache?.delete(key);
		const epoch = this.#epoch;
		const deleted = await this.#backend.delete(this.namespace, key);
		if (epoch === this.#epoch) this.#remember(key, undefined);
		return deleted;
	}

	async has(key: string): Promise<boolean> {
		return this.#backend.has(this.namespace, key);
	}

	/**
	 * Runs `fn` holding this process's lock on `key` (scoped to this namespace). Only on engines
	 * one process writes (SQLite); shared engines have no such lock (see KvBackend.locked).
	 */
	async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
		const locked = this.#backend.locked?.bind(this.#backend);
		if (!locked) throw new Error(`${this.namespace}: the ${this.#backend.kind} store has no process lock`);
		return locked(`${this.namespace}\u0000${key}`, fn);
	}

	/** Under `locked`: throws StoreFencedError unless the fence holds (engines with a process lock). */
	async checkFence(fence: Fence | undefined): Promise<void> {
		if (fence) await this.#backend.checkFence?.(fence);
	}

	/**
	 * Atomic read-modify-write of one key, for every process sharing the store. `update` returns
	 * the new value, or undefined to delete; returning `current` itself (same reference) writes
	 * nothing. It may be called more than once, so it must have no side effects. With a `fence`,
	 * the write happens only while that lease is held (else StoreFencedError).
	 */
	async modify<T, R>(key: string, update: Update<T, R>, ttlMs?: number, fence?: Fence): Promise<R> {
		this.#cache?.delete(key);
		const epoch = this.#epoch;
		let written: { value: T | undefined } | undefined;
		const result = await this.#backend.modify<T, R>(
			this.namespace,
			key,
			(current) => {
				const next = update(current);
				written = next.value === current ? undefined : { value: next.value };
				return next;
			},
			ttlMs,
			fence,
		);
		if (written && epoch === this.#epoch) this.#remember(key, written.value);
		return result;
	}

	/** Atomic counter change (see CounterAdd); `ok` false when `max` refused it. */
	async add(key: string, change: CounterAdd): Promise<{ ok: boolean; value: number }> {
		this.#cache?.delete(key);
		const epoch = this.#epoch;
		const outcome = await this.#backend.add(this.namespace, key, change);
		if (outcome.ok && epoch === this.#epoch) this.#remember(key, outcome.value);
		return outcome;
	}
}
