/**
 * Polling (steps 2–4 of a cycle, see scheduler.ts): each poll (`pollKeyOf`: the firehose, or one
 * tag) whose slot has come is read once for all its subscriptions (and the personal notifications
 * that ride on it: notify-fanout.ts), within imgpile's budget;
 * failures back the poll off. What is new goes to the outbox (durable) of every active
 * subscription whose filters it passes (`filteredBy`: user, NSFW), and only then is marked seen,
 * so a crash in between re-reads the posts and the outbox refuses the duplicates.
 *
 * Upgrade from per-combination queries (state under `queryKeyOf` keys): a poll with no state of
 * its own whose subscriptions have old-key state is not seeded from the listing (that would skip
 * what was published while the bot was updated): each subscription gets what is new against its
 * old key's seen set and frontier, the poll's seen set starts from their union, and the old keys
 * are dropped once the poll's own state is written.
 */

import { mayAnnounce } from "../discord/index.js";
import { ImgpileRateLimitError, type Post } from "../imgpile/index.js";
import {
	type FeedCursor,
	type FeedFrontier,
	type FeedSubscription,
	pollFiltersOfKey,
	queryKeyOf,
} from "../store/index.js";
import { filteredBy } from "./match.js";
import { notifyNew } from "./notify-fanout.js";
import { compareFeedOrder, newAmong, PollIncompleteError, pollQuery } from "./poller.js";
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

async function queryState(rt: FeedRuntime, pollKey: string): Promise<QueryState> {
	let state = rt.queries.get(pollKey);
	if (!state) {
		const cursor = await rt.store.feedState.getCursor(pollKey);
		state = {
			lastPolledAt: parseTime(cursor.lastPolledAt),
			backoffUntil: parseTime(cursor.backoffUntil) ?? 0,
			failures: cursor.failures,
		};
		rt.queries.set(pollKey, state);
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
	const due: Array<{ pollKey: string; group: FeedSubscription[]; state: QueryState }> = [];
	for (const [pollKey, group] of groups) {
		const state = await queryState(rt, pollKey);
		if (now < state.backoffUntil) continue;
		// Due when its slot came since the last poll, and (after a poll the budget put off) not
		// sooner than half a period after it: late polls drift back to their slot, never bunch.
		if (!slotPassed(state.lastPolledAt, now, period, slotOffset(pollKey, period))) continue;
		if (state.lastPolledAt !== null && now - state.lastPolledAt < period / 2) continue;
		due.push({ pollKey, group, state });
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
			for (const rest of deferred) await setCursor(rt, ctx, rest.pollKey, { slowedUntil: iso(until) });
			return;
		}
		await poll(rt, ctx, item.pollKey, item.group, item.state, period, touched);
	}
}

/** Old-key state (before polls were shared per tag) of a poll's subscriptions: seen set and frontier per `queryKeyOf` key. */
interface LegacyState {
	seen: Set<number>;
	frontier: FeedFrontier | null;
	filters: FeedSubscription["filters"];
}

async function legacyStates(rt: FeedRuntime, group: FeedSubscription[]): Promise<Map<string, LegacyState>> {
	const states = new Map<string, LegacyState>();
	for (const sub of group) {
		const key = queryKeyOf(sub.filters);
		if (states.has(key) || !(await rt.store.feedState.isSeeded(key))) continue;
		const cursor = await rt.store.feedState.getCursor(key);
		states.set(key, {
			seen: await rt.store.feedState.getSeen(key),
			frontier: cursor.frontier ?? null,
			filters: sub.filters,
		});
	}
	return states;
}

