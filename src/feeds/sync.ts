/**
 * Live sync and score gates (issue #12): what the polls read keeps announcements true (edits,
 * removals, scores) and lets score-gated subscriptions announce a post once its score is reached.
 *
 * - Every post a poll reads is free news: an announced one whose title, description, status or
 *   preview changed has its message edited (rendered as it was first, by render.ts); one gone
 *   (deleted, private, hidden, rejected) has it deleted or replaced by a note (`sub.removed`).
 *   Scores shown are refreshed at most every SCORE_REFRESH_MS per message, for posts younger
 *   than SYNC_WINDOW_MS.
 * - Followed posts the polls no longer read are re-read (`GET /posts/{slug}`) within the
 *   budget's sync share, the newest announcements first; a listing that should have shown one and
 *   did not gets it re-read first (that is how hidden posts are found: a single read still
 *   serves them).
 * - Score gates: a post that passes a gated subscription's filters is queued (outbox, fenced)
 *   once its score reaches `minScore` while younger than the window; until then it is followed.
 *
 * Every effect is idempotent, done before its record: a PATCH repeated after a crash writes the
 * same content; a DELETE of a message already gone (10008) counts as done; the "removed" note is
 * an edit of the announcement itself, so it can never be posted twice.
 */
import { mayAnnounce } from "../discord/index.js";
import type { Post } from "../imgpile/index.js";
import { type Imgpile, ImgpileForbiddenError, ImgpileNotFoundError, ImgpileRateLimitError } from "../imgpile/index.js";
import {
	type AnnouncementMessage,
	type FeedFilters,
	type FeedSubscription,
	outboxKeyOf,
	StoreFencedError,
	type WatchEntry,
	type WatchIndex,
} from "../store/index.js";
import { checkGates, gated } from "./gates.js";
import { type FeedPostPayload, isPayload, payloadOf } from "./render.js";
import { type CycleContext, type FeedRuntime, iso } from "./runtime.js";
import { effect } from "./sync-effects.js";
import { entryOf } from "./watch.js";

/** Announcements are kept true (scores, re-reads) this long after their post was created. */
export const SYNC_WINDOW_MS = 7 * 24 * 3_600_000;
/** A message's score is rewritten at most this often. */
export const SCORE_REFRESH_MS = 10 * 60_000;
/** A followed post not read for this long is due for a re-read. */
export const RESYNC_MS = 10 * 60_000;

/** Where a post was announced: the channel the message is in (a forum post's thread) and the message. */
export interface AnnouncedAt {
	channelId: string;
	messageId: string;
	/** Default: "live" for one post, "digest" for several. */
	kind?: "live" | "digest";
	/** The delivery marker the message carries (default: a live delivery's, its outbox key). */
	marker?: string;
	/** The posts as the message shows them (default: their outbox entries' payloads). */
	posts?: readonly FeedPostPayload[];
}

export { isScoreGated } from "./gates.js";

/** What a post read from imgpile now says (null: gone, or no longer public). */
type Reading = { post: Post; listed: boolean } | null;

/**
 * Every post a poll read (new or not, any page), newest first: the sync's free source of truth.
 * `from`: the filters of the listing they came from (tells which posts it should have shown, and
 * which tag-filtered subscriptions they belong to).
 */
export async function observePolled(
	rt: FeedRuntime,
	ctx: CycleContext,
	posts: readonly Post[],
	from?: FeedFilters,
): Promise<void> {
	try {
		await observe(rt, ctx, posts, from);
	} catch (error) {
		// A fenced write means another process leads: the cycle must stop. Anything else only holds
		// the sync up (it is done again from what the next poll reads), never the poll's new posts.
		if (error instanceof StoreFencedError) throw error;
		rt.log.warn({ err: error }, "live sync failed; the poll goes on");
	}
}

