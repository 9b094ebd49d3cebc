/**
 * Score gates (issue #12): a post that passes a gated subscription's filters is queued in its
 * outbox (fenced) once its score reaches `minScore` while younger than the window; until then
 * live sync follows it (see sync.ts). The outbox refuses a post it already had, delivered or
 * not, so a post is never announced twice, even if its score drops and rises again.
 */
import { mayAnnounce } from "../discord/index.js";
import type { Post } from "../imgpile/index.js";
import {
	DEFAULT_SCORE_WINDOW_MS,
	type FeedFilters,
	type FeedSubscription,
	type WatchEntry,
	type WatchIndex,
} from "../store/index.js";
import { filteredBy } from "./match.js";
import { payloadOf } from "./render.js";
import { type CycleContext, type FeedRuntime, isActive, iso } from "./runtime.js";
import { entryOf } from "./watch.js";

/** Score-gated subscriptions are not fanned out new posts: the sync queues a post once its score is reached. */
export function isScoreGated(sub: FeedSubscription): boolean {
	return sub.minScore !== null;
}

/** Whether a post has what the subscription's score gate asks (no gate: always): the score, while young enough. */
export function gateReached(sub: FeedSubscription, post: Pick<Post, "score" | "created_at">, now: number): boolean {
	if (sub.minScore === null) return true;
	const window = sub.withinMs ?? DEFAULT_SCORE_WINDOW_MS;
	return post.score >= sub.minScore && now - Date.parse(post.created_at) < window;
}

export function gated(subs: Map<string, FeedSubscription>): FeedSubscription[] {
	return [...subs.values()].filter((sub) => isScoreGated(sub) && isActive(sub));
}

/**
 * Whether `post` belongs to a gated subscription: its filters (a tag known from the post itself,
 * or from the tag query it was listed by), announceable, not older than the subscription.
 */
function gateFits(sub: FeedSubscription, post: Post, from: FeedFilters | undefined): boolean {
	if (filteredBy(sub.filters, post) !== null || !mayAnnounce(post.moderation_status, true)) return false;
	const tag = sub.filters.tag?.trim().toLowerCase();
	if (tag && post.tags === undefined && from?.tag?.trim().toLowerCase() !== tag) return false;
	return Date.parse(post.created_at) >= Date.parse(sub.createdAt);
}

/**
 * Queues the post for each gated subscription whose score it reached in its window (the outbox
 * refuses a post it already had, delivered or not); the index changes to make (gates followed,
 * fired) come back, to be written with the rest.
 */
export async function checkGates(
	rt: FeedRuntime,
	ctx: CycleContext,
	gates: readonly FeedSubscription[],
	post: Post,
	from: FeedFilters | undefined,
	entry: WatchEntry | undefined,
): Promise<Array<(index: WatchIndex) => void>> {
	const changes: Array<(index: WatchIndex) => void> = [];
	const created = Date.parse(post.created_at);
	for (const sub of gates) {
		if (entry?.fired?.includes(sub.id) || entry?.subs.includes(sub.id)) continue;
		const until = created + (sub.withinMs ?? DEFAULT_SCORE_WINDOW_MS);
		if (ctx.now >= until || !gateFits(sub, post, from)) continue;
		const payload = payloadOf(post);
		if (post.score < (sub.minScore ?? 0)) {
			changes.push((index) => {
				const next = entryOf(index, payload, ctx.now);
				if (!next.fired?.includes(sub.id)) next.gates[sub.id] = until;
			});
			continue;
		}
		const dueAt = sub.mode === "digest" ? (sub.nextDigestAt ?? iso(ctx.now)) : null;
		const put = await rt.store.outbox.put({ subscriptionId: sub.id, postId: post.id, payload, dueAt }, ctx.fence);
		if (put.created) {
			ctx.report.queued++;
			if (sub.mode === "live") rt.retryAt.set(sub.id, ctx.now);
			rt.log.debug({ subscriptionId: sub.id, postId: post.id, score: post.score }, "score gate reached: queued");
		} else rt.metrics?.duplicateAvoided("outbox");
		changes.push((index) => {
			const next = entryOf(index, payload, ctx.now);
			delete next.gates[sub.id];
			next.fired = [...new Set([...(next.fired ?? []), sub.id])];
		});
	}
	return changes;
}
