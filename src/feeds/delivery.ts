/**
 * Live delivery (step 5 of a cycle, see scheduler.ts): per subscription, oldest first,
 * `bumpAttempt` → Discord → `recordSent` → (crosspost) → `done`. An entry with attempts > 0 that
 * is not known as sent may or may not have reached Discord: the destination (a channel's recent
 * messages, a forum's posts) is checked for its marker before sending again, so a crash at any
 * point neither loses nor repeats. Destinations, styles and crossposts: destination.ts, styles.ts.
 */

import { mayAnnounce } from "../discord/index.js";
import type { FeedSubscription, OutboxEntry } from "../store/index.js";
import { findDelivered, forumTags, kindOf, publish, sendTo, whereSent } from "./destination.js";
import { digest } from "./digests.js";
import type { ChannelInfo } from "./discord.js";
import { deliveryFailed, waitForChannel } from "./failures.js";
import { announcement, isPayload } from "./render.js";
import {
	type CycleContext,
	type DeliveryInfo,
	type FeedRuntime,
	isActive,
	iso,
	mapLimit,
	translatorFor,
} from "./runtime.js";
import { forumPostName } from "./styles.js";
import { type AnnouncedAt, recordAnnounced } from "./sync.js";

/** Delivers to the subscriptions with something due: new posts, retries, digests, and now and then the whole outbox. */
export async function deliverAll(
	rt: FeedRuntime,
	ctx: CycleContext,
	subs: FeedSubscription[],
	touched: Set<string>,
): Promise<void> {
	const { now } = ctx;
	const ids = new Set(touched);
	for (const [id, at] of rt.retryAt) {
		if (at <= now) {
			ids.add(id);
			rt.retryAt.delete(id);
		}
	}
	for (const sub of subs) {
		if (sub.mode === "digest" && isActive(sub) && sub.nextDigestAt && Date.parse(sub.nextDigestAt) <= now) {
			ids.add(sub.id);
		}
	}
	// Now and then (and first thing as leader: after a restart), everything left in the outbox.
	if (now - rt.fullScanAt >= rt.intervalMs) {
		rt.fullScanAt = now;
		const known = new Set(subs.map((sub) => sub.id));
		for (const entry of await rt.store.outbox.pending()) {
			const due = entry.dueAt === null || Date.parse(entry.dueAt) <= now;
			if (due || entry.attempts > 0 || entry.state === "sent" || !known.has(entry.subscriptionId)) {
				ids.add(entry.subscriptionId);
			}
		}
	}
	await mapLimit([...ids], rt.concurrency, (id) => deliverSubscription(rt, ctx, id));
}

async function deliverSubscription(rt: FeedRuntime, ctx: CycleContext, subscriptionId: string): Promise<void> {
	if (rt.stopped) return;
	await rt.locks.run(subscriptionId, async () => {
		const sub = await rt.store.subscriptions.get(subscriptionId);
		if (!sub) {
			const dropped = await rt.store.outbox.removeForSubscription(subscriptionId);
			if (dropped > 0) rt.log.info({ subscriptionId, dropped }, "dropped deliveries of a removed subscription");
			return;
		}
		if (!isActive(sub)) return;
		if (sub.mode === "digest") {
			const due = sub.nextDigestAt !== null && Date.parse(sub.nextDigestAt) <= ctx.now;
			await digest(rt, ctx, sub, due ? "scheduled" : "recover");
			return;
		}
		const entries = await rt.store.outbox.pending({ subscriptionId, dueBefore: ctx.now });
		let delivered = false;
		for (const entry of entries) {
			// Stopping: what is left stays in the outbox for the next process.
			if (rt.stopped) break;
			const outcome = await deliverLive(rt, ctx, sub, entry);
			if (outcome === "stop") break;
			if (outcome === "delivered") delivered = true;
		}
		if (delivered) await rt.store.subscriptions.update(sub.id, { lastDeliveryAt: iso(ctx.now) });
	});
}

