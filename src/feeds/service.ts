/**
 * The feed scheduler: one cycle (`tick()`) polls the queries whose slot has come, queues what is
 * new in the outbox, and delivers the outbox to Discord. A timer runs a cycle every `tickMs` in
 * production; tests call `tick()` themselves on a clock they move by hand.
 *
 * A cycle, step by step (crash-safety invariants: docs/ARCHITECTURE.md):
 * 1. Lease: only the process holding the `feeds` lease polls and delivers; others idle.
 * 2. Subscriptions are grouped by `queryKeyOf(filters)`: one query (one imgpile request per
 *    period, plus pages for bursts) however many guilds share it. Each query has a slot in the
 *    period (hash of its key), so polls spread over the period instead of firing together. The
 *    period is `FEED_POLL_INTERVAL`, stretched when the queries would not fit imgpile's budget.
 * 3. Poll: the first poll of a query marks what it reads as seen and announces nothing; later
 *    polls announce posts not seen before (see poller.ts), oldest first.
 * 4. For each new post and each active subscription of the query: `outbox.put` (durable) —
 *    then, only then, `feedState.markSeen`. A crash in between re-reads the posts next time, and
 *    the outbox refuses duplicates.
 * 5. Delivery per subscription, oldest first: `bumpAttempt` → Discord → `recordSent` → `done`.
 *    The message carries its outbox key in its embed footer (and as an enforced nonce). An entry
 *    with attempts > 0 that is not known as sent may or may not have reached Discord: the
 *    channel's recent messages are checked for the footer key before sending again (reads carry
 *    no nonce), and a resend within Discord's nonce window gets the first message back. So a
 *    crash at any point neither loses nor repeats.
 * 6. Digest subscriptions: entries wait; at the subscription's time they go out as one message.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import { isPublic, mayAnnounce } from "../discord/index.js";
import { type Locale, pickLocale, type Translate, translator } from "../i18n/index.js";
import { type Imgpile, ImgpileNotFoundError, ImgpileRateLimitError, type Post } from "../imgpile/index.js";
import {
	type FeedCursor,
	type FeedSubscription,
	KeyedMutex,
	type OutboxEntry,
	queryKeyOf,
	type Store,
} from "../store/index.js";
import { FeedBudget } from "./budget.js";
import { type ChannelInfo, classifyDiscordError, type FeedDiscord } from "./discord.js";
import { PollIncompleteError, pollQuery } from "./poller.js";
import {
	announcement,
	byScore,
	carriesMarker,
	DIGEST_EMBEDS,
	DIGEST_MORE_LINKS,
	type DisableReason,
	digest,
	digestMarker,
	disabledNotice,
	type FeedPostPayload,
	isPayload,
	payloadOf,
	testAnnouncement,
} from "./render.js";
import { nextDigestTime, slotOffset, slotPassed } from "./schedule.js";
import { type FeedSource, type FetchedPage, ImgpileFeedSource } from "./source.js";

export const FEED_LEASE = "feeds";

/** Test hooks at the two moments a crash matters; throwing from one stops the cycle there, like a kill. */
export interface FeedHooks {
	/** The attempt is recorded, Discord not called yet. */
	beforeSend?(info: DeliveryInfo): void | Promise<void>;
	/** Discord accepted the message; the outbox does not know yet. */
	afterAccepted?(info: DeliveryInfo & { messageId: string }): void | Promise<void>;
}

export interface DeliveryInfo {
	subscriptionId: string;
	channelId: string;
	/** The outbox keys the message delivers (one; several for a digest). */
	keys: string[];
	kind: "live" | "digest";
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
	/** Lease time to live, on the scheduler's clock. Default 30 s (or 3 ticks, if longer). */
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
	budget?: { perMinute?: number; share?: number; reserve?: number };
	hooks?: FeedHooks;
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
}

/** What the `/feed` command may ask of the scheduler. */
export interface FeedControl {
	readonly intervalMs: number;
	now(): number;
	/** Subscriptions changed (added, removed, paused…): re-read them before the next cycle. */
	changed(): void;
	/** Puts the `backfill` latest matching posts into the subscription's outbox; how many. */
	backfill(subscription: FeedSubscription): Promise<number>;
	/** A query gets active subscriptions again after none: it is read afresh (nothing from the pause is announced). */
	reactivated(subscription: FeedSubscription): Promise<void>;
	/** Sends the latest matching post to the channel, marked as a test. */
	sendTest(subscription: FeedSubscription): Promise<"sent" | "nothing">;
	/** Sends what a digest subscription has gathered, now; how many posts (0: nothing was sent). */
	sendDigestNow(subscription: FeedSubscription): Promise<number>;
	/** The poll period in use, and whether it is longer than configured (imgpile's rate limit). */
	status(): { periodMs: number; slowed: boolean; pausedUntil: number | null; leader: boolean };
}

/** A Discord failure that `/feed test` reports to the admin. */
export class FeedSendError extends Error {
	override name = "FeedSendError";
	readonly reason: DisableReason | "invalid" | "transient";

	constructor(reason: DisableReason | "invalid" | "transient", options?: ErrorOptions) {
		super(`could not send to the channel: ${reason}`, options);
		this.reason = reason;
	}
}

interface QueryState {
	lastPolledAt: number | null;
	backoffUntil: number;
	failures: number;
}

interface CycleContext {
	now: number;
	report: TickReport;
	history: Map<string, Promise<Array<{ id: string; author?: { id: string }; embeds?: unknown }>>>;
	/** The listing each query's digests re-check their posts against, read once per cycle. */
	listings: Map<string, Promise<DigestListing | null>>;
}