async function observe(
	rt: FeedRuntime,
	ctx: CycleContext,
	posts: readonly Post[],
	from: FeedFilters | undefined,
): Promise<void> {
	const index = await rt.store.announcements.watched();
	const subs = await subscriptionsOf(rt, ctx);
	for (const post of posts) {
		const entry = index.posts[post.id];
		if (entry) await applyReading(rt, ctx, subs, post.id, entry, { post, listed: true });
	}
	const gates = gated(subs);
	const changes: Array<(index: WatchIndex) => void> = [];
	for (const post of posts) changes.push(...(await checkGates(rt, ctx, gates, post, from, index.posts[post.id])));
	const read = new Set(posts.map((post) => post.id));
	// Fewer posts than a page: the listing reached the end of the query, it covers every post.
	const missing = from ? missingFrom(index, posts, from, posts.length < rt.pageSize) : [];
	// Most polls read nothing the sync follows: then nothing is written.
	const followed = posts.some((post) => index.posts[post.id] !== undefined);
	if (followed || missing.length > 0 || changes.length > 0)
		await rt.store.announcements.watch(
			ctx.now,
			(next) => {
				for (const post of posts) {
					const entry = next.posts[post.id];
					if (!entry) continue;
					entry.syncedAt = ctx.now;
					entry.status = post.moderation_status;
					delete entry.missing;
				}
				for (const { id, kind } of missing) {
					const entry = next.posts[id];
					if (entry && !read.has(Number(id))) entry.missing = kind;
				}
				for (const change of changes) change(next);
			},
			ctx.fence,
		);
	await reread(rt, ctx, subs, read);
}

/** Discord accepted `where` announcing these posts (one for a live message, several for a digest). */
export async function recordAnnounced(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	postIds: readonly number[],
	where: AnnouncedAt,
): Promise<void> {
	const kind = where.kind ?? (postIds.length > 1 ? "digest" : "live");
	const given = new Map((where.posts ?? []).map((post) => [post.id, post]));
	const recorded: FeedPostPayload[] = [];
	for (const postId of postIds) {
		const payload = given.get(postId) ?? (await rt.store.outbox.get(outboxKeyOf(sub.id, postId)))?.payload;
		if (!isPayload(payload)) continue;
		const message: AnnouncementMessage = {
			subscriptionId: sub.id,
			channelId: where.channelId,
			messageId: where.messageId,
			kind,
			marker: where.marker ?? outboxKeyOf(sub.id, postId),
			postIds: [...postIds],
			at: iso(ctx.now),
			shown: payload,
			scoreAt: iso(ctx.now),
			state: "shown",
		};
		await rt.store.announcements.record(postId, message, ctx.fence);
		recorded.push(payload);
	}
	await rt.store.announcements.watch(
		ctx.now,
		(index) => {
			for (const payload of recorded) {
				const entry = entryOf(index, payload, ctx.now);
				if (!entry.subs.includes(sub.id)) entry.subs.push(sub.id);
				entry.announcedAt = ctx.now;
				delete entry.gates[sub.id];
				if (sub.filters.tag && !entry.tags?.includes(sub.filters.tag.toLowerCase())) {
					entry.tags = [...(entry.tags ?? []), sub.filters.tag.toLowerCase()];
				}
			}
		},
		ctx.fence,
	);
}

/**
 * How far behind the sync is for one subscription: `behind` is how many of the posts it follows
 * (its announcements younger than 7 days, and posts its score gate waits on) have not been read
 * from imgpile for more than 10 minutes, which happens only when re-reads do not fit the budget's
 * sync share; `oldestUnsyncedAt` is when the longest-waiting of them was last read (ISO), null
 * when none waits.
 */
export async function syncStatus(
	rt: FeedRuntime,
	sub: FeedSubscription,
): Promise<{ behind: number; oldestUnsyncedAt: string | null }> {
	const now = rt.now();
	const index = await rt.store.announcements.watched();
	let behind = 0;
	let oldest = Number.POSITIVE_INFINITY;
	for (const entry of Object.values(index.posts)) {
		const follows = (entry.subs.includes(sub.id) && now - entry.createdAt < SYNC_WINDOW_MS) || sub.id in entry.gates;
		if (!follows || !isDue(entry, now)) continue;
		behind++;
		oldest = Math.min(oldest, entry.syncedAt);
	}
	return { behind, oldestUnsyncedAt: behind > 0 ? iso(oldest) : null };
}

