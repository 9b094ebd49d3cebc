/**
 * Digest subscriptions: their entries wait in the outbox; at the subscription's time (or on
 * `/feed digest`) they go out as one message, after a send-time re-check of every post against
 * imgpile as it is now (scores refreshed, posts gone or no longer public dropped). A digest
 * interrupted by a crash is finished, never sent twice.
 */

import { randomUUID } from "node:crypto";
import { isPublic, mayAnnounce } from "../discord/index.js";
import { ImgpileNotFoundError, ImgpileRateLimitError } from "../imgpile/index.js";
import { type FeedSubscription, type OutboxEntry, pollFiltersOf, pollKeyOf } from "../store/index.js";
import { findDelivered, kindOf, publish, sendTo, whereSent } from "./destination.js";
import { classifyDiscordError } from "./discord.js";
import { DigestBusyError, deliveryFailed, disable, FeedSendError, waitForChannel } from "./failures.js";
import { filteredBy } from "./match.js";
import {
	byScore,
	DIGEST_EMBEDS,
	DIGEST_MORE_LINKS,
	describeFilters,
	digest as digestBody,
	digestMarker,
	type FeedPostPayload,
	isPayload,
	payloadOf,
} from "./render.js";
import {
	type CycleContext,
	type DeliveryInfo,
	type DigestListing,
	type FeedRuntime,
	iso,
	parseTime,
	translatorFor,
} from "./runtime.js";
import { nextDigestTime } from "./schedule.js";
import type { FetchedPage } from "./source.js";
import { digestPostName } from "./styles.js";
import { type AnnouncedAt, recordAnnounced } from "./sync.js";

/** Digest re-checks: posts per listing page, and listing pages at most (beyond: one GET per post). */
const RECHECK_PAGE_SIZE = 100;
const RECHECK_MAX_PAGES = 3;
/** How long a digest listing stays current for the digests of its query. */
const LISTING_TTL_MS = 60_000;
/** How long a post read one by one counts as checked (a digest that had to wait goes on from there). */
const RECHECK_TTL_MS = 5 * 60_000;

/** A digest whose posts cannot all be re-checked now (imgpile budget or errors): it waits a cycle. */
class RecheckLater extends Error {}

/**
 * A digest: first finishes one interrupted by a crash (entries marked sent, or attempted and
 * found in the channel: done without sending again); then, when due (or asked), sends what
 * has gathered as one message and schedules the next.
 */
export async function digest(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	mode: "scheduled" | "manual" | "recover",
): Promise<number> {
	if (!rt.store.shared) return digestNow(rt, ctx, sub, mode);
	// Several processes: `/feed digest` in one and the leader's scheduled digest in another must not
	// both send it. One claim per subscription, for as long as a digest takes at most.
	const claim = `digest.${sub.id}`;
	const owner = `${process.pid}.${randomUUID()}`;
	const lease = await rt.store.lease.acquire(claim, owner, DIGEST_CLAIM_MS);
	if (!lease.held) {
		if (mode === "manual") throw new DigestBusyError(`a digest of ${sub.id} is being sent by another process`);
		return 0; // still due: the next cycle sends it
	}
	try {
		return await digestNow(rt, ctx, sub, mode);
	} finally {
		await rt.store.lease.release(claim, owner).catch(() => undefined);
	}
}

/** Longest a digest may take (its Discord send, re-checks and outbox writes). */
const DIGEST_CLAIM_MS = 120_000;

