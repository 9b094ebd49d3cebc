import path from "node:path";
import type { Logger } from "pino";
import { AnnouncementRepository } from "./announcements.js";
import { AutoRehostRepository } from "./auto-rehost.js";
import type { KvBackend } from "./backend.js";
import { KEY_ENV_NAME, type TokenCipher } from "./crypto.js";
import { StoreConfigError } from "./errors.js";
import { FeedStateRepository } from "./feed-state.js";
import { GuildSettingsRepository } from "./guilds.js";
import { Kv, type KvCacheOptions } from "./kv.js";
import { LeaseRepository, type Leases } from "./lease.js";
import { NotifyRepository } from "./notify.js";
import { type Outbox, OutboxRepository } from "./outbox.js";
import { RedisBackend } from "./redis/backend.js";
import { RedisRequestBudget } from "./redis/budget.js";
import { RedisLeases } from "./redis/lease.js";
import { RedisOutbox } from "./redis/outbox.js";
import { SqliteBackend } from "./sqlite.js";
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
	budget: "budget",
	announcements: "announce",
	autoRehost: "autorehost",
	autoRehostPending: "autorehost-pending",
	notify: "notify",
	notifyOutbox: "notify-outbox",
} as const;

export interface StoreOptions {
	/**
	 * `sqlite://data/imgpile-bot.sqlite` (relative to the cwd), `sqlite:///abs/path.sqlite`,
	 * `sqlite://:memory:`, or `redis://[user:pass@]host:port[/db]` (also `rediss://`) for a store
	 * several processes share.
	 */
	url: string;
	cipher: TokenCipher;
	logger: Logger;
	/** Prepended to every namespace (e.g. to share one database between bots). Redis default: `imgpile-bot.`. */
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
	readonly outbox: Outbox;
	readonly usage: UsageRepository;
	readonly uploads: UploadsRepository;
	/** Live sync: which message announced which post, and the posts it follows. */
	readonly announcements: AnnouncementRepository;
	/** Auto-rehost channels: opt-outs, answered messages, and the pending work a restart finishes. */
	readonly autoRehost: AutoRehostRepository;
	/** Personal notifications: each user's settings (follows, tags, batching, quiet hours, pause). */
	readonly notify: NotifyRepository;
	/**
	 * The notifications' outbox: one entry per user and post (`<userId>:<postId>`, the user id in
	 * the subscription id's place), delivered in batch DMs with the feed outbox's invariants.
	 */
	readonly notifyOutbox: Outbox;
	/** Leases with fencing tokens (one process polls the feeds): atomic on Redis, best effort on SQLite. */
	readonly lease: Leases;
	/** Where the data lives, for logs (never contains credentials). */
	readonly location: string;
	/** Whether other processes may share this store (Redis). */
	readonly shared: boolean;
	/**
	 * imgpile's request budget shared by the processes of a shared store (undefined on SQLite: one
	 * process, whose own pacing is the whole budget). `take` → 0 (go) or ms to wait.
	 */
	readonly requestBudget: { take(identity: string, perMinute: number): Promise<number> } | undefined;
	/** Waits for in-flight locked writes, then closes the backend. Idempotent. */
	close(): Promise<void>;
}

export type StoreLocation =
	| { scheme: "sqlite"; file: string }
	/** `display`: the URL without credentials, for logs. */
	| { scheme: "redis"; url: string; display: string };