// ── Re-reads ────────────────────────────────────────────────────────────────

function isDue(entry: WatchEntry, now: number): boolean {
	return entry.missing !== undefined || now - entry.syncedAt >= RESYNC_MS;
}

/** Whether some subscription still follows the post (its announcement is young, or its gate is open). */
function follows(entry: WatchEntry, now: number, subs: Map<string, FeedSubscription>): boolean {
	return (
		(now - entry.createdAt < SYNC_WINDOW_MS && entry.subs.some((id) => subs.has(id))) ||
		Object.entries(entry.gates).some(([id, until]) => until > now && subs.has(id))
	);
}

/** Re-reads due posts the polls did not read, within the sync share: those a listing missed first, then the newest announcements. */
async function reread(
	rt: FeedRuntime,
	ctx: CycleContext,
	subs: Map<string, FeedSubscription>,
	read: Set<number>,
): Promise<void> {
	if (!rt.budget.canSpendSync(ctx.now)) return;
	const index = await rt.store.announcements.watched();
	const due = Object.entries(index.posts)
		.filter(([id, entry]) => !read.has(Number(id)) && follows(entry, ctx.now, subs) && isDue(entry, ctx.now))
		.sort(
			([, a], [, b]) =>
				Number(b.missing !== undefined) - Number(a.missing !== undefined) ||
				(b.announcedAt ?? b.createdAt) - (a.announcedAt ?? a.createdAt),
		);
	const client = rt.imgpile.as(rt.token);
	const gates = gated(subs);
	for (const [id, entry] of due) {
		if (rt.stopped || !rt.budget.canSpendSync(ctx.now)) return;
		const postId = Number(id);
		rt.budget.spentSync(ctx.now);
		ctx.report.requests++;
		let reading: Reading;
		try {
			reading = await readPost(client, entry.slug);
		} catch (error) {
			if (error instanceof ImgpileRateLimitError) rt.budget.rateLimited(ctx.now, error.retryAfterMs);
			rt.log.debug({ err: error, postId }, "live sync: could not re-read a post; later");
			return;
		}
		// Still served, but a listing that should have shown it did not: hidden (an NSFW post
		// missing from a listing without NSFW is only re-moderated).
		if (
			reading &&
			(entry.missing === "all" || (entry.missing === "sfw" && reading.post.moderation_status !== "nsfw"))
		) {
			reading = null;
		}
		await applyReading(rt, ctx, subs, postId, entry, reading);
		const changes = reading ? await checkGates(rt, ctx, gates, reading.post, undefined, entry) : [];
		await rt.store.announcements.watch(
			ctx.now,
			(next) => {
				const current = next.posts[id];
				if (!current) return;
				current.syncedAt = ctx.now;
				delete current.missing;
				if (!reading) {
					current.subs = [];
					current.gates = {};
				} else {
					current.status = reading.post.moderation_status;
					current.tags = reading.post.tags?.map((tag) => tag.toLowerCase()) ?? current.tags;
				}
				for (const change of changes) change(next);
			},
			ctx.fence,
		);
	}
}

/** A post as a guest (or the feed token) reads it: null when imgpile no longer serves it to them. */
async function readPost(client: ReturnType<Imgpile["as"]>, slug: string): Promise<Reading> {
	try {
		const post = await client.getPost(slug, { perPage: 1, signal: AbortSignal.timeout(15_000) });
		const gone = post.visibility !== undefined && post.visibility !== "public";
		return gone ? null : { post, listed: false };
	} catch (error) {
		if (error instanceof ImgpileNotFoundError || error instanceof ImgpileForbiddenError) return null;
		throw error;
	}
}

/**
 * Followed posts a listing with `filters` should have shown, in the span of time it covered, and
 * did not: re-read them first. Only posts whose author, tags and status are known to fit it.
 */
