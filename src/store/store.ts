import { access, chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { KeyvSqlite } from "@keyv/sqlite";
import { Keyv } from "keyv";
import type { Logger } from "pino";
import { KEY_ENV_NAME, type TokenCipher } from "./crypto.js";
import { StoreConfigError } from "./errors.js";
import { FeedStateRepository } from "./feed-state.js";
import { GuildSettingsRepository } from "./guilds.js";
import { Kv, type KvCacheOptions, type KvScan } from "./kv.js";
import { LeaseRepository } from "./lease.js";
import { KeyedMutex } from "./mutex.js";
import { OutboxRepository } from "./outbox.js";
import { SubscriptionRepository } from "./subscriptions.js";
import { TokenRepository } from "./tokens.js";
import { UploadsRepository } from "./uploads.js";
import { UsageRepository } from "./usage.js";
import { type Clock, systemClock } from "./util.js";

/** keyv namespace of each repository (prefixed by `namespacePrefix`). */
export const STORE_NAMESPACES = {
	tokens: "tokens",
	guilds: "guilds",
	subscriptions: "feeds",
	feedState: "feedstate",
	outbox: "outbox",
	usage: "usage",
	uploads: "uploads",
	lease: "lease",
} as const;

export interface StoreOptions {
	/** `sqlite://data/imgpile-bot.sqlite` (relative to the cwd), `sqlite:///abs/path.sqlite` or `sqlite://:memory:`. */
	url: string;
	cipher: TokenCipher;
	logger: Logger;
	/** Prepended to every namespace (e.g. to share one database between bots). */
	namespacePrefix?: string;
	/** Seen post ids kept per feed query (default 5,000). */
	seenRetention?: number;
	/** Delivered post ids remembered per subscription by the outbox (default 10,000). */
	doneRetention?: number;
	/** Time source for the timestamps the repositories write (default Date.now). */
	clock?: Clock;
	/**
	 * SQLite write-ahead log with `synchronous = NORMAL`: several times faster writes (the feed
	 * outbox writes a few rows per delivery), still safe when the process is killed; only an OS
	 * crash or power loss may lose the last commits, never consistency. Default true; false keeps
	 * the rollback journal with an fsync per write (a 1,000-guild feed burst took 319 s instead of 35 s).
	 */
	wal?: boolean;
}

export interface Store {
	readonly tokens: TokenRepository;
	readonly guilds: GuildSettingsRepository;
	readonly subscriptions: SubscriptionRepository;
	readonly feedState: FeedStateRepository;
	readonly outbox: OutboxRepository;
	readonly usage: UsageRepository;
	readonly uploads: UploadsRepository;
	/** Best-effort leases (only one process polls the feeds). */
	readonly lease: LeaseRepository;
	/** Where the data lives, for logs (never contains credentials). */
	readonly location: string;
	/** Waits for in-flight locked writes, then closes the backend. Idempotent. */
	close(): Promise<void>;
}

export type StoreLocation = { scheme: "sqlite"; file: string };

/**
 * Parses the store URL. Only `sqlite:` is supported for now; the path is resolved against the cwd
 * (`sqlite://data/x.sqlite`) unless absolute (`sqlite:///var/lib/x.sqlite`).
 */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
	const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
	if (scheme !== "sqlite") {
		// Only the scheme is echoed: other URLs (redis://user:pass@…) may hold credentials.
		throw new StoreConfigError(
			scheme === undefined
				? "Store URL must look like sqlite://data/imgpile-bot.sqlite"
				: `Store URL scheme "${scheme}:" is not supported yet: only sqlite:// is (e.g. sqlite://data/imgpile-bot.sqlite)`,
		);
	}
	const rest = url.slice("sqlite:".length);
	if (!rest.startsWith("//")) {
		throw new StoreConfigError(
			"Store URL must look like sqlite://data/imgpile-bot.sqlite or sqlite:///abs/path.sqlite",
		);
	}
	const file = decodeURIComponent(rest.slice(2));
	if (file.length === 0 || file.includes("?") || file.endsWith("/")) {
		throw new StoreConfigError("Store URL must name a database file, e.g. sqlite://data/imgpile-bot.sqlite");
	}
	return { scheme: "sqlite", file: file === ":memory:" ? file : path.resolve(cwd, file) };
}

