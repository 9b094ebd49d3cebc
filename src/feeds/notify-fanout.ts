/**
 * Personal notifications ride on the feed polls: the firehose poll serves the follows (a post's
 * author against each user's following list), a tag's poll serves the users who asked for that
 * tag. A poll is added for a notification tag no feed uses, and the firehose is polled when
 * anyone's follows are on, so notifications cost no imgpile request per user but the hourly
 * follow-list refresh. Each new post a user should hear of gets one entry in the notifications
 * outbox (`<userId>:<postId>`), before the poll marks it seen: a crash in between re-reads the
 * post and the outbox refuses the duplicate; a post that is both followed and tagged is one entry.
 */
import type { Post } from "../imgpile/index.js";
import { FIREHOSE_POLL_KEY, type NotifyProfile } from "../store/index.js";
import type { NotifyPayload, NotifyReason } from "./notify-watchers.js";
import { payloadOf } from "./payload.js";
import { type CycleContext, type FeedRuntime, mapLimit } from "./runtime.js";

/**
 * Queues a poll's new posts for the users who should hear of them. `approvedLater`: posts first
 * read while NSFW and approved since: those who take NSFW had them then, the others get them now.
 */
export async function notifyNew(
	rt: FeedRuntime,
	ctx: CycleContext,
	pollKey: string,
	posts: readonly Post[],
	approvedLater: ReadonlySet<Post>,
): Promise<void> {
	const watchers = ctx.notify;
	if (!watchers || posts.length === 0) return;
	const perUser = new Map<string, { profile: NotifyProfile; items: Array<{ post: Post; reason: NotifyReason }> }>();
	const consider = (profile: NotifyProfile, post: Post, reason: NotifyReason) => {
		if (!wants(profile, post, reason, approvedLater.has(post))) return;
		let queued = perUser.get(profile.userId);
		if (!queued) {
			queued = { profile, items: [] };
			perUser.set(profile.userId, queued);
		}
		if (!queued.items.some((item) => item.post.id === post.id)) queued.items.push({ post, reason });
	};
	const tag = pollKey === FIREHOSE_POLL_KEY ? null : decodeURIComponent(pollKey.slice("tag=".length));
	for (const post of posts) {
		if (tag === null) {
			const author = post.user?.username.toLowerCase();
			for (const profile of (author && watchers.byFollow.get(author)) || []) {
				consider(profile, post, { follow: post.user?.username ?? author });
			}
		} else {
			for (const profile of watchers.byTag.get(tag) ?? []) consider(profile, post, { tag });
		}
	}
	await mapLimit([...perUser.values()], rt.concurrency, async ({ profile, items }) => {
		for (const { post, reason } of items) {
			const payload: NotifyPayload = { v: 1, post: payloadOf(post), reason };
			const { created } = await rt.store.notifyOutbox.put(
				{ subscriptionId: profile.userId, postId: post.id, payload },
				ctx.fence,
			);
			if (!created) {
				rt.metrics?.duplicateAvoided("notify");
				continue;
			}
			ctx.report.notifyQueued++;
			if (!rt.notifyWaiting.has(profile.userId)) rt.notifyWaiting.set(profile.userId, ctx.now);
		}
	});
}

/** Whether this user wants this post: not their own, not older than what it came through was turned on, NSFW only when asked (and once). */
function wants(profile: NotifyProfile, post: Post, reason: NotifyReason, approvedLater: boolean): boolean {
	if (profile.paused) return false;
	const author = post.user?.username.toLowerCase();
	if (author && author === profile.username?.toLowerCase()) return false;
	const since = (reason.tag === undefined ? profile.followsSince : profile.tagsSince[reason.tag]) ?? profile.since;
	if (Date.parse(post.created_at) < Date.parse(since)) return false;
	if (post.moderation_status === "nsfw") return profile.nsfw;
	// Approved after it was read as NSFW: those who take NSFW were told then.
	return !(approvedLater && profile.nsfw);
}