/** A query's newest posts as imgpile lists them now (see `#recheck`). */
interface DigestListing {
	posts: Map<number, Post>;
	/** Posts created after this (epoch ms) are in `posts` if imgpile still lists them; -Infinity: the whole query. */
	coversAfter: number;
}

/** Digest re-checks: posts per listing page, and listing pages at most (beyond: one GET per post). */
const RECHECK_PAGE_SIZE = 100;
const RECHECK_MAX_PAGES = 3;
/** How long a digest listing stays current for the digests of its query. */
const LISTING_TTL_MS = 60_000;
/** How long a post read one by one counts as checked (a digest that had to wait goes on from there). */
const RECHECK_TTL_MS = 5 * 60_000;

/** A digest whose posts cannot all be re-checked now (imgpile budget or errors): it waits a cycle. */
class RecheckLater extends Error {}

const MAX_BACKOFF_MS = 15 * 60_000;

export class FeedService implements FeedControl {
	readonly intervalMs: number;
	readonly #store: Store;
	readonly #discord: FeedDiscord;
	readonly #log: Logger;
	readonly #now: () => number;
	readonly #source: FeedSource;
	readonly #ownsSource: boolean;
	readonly #imgpile: Imgpile;
	readonly #token: string | undefined;
	readonly #pageSize: number;
	readonly #maxPages: number;
	readonly #tickMs: number;
	readonly #leaseTtlMs: number;
	readonly #owner: string;
	readonly #concurrency: number;
	readonly #historyLimit: number;
	readonly #hooks: FeedHooks;
	readonly #budget: FeedBudget;
	readonly #locks = new KeyedMutex();
	readonly #queries = new Map<string, QueryState>();
	/** Subscriptions to deliver to at a later cycle (failed, or queued outside a poll), by due time. */
	readonly #retryAt = new Map<string, number>();
	/** Digest listings read lately (see `#recheck`), by query key. */
	readonly #recentListings = new Map<string, { listing: DigestListing; at: number }>();
	/** Posts a digest read one by one lately (see `#recheck`), by id. */
	readonly #rechecked = new Map<number, { post: FeedPostPayload | null; at: number }>();
	/** Digest subscriptions whose interrupted digest was looked for and not found (until the next send). */
	readonly #digestChecked = new Set<string>();
	#subscriptions: { subs: FeedSubscription[]; loadedAt: number } | undefined;
	#dirty = true;
	#leader = false;
	#fullScanAt = Number.NEGATIVE_INFINITY;
	#periodMs: number;
	#queryCount = 0;
	#chain: Promise<unknown> = Promise.resolve();
	#timer: NodeJS.Timeout | undefined;
	#stopped = false;