/** Opens the store: creates the database (and its directory) on first start, checks it is usable. */
export async function openStore(options: StoreOptions): Promise<Store> {
	const { cipher, logger } = options;
	const clock = options.clock ?? systemClock;
	const prefix = options.namespacePrefix ?? "";
	if (!/^[A-Za-z0-9_.-]*$/.test(prefix)) {
		throw new StoreConfigError("namespacePrefix may only contain letters, digits, '_', '.', '-'");
	}
	const location = parseStoreUrl(options.url);
	const backend = await openSqliteBackend(location.file, logger, options.wal ?? true);

	const mutex = new KeyedMutex();
	const kv = (namespace: string, cache?: KvCacheOptions) =>
		new Kv(backend.keyv(`${prefix}${namespace}`), mutex, cache, backend.scan);
	// Hot on every interaction, rarely written: served from memory for a short while (see Kv).
	const hot: KvCacheOptions = { ttlMs: 30_000, max: 10_000 };
	const store: Store = {
		tokens: new TokenRepository(kv(STORE_NAMESPACES.tokens, hot), cipher, clock),
		guilds: new GuildSettingsRepository(kv(STORE_NAMESPACES.guilds, hot), cipher, clock),
		subscriptions: new SubscriptionRepository(kv(STORE_NAMESPACES.subscriptions), clock),
		feedState: new FeedStateRepository(kv(STORE_NAMESPACES.feedState), { seenRetention: options.seenRetention }),
		outbox: new OutboxRepository(kv(STORE_NAMESPACES.outbox), { doneRetention: options.doneRetention }, clock),
		usage: new UsageRepository(kv(STORE_NAMESPACES.usage, hot), clock),
		uploads: new UploadsRepository(kv(STORE_NAMESPACES.uploads), clock),
		lease: new LeaseRepository(kv(STORE_NAMESPACES.lease), clock),
		location: `sqlite:${location.file}`,
		close: once(async () => {
			await mutex.idle();
			await backend.close();
			logger.debug({ store: "sqlite", path: location.file }, "store closed");
		}),
	};
	logger.info({ store: "sqlite", path: location.file, keyId: cipher.keyId }, "store opened");
	await reportUnreadableTokens(store, cipher, logger);
	return store;
}

/**
 * Says once at start how many stored tokens the current key cannot open (a changed or lost
 * TOKEN_ENCRYPTION_KEY): by the key id in each sealed token, without decrypting any.
 */
async function reportUnreadableTokens(store: Store, cipher: TokenCipher, logger: Logger): Promise<void> {
	const links = await store.tokens.countUnreadable();
	const serverLinks = await store.guilds.countUnreadableServerTokens();
	if (links + serverLinks === 0) return;
	// Field names avoid "token": the logger would redact them as secrets.
	logger.warn(
		{ unreadableLinks: links, unreadableServerLinks: serverLinks, keyId: cipher.keyId },
		`imgpile tokens this ${KEY_ENV_NAME} cannot read: users' links ${links}, server tokens ${serverLinks}; ` +
			"restore the key they were sealed with, or they must be linked again",
	);
}

interface Backend {
	/** A Keyv bound to one namespace; only get/set/delete/has are used on it. */
	keyv(namespace: string): Keyv;
	/** Every live entry of one namespace, in key order (SQL on the key index, 500 rows a query). */
	scan: KvScan;
	close(): Promise<void>;
}

/**
 * One SQLite file, one connection (one KeyvSqlite adapter) shared by a Keyv per namespace. Keyv
 * prefixes each key with its own namespace (`tokens:guild:1:2`), so the instances never see each
 * other's keys, and one connection means no SQLITE_BUSY between them. Caveat of sharing an adapter:
 * Keyv stores "the" namespace on the adapter for iterator()/clear(), which are therefore not used
 * here (listings go through index keys). A Redis backend would create one adapter per namespace.
 */
async function openSqliteBackend(file: string, logger: Logger, wal: boolean): Promise<Backend> {
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
	const keyv = (namespace: string) => {
		const instance = new Keyv({ store: adapter, namespace, throwOnErrors: true });
		instance.on("error", (error: unknown) => logger.debug({ err: error, namespace }, "keyv reported an error"));
		return instance;
	};
	// KeyvSqlite runs raw statements through `query` (public on the adapter, untyped).
	const raw = adapter as unknown as {
		query(sql: string, ...params: unknown[]): Promise<{ key: string; value: string }[]>;
		opts: { table: string };
	};
	const probe = keyv("probe");
	try {
		await probe.has("probe"); // waits for the connection and the table
		if (wal && file !== ":memory:") {
			await raw.query("PRAGMA journal_mode = WAL");
			await raw.query("PRAGMA synchronous = NORMAL");
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
	async function* scan(namespace: string): AsyncGenerator<[string, unknown]> {
		// Keyv stores `<namespace>:<key>`; ";" is the character after ":", so this range is the namespace.
		const prefix = `${namespace}:`;
		let after = prefix;
		for (;;) {
			const rows = await raw.query(
				`SELECT key, value FROM ${raw.opts.table} WHERE key > ? AND key < ? ORDER BY key LIMIT 500`,
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
	return {
		keyv,
		scan,
		close: () => adapter.disconnect(),
	};
}

async function exists(file: string): Promise<boolean> {
	try {
		await access(file);
		return true;
	} catch {
		return false;
	}
}

function once(fn: () => Promise<void>): () => Promise<void> {
	let running: Promise<void> | undefined;
	return () => {
		running ??= fn();
		return running;
	};
}
