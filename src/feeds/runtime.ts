/**
 * What the feed modules share: one runtime object, built by the scheduler and passed to each
 * job (polling, delivery, digests, control), so no module keeps state of its own.
 */
import type { Logger } from "pino";
import { type Locale, pickLocale, type Translate, translator } from "../i18n/index.js";
import type { Imgpile, Post } from "../imgpile/index.js";
import type { Metrics } from "../metrics.js";
import { type FeedSubscription, type Fence, KeyedMutex, type Store } from "../store/index.js";
import { FeedBudget } from "./budget.js";
import type { FeedDiscord } from "./discord.js";
import type { NotifyWatchers } from "./notify-watchers.js";
import type { FeedPostPayload } from "./render.js";
import { type FeedSource, ImgpileFeedSource } from "./source.js";

export const FEED_LEASE = "feeds";

/** Test hooks at the two moments a crash matters; throwing from one stops the cycle there, like a kill. */
export interface FeedHooks {
	/** The attempt is recorded, Discord not called yet. */
	beforeSend?(info: DeliveryInfo): void | Promise<void>;
	/** Discord accepted the message; the outbox does not know yet. */
	afterAccepted?(info: DeliveryInfo & { messageId: string }): void | Promise<void>;
	/** Live sync: Discord took an edit or delete of an announcement; its record does not know yet. */
	afterSynced?(info: { subscriptionId: string; postId: number; messageId: string }): void | Promise<void>;
}

export interface DeliveryInfo {
	subscriptionId: string;
	channelId: string;
	/** The outbox keys the message delivers (one; several for a digest or a notification batch). */
	keys: string[];
	/** `notify`: a batch DM (subscriptionId is then the user's id, channelId their DM channel). */
	kind: "live" | "digest" | "notify";
}

export interface FeedServiceOptions {
	store: Store;
	imgpile: Imgpile;
	discord: FeedDiscord;
	logger: Logger;
	/** The scheduler's clock (epoch ms). Default Date.now. */
	now?: () => number;
	/** Poll period per query (FEED_POLL_INTERVAL). Default 60 s. */
	intervalMs?: number;
	/** IMGPILE_FEED_TOKEN: polls with this token (120 requests/min) instead of as a guest (30/min). */
	token?: string | undefined;
	/** Where posts are read from. Default: imgpile through `imgpile`'s pacing lane. */
	source?: FeedSource;
	/** Posts per page read (`limit`). Default 50. */
	pageSize?: number;
	/** Pages per poll at most (bursts). Default 10. */
	maxPages?: number;
	/** Timer period of the cycles once started. Default 1 s. */
	tickMs?: number;
	/**
	 * Lease time to live, on the scheduler's clock (Redis: the server's). Default 15 s (or 3 ticks,
	 * if longer): the longest another process waits to take over from a leader that died. Renewed
	 * every third of it while a cycle runs.
	 */
	leaseTtlMs?: number;
	/** This process in the lease. Default host:pid:random. */
	owner?: string;
	/**
	 * Subscriptions delivered to at once. Default 64: Discord allows a channel one message a second
	 * sustained (5 per 5 s) and the bot 50 requests a second, so it takes some 50 channels in
	 * flight to reach the global ceiling; each subscription still goes in order, one at a time.
	 */
	deliveryConcurrency?: number;
	/** Recent channel messages looked through for a delivery that may have reached Discord. Default 50. */
	historyLimit?: number;
	/** imgpile budget; perMinute defaults to 30 (guest) or 120 (token). */
	budget?: { perMinute?: number; share?: number; reserve?: number; syncShare?: number };
	hooks?: FeedHooks;
	/** Counts polls, deliveries and duplicates avoided. */
	metrics?: Metrics | undefined;
}

export interface TickReport {
	/** Whether this process held the lease (else it did nothing). */
	leader: boolean;
	/** Poll period used (ms). */
	periodMs: number;
	queries: number;
	polled: number;
	requests: number;
	/** Outbox entries created. */
	queued: number;
	/** Live messages sent, and digests sent. */
	delivered: number;
	digests: number;
	/** Deliveries found already accepted by Discord (after a crash) and finished without sending. */
	recovered: number;
	/** Polls that failed (imgpile errors) and deliveries that failed (Discord). */
	pollFailures: number;
	deliveryFailures: number;
	/** Polls put off by the budget or a 429. */
	deferred: number;
	/** Personal notifications: entries queued, batch DMs sent, follow lists read. */
	notifyQueued: number;
	notifyBatches: number;
	followRefreshes: number;
}

export interface QueryState {
	lastPolledAt: number | null;
	backoffUntil: number;
	failures: number;
}

/** One cycle's (or one `/feed digest`'s) view: its time, its report, what it read once for all. */
export interface CycleContext {
	now: number;
	/** The fence the cycle's writes carry (the lease's when it began; none outside the leader). */
	fence: Fence | undefined;
	report: TickReport;
	history: Map<string, Promise<Array<{ id: string; author?: { id: string }; embeds?: unknown }>>>;
	/** The listing each query's digests re-check their posts against, read once per cycle. */
	listings: Map<string, Promise<DigestListing | null>>;
	/** Users with personal notifications on, read once for the cycle's polls (see notify-fanout.ts). */
	notify?: NotifyWatchers;
}

/** A query's newest posts as imgpile lists them now (see digests.ts). */
export interface DigestListing {
	posts: Map<number, Post>;
	/** Posts created after this (epoch ms) are in `posts` if imgpile still lists them; -Infinity: the whole query. */
	coversAfter: number;
}