/**
 * Parses the store URL: `sqlite:` (the path is resolved against the cwd, `sqlite://data/x.sqlite`,
 * unless absolute, `sqlite:///var/lib/x.sqlite`) or `redis:` / `rediss:`. Messages never echo
 * the URL: it may hold a password.
 */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
	const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
	if (scheme === "redis" || scheme === "rediss") return parseRedisUrl(url);
	if (scheme !== "sqlite") {
		throw new StoreConfigError(
			scheme === undefined
				? "Store URL must look like sqlite://data/imgpile-bot.sqlite or redis://host:6379"
				: `Store URL scheme "${scheme}:" is not supported: use sqlite:// (e.g. sqlite://data/imgpile-bot.sqlite) or redis://`,
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

function parseRedisUrl(url: string): StoreLocation {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		throw new StoreConfigError("Store URL must look like redis://[user:password@]host:6379[/db]");
	}
	const db = parsed.pathname.replace(/^\//, "");
	if (!parsed.hostname || (db !== "" && !/^\d{1,5}$/.test(db)) || parsed.search || parsed.hash) {
		throw new StoreConfigError("Store URL must look like redis://[user:password@]host:6379[/db] (db: a number)");
	}
	const display = `${parsed.protocol}//${parsed.host}${db ? `/${db}` : ""}`;
	return { scheme: "redis", url, display };
}

/** Opens the store: creates the database (and its directory) on first start, checks it is usable. */
export async function openStore(options: StoreOptions): Promise<Store> {
	const { cipher, logger } = options;
	const clock = options.clock ?? systemClock;
	const location = parseStoreUrl(options.url);
	const prefix = options.namespacePrefix ?? (location.scheme === "redis" ? "imgpile-bot." : "");
	if (!/^[A-Za-z0-9_.-]*$/.test(prefix)) {
		throw new StoreConfigError("namespacePrefix may only contain letters, digits, '_', '.', '-'");
	}
	const ns = (name: keyof typeof STORE_NAMESPACES) => `${prefix}${STORE_NAMESPACES[name]}`;
	let backend: KvBackend;
	let requestBudget: Store["requestBudget"];
	let outbox: (kv: Kv) => Outbox;
	let lease: (kv: Kv) => Leases;
	if (location.scheme === "redis") {
		const redis = await RedisBackend.open({ url: location.url, logger, prefix, leaseNamespace: ns("lease") });
		backend = redis;
		outbox = (kv) => new RedisOutbox(redis, kv, { doneRetention: options.doneRetention }, clock);
		lease = () => new RedisLeases(redis, ns("lease"));
		requestBudget = new RedisRequestBudget(redis, ns("budget"));
	} else {
		const sqlite = await SqliteBackend.open(location.file, logger, options.wal ?? true);
		backend = sqlite;
		outbox = (kv) => new OutboxRepository(kv, { doneRetention: options.doneRetention }, clock);
		lease = (kv) => {
			const leases = new LeaseRepository(kv, clock);
			sqlite.setFenceCheck((fence) => leases.holds(fence));
			return leases;
		};
	}
	const kv = (name: keyof typeof STORE_NAMESPACES, cache?: KvCacheOptions) => new Kv(backend, ns(name), cache);
	// Hot on every interaction, rarely written: served from memory for a short while (see Kv). A
	// shared store announces writes (the copy is dropped at once); 1 s bounds a lost announcement.
	const hot: KvCacheOptions = { ttlMs: backend.shared ? 1_000 : 30_000, max: 10_000 };
	const where =
		location.scheme === "redis" ? { store: "redis", url: location.display } : { store: "sqlite", path: location.file };
	const store: Store = {
		tokens: new TokenRepository(kv("tokens", hot), cipher, clock),
		guilds: new GuildSettingsRepository(kv("guilds", hot), cipher, clock),
		subscriptions: new SubscriptionRepository(kv("subscriptions"), clock),
		feedState: new FeedStateRepository(kv("feedState"), { seenRetention: options.seenRetention }),
		outbox: outbox(kv("outbox")),
		usage: new UsageRepository(kv("usage", hot), clock),
		uploads: new UploadsRepository(kv("uploads"), clock),
		announcements: new AnnouncementRepository(kv("announcements")),
		autoRehost: new AutoRehostRepository(kv("autoRehost"), kv("autoRehostPending"), clock),
		notify: new NotifyRepository(kv("notify", hot), clock),
		notifyOutbox: outbox(kv("notifyOutbox")),
		lease: lease(kv("lease")),
		location: location.scheme === "redis" ? location.display : `sqlite:${location.file}`,
		shared: backend.shared,
		requestBudget,
		close: once(async () => {
			await backend.close();
			logger.debug(where, "store closed");
		}),
	};
	logger.info({ ...where, keyId: cipher.keyId }, "store opened");
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

function once(fn: () => Promise<void>): () => Promise<void> {
	let running: Promise<void> | undefined;
	return () => {
		running ??= fn();
		return running;
	};
}