async function digestNow(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	mode: "scheduled" | "manual" | "recover",
): Promise<number> {
	let entries = await rt.store.outbox.pending({ subscriptionId: sub.id });
	const inflight = entries.filter((entry) => entry.state === "sent" || entry.attempts > 0);
	if (inflight.length > 0 && !(mode === "recover" && rt.digestChecked.has(sub.id))) {
		const kind = await kindOf(rt, sub);
		const sentId = inflight.find((entry) => entry.state === "sent")?.discordMessageId;
		let where = sentId ? whereSent(sub, kind, sentId) : undefined;
		const oldest = inflight[0];
		if (!where && oldest) {
			const found = await findDelivered(rt, ctx, sub, kind, digestMarker(oldest.key));
			if (found === "stop") return 0;
			where = found;
		}
		if (where) {
			for (const entry of inflight) {
				if (entry.state !== "sent") await rt.store.outbox.recordSent(entry.key, where.messageId, ctx.fence);
			}
			if ((await publish(rt, ctx, sub, kind, where)) === "retry") return 0;
			const marker = digestMarker(inflight[0]?.key ?? "");
			await recordAnnounced(rt, ctx, sub, postIdsOf(inflight), { ...where, kind: "digest", marker });
			for (const entry of inflight) await rt.store.outbox.done(entry.key, ctx.fence);
			const messageId = where.messageId;
			ctx.report.recovered += inflight.length;
			rt.metrics?.feedDelivery("digest", "recovered");
			rt.log.info({ subscriptionId: sub.id, messageId }, "digest had reached Discord before a restart");
			const done = new Set(inflight.map((entry) => entry.key));
			entries = entries.filter((entry) => !done.has(entry.key));
		} else {
			rt.digestChecked.add(sub.id);
		}
	}
	if (mode === "recover") return 0;

	let channel = rt.discord.channel(sub.channelId);
	if (mode === "scheduled") {
		try {
			channel = await rt.discord.channelInfo(sub.channelId, sub.guildId);
		} catch (error) {
			await deliveryFailed(rt, ctx, sub, 0, error, []);
			return 0;
		}
		if (!channel) {
			// Still due next cycle: nextDigestAt stays where it is.
			await waitForChannel(rt, ctx, sub);
			return 0;
		}
	}
	const channelNsfw = channel?.nsfw ?? false;
	const queued: OutboxEntry[] = [];
	for (const entry of entries) {
		if (isPayload(entry.payload) && mayAnnounce(entry.payload.status, channelNsfw)) queued.push(entry);
		else await rt.store.outbox.done(entry.key, ctx.fence);
	}
	// The posts as they are now: one that became NSFW, rejected, hidden or private, or was
	// deleted since it was queued, goes by its new state (dropped unless still announceable here).
	const keep = (post: FeedPostPayload | null | undefined): boolean =>
		post !== null && post !== undefined && stillListed(post, sub) && mayAnnounce(post.status, channelNsfw);
	let fresh: Map<number, FeedPostPayload | null>;
	try {
		fresh = await recheck(
			rt,
			ctx,
			sub,
			queued.map((entry) => entry.payload as FeedPostPayload),
			{ force: mode === "manual", keep },
		);
	} catch (error) {
		if (!(error instanceof RecheckLater) || mode === "manual") throw error;
		ctx.report.deferred++;
		rt.log.info({ subscriptionId: sub.id, reason: error.message }, "digest waits: its posts cannot be re-checked now");
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
			rt.log.info({ key: entry.key, status: post?.status ?? "gone" }, "queued post no longer announced here: dropped");
			await rt.store.outbox.done(entry.key, ctx.fence);
		}
	}
	const oldest = batch[0];
	if (!oldest) {
		if (mode === "scheduled") await scheduleNextDigest(rt, sub, ctx.now);
		return 0;
	}
	const t = translatorFor(rt, sub.guildId);
	const body = digestBody(t, posts, {
		channelNsfw,
		marker: digestMarker(oldest.key),
		filters: sub.filters,
		subscriptionId: sub.id,
		style: sub.style,
		mentionRoleId: sub.mentionRoleId,
	});
	const postName = digestPostName(t, posts.length, describeFilters(t, sub.filters));
	const kind = channel?.kind ?? (await kindOf(rt, sub));
	const keys = batch.map((entry) => entry.key);
	const info: DeliveryInfo = { subscriptionId: sub.id, channelId: sub.channelId, keys, kind: "digest" };
	for (const key of keys) await rt.store.outbox.bumpAttempt(key, ctx.fence);
	rt.digestChecked.delete(sub.id);
	await rt.hooks.beforeSend?.(info);
	let where: AnnouncedAt;
	try {
		where = await sendTo(rt, sub, kind ?? "text", { body, postName });
	} catch (error) {
		if (mode === "manual") {
			const failure = classifyDiscordError(error);
			if (failure.kind === "gone" || failure.kind === "forbidden") await disable(rt, sub, failure.reason);
			throw new FeedSendError(failure.kind === "gone" || failure.kind === "forbidden" ? failure.reason : failure.kind, {
				cause: error,
			});
		}
		await deliveryFailed(rt, ctx, sub, oldest.attempts + 1, error, keys);
		return 0;
	}
	await rt.hooks.afterAccepted?.({ ...info, messageId: where.messageId });
	for (const key of keys) await rt.store.outbox.recordSent(key, where.messageId, ctx.fence);
	// A crosspost that must wait leaves the entries sent: the next cycle publishes and finishes them.
	if ((await publish(rt, ctx, sub, kind, where)) === "ok") {
		const marker = digestMarker(oldest.key);
		await recordAnnounced(rt, ctx, sub, postIdsOf(batch), { ...where, kind: "digest", marker, posts });
		for (const key of keys) await rt.store.outbox.done(key, ctx.fence);
	}
	ctx.report.digests++;
	rt.metrics?.feedDelivery("digest", "sent");
	await rt.store.subscriptions.update(sub.id, { lastDeliveryAt: iso(ctx.now) });
	if (mode === "scheduled") await scheduleNextDigest(rt, sub, ctx.now);
	return batch.length;
}

function postIdsOf(entries: readonly OutboxEntry[]): number[] {
	return entries.map((entry) => entry.postId);
}

