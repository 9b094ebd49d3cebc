import { access, chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { KeyvSqlite } from "@keyv/sqlite";
import { Keyv } from "keyv";
import type { Logger } from "pino";
import type { CounterAdd, Fence, KvBackend, Update } from "./backend.js";
import { StoreConfigError, StoreFencedError } from "./errors.js";
import { KeyedMutex } from "./mutex.js";

/** Says whether a fence still holds (the lease repository reads its record). */
export type FenceCheck = (fence: Fence) => Promise<boolean>;

/**
 * One SQLite file, one connection (one KeyvSqlite adapter) shared by a Keyv per namespace. Keyv
 * prefixes each key with its own namespace (`tokens:guild:1:2`), so the instances never see each
 * other's keys, and one connection means no SQLITE_BUSY between them. Caveat of sharing an adapter:
 * Keyv stores "the" namespace on the adapter for iterator()/clear(), which are therefore not used
 * here (listings go through index keys or `scan`).
 *
 * One process writes the file, so read-modify-write is atomic under this process's per-key
 * mutex, and fences are checked under it too.
 */
export class SqliteBackend implements KvBackend {
	readonly kind = "sqlite";
	readonly shared = false;
	readonly file: string;
	readonly #adapter: KeyvSqlite;
	readonly #logger: Logger;
	readonly #keyvs = new Map<string, Keyv>();
	readonly #mutex = new KeyedMutex();
	#fenceCheck: FenceCheck | undefined;

	private constructor(file: string, adapter: KeyvSqlite, logger: Logger) {
		this.file = file;
		this.#adapter = adapter;
		this.#logger = logger;
	}

	/** Opens (creating on first start) the database file and checks it is usable. */
	static async open(file: string, logger: Logger, wal: boolean): Promise<SqliteBackend> {
		let created = false;
		if (file !== ":memory:") {
			try {
				await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
			} catch (error) {
				throw new StoreConfigError(`Cannot create the store directory for ${file}: ${(error as Error).message}`, {
					cause: error,
				});
			}
			created = !(await exists(file));
		}
		// busyTimeout: wait rather than fail if another process (a backup, the sqlite3 CLI) holds the lock.
		const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 10_000 });
		const backend = new SqliteBackend(file, adapter, logger);
		try {
			await backend.#keyv("probe").has("probe"); // waits for the connection and the table
			if (wal && file !== ":memory:") {
				await backend.#raw.query("PRAGMA journal_mode = WAL");
				await backend.#raw.query("PRAGMA synchronous = NORMAL");
			}
		} catch (error) {
			await adapter.disconnect().catch(() => {});
			throw new StoreConfigError(`Cannot open the SQLite store at ${file}: ${(error as Error).message}`, {
				cause: error,
			});
		}
		if (created) {
			// Tokens are encrypted, but settings and subscriptions are nobody else's business either.
			await chmod(file, 0o600).catch((error: unknown) => logger.debug({ err: error, path: file }, "chmod failed"));
		}
		return backend;
	}

	/** How fenced writes are checked (set once the lease repository exists). */
	setFenceCheck(check: FenceCheck): void {
		this.#fenceCheck = check;
	}

	// KeyvSqlite runs raw statements through `query` (public on the adapter, untyped).
	get #raw() {
		return this.#adapter as unknown as {
			query(sql: string, ...params: unknown[]): Promise<{ key: string; value: string }[]>;
			opts: { table: string };
		};
	}

	#keyv(namespace: string): Keyv {
		let keyv = this.#keyvs.get(namespace);
		if (!keyv) {
			// throwOnErrors: otherwise a failing backend reads as "key absent" and a failed write as success.
			keyv = new Keyv({ store: this.#adapter, namespace, throwOnErrors: true });
			keyv.on("error", (error: unknown) => this.#logger.debug({ err: error, namespace }, "keyv reported an error"));
			this.#keyvs.set(namespace, keyv);
		}
		return keyv;
	}

	get(namespace: string, key: string): Promise<unknown> {
		return this.#keyv(namespace).get(key);
	}

	getMany(namespace: string, keys: readonly string[]): Promise<unknown[]> {
		return this.#keyv(namespace).getMany([...keys]);
	}

	async set(namespace: string, key: string, value: unknown, ttlMs?: number): Promise<void> {
		const ok = await this.#keyv(namespace).set(key, value, ttlMs);
		if (ok === false) throw new Error(`store write failed for ${namespace}:${key}`);
	}

	delete(namespace: string, key: string): Promise<boolean> {
		return this.#keyv(namespace).delete(key);
	}

	has(namespace: string, key: string): Promise<boolean> {
		return this.#keyv(namespace).has(key);
	}

	async *scan(namespace: string): AsyncGenerator<[string, unknown]> {
		// Keyv stores `<namespace>:<key>`; ";" is the character after ":", so this range is the namespace.
		const prefix = `${namespace}:`;
		const probe = this.#keyv("probe");
		let after = prefix;
		for (;;) {
			const rows = await this.#raw.query(
				`SELECT key, value FROM ${this.#raw.opts.table} WHERE key > ? AND key < ? ORDER BY key LIMIT 500`,
				after,
				`${namespace};`,
			);
			for (const row of rows) {
				const entry = (await probe.deserialize?.(row.value)) as { value?: unknown; expires?: number } | undefined;
				const expired = typeof entry?.expires === "number" && entry.expires <= Date.now();
				if (entry && !expired) yield [row.key.slice(prefix.length), entry.value];
			}
			const last = rows.at(-1);
			if (!last || rows.length < 500) return;
			after = last.key;
		}
	}

	locked<T>(lockKey: string, fn: () => Promise<T>): Promise<T> {
		return this.#mutex.run(lockKey, fn);
	}

	async modify<T, R>(namespace: string, key: string, update: Update<T, R>, ttlMs?: number, fence?: Fence): Promise<R> {
		return this.#mutex.run(`${namespace}\u0000${key}`, async () => {
			const stored = await this.get(namespace, key);
			const current = stored === undefined || stored === null ? undefined : (stored as T);
			const { value, result } = update(current);
			if (value === current) return result;
			if (fence) await this.checkFence(fence);
			if (value === undefined) {
				if (current !== undefined) await this.delete(namespace, key);
			} else {
				await this.set(namespace, key, value, ttlMs);
			}
			return result;
		});
	}

	async add(namespace: string, key: string, change: CounterAdd): Promise<{ ok: boolean; value: number }> {
		return this.modify<number, { ok: boolean; value: number }>(
			namespace,
			key,
			(current) => {
				const value = current ?? 0;
				const next = Math.max(0, value + change.delta);
				if (change.max !== undefined && next > change.max) return { value: current, result: { ok: false, value } };
				return { value: next, result: { ok: true, value: next } };
			},
			change.ttlMs,
		);
	}

	/** Throws StoreFencedError unless the fence holds. */
	async checkFence(fence: Fence): Promise<void> {
		if (!this.#fenceCheck || !(await this.#fenceCheck(fence))) {
			throw new StoreFencedError(fence);
		}
	}

	async close(): Promise<void> {
		await this.#mutex.idle();
		await this.#adapter.disconnect();
	}
}

async function exists(file: string): Promise<boolean> {
	try {
		await access(file);
		return true;
	} catch {
		return false;
	}
}