export interface FeedRuntime {
	readonly store: Store;
	readonly imgpile: Imgpile;
	readonly discord: FeedDiscord;
	readonly log: Logger;
	readonly now: () => number;
	/** Configured poll period per query. */
	readonly intervalMs: number;
	readonly source: FeedSource;
	/** Whether the source was made here (and is closed on stop). */
	readonly ownsSource: boolean;
	readonly token: string | undefined;
	readonly pageSize: number;
	readonly maxPages: number;
	readonly concurrency: number;
	readonly historyLimit: number;
	readonly hooks: FeedHooks;
	readonly metrics: Metrics | undefined;
	readonly budget: FeedBudget;
	/** One delivery per subscription at a time (cycle and `/feed digest`). */
	readonly locks: KeyedMutex;
	readonly queries: Map<string, QueryState>;
	/** Subscriptions to deliver to at a later cycle (failed, or queued outside a poll), by due time. */
	readonly retryAt: Map<string, number>;
	/** Digest listings read lately, by query key. */
	readonly recentListings: Map<string, { listing: DigestListing; at: number }>;
	/** Posts a digest read one by one lately, by id. */
	readonly rechecked: Map<number, { post: FeedPostPayload | null; at: number }>;
	/** Live sync: each cycle's subscriptions, read once for all its polls (see sync.ts). */
	readonly syncSubscriptions: WeakMap<CycleContext, Promise<Map<string, FeedSubscription>>>;
	/** Digest subscriptions whose interrupted digest was looked for and not found (until the next send). */
	readonly digestChecked: Set<string>;
	/** This process's crossposts of the last hour per channel (times): Discord's 10 per hour, kept before it answers 429. */
	readonly crossposts: Map<string, number[]>;
	/**
	 * Users known to have notifications waiting, with the time the oldest was queued (epoch ms):
	 * only these are looked at each cycle; the whole notifications outbox is read now and then.
	 */
	readonly notifyWaiting: Map<string, number>;
	/** When the whole notifications outbox was last read. */
	notifyScanAt: number;
	/** Users whose following list could not be read, and when to try again (epoch ms). */
	readonly followRetryAt: Map<string, number>;
	/** Subscriptions (or notification settings) changed: re-read them before the next cycle. */
	dirty: boolean;
	leader: boolean;
	/**
	 * The feed lease's fence while this process leads: every outbox, seen-set and cursor write of
	 * the cycle carries it, so once another process leads they change nothing (StoreFencedError).
	 */
	fence: Fence | undefined;
	stopped: boolean;
	/** When the whole outbox was last looked through. */
	fullScanAt: number;
	/** Poll period in use, and the queries it was computed for. */
	periodMs: number;
	queryCount: number;
}

export function createRuntime(options: FeedServiceOptions): FeedRuntime {
	const intervalMs = options.intervalMs ?? 60_000;
	const source = options.source ?? new ImgpileFeedSource({ imgpile: options.imgpile, token: options.token });
	return {
		store: options.store,
		imgpile: options.imgpile,
		discord: options.discord,
		log: options.logger,
		now: options.now ?? Date.now,
		intervalMs,
		source,
		ownsSource: options.source === undefined,
		token: options.token || undefined,
		pageSize: options.pageSize ?? 50,
		maxPages: options.maxPages ?? 10,
		concurrency: options.deliveryConcurrency ?? 64,
		historyLimit: options.historyLimit ?? 50,
		hooks: options.hooks ?? {},
		metrics: options.metrics,
		budget: new FeedBudget({
			perMinute: options.budget?.perMinute ?? (source.authenticated ? 120 : 30),
			share: options.budget?.share,
			reserve: options.budget?.reserve,
			syncShare: options.budget?.syncShare,
		}),
		locks: new KeyedMutex(),
		queries: new Map(),
		retryAt: new Map(),
		recentListings: new Map(),
		rechecked: new Map(),
		digestChecked: new Set(),
		crossposts: new Map(),
		syncSubscriptions: new WeakMap(),
		notifyWaiting: new Map(),
		notifyScanAt: Number.NEGATIVE_INFINITY,
		followRetryAt: new Map(),
		dirty: true,
		leader: false,
		fence: undefined,
		stopped: false,
		fullScanAt: Number.NEGATIVE_INFINITY,
		periodMs: intervalMs,
		queryCount: 0,
	};
}

export const MAX_BACKOFF_MS = 15 * 60_000;

export function translatorFor(rt: FeedRuntime, guildId: string): Translate {
	const locale: Locale = pickLocale(undefined, rt.discord.guild(guildId)?.preferredLocale);
	return translator(locale);
}

export function isActive(sub: FeedSubscription): boolean {
	return !sub.paused && sub.disabledReason === null;
}

export function iso(ms: number): string {
	return new Date(ms).toISOString();
}

export function parseTime(value: string | null | undefined): number | null {
	if (!value) return null;
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? null : ms;
}

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first error (after all settle). */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	let failure: { error: unknown } | undefined;
	const worker = async () => {
		while (next < items.length) {
			const item = items[next++] as T;
			try {
				await fn(item);
			} catch (error) {
				failure ??= { error };
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
	if (failure) throw failure.error;
}

/** A fresh cycle context: nothing read, nothing done yet. */
export function newCycle(now: number, fence: Fence | undefined, periodMs: number): CycleContext {
	return { now, fence, report: emptyReport(fence !== undefined, periodMs), history: new Map(), listings: new Map() };
}

/** A cycle's report before anything happened. */
export function emptyReport(leader: boolean, periodMs: number): TickReport {
	return {
		leader,
		periodMs,
		queries: 0,
		polled: 0,
		requests: 0,
		queued: 0,
		delivered: 0,
		digests: 0,
		recovered: 0,
		pollFailures: 0,
		deliveryFailures: 0,
		deferred: 0,
		notifyQueued: 0,
		notifyBatches: 0,
		followRefreshes: 0,
	};
}