async function poll(
	rt: FeedRuntime,
	ctx: CycleContext,
	pollKey: string,
	group: FeedSubscription[],
	state: QueryState,
	period: number,
	touched: Set<string>,
): Promise<void> {
	const { now, report } = ctx;
	const filters = pollFiltersOfKey(pollKey);
	const seeded = await rt.store.feedState.isSeeded(pollKey);
	const legacy = seeded ? new Map<string, LegacyState>() : await legacyStates(rt, group);
	const upgrading = legacy.size > 0;
	const seeding = !seeded && !upgrading;
	const seen = seeded
		? await rt.store.feedState.getSeen(pollKey)
		: new Set([...legacy.values()].flatMap((old) => [...old.seen]));
	const frontier = seeded ? ((await rt.store.feedState.getCursor(pollKey)).frontier ?? null) : null;
	let requests = 0;
	rt.budget.spent(now);
	requests++;
	try {
		const result = await pollQuery({
			source: rt.source,
			filters: filters,
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
				{ pollKey, pages: result.requests },
				"more new posts than the page cap: the oldest of this burst are not announced",
			);
		}
		await observePolled(rt, ctx, result.read, filters);
		if (seeding) {
			await rt.store.feedState.markSeen(
				pollKey,
				result.read.map((post) => post.id),
				ctx.fence,
				{ hold: nsfwIds(result.read) },
			);
			rt.log.info({ pollKey, seen: result.read.length }, "feed poll seeded (nothing announced)");
		} else if (upgrading) {
			await upgrade(rt, ctx, pollKey, group, legacy, result.read.filter(listed), touched);
		} else {
			await announceNew(rt, ctx, pollKey, group, { ...result, previous: frontier }, touched);
		}
		state.lastPolledAt = now;
		state.failures = 0;
		state.backoffUntil = 0;
		await setCursor(rt, ctx, pollKey, {
			lastPolledAt: iso(now),
			frontier: result.frontier,
			failures: 0,
			backoffUntil: null,
			slowedUntil: period > rt.intervalMs ? iso(now + period) : null,
		});
		if (upgrading) for (const key of legacy.keys()) await rt.store.feedState.forget(key, ctx.fence);
		rt.metrics?.feedPolls("ok");
	} catch (error) {
		if (error instanceof PollIncompleteError) {
			report.deferred++;
			rt.metrics?.feedPolls("deferred");
			await setCursor(rt, ctx, pollKey, { slowedUntil: iso(rt.budget.resumeAt(now)) });
			return;
		}
		if (error instanceof ImgpileRateLimitError) {
			rt.budget.rateLimited(now, error.retryAfterMs);
			report.deferred++;
			rt.metrics?.feedPolls("rate_limited");
			rt.log.warn(
				{ pollKey, retryAfterMs: error.retryAfterMs, pausedUntil: iso(rt.budget.pausedUntil) },
				"imgpile rate limited the feeds: polling slows down",
			);
			await setCursor(rt, ctx, pollKey, { slowedUntil: iso(rt.budget.pausedUntil) });
			return;
		}
		report.pollFailures++;
		rt.metrics?.feedPolls("failed");
		state.failures++;
		const wait = Math.min(MAX_BACKOFF_MS, rt.intervalMs * 2 ** (state.failures - 1));
		state.backoffUntil = now + wait;
		rt.log.warn(
			{ err: error, pollKey, failures: state.failures, retryAt: iso(state.backoffUntil) },
			"feed poll failed; backing off this poll",
		);
		await setCursor(rt, ctx, pollKey, { failures: state.failures, backoffUntil: iso(state.backoffUntil) });
	} finally {
		report.requests += requests;
	}
}

/** Pending and rejected posts never reach public listings; should one show up, it is not announced and not marked seen (so it is announced once approved). */
const listed = (post: Post) => mayAnnounce(post.moderation_status, true);

const nsfwIds = (posts: readonly Post[]) =>
	posts.filter((post) => post.moderation_status === "nsfw").map((post) => post.id);

/**
 * A poll's new posts go to the subscriptions whose filters they pass. A post seen while NSFW and
 * approved since (at or above the previous frontier) goes to the subscriptions without NSFW then:
 * their own query would have listed it only now.
 */