function missingFrom(
	index: WatchIndex,
	posts: readonly Post[],
	filters: FeedFilters,
	whole: boolean,
): Array<{ id: string; kind: "all" | "sfw" }> {
	const oldest = posts.at(-1);
	if (!oldest && !whole) return [];
	const from = whole || !oldest ? Number.NEGATIVE_INFINITY : Date.parse(oldest.created_at);
	const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
	const out: Array<{ id: string; kind: "all" | "sfw" }> = [];
	for (const [id, entry] of Object.entries(index.posts)) {
		if (entry.subs.length === 0 || entry.createdAt <= from) continue;
		if (filters.username && !(entry.username && same(entry.username, filters.username))) continue;
		if (filters.tag && !entry.tags?.includes(filters.tag.trim().toLowerCase())) continue;
		if (!filters.nsfw && entry.status === "nsfw") continue;
		out.push({ id, kind: filters.nsfw ? "all" : "sfw" });
	}
	return out;
}

// ── Keeping announcements true ──────────────────────────────────────────────

/** The cycle's subscriptions by id (read once per cycle). */
function subscriptionsOf(rt: FeedRuntime, ctx: CycleContext): Promise<Map<string, FeedSubscription>> {
	let subs = rt.syncSubscriptions.get(ctx);
	if (!subs) {
		subs = rt.store.subscriptions.listAll().then((all) => new Map(all.map((sub) => [sub.id, sub])));
		rt.syncSubscriptions.set(ctx, subs);
	}
	return subs;
}

/** Brings every shown announcement of the post in line with what imgpile says now. */
async function applyReading(
	rt: FeedRuntime,
	ctx: CycleContext,
	subs: Map<string, FeedSubscription>,
	postId: number,
	entry: WatchEntry,
	reading: Reading,
): Promise<void> {
	if (entry.subs.length === 0) return;
	const record = await rt.store.announcements.get(postId);
	for (const message of record?.messages ?? []) {
		const sub = subs.get(message.subscriptionId);
		if (message.state !== "shown" || !sub || rt.stopped) continue;
		await syncMessage(rt, ctx, sub, postId, message, reading);
	}
}

async function syncMessage(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	postId: number,
	message: AnnouncementMessage,
	reading: Reading,
): Promise<void> {
	const shown = message.shown;
	if (!isPayload(shown)) return;
	const post = reading?.post;
	// Pending and rejected posts are not shown anywhere: as good as gone.
	const gone = !post || !mayAnnounce(post.moderation_status, true);
	let next: FeedPostPayload | null = null;
	let description = message.description;
	let scoreAt = message.scoreAt;
	if (!gone) {
		const read = payloadOf(post);
		const young = ctx.now - (Date.parse(read.createdAt) || 0) < SYNC_WINDOW_MS;
		const scoreDue = young && ctx.now - Date.parse(message.scoreAt) >= SCORE_REFRESH_MS && read.score !== shown.score;
		const candidate = { ...read, score: scoreDue ? read.score : shown.score };
		// The listing and a single read describe the first media differently: keep the preview known.
		if (!reading.listed && candidate.preview === null) candidate.preview = shown.preview;
		const textChanged =
			JSON.stringify({ ...candidate, score: 0 }) !== JSON.stringify({ ...shown, score: 0 }) ||
			(message.description !== undefined && message.description !== (post.description ?? null));
		description = post.description ?? null;
		if (!textChanged && !scoreDue) {
			// First reading of the description: remember it (nothing to show).
			if (message.description === undefined) {
				await rt.store.announcements.updateMessage(postId, sub.id, message.messageId, { description }, ctx.fence);
			}
			return;
		}
		if (scoreDue) scoreAt = iso(ctx.now);
		next = candidate;
	}
	const outcome = await effect(rt, sub, postId, message, next);
	if (outcome === "later") return;
	await rt.hooks.afterSynced?.({ subscriptionId: sub.id, postId, messageId: message.messageId });
	const patch: Partial<AnnouncementMessage> =
		outcome === "lost" ? { state: "lost" } : next ? { shown: next, description, scoreAt } : { state: "removed" };
	await rt.store.announcements.updateMessage(postId, sub.id, message.messageId, patch, ctx.fence);
	if (outcome === "done" && next === null) {
		rt.log.info({ subscriptionId: sub.id, postId, removed: sub.removed }, "live sync: announcement of a removed post");
	}
}