async function scheduleNextDigest(rt: FeedRuntime, sub: FeedSubscription, now: number): Promise<void> {
	const { timezone } = await rt.store.guilds.get(sub.guildId);
	const next = nextDigestTime(sub, timezone, now, parseTime(sub.nextDigestAt));
	await rt.store.subscriptions.update(sub.id, { nextDigestAt: iso(next) });
	rt.dirty = true;
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
async function recheck(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	posts: FeedPostPayload[],
	options: { force: boolean; keep: (post: FeedPostPayload | null) => boolean },
): Promise<Map<number, FeedPostPayload | null>> {
	const { force, keep } = options;
	const out = new Map<number, FeedPostPayload | null>();
	if (posts.length === 0) return out;
	for (const [id, read] of rt.rechecked) if (read.at <= ctx.now - RECHECK_TTL_MS) rt.rechecked.delete(id);
	const spend = () => {
		if (!force && !rt.budget.canSpend(ctx.now)) throw new RecheckLater("imgpile budget");
		rt.budget.spent(ctx.now);
		ctx.report.requests++;
	};
	const pollKey = pollKeyOf(sub.filters);
	let listing = ctx.listings.get(pollKey);
	if (!listing) {
		// A listing read in the last minute still holds (a digest waiting for the budget must not
		// spend it on the same listing every cycle).
		for (const [key, read] of rt.recentListings) {
			if (read.at <= ctx.now - LISTING_TTL_MS) rt.recentListings.delete(key);
		}
		const recent = rt.recentListings.get(pollKey);
		const oldest = posts.reduce((min, post) => Math.min(min, Date.parse(post.createdAt) || 0), Infinity);
		listing = recent
			? Promise.resolve(recent.listing)
			: digestListing(rt, ctx, sub, oldest, spend).then((read) => {
					if (read) rt.recentListings.set(pollKey, { listing: read, at: ctx.now });
					return read;
				});
		ctx.listings.set(pollKey, listing);
	}
	const listed = await listing;
	const unchecked: FeedPostPayload[] = [];
	for (const post of posts) {
		const found = listed?.posts.get(post.id);
		const remembered = rt.rechecked.get(post.id);
		// The listing is the subscription's poll (firehose or tag): a post of another user is out of its query.
		if (found) out.set(post.id, filteredBy(sub.filters, found) === "user" ? null : payloadOf(found));
		else if (listed && Date.parse(post.createdAt) > listed.coversAfter) out.set(post.id, null);
		else if (remembered) out.set(post.id, remembered.post);
		else unchecked.push(post);
	}
	let shown = [...out.values()].filter(keep).length;
	const client = rt.imgpile.as(rt.token);
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
				if (error instanceof ImgpileRateLimitError) rt.budget.rateLimited(ctx.now, error.retryAfterMs);
				if (force) throw error;
				throw new RecheckLater("imgpile could not be read", { cause: error });
			}
			read = null;
		}
		rt.rechecked.set(post.id, { post: read, at: ctx.now });
		out.set(post.id, read);
		if (keep(read)) shown++;
	}
	return out;
}

/** Pages of the query, newest first, until they reach back to `oldest` (or RECHECK_MAX_PAGES); null if imgpile failed. */
async function digestListing(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	oldest: number,
	spend: () => void,
): Promise<DigestListing | null> {
	const listing: DigestListing = { posts: new Map(), coversAfter: Number.POSITIVE_INFINITY };
	try {
		spend();
		let fetched: FetchedPage | null = await rt.source.first(pollFiltersOf(sub.filters), RECHECK_PAGE_SIZE);
		for (let pages = 1; fetched; pages++) {
			rt.budget.observe(ctx.now, fetched.limit, fetched.remaining);
			for (const post of fetched.page.data) {
				listing.posts.set(post.id, post);
				listing.coversAfter = Math.min(listing.coversAfter, Date.parse(post.created_at) || 0);
			}
			if (!fetched.page.links.next) {
				listing.coversAfter = Number.NEGATIVE_INFINITY;
				break;
			}
			if (listing.coversAfter < oldest || pages >= RECHECK_MAX_PAGES || !rt.budget.canSpend(ctx.now)) break;
			spend();
			fetched = await rt.source.next(fetched.page);
		}
	} catch (error) {
		if (error instanceof RecheckLater) return listing.posts.size > 0 ? listing : null;
		if (error instanceof ImgpileRateLimitError) rt.budget.rateLimited(ctx.now, error.retryAfterMs);
		rt.log.debug({ err: error, subscriptionId: sub.id }, "could not list the digest's query; re-checking post by post");
		return listing.posts.size > 0 ? listing : null;
	}
	return listing;
}

/** Whether the subscription's query would still list a post in its current state. */
function stillListed(post: FeedPostPayload, sub: FeedSubscription): boolean {
	return post.status === "approved" || (post.status === "nsfw" && sub.filters.nsfw);
}
