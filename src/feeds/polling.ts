/**
 * Polling (steps 2–4 of a cycle, see scheduler.ts): each query whose slot has come is read
 * once for all its subscriptions, within imgpile's budget; failures back the query off. What is
 * new goes to every active subscription's outbox (durable) before it is marked seen, so a crash
 * in between re-reads the posts and the outbox refuses the duplicates.
 */

import { mayAnnounce } from "../discord/index.js";
import { ImgpileRateLimitError, type Post } from "../imgpile/index.js";
import type { FeedCursor, FeedSubscription } from "../store/index.js";
import { PollIncompleteError, pollQuery } from "./poller.js";
import { payloadOf } from "./render.js";
import {
	type CycleContext,
	type FeedRuntime,
	iso,
	MAX_BACKOFF_MS,
	mapLimit,
	parseTime,
	type QueryState,
} from "./runtime.js";
import { slotOffset, slotPassed } from "./schedule.js";
import { isScoreGated, observePolled } from "./sync.js";

async function queryState(rt: FeedRuntime, queryKey: string): Promise<QueryState> {
	let state = rt.queries.get(queryKey);
	if (!state) {
		const cursor = await rt.store.feedState.getCursor(queryKey);
		state = {
			lastPolledAt: parseTime(cursor.lastPolledAt),
			backoffUntil: parseTime(cursor.backoffUntil) ?? 0,
			failures: cursor.failures,
		};
		rt.queries.set(queryKey, state);
	}
	return state;
}

export async function pollDue(
	rt: FeedRuntime,
	ctx: CycleContext,
	groups: Map<string, FeedSubscription[]>,
	period: number,
	touched: Set<string>,
): Promise<void> {
	const { now } = ctx;
	const due: Array<{ queryKey: string; group: FeedSubscription[]; state: QueryState }> = [];
	for (const [queryKey, group] of groups) {
		const state = await queryState(rt, queryKey);
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
		if (rt.stopped) return;
		if (!rt.budget.canSpend(now)) {
			const until = rt.budget.resumeAt(now);
			const deferred = due.slice(index);
			ctx.report.deferred += deferred.length;
			rt.metrics?.feedPolls("deferred", deferred.length);
			rt.log.info({ deferred: deferred.length, until: iso(until) }, "imgpile budget: polls put off");
			for (const rest of deferred) await setCursor(rt, ctx, rest.queryKey, { slowedUntil: iso(until) });
			return;
		}
		await poll(rt, ctx, item.queryKey, item.group, item.state, period, touched);
	}
}

async function poll(
	rt: FeedRuntime,
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
	const seeding = !(await rt.store.feedState.isSeeded(queryKey));
	const seen = seeding ? new Set<number>() : await rt.store.feedState.getSeen(queryKey);
	const frontier = seeding ? null : ((await rt.store.feedState.getCursor(queryKey)).frontier ?? null);
	let requests = 0;
	rt.budget.spent(now);
	requests++;
	try {
		const result = await pollQuery({
			source: rt.source,
			filters: first.filters,
			seen,
			frontier,
			seeding,
			pageSize: rt.pageSize,
			maxPages: rt.maxPages,
			mayRequest: () => {
				if (!rt.budget.canSpend(now)) return false;
				rt.budget.spent(now);
				requests++;
				return true;
			},
			onResponse: (limit, remaining) => rt.budget.observe(now, limit, remaining),
		});
		report.polled++;
		rt.budget.pages(result.requests - 1);
		if (result.capped) {
			rt.log.warn(
				{ queryKey, pages: result.requests },
				"more new posts than the page cap: the oldest of this burst are not announced",
			);
		}
		await observePolled(rt, ctx, result.read, first.filters);
		if (seeding) {
			await rt.store.feedState.markSeen(
				queryKey,
				result.read.map((post) => post.id),
				ctx.fence,
			);
			rt.log.info({ queryKey, seen: result.read.length }, "feed query seeded (nothing announced)");
		} else {
			// Pending and rejected posts never reach public listings; should one show up, it is not
			// announced and not marked seen (so it is announced once approved).
			const fresh = result.fresh.filter((post) => mayAnnounce(post.moderation_status, true));
			if (fresh.length > 0) {
				await fanOut(rt, ctx, group, fresh, touched);
				await rt.store.feedState.markSeen(
					queryKey,
					fresh.map((post) => post.id),
					ctx.fence,
				);
				rt.log.debug({ queryKey, fresh: fresh.length, subscriptions: group.length }, "new posts queued");
			}
		}
		state.lastPolledAt = now;
		state.failures = 0;
		state.backoffUntil = 0;
		await setCursor(rt, ctx, queryKey, {
			lastPolledAt: iso(now),
			frontier: result.frontier,
			failures: 0,
			backoffUntil: null,
			slowedUntil: period > rt.intervalMs ? iso(now + period) : null,
		});
		rt.metrics?.feedPolls("ok");
	} catch (error) {
		if (error instanceof PollIncompleteError) {
			report.deferred++;
			rt.metrics?.feedPolls("deferred");
			await setCursor(rt, ctx, queryKey, { slowedUntil: iso(rt.budget.resumeAt(now)) });
			return;
		}
		if (error instanceof ImgpileRateLimitError) {
			rt.budget.rateLimited(now, error.retryAfterMs);
			report.deferred++;
			rt.metrics?.feedPolls("rate_limited");
			rt.log.warn(
				{ queryKey, retryAfterMs: error.retryAfterMs, pausedUntil: iso(rt.budget.pausedUntil) },
				"imgpile rate limited the feeds: polling slows down",
			);
			await setCursor(rt, ctx, queryKey, { slowedUntil: iso(rt.budget.pausedUntil) });
			return;
		}
		report.pollFailures++;
		rt.metrics?.feedPolls("failed");
		state.failures++;
		const wait = Math.min(MAX_BACKOFF_MS, rt.intervalMs * 2 ** (state.failures - 1));
		state.backoffUntil = now + wait;
		rt.log.warn(
			{ err: error, queryKey, failures: state.failures, retryAt: iso(state.backoffUntil) },
			"feed poll failed; backing off this query",
		);
		await setCursor(rt, ctx, queryKey, { failures: state.failures, backoffUntil: iso(state.backoffUntil) });
	} finally {
		report.requests += requests;
	}
}

async function setCursor(
	rt: FeedRuntime,
	ctx: CycleContext,
	queryKey: string,
	patch: Partial<FeedCursor>,
): Promise<void> {
	await rt.store.feedState.setCursor(queryKey, patch, ctx.fence);
}

/** Step 4: every active subscription of the query gets an outbox entry per post (oldest first). */
async function fanOut(
	rt: FeedRuntime,
	ctx: CycleContext,
	group: FeedSubscription[],
	posts: Post[],
	touched: Set<string>,
): Promise<void> {
	const payloads = posts.map(payloadOf);
	await mapLimit(group, rt.concurrency, async (sub) => {
		if (isScoreGated(sub)) return;
		const dueAt = sub.mode === "digest" ? (sub.nextDigestAt ?? iso(ctx.now)) : null;
		for (const payload of payloads) {
			const { created } = await rt.store.outbox.put(
				{ subscriptionId: sub.id, postId: payload.id, payload, dueAt },
				ctx.fence,
			);
			if (created) ctx.report.queued++;
			else rt.metrics?.duplicateAvoided("outbox");
		}
		if (sub.mode === "live") touched.add(sub.id);
	});
}