async function deliverLive(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	entry: OutboxEntry,
): Promise<"delivered" | "skipped" | "stop"> {
	if (entry.state === "sent") {
		// Discord accepted it before a crash: publish if asked (a repeat is harmless), finish, do not send again.
		if (entry.discordMessageId) {
			const kind = await kindOf(rt, sub);
			const where = whereSent(sub, kind, entry.discordMessageId);
			if ((await publish(rt, ctx, sub, kind, where)) === "retry") return "stop";
			if (isPayload(entry.payload)) await recordAnnounced(rt, ctx, sub, [entry.payload.id], where);
		}
		await rt.store.outbox.done(entry.key, ctx.fence);
		ctx.report.recovered++;
		rt.metrics?.feedDelivery("live", "recovered");
		return "delivered";
	}
	const payload = entry.payload;
	if (!isPayload(payload)) {
		rt.log.error({ key: entry.key }, "outbox entry without a readable post: dropped");
		await rt.store.outbox.done(entry.key, ctx.fence);
		return "skipped";
	}
	let channel: ChannelInfo | undefined;
	try {
		channel = await rt.discord.channelInfo(sub.channelId, sub.guildId);
	} catch (error) {
		// A failed lookup never counts as a refused delivery (attempts 0): only 404/403 stop the feed.
		return deliveryFailed(rt, ctx, sub, 0, error, [entry.key]);
	}
	if (!channel) return waitForChannel(rt, ctx, sub);
	const channelNsfw = channel.nsfw;
	if (!mayAnnounce(payload.status, channelNsfw)) {
		rt.log.info(
			{ key: entry.key, status: payload.status, channelId: sub.channelId },
			"post not announced here (NSFW outside an age-restricted channel)",
		);
		await rt.store.outbox.done(entry.key, ctx.fence);
		return "skipped";
	}
	const t = translatorFor(rt, sub.guildId);
	const postName = forumPostName(t, payload);
	if (entry.attempts > 0) {
		const found = await findDelivered(rt, ctx, sub, channel.kind, entry.key, postName);
		if (found === "stop") return "stop";
		if (found) {
			await rt.store.outbox.recordSent(entry.key, found.messageId, ctx.fence);
			if ((await publish(rt, ctx, sub, channel.kind, found)) === "retry") return "stop";
			await recordAnnounced(rt, ctx, sub, [payload.id], found);
			await rt.store.outbox.done(entry.key, ctx.fence);
			ctx.report.recovered++;
			rt.metrics?.feedDelivery("live", "recovered");
			rt.log.info(
				{ key: entry.key, messageId: found.messageId },
				"delivery had reached Discord before a restart: not sent again",
			);
			return "delivered";
		}
	}
	const body = announcement(t, payload, {
		channelNsfw,
		marker: entry.key,
		style: sub.style,
		mentionRoleId: sub.mentionRoleId,
	});
	const tags = await forumTags(rt, ctx, channel, payload);
	const info: DeliveryInfo = { subscriptionId: sub.id, channelId: sub.channelId, keys: [entry.key], kind: "live" };
	await rt.store.outbox.bumpAttempt(entry.key, ctx.fence);
	await rt.hooks.beforeSend?.(info);
	let where: AnnouncedAt;
	try {
		where = await sendTo(rt, sub, channel.kind, { body, postName, tags });
	} catch (error) {
		return deliveryFailed(rt, ctx, sub, entry.attempts + 1, error, [entry.key]);
	}
	await rt.hooks.afterAccepted?.({ ...info, messageId: where.messageId });
	await rt.store.outbox.recordSent(entry.key, where.messageId, ctx.fence);
	if ((await publish(rt, ctx, sub, channel.kind, where)) === "retry") return "stop";
	await recordAnnounced(rt, ctx, sub, [payload.id], where);
	await rt.store.outbox.done(entry.key, ctx.fence);
	ctx.report.delivered++;
	rt.metrics?.feedDelivery("live", "sent");
	return "delivered";
}
