/**
 * Live sync and score gates (issue #12): what the polls read keeps announcements true (edits,
 * removals, scores) and lets score-gated subscriptions announce a post once its score is reached.
 * The polling and delivery jobs call in here; the bodies are filled in by the live-sync work.
 */
import type { Post } from "../imgpile/index.js";
import type { FeedSubscription } from "../store/index.js";
import type { CycleContext, FeedRuntime } from "./runtime.js";

/** Where a post was announced: the channel the message is in (a forum post's thread) and the message. */
export interface AnnouncedAt {
	channelId: string;
	messageId: string;
}

/** Every post a poll read (new or not, any page), newest first: the sync's free source of truth. */
export async function observePolled(_rt: FeedRuntime, _ctx: CycleContext, _posts: readonly Post[]): Promise<void> {}

/** Discord accepted `where` announcing these posts (one for a live message, several for a digest). */
export async function recordAnnounced(
	_rt: FeedRuntime,
	_ctx: CycleContext,
	_sub: FeedSubscription,
	_postIds: readonly number[],
	_where: AnnouncedAt,
): Promise<void> {}

/** Score-gated subscriptions are not fanned out new posts: the sync queues a post once its score is reached. */
export function isScoreGated(sub: FeedSubscription): boolean {
	return sub.minScore !== null;
}