async function announceNew(
	rt: FeedRuntime,
	ctx: CycleContext,
	pollKey: string,
	group: FeedSubscription[],
	result: { fresh: Post[]; stale: Post[]; read: Post[]; previous: FeedFrontier | null },
	touched: Set<string>,
): Promise<void> {
	const fresh = result.fresh.filter(listed);
	const held = await rt.store.feedState.getHeld(pollKey);
	const { previous } = result;
	const approvedLater = result.read
		.filter(
			(post) =>
				post.moderation_status === "approved" &&
				held.has(post.id) &&
				(previous === null || previous === "end" || compareFeedOrder(post, previous) >= 0),
		)
		.reverse();
	const later = new Set(approvedLater);
	const posts = [...approvedLater, ...fresh].sort((a, b) => compareFeedOrder(a, { createdAt: b.created_at, id: b.id }));
	if (posts.length > 0) {
		await fanOut(
			rt,
			ctx,
			group,
			(sub) =>
				posts.filter((post) => (!later.has(post) || !sub.filters.nsfw) && filteredBy(sub.filters, post) === null),
			touched,
		);
		await notifyNew(rt, ctx, pollKey, posts, later);
	}
	const marked = [...fresh, ...result.stale.filter(listed)];
	if (marked.length > 0 || approvedLater.length > 0) {
		await rt.store.feedState.markSeen(
			pollKey,
			marked.map((post) => post.id),
			ctx.fence,
			{ hold: nsfwIds(marked), release: approvedLater.map((post) => post.id) },
		);
		rt.log.debug(
			{ pollKey, fresh: fresh.length, approvedLater: approvedLater.length, subscriptions: group.length },
			"new posts queued",
		);
	}
}

/**
 * The first shared poll of subscriptions that had per-combination state: each subscription gets
 * what is new against its old key's seen set and frontier (a subscription whose old key was never
 * polled gets nothing, as a first poll would), then everything read and everything the old keys
 * had seen is the poll's seen set (the posts read last, so the window keeps them).
 */
async function upgrade(
	rt: FeedRuntime,
	ctx: CycleContext,
	pollKey: string,
	group: FeedSubscription[],
	legacy: Map<string, LegacyState>,
	read: Post[],
	touched: Set<string>,
): Promise<void> {
	const freshByKey = new Map<string, Post[]>();
	for (const [key, old] of legacy) {
		// What the old query would have listed: its filters, and NSFW posts only with nsfw.
		const matching = read.filter((post) => filteredBy(old.filters, post) === null);
		freshByKey.set(key, newAmong(matching, old.seen, old.frontier).fresh);
	}
	await fanOut(rt, ctx, group, (sub) => freshByKey.get(queryKeyOf(sub.filters)) ?? [], touched);
	const oldSeen = [...legacy.values()].flatMap((old) => [...old.seen]);
	const readIds = new Set(read.map((post) => post.id));
	await rt.store.feedState.markSeen(pollKey, [...oldSeen.filter((id) => !readIds.has(id)), ...readIds], ctx.fence, {
		hold: nsfwIds(read),
	});
	rt.log.info(
		{ pollKey, fromKeys: legacy.size, queued: [...freshByKey.values()].reduce((sum, posts) => sum + posts.length, 0) },
		"feed poll took over the state of the per-combination queries",
	);
}

async function setCursor(
	rt: FeedRuntime,
	ctx: CycleContext,
	pollKey: string,
	patch: Partial<FeedCursor>,
): Promise<void> {
	await rt.store.feedState.setCursor(pollKey, patch, ctx.fence);
}

/** Step 4: every active subscription of the poll gets an outbox entry per post its filters let through (oldest first). */
async function fanOut(
	rt: FeedRuntime,
	ctx: CycleContext,
	group: FeedSubscription[],
	postsFor: (sub: FeedSubscription) => Post[],
	touched: Set<string>,
): Promise<void> {
	const payloads = new Map<number, ReturnType<typeof payloadOf>>();
	const payload = (post: Post) => {
		let made = payloads.get(post.id);
		if (!made) {
			made = payloadOf(post);
			payloads.set(post.id, made);
		}
		return made;
	};
	await mapLimit(group, rt.concurrency, async (sub) => {
		if (isScoreGated(sub)) return;
		const posts = postsFor(sub);
		if (posts.length === 0) return;
		const dueAt = sub.mode === "digest" ? (sub.nextDigestAt ?? iso(ctx.now)) : null;
		for (const post of posts) {
			const { created } = await rt.store.outbox.put(
				{ subscriptionId: sub.id, postId: post.id, payload: payload(post), dueAt },
				ctx.fence,
			);
			if (created) ctx.report.queued++;
			else rt.metrics?.duplicateAvoided("outbox");
		}
		if (sub.mode === "live") touched.add(sub.id);
	});
}
