/**
 * The feed scheduler: one cycle (`tick()`) polls the queries whose slot has come, queues what is
 * new in the outbox, and delivers the outbox to Discord. A timer runs a cycle every `tickMs` in
 * production; tests call `tick()` themselves on a clock they move by hand.
 *
 * A cycle, step by step (the numbers are the crash-safety invariants); this file holds steps 1–2,
 * polling.ts 3–4, delivery.ts 5, digests.ts 6, control.ts what `/feed` asks:
 * 1. Lease: only the process holding the `feeds` lease polls and delivers; others idle. The
 *    lease is renewed while a cycle runs, and its fence goes with every outbox, seen-set and
 *    cursor write: a leader that stalled past its lease and wakes up writes (and so sends) nothing.
 * 2. Subscriptions are grouped by `pollKeyOf(filters)`: all those without a tag filter share one
 *    firehose poll (`?nsfw=1`), those with one share a poll per tag; user and NSFW filters are
 *    applied by the bot (`filteredBy`). One imgpile request per poll and period (plus pages for
 *    bursts) however many guilds and filter combinations share it. Each poll has a slot in the
 *    period (hash of its key), so polls spread over the period instead of firing together. The
 *    period is `FEED_POLL_INTERVAL`, stretched when the polls would not fit imgpile's budget.
 * 3. Poll: the first poll of a key marks what it reads as seen and announces nothing (unless its
 *    subscriptions have state from the former per-combination keys: see polling.ts); later polls
 *    announce posts not seen before (see poller.ts), oldest first.
 * 4. For each new post and each active subscription of the poll whose filters it passes:
 *    `outbox.put` (durable) — then, only then, `feedState.markSeen`. A crash in between re-reads
 *    the posts next time, and the outbox refuses duplicates.
 * 5. Delivery per subscription, oldest first: `bumpAttempt` → Discord → `recordSent` → `done`.
 *    The message carries its outbox key in its embed footer (and as an enforced nonce). An entry
 *    with attempts > 0 that is not known as sent may or may not have reached Discord: the
 *    channel's recent messages are checked for the footer key before sending again (reads carry
 *    no nonce), and a resend within Discord's nonce window gets the first message back. So a
 *    crash at any point neither loses nor repeats.
 * 6. Digest subscriptions: entries wait; at the subscription's time they go out as one message.
 * 7. Personal notifications (notify-*.ts): queued by the polls of step 4 for the users who follow
 *    a post's author or asked for its tag, sent as one batch DM per user at most every `every`,
 *    outside their quiet hours, with the outbox's invariants.
 */
import { hostname } from "node:os";
import { type FeedSubscription, type NotifyProfile, pollKeyOf, StoreFencedError } from "../store/index.js";
import { FeedControlApi } from "./control.js";
import { deliverAll } from "./delivery.js";
import { deliverNotifications } from "./notify-deliver.js";
import { refreshFollows } from "./notify-refresh.js";
import { notifyPollKeys, watchersOf } from "./notify-watchers.js";
import { pollDue } from "./polling.js";
import {
	type CycleContext,
	createRuntime,
	emptyReport,
	FEED_LEASE,
	type FeedServiceOptions,
	isActive,
	type TickReport,
} from "./runtime.js";

/** The active subscriptions by poll key (`pollKeyOf`): one imgpile poll per group. */
export function groupByPoll(subs: readonly FeedSubscription[]): Map<string, FeedSubscription[]> {
	const groups = new Map<string, FeedSubscription[]>();
	for (const sub of subs) {
		if (!isActive(sub)) continue;
		const key = pollKeyOf(sub.filters);
		const group = groups.get(key);
		if (group) group.push(sub);
		else groups.set(key, [sub]);
	}
	return groups;
}

/** The scheduler: the lease, the timer, the cycle; the jobs themselves live in polling, delivery, digests and control. */
export class FeedService extends FeedControlApi {
	readonly #tickMs: number;
	readonly #leaseTtlMs: number;
	readonly #owner: string;
	#subscriptions: { subs: FeedSubscription[]; loadedAt: number } | undefined;
	#notify: { profiles: NotifyProfile[]; loadedAt: number } | undefined;
	#chain: Promise<unknown> = Promise.resolve();
	#timer: NodeJS.Timeout | undefined;

	constructor(options: FeedServiceOptions) {
		super(createRuntime(options));
		this.#tickMs = options.tickMs ?? 1_000;
		this.#leaseTtlMs = options.leaseTtlMs ?? Math.max(15_000, 3 * this.#tickMs);
		this.#owner = options.owner ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
	}

	/** Starts the timer (one cycle every `tickMs`). */
	start(): void {
		const rt = this.runtime;
		if (this.#timer || rt.stopped) return;
		const loop = async () => {
			try {
				await this.tick();
			} catch (error) {
				rt.log.error({ err: error }, "feed cycle failed");
			}
			if (!rt.stopped) {
				this.#timer = setTimeout(loop, this.#tickMs);
				this.#timer.unref();
			}
		};
		this.#timer = setTimeout(loop, 0);
		this.#timer.unref();
	}

	/** Stops the timer, waits for the cycle in flight, gives the lease up. */
	async stop(): Promise<void> {
		const rt = this.runtime;
		rt.stopped = true;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = undefined;
		await this.#chain.catch(() => undefined);
		if (rt.leader) {
			await rt.store.lease.release(FEED_LEASE, this.#owner).catch((error: unknown) => {
				rt.log.warn({ err: error }, "could not release the feed lease");
			});
			rt.leader = false;
			rt.fence = undefined;
		}
		if (rt.ownsSource) await rt.source.close().catch(() => undefined);
	}