	constructor(options: FeedServiceOptions) {
		this.#store = options.store;
		this.#discord = options.discord;
		this.#log = options.logger;
		this.#now = options.now ?? Date.now;
		this.intervalMs = options.intervalMs ?? 60_000;
		this.#periodMs = this.intervalMs;
		this.#ownsSource = options.source === undefined;
		this.#imgpile = options.imgpile;
		this.#token = options.token || undefined;
		this.#source =
			options.source ??
			new ImgpileFeedSource({ imgpile: options.imgpile, token: options.token, logger: options.logger });
		this.#pageSize = options.pageSize ?? 50;
		this.#maxPages = options.maxPages ?? 10;
		this.#tickMs = options.tickMs ?? 1_000;
		this.#leaseTtlMs = options.leaseTtlMs ?? Math.max(30_000, 3 * this.#tickMs);
		this.#owner = options.owner ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
		this.#concurrency = options.deliveryConcurrency ?? 64;
		this.#historyLimit = options.historyLimit ?? 50;
		this.#hooks = options.hooks ?? {};
		this.#budget = new FeedBudget({
			perMinute: options.budget?.perMinute ?? (this.#source.authenticated ? 120 : 30),
			share: options.budget?.share,
			reserve: options.budget?.reserve,
		});
	}

	now(): number {
		return this.#now();
	}

	changed(): void {
		this.#dirty = true;
	}

	status(): { periodMs: number; slowed: boolean; pausedUntil: number | null; leader: boolean } {
		const now = this.#now();
		const pausedUntil = this.#budget.pausedUntil > now ? this.#budget.pausedUntil : null;
		// The period the next cycle will use (a 429 just now already lengthened it).
		const periodMs = Math.max(this.#periodMs, this.#budget.period(this.intervalMs, this.#queryCount, now));
		return {
			periodMs,
			slowed: periodMs > this.intervalMs || pausedUntil !== null,
			pausedUntil,
			leader: this.#leader,
		};
	}

	/** Starts the timer (one cycle every `tickMs`). */
	start(): void {
		if (this.#timer || this.#stopped) return;
		const loop = async () => {
			try {
				await this.tick();
			} catch (error) {
				this.#log.error({ err: error }, "feed cycle failed");
			}
			if (!this.#stopped) {
				this.#timer = setTimeout(loop, this.#tickMs);
				this.#timer.unref();
			}
		};
		this.#timer = setTimeout(loop, 0);
		this.#timer.unref();
	}

	/** Stops the timer, waits for the cycle in flight, gives the lease up. */
	async stop(): Promise<void> {
		this.#stopped = true;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = undefined;
		await this.#chain.catch(() => undefined);
		if (this.#leader) {
			await this.#store.lease.release(FEED_LEASE, this.#owner).catch((error: unknown) => {
				this.#log.warn({ err: error }, "could not release the feed lease");
			});
			this.#leader = false;
		}
		if (this.#ownsSource) await this.#source.close().catch(() => undefined);
	}

	/** One scheduler cycle, now (after the one in flight, if any). */
	tick(): Promise<TickReport> {
		const run = this.#chain.catch(() => undefined).then(() => this.#cycle());
		this.#chain = run;
		return run;
	}

	// ── The cycle ─────────────────────────────────────────────────────────────

	async #cycle(): Promise<TickReport> {
		const now = this.#now();
		const report = emptyReport(false, this.#periodMs);
		if (this.#stopped) return report;
		try {
			const lease = await this.#store.lease.acquire(FEED_LEASE, this.#owner, this.#leaseTtlMs, now);
			if (!lease.held) {
				if (this.#leader) this.#log.warn({ holder: lease.owner }, "feed lease lost: another process polls now");
				this.#leader = false;
				return report;
			}
			if (!this.#leader) {
				this.#log.info({ owner: this.#owner }, "feed lease taken: this process polls the feeds");
				this.#leader = true;
				this.#fullScanAt = Number.NEGATIVE_INFINITY;
				this.#queries.clear();
			}
			report.leader = true;
			const ctx: CycleContext = { now, report, history: new Map(), listings: new Map() };
			const subs = await this.#loadSubscriptions();
			const groups = new Map<string, FeedSubscription[]>();
			for (const sub of subs) {
				if (!isActive(sub)) continue;
				const key = queryKeyOf(sub.filters);
				const group = groups.get(key);
				if (group) group.push(sub);
				else groups.set(key, [sub]);
			}
			report.queries = groups.size;
			this.#queryCount = groups.size;
			const period = this.#budget.period(this.intervalMs, groups.size, now);
			if (period !== this.#periodMs) {
				this.#log.info({ periodMs: period, configuredMs: this.intervalMs, queries: groups.size }, "feed poll period");
				this.#periodMs = period;
			}
			report.periodMs = period;

			const touched = new Set<string>();
			await this.#pollDue(ctx, groups, period, touched);
			await this.#deliverAll(ctx, subs, touched);
			return report;
		} catch (error) {
			this.#log.error({ err: error }, "feed cycle stopped by an error");
			throw error;
		}
	}

	async #loadSubscriptions(): Promise<FeedSubscription[]> {
		// Changes made by another process show within 10 s; this process's own at once.
		const cached = this.#subscriptions;
		if (cached && !this.#dirty && performance.now() - cached.loadedAt < 10_000) return cached.subs;
		this.#dirty = false;
		const subs = await this.#store.subscriptions.listAll();
		this.#subscriptions = { subs, loadedAt: performance.now() };
		return subs;
	}

	async #queryState(queryKey: string): Promise<QueryState> {
		let state = this.#queries.get(queryKey);
		if (!state) {
			const cursor = await this.#store.feedState.getCursor(queryKey);
			state = {
				lastPolledAt: parseTime(cursor.lastPolledAt),
				backoffUntil: parseTime(cursor.backoffUntil) ?? 0,
				failures: cursor.failures,
			};
			this.#queries.set(queryKey, state);
		}
		return state;
	}

	// ── Polling ───────────────────────────────────────────────────────────────

	async #pollDue(
		ctx: CycleContext,
		groups: Map<string, FeedSubscription[]>,
		period: number,
		touched: Set<string>,
	): Promise<void> {
		const { now } = ctx;
		const due: Array<{ queryKey: string; group: FeedSubscription[]; state: QueryState }> = [];
		for (const [queryKey, group] of groups) {
			const state = await this.#queryState(queryKey);
			if (now < state.backoffUntil) continue;
			// Due when its slot came since the last poll, and (after a poll the budget put off) not
			// sooner than half a period after it: late polls drift back to their slot, never bunch.
			if (!slotPassed(state.lastPolledAt, now, period, slotOffset(queryKey, period))) continue;
			if (state.lastPolledAt !== null && now - state.lastPolledAt < period / 2) continue;
			due.push({ queryKey, group, state });
		}
		// The longest-waiting first, so a tight budget serves everyone in turn.
		due.sort((a, b) => (a.state.lastPolledAt ?? -1) - (b.state.lastPolledAt ?? -1));
		for (const [index, item] of due.entries()) {
			if (this.#stopped) return;
			if (!this.#budget.canSpend(now)) {
				const until = this.#budget.resumeAt(now);
				const deferred = due.slice(index);
				ctx.report.deferred += deferred.length;
				this.#log.info({ deferred: deferred.length, until: iso(until) }, "imgpile budget: polls put off");
				for (const rest of deferred) await this.#setCursor(rest.queryKey, { slowedUntil: iso(until) });
				return;
			}
			await this.#poll(ctx, item.queryKey, item.group, item.state, period, touched);
		}
	}

	async #poll(
		ctx: CycleContext,
		queryKey: string,
		group: FeedSubscription[],
		state: QueryState,
		period: number,
		touched: Set<string>,
	): Promise<void> {
		const { now, report } = ctx;
		const first = group[0];
		if (!first) return;
		const seeding = !(await this.#store.feedState.isSeeded(queryKey));
		const seen = seeding ? new Set<number>() : await this.#store.feedState.getSeen(queryKey);
		const frontier = seeding ? null : ((await this.#store.feedState.getCursor(queryKey)).frontier ?? null);
		let requests = 0;
		this.#budget.spent(now);
		requests++;
		try {
			const result = await pollQuery({
				source: this.#source,
				filters: first.filters,
				seen,
				frontier,
				seeding,
				pageSize: this.#pageSize,
				maxPages: this.#maxPages,
				mayRequest: () => {
					if (!this.#budget.canSpend(now)) return false;
					this.#budget.spent(now);
					requests++;
					return true;
				},
				onResponse: (limit, remaining) => this.#budget.observe(now, limit, remaining),
			});
			report.polled++;
			this.#budget.pages(result.requests - 1);
			if (result.capped) {
				this.#log.warn(
					{ queryKey, pages: result.requests },
					"more new posts than the page cap: the oldest of this burst are not announced",
				);
			}
			if (seeding) {
				await this.#store.feedState.markSeen(
					queryKey,
					result.read.map((post) => post.id),
				);
				this.#log.info({ queryKey, seen: result.read.length }, "feed query seeded (nothing announced)");
			} else {
				// Pending and rejected posts never reach public listings; should one show up, it is not
				// announced and not marked seen (so it is announced once approved).
				const fresh = result.fresh.filter((post) => mayAnnounce(post.moderation_status, true));
				if (fresh.length > 0) {
					await this.#fanOut(ctx, group, fresh, touched);
					await this.#store.feedState.markSeen(
						queryKey,
						fresh.map((post) => post.id),
					);
					this.#log.debug({ queryKey, fresh: fresh.length, subscriptions: group.length }, "new posts queued");
				}
			}
			state.lastPolledAt = now;
			state.failures = 0;
			state.backoffUntil = 0;
			await this.#setCursor(queryKey, {
				lastPolledAt: iso(now),
				frontier: result.frontier,
				failures: 0,
				backoffUntil: null,
				slowedUntil: period > this.intervalMs ? iso(now + period) : null,
			});
		} catch (error) {
			if (error instanceof PollIncompleteError) {
				report.deferred++;
				await this.#setCursor(queryKey, { slowedUntil: iso(this.#budget.resumeAt(now)) });
				return;
			}
			if (error instanceof ImgpileRateLimitError) {
				this.#budget.rateLimited(now, error.retryAfterMs);
				report.deferred++;
				this.#log.warn(
					{ queryKey, retryAfterMs: error.retryAfterMs, pausedUntil: iso(this.#budget.pausedUntil) },
					"imgpile rate limited the feeds: polling slows down",
				);
				await this.#setCursor(queryKey, { slowedUntil: iso(this.#budget.pausedUntil) });
				return;
			}
			report.pollFailures++;
			state.failures++;
			const wait = Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** (state.failures - 1));
			state.backoffUntil = now + wait;
			this.#log.warn(
				{ err: error, queryKey, failures: state.failures, retryAt: iso(state.backoffUntil) },
				"feed poll failed; backing off this query",
			);
			await this.#setCursor(queryKey, { failures: state.failures, backoffUntil: iso(state.backoffUntil) });
		} finally {
			report.requests += requests;
		}
	}

	async #setCursor(queryKey: string, patch: Partial<FeedCursor>): Promise<void> {
		await this.#store.feedState.setCursor(queryKey, patch);
	}

	/** Step 4: every active subscription of the query gets an outbox entry per post (oldest first). */
	async #fanOut(ctx: CycleContext, group: FeedSubscription[], posts: Post[], touched: Set<string>): Promise<void> {
		const payloads = posts.map(payloadOf);
		await mapLimit(group, this.#concurrency, async (sub) => {
			const dueAt = sub.mode === "digest" ? (sub.nextDigestAt ?? iso(ctx.now)) : null;
			for (const payload of payloads) {
				const { created } = await this.#store.outbox.put({
					subscriptionId: sub.id,
					postId: payload.id,
					payload,
					dueAt,
				});
				if (created) ctx.report.queued++;
			}
			if (sub.mode === "live") touched.add(sub.id);
		});
	}

	// ── Delivery ──────────────────────────────────────────────────────────────

	async #deliverAll(ctx: CycleContext, subs: FeedSubscription[], touched: Set<string>): Promise<void> {
		const { now } = ctx;
		const ids = new Set(touched);
		for (const [id, at] of this.#retryAt) {
			if (at <= now) {
				ids.add(id);
				this.#retryAt.delete(id);
			}
		}
		for (const sub of subs) {
			if (sub.mode === "digest" && isActive(sub) && sub.nextDigestAt && Date.parse(sub.nextDigestAt) <= now) {
				ids.add(sub.id);
			}
		}
		// Now and then (and first thing as leader: after a restart), everything left in the outbox.
		if (now - this.#fullScanAt >= this.intervalMs) {
			this.#fullScanAt = now;
			const known = new Set(subs.map((sub) => sub.id));
			for (const entry of await this.#store.outbox.pending()) {
				const due = entry.dueAt === null || Date.parse(entry.dueAt) <= now;
				if (due || entry.attempts > 0 || entry.state === "sent" || !known.has(entry.subscriptionId)) {
					ids.add(entry.subscriptionId);
				}
			}
		}
		await mapLimit([...ids], this.#concurrency, (id) => this.#deliverSubscription(ctx, id));
	}

	async #deliverSubscription(ctx: CycleContext, subscriptionId: string): Promise<void> {
		if (this.#stopped) return;
		await this.#locks.run(subscriptionId, async () => {
			const sub = await this.#store.subscriptions.get(subscriptionId);
			if (!sub) {
				const dropped = await this.#store.outbox.removeForSubscription(subscriptionId);
				if (dropped > 0) this.#log.info({ subscriptionId, dropped }, "dropped deliveries of a removed subscription");
				return;
			}
			if (!isActive(sub)) return;
			if (sub.mode === "digest") {
				const due = sub.nextDigestAt !== null && Date.parse(sub.nextDigestAt) <= ctx.now;
				await this.#digest(ctx, sub, due ? "scheduled" : "recover");
				return;
			}
			const entries = await this.#store.outbox.pending({ subscriptionId, dueBefore: ctx.now });
			let delivered = false;
			for (const entry of entries) {
				// Stopping: what is left stays in the outbox for the next process.
				if (this.#stopped) break;
				const outcome = await this.#deliverLive(ctx, sub, entry);
				if (outcome === "stop") break;
				if (outcome === "delivered") delivered = true;
			}
			if (delivered) await this.#store.subscriptions.update(sub.id, { lastDeliveryAt: iso(ctx.now) });
		});
	}

	async #deliverLive(
		ctx: CycleContext,
		sub: FeedSubscription,
		entry: OutboxEntry,
	): Promise<"delivered" | "skipped" | "stop"> {
		if (entry.state === "sent") {
			// Discord accepted it before a crash: finish, do not send again.
			await this.#store.outbox.done(entry.key);
			ctx.report.recovered++;
			return "delivered";
		}
		const payload = entry.payload;
		if (!isPayload(payload)) {
			this.#log.error({ key: entry.key }, "outbox entry without a readable post: dropped");
			await this.#store.outbox.done(entry.key);
			return "skipped";
		}
		let channel: ChannelInfo | undefined;
		try {
			channel = await this.#discord.channelInfo(sub.channelId, sub.guildId);
		} catch (error) {
			// A failed lookup never counts as a refused delivery (attempts 0): only 404/403 stop the feed.
			return this.#failed(ctx, sub, 0, error, [entry.key]);
		}
		if (!channel) return this.#waitForChannel(ctx, sub);
		const channelNsfw = channel.nsfw;
		if (!mayAnnounce(payload.status, channelNsfw)) {
			this.#log.info(
				{ key: entry.key, status: payload.status, channelId: sub.channelId },
				"post not announced here (NSFW outside an age-restricted channel)",
			);
			await this.#store.outbox.done(entry.key);
			return "skipped";
		}
		if (entry.attempts > 0) {
			const found = await this.#alreadyPosted(ctx, sub, entry.key);
			if (found === "stop") return "stop";
			if (found) {
				await this.#store.outbox.recordSent(entry.key, found);
				await this.#store.outbox.done(entry.key);
				ctx.report.recovered++;
				this.#log.info(
					{ key: entry.key, messageId: found },
					"delivery had reached Discord before a restart: not sent again",
				);
				return "delivered";
			}
		}
		const t = this.#translatorFor(sub.guildId);
		const body = announcement(t, payload, { channelNsfw, marker: entry.key });
		const info: DeliveryInfo = { subscriptionId: sub.id, channelId: sub.channelId, keys: [entry.key], kind: "live" };
		await this.#store.outbox.bumpAttempt(entry.key);
		await this.#hooks.beforeSend?.(info);
		let messageId: string;
		try {
			messageId = (await this.#discord.send(sub.channelId, body)).id;
		} catch (error) {
			return this.#failed(ctx, sub, entry.attempts + 1, error, [entry.key]);
		}
		await this.#hooks.afterAccepted?.({ ...info, messageId });
		await this.#store.outbox.recordSent(entry.key, messageId);
		await this.#store.outbox.done(entry.key);
		ctx.report.delivered++;
		return "delivered";
	}

	/**
	 * Whether a bot message carrying `marker` is among the channel's recent messages (its id), so a
	 * delivery that may have reached Discord before a crash is not sent twice.
	 */
	async #alreadyPosted(ctx: CycleContext, sub: FeedSubscription, marker: string): Promise<string | undefined | "stop"> {
		let messages = ctx.history.get(sub.channelId);
		if (!messages) {
			messages = this.#discord.recentMessages(sub.channelId, this.#historyLimit);
			ctx.history.set(sub.channelId, messages);
		}
		let list: Awaited<typeof messages>;
		try {
			list = await messages;
		} catch (error) {
			const outcome = await this.#failed(ctx, sub, 0, error, [marker]);
			return outcome === "stop" ? "stop" : undefined;
		}
		const me = this.#discord.botUserId();
		return list.find((message) => (me === undefined || message.author?.id === me) && carriesMarker(message, marker))
			?.id;
	}

	async #failed(
		ctx: CycleContext,
		sub: FeedSubscription,
		attempts: number,
		error: unknown,
		keys: string[],
	): Promise<"stop" | "skipped"> {
		ctx.report.deliveryFailures++;
		const failure = classifyDiscordError(error);
		switch (failure.kind) {
			case "gone":
			case "forbidden":
				await this.#disable(sub, failure.reason);
				return "stop";
			case "invalid":
				if (attempts >= 3) {
					this.#log.error({ err: error, keys }, "Discord keeps refusing this delivery: dropped");
					for (const key of keys) await this.#store.outbox.done(key);
					return "skipped";
				}
				this.#log.warn({ err: error, keys, attempts }, "Discord refused a delivery; will try again");
				this.#retryAt.set(sub.id, ctx.now + this.intervalMs);
				return "stop";
			case "transient": {
				const wait = Math.min(MAX_BACKOFF_MS, 5_000 * 2 ** Math.min(8, Math.max(0, attempts - 1)));
				this.#log.warn({ err: error, keys, attempts, retryInMs: wait }, "delivery failed; will try again");
				this.#retryAt.set(sub.id, ctx.now + wait);
				return "stop";
			}
		}
	}

	/**
	 * The channel's guild is in an outage (its channels stale, or not even cached when the bot
	 * started during it): what the channel allows is unknown, so nothing is sent or dropped now.
	 * The entries wait for a later cycle; only Discord's own 404/403 disables a feed.
	 */
	async #waitForChannel(ctx: CycleContext, sub: FeedSubscription): Promise<"stop"> {
		this.#log.info(
			{ subscriptionId: sub.id, guildId: sub.guildId, channelId: sub.channelId },
			"feed channel's guild is unavailable (Discord outage): deliveries wait",
		);
		this.#retryAt.set(sub.id, ctx.now + this.intervalMs);
		return "stop";
	}

	/** 403/404: the subscription stops (entries kept), the reason is recorded, the guild is told once. */
	async #disable(sub: FeedSubscription, reason: DisableReason): Promise<void> {
		const current = await this.#store.subscriptions.get(sub.id);
		if (!current || current.disabledReason !== null) return;
		await this.#store.subscriptions.update(sub.id, { disabledReason: reason });
		this.changed();
		this.#log.warn(
			{ subscriptionId: sub.id, guildId: sub.guildId, channelId: sub.channelId, reason },
			"feed subscription disabled",
		);
		try {
			await this.#notifyDisabled(current, reason);
		} catch (error) {
			this.#log.warn({ err: error, subscriptionId: sub.id }, "could not tell the guild that a feed stopped");
		}
	}

	async #notifyDisabled(sub: FeedSubscription, reason: DisableReason): Promise<void> {
		const guild = this.#discord.guild(sub.guildId);
		const t = this.#translatorFor(sub.guildId);
		const body = disabledNotice(t, {
			subscriptionId: sub.id,
			channelId: sub.channelId,
			reason,
			guildName: guild?.name ?? sub.guildId,
			filters: sub.filters,
		});
		const system = guild?.systemChannelId;
		if (system && system !== sub.channelId) {
			try {
				await this.#discord.send(system, body);
				return;
			} catch (error) {
				this.#log.debug({ err: error, channelId: system }, "system channel refused the notice; trying a DM");
			}
		}
		await this.#discord.dm(sub.createdBy, body);
	}

	// ── Digests ───────────────────────────────────────────────────────────────

	/**
	 * A digest: first finishes one interrupted by a crash (entries marked sent, or attempted and
	 * found in the channel: done without sending again); then, when due (or asked), sends what
	 * has gathered as one message and schedules the next.
	 */
	async #digest(ctx: CycleContext, sub: FeedSubscription, mode: "scheduled" | "manual" | "recover"): Promise<number> {
		let entries = await this.#store.outbox.pending({ subscriptionId: sub.id });
		const inflight = entries.filter((entry) => entry.state === "sent" || entry.attempts > 0);
		if (inflight.length > 0 && !(mode === "recover" && this.#digestChecked.has(sub.id))) {
			let messageId = inflight.find((entry) => entry.state === "sent")?.discordMessageId ?? undefined;
			const oldest = inflight[0];
			if (!messageId && oldest) {
				const found = await this.#alreadyPosted(ctx, sub, digestMarker(oldest.key));
				if (found === "stop") return 0;
				messageId = found;
			}
			if (messageId) {
				for (const entry of inflight) {
					if (entry.state !== "sent") await this.#store.outbox.recordSent(entry.key, messageId);
					await this.#store.outbox.done(entry.key);
				}
				ctx.report.recovered += inflight.length;
				this.#log.info({ subscriptionId: sub.id, messageId }, "digest had reached Discord before a restart");
				const done = new Set(inflight.map((entry) => entry.key));
				entries = entries.filter((entry) => !done.has(entry.key));
			} else {
				this.#digestChecked.add(sub.id);
			}
		}
		if (mode === "recover") return 0;

		let channel = this.#discord.channel(sub.channelId);
		if (mode === "scheduled") {
			try {
				channel = await this.#discord.channelInfo(sub.channelId, sub.guildId);
			} catch (error) {
				await this.#failed(ctx, sub, 0, error, []);
				return 0;
			}
			if (!channel) {
				// Still due next cycle: nextDigestAt stays where it is.
				await this.#waitForChannel(ctx, sub);
				return 0;
			}
		}
		const channelNsfw = channel?.nsfw ?? false;
		const queued: OutboxEntry[] = [];
		for (const entry of entries) {
			if (isPayload(entry.payload) && mayAnnounce(entry.payload.status, channelNsfw)) queued.push(entry);
			else await this.#store.outbox.done(entry.key);
		}
		// The posts as they are now: one that became NSFW, rejected, hidden or private, or was
		// deleted since it was queued, goes by its new state (dropped unless still announceable here).
		const keep = (post: FeedPostPayload | null | undefined): boolean =>
			post !== null && post !== undefined && stillListed(post, sub) && mayAnnounce(post.status, channelNsfw);
		let fresh: Map<number, FeedPostPayload | null>;
		try {
			fresh = await this.#recheck(
				ctx,
				sub,
				queued.map((entry) => entry.payload as FeedPostPayload),
				{ force: mode === "manual", keep },
			);
		} catch (error) {
			if (!(error instanceof RecheckLater) || mode === "manual") throw error;
			ctx.report.deferred++;
			this.#log.info(
				{ subscriptionId: sub.id, reason: error.message },
				"digest waits: its posts cannot be re-checked now",
			);
			return 0;
		}
		const batch: OutboxEntry[] = [];
		const posts: FeedPostPayload[] = [];
		for (const entry of queued) {
			const post = fresh.get(entry.postId);
			if (post && keep(post)) {
				batch.push(entry);
				posts.push(post);
			} else {
				this.#log.info(
					{ key: entry.key, status: post?.status ?? "gone" },
					"queued post no longer announced here: dropped",
				);
				await this.#store.outbox.done(entry.key);
			}
		}
		const oldest = batch[0];
		if (!oldest) {
			if (mode === "scheduled") await this.#scheduleNextDigest(sub, ctx.now);
			return 0;
		}
		const body = digest(this.#translatorFor(sub.guildId), posts, {
			channelNsfw,
			marker: digestMarker(oldest.key),
			filters: sub.filters,
			subscriptionId: sub.id,
		});
		const keys = batch.map((entry) => entry.key);
		const info: DeliveryInfo = { subscriptionId: sub.id, channelId: sub.channelId, keys, kind: "digest" };
		for (const key of keys) await this.#store.outbox.bumpAttempt(key);
		this.#digestChecked.delete(sub.id);
		await this.#hooks.beforeSend?.(info);
		let messageId: string;
		try {
			messageId = (await this.#discord.send(sub.channelId, body)).id;
		} catch (error) {
			if (mode === "manual") {
				const failure = classifyDiscordError(error);
				if (failure.kind === "gone" || failure.kind === "forbidden") await this.#disable(sub, failure.reason);
				throw new FeedSendError(
					failure.kind === "gone" || failure.kind === "forbidden" ? failure.reason : failure.kind,
					{ cause: error },
				);
			}
			await this.#failed(ctx, sub, oldest.attempts + 1, error, keys);
			return 0;
		}
		await this.#hooks.afterAccepted?.({ ...info, messageId });
		for (const key of keys) await this.#store.outbox.recordSent(key, messageId);
		for (const key of keys) await this.#store.outbox.done(key);
		ctx.report.digests++;
		await this.#store.subscriptions.update(sub.id, { lastDeliveryAt: iso(ctx.now) });
		if (mode === "scheduled") await this.#scheduleNextDigest(sub, ctx.now);
		return batch.length;
	}

	async #scheduleNextDigest(sub: FeedSubscription, now: number): Promise<void> {
		const { timezone } = await this.#store.guilds.get(sub.guildId);
		const next = nextDigestTime(sub, timezone, now, parseTime(sub.nextDigestAt));
		await this.#store.subscriptions.update(sub.id, { nextDigestAt: iso(next) });
		this.changed();
	}

	/**
	 * The queued posts as imgpile has them now, by id (null: gone, or no longer public). One
	 * listing of the query (newest first, a few pages at most, shared by the digests of this cycle)
	 * settles every post it covers: listed means public and current (fresh score, title, status,
	 * preview), absent means hidden, private, rejected, deleted or out of the query now. Older posts
	 * are read one GET each (remembered for a few minutes, so a digest that had to wait does not
	 * read them again), best score first, only until the digest has as many posts to show as it
	 * shows (embeds and links): the rest are only counted, ranked last. Throws RecheckLater when the
	 * budget (unless `force`) or imgpile does not allow it now: the digest then waits rather than
	 * showing what it could not check.
	 */
	async #recheck(
		ctx: CycleContext,
		sub: FeedSubscription,
		posts: FeedPostPayload[],
		options: { force: boolean; keep: (post: FeedPostPayload | null) => boolean },
	): Promise<Map<number, FeedPostPayload | null>> {
		const { force, keep } = options;
		const out = new Map<number, FeedPostPayload | null>();
		if (posts.length === 0) return out;
		for (const [id, read] of this.#rechecked) if (read.at <= ctx.now - RECHECK_TTL_MS) this.#rechecked.delete(id);
		const spend = () => {
			if (!force && !this.#budget.canSpend(ctx.now)) throw new RecheckLater("imgpile budget");
			this.#budget.spent(ctx.now);
			ctx.report.requests++;
		};
		const queryKey = queryKeyOf(sub.filters);
		let listing = ctx.listings.get(queryKey);
		if (!listing) {
			// A listing read in the last minute still holds (a digest waiting for the budget must not
			// spend it on the same listing every cycle).
			for (const [key, read] of this.#recentListings) {
				if (read.at <= ctx.now - LISTING_TTL_MS) this.#recentListings.delete(key);
			}
			const recent = this.#recentListings.get(queryKey);
			const oldest = posts.reduce((min, post) => Math.min(min, Date.parse(post.createdAt) || 0), Infinity);
			listing = recent
				? Promise.resolve(recent.listing)
				: this.#digestListing(ctx, sub, oldest, spend).then((read) => {
						if (read) this.#recentListings.set(queryKey, { listing: read, at: ctx.now });
						return read;
					});
			ctx.listings.set(queryKey, listing);
		}
		const listed = await listing;
		const unchecked: FeedPostPayload[] = [];
		for (const post of posts) {
			const found = listed?.posts.get(post.id);
			const remembered = this.#rechecked.get(post.id);
			if (found) out.set(post.id, payloadOf(found));
			else if (listed && Date.parse(post.createdAt) > listed.coversAfter) out.set(post.id, null);
			else if (remembered) out.set(post.id, remembered.post);
			else unchecked.push(post);
		}
		let shown = [...out.values()].filter(keep).length;
		const client = this.#imgpile.as(this.#token);
		for (const post of unchecked.sort(byScore)) {
			if (shown >= DIGEST_EMBEDS + DIGEST_MORE_LINKS) {
				// Never shown (not even as a link): counted as it was queued, after every checked post.
				out.set(post.id, { ...post, score: Number.MIN_SAFE_INTEGER });
				continue;
			}
			spend();
			let read: FeedPostPayload | null;
			try {
				const current = await client.getPost(post.slug, { perPage: 1, signal: AbortSignal.timeout(15_000) });
				read = isPublic(current) ? payloadOf(current) : null;
			} catch (error) {
				if (!(error instanceof ImgpileNotFoundError)) {
					if (error instanceof ImgpileRateLimitError) this.#budget.rateLimited(ctx.now, error.retryAfterMs);
					if (force) throw error;
					throw new RecheckLater("imgpile could not be read", { cause: error });
				}
				read = null;
			}
			this.#rechecked.set(post.id, { post: read, at: ctx.now });
			out.set(post.id, read);
			if (keep(read)) shown++;
		}
		return out;
	}

	/** Pages of the query, newest first, until they reach back to `oldest` (or RECHECK_MAX_PAGES); null if imgpile failed. */
	async #digestListing(
		ctx: CycleContext,
		sub: FeedSubscription,
		oldest: number,
		spend: () => void,
	): Promise<DigestListing | null> {
		const listing: DigestListing = { posts: new Map(), coversAfter: Number.POSITIVE_INFINITY };
		try {
			spend();
			let fetched: FetchedPage | null = await this.#source.first(sub.filters, RECHECK_PAGE_SIZE);
			for (let pages = 1; fetched; pages++) {
				this.#budget.observe(ctx.now, fetched.limit, fetched.remaining);
				for (const post of fetched.page.data) {
					listing.posts.set(post.id, post);
					listing.coversAfter = Math.min(listing.coversAfter, Date.parse(post.created_at) || 0);
				}
				if (!fetched.page.links.next) {
					listing.coversAfter = Number.NEGATIVE_INFINITY;
					break;
				}
				if (listing.coversAfter < oldest || pages >= RECHECK_MAX_PAGES || !this.#budget.canSpend(ctx.now)) break;
				spend();
				fetched = await this.#source.next(fetched.page);
			}
		} catch (error) {
			if (error instanceof RecheckLater) return listing.posts.size > 0 ? listing : null;
			if (error instanceof ImgpileRateLimitError) this.#budget.rateLimited(ctx.now, error.retryAfterMs);
			this.#log.debug(
				{ err: error, subscriptionId: sub.id },
				"could not list the digest's query; re-checking post by post",
			);
			return listing.posts.size > 0 ? listing : null;
		}
		return listing;
	}

	// ── For /feed ─────────────────────────────────────────────────────────────

	async backfill(sub: FeedSubscription): Promise<number> {
		if (sub.backfill <= 0) return 0;
		const now = this.#now();
		this.#budget.spent(now);
		const fetched = await this.#source.first(sub.filters, Math.min(sub.backfill, this.#pageSize));
		this.#budget.observe(now, fetched.limit, fetched.remaining);
		const posts = fetched.page.data
			.filter((post) => mayAnnounce(post.moderation_status, sub.filters.nsfw))
			.slice(0, sub.backfill)
			.reverse();
		const dueAt = sub.mode === "digest" ? (sub.nextDigestAt ?? null) : null;
		let queued = 0;
		for (const post of posts) {
			const { created } = await this.#store.outbox.put({
				subscriptionId: sub.id,
				postId: post.id,
				payload: payloadOf(post),
				dueAt,
			});
			if (created) queued++;
		}
		if (sub.mode === "live") this.#retryAt.set(sub.id, now);
		return queued;
	}

	async reactivated(sub: FeedSubscription): Promise<void> {
		const queryKey = queryKeyOf(sub.filters);
		const others = (await this.#store.subscriptions.listAll()).filter(
			(other) => other.id !== sub.id && isActive(other) && queryKeyOf(other.filters) === queryKey,
		);
		if (others.length === 0) {
			// Nobody followed this query meanwhile: read it afresh, as a new query.
			await this.#store.feedState.forget(queryKey);
			this.#queries.delete(queryKey);
		}
		if (sub.mode === "live") this.#retryAt.set(sub.id, this.#now());
		this.changed();
	}

	async sendTest(sub: FeedSubscription): Promise<"sent" | "nothing"> {
		const now = this.#now();
		this.#budget.spent(now);
		const fetched = await this.#source.first(sub.filters, 10);
		this.#budget.observe(now, fetched.limit, fetched.remaining);
		const channelNsfw = this.#discord.channel(sub.channelId)?.nsfw ?? false;
		const post = fetched.page.data.find((candidate) => mayAnnounce(candidate.moderation_status, channelNsfw));
		if (!post) return "nothing";
		const body = testAnnouncement(this.#translatorFor(sub.guildId), payloadOf(post), {
			channelNsfw,
			subscriptionId: sub.id,
		});
		try {
			await this.#discord.send(sub.channelId, body);
		} catch (error) {
			const failure = classifyDiscordError(error);
			throw new FeedSendError(failure.kind === "gone" || failure.kind === "forbidden" ? failure.reason : failure.kind, {
				cause: error,
			});
		}
		return "sent";
	}

	async sendDigestNow(sub: FeedSubscription): Promise<number> {
		const now = this.#now();
		const ctx: CycleContext = {
			now,
			report: emptyReport(this.#leader, this.#periodMs),
			history: new Map(),
			listings: new Map(),
		};
		return this.#locks.run(sub.id, () => this.#digest(ctx, sub, "manual"));
	}

	#translatorFor(guildId: string): Translate {
		const locale: Locale = pickLocale(undefined, this.#discord.guild(guildId)?.preferredLocale);
		return translator(locale);
	}
}

/** Whether the subscription's query would still list a post in its current state. */
function stillListed(post: FeedPostPayload, sub: FeedSubscription): boolean {
	return post.status === "approved" || (post.status === "nsfw" && sub.filters.nsfw);
}

function isActive(sub: FeedSubscription): boolean {
	return !sub.paused && sub.disabledReason === null;
}

function iso(ms: number): string {
	return new Date(ms).toISOString();
}

function parseTime(value: string | null | undefined): number | null {
	if (!value) return null;
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? null : ms;
}

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first error (after all settle). */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
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

/** A cycle's report before anything happened. */
function emptyReport(leader: boolean, periodMs: number): TickReport {
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
	};
}