	/** One scheduler cycle, now (after the one in flight, if any). */
	tick(): Promise<TickReport> {
		const run = this.#chain.catch(() => undefined).then(() => this.#cycle());
		this.#chain = run;
		return run;
	}

	// ── The cycle ─────────────────────────────────────────────────────────────

	async #cycle(): Promise<TickReport> {
		const rt = this.runtime;
		const now = rt.now();
		const report = emptyReport(false, rt.periodMs);
		if (rt.stopped) return report;
		let renewal: NodeJS.Timeout | undefined;
		try {
			if (!(await this.#lead(now))) return report;
			// A long cycle (a delivery burst under Discord's limits) must not outlive the lease.
			renewal = setInterval(() => void this.#lead(rt.now()), Math.max(1_000, this.#leaseTtlMs / 3));
			renewal.unref();
			report.leader = true;
			const ctx: CycleContext = { now, fence: rt.fence, report, history: new Map(), listings: new Map() };
			const subs = await this.#loadSubscriptions();
			const groups = groupByPoll(subs);
			ctx.notify = watchersOf(await this.#loadNotify());
			// Notifications ride on the feed polls; a tag no feed uses gets a poll of its own.
			for (const key of notifyPollKeys(ctx.notify)) if (!groups.has(key)) groups.set(key, []);
			report.queries = groups.size;
			rt.queryCount = groups.size;
			// The hourly follow-list refreshes share the period with the polls.
			const period = rt.budget.period(rt.intervalMs, groups.size, now);
			if (period !== rt.periodMs) {
				rt.log.info({ periodMs: period, configuredMs: rt.intervalMs, queries: groups.size }, "feed poll period");
				rt.periodMs = period;
			}
			report.periodMs = period;

			const touched = new Set<string>();
			await pollDue(rt, ctx, groups, period, touched);
			await deliverAll(rt, ctx, subs, touched);
			await refreshFollows(rt, ctx);
			await deliverNotifications(rt, ctx);
			return report;
		} catch (error) {
			if (error instanceof StoreFencedError) {
				// Another process leads now; what this cycle left undone is in the outbox for it.
				rt.log.warn("feed cycle stopped: its write was fenced off (another process leads)");
				this.#follow("feed lease lost mid-cycle (fenced): another process polls now");
				return { ...report, leader: false };
			}
			rt.log.error({ err: error }, "feed cycle stopped by an error");
			throw error;
		} finally {
			clearInterval(renewal);
		}
	}

	/** Takes or renews the feed lease; false (and follower from now on) when another process holds it. */
	async #lead(now: number): Promise<boolean> {
		const rt = this.runtime;
		let lease: Awaited<ReturnType<typeof rt.store.lease.acquire>>;
		try {
			lease = await rt.store.lease.acquire(FEED_LEASE, this.#owner, this.#leaseTtlMs, now);
		} catch (error) {
			// Store unreachable: keep the fence; if the lease lapses meanwhile, the fenced writes fail.
			rt.log.warn({ err: error }, "could not renew the feed lease");
			return rt.leader;
		}
		if (!lease.held || !lease.fence) {
			if (rt.leader) this.#follow("feed lease lost: another process polls now", lease.owner);
			return false;
		}
		if (!rt.leader || rt.fence?.token !== lease.fence.token) {
			rt.log.info({ owner: this.#owner, token: lease.fence.token }, "feed lease taken: this process polls the feeds");
			rt.leader = true;
			rt.fullScanAt = Number.NEGATIVE_INFINITY;
			rt.notifyScanAt = Number.NEGATIVE_INFINITY;
			rt.queries.clear();
		}
		rt.fence = lease.fence;
		return true;
	}

	#follow(message: string, holder?: string): void {
		const rt = this.runtime;
		if (rt.leader) rt.log.warn({ holder }, message);
		rt.leader = false;
		rt.fence = undefined;
	}

	async #loadSubscriptions(): Promise<FeedSubscription[]> {
		const rt = this.runtime;
		// Changes made by another process show within 10 s; this process's own at once.
		const cached = this.#subscriptions;
		if (cached && !rt.dirty && performance.now() - cached.loadedAt < 10_000) return cached.subs;
		if (rt.dirty) rt.notifyScanAt = Number.NEGATIVE_INFINITY;
		rt.dirty = false;
		const subs = await rt.store.subscriptions.listAll();
		this.#subscriptions = { subs, loadedAt: performance.now() };
		this.#notify = undefined;
		return subs;
	}

	/** Users with personal notifications on; re-read with the subscriptions (`changed()` marks both). */
	async #loadNotify(): Promise<NotifyProfile[]> {
		const cached = this.#notify;
		if (cached && performance.now() - cached.loadedAt < 10_000) return cached.profiles;
		const profiles = await this.runtime.store.notify.listActive();
		this.#notify = { profiles, loadedAt: performance.now() };
		return profiles;
	}
}
