/**
 * What a delivery does when Discord says no, or may have said yes: looking for a message that
 * reached the channel before a crash, retrying later, and disabling a subscription (403/404)
 * with one notice to the guild.
 */
import type { FeedSubscription } from "../store/index.js";
import { classifyDiscordError } from "./discord.js";
import { carriesMarker, type DisableReason, disabledNotice } from "./render.js";
import { type CycleContext, type FeedRuntime, MAX_BACKOFF_MS, translatorFor } from "./runtime.js";

/**
 * Whether a bot message carrying `marker` is among the channel's recent messages (its id), so a
 * delivery that may have reached Discord before a crash is not sent twice.
 */
export async function alreadyPosted(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	marker: string,
): Promise<string | undefined | "stop"> {
	let messages = ctx.history.get(sub.channelId);
	if (!messages) {
		messages = rt.discord.recentMessages(sub.channelId, rt.historyLimit);
		ctx.history.set(sub.channelId, messages);
	}
	let list: Awaited<typeof messages>;
	try {
		list = await messages;
	} catch (error) {
		const outcome = await deliveryFailed(rt, ctx, sub, 0, error, [marker]);
		return outcome === "stop" ? "stop" : undefined;
	}
	const me = rt.discord.botUserId();
	return list.find((message) => (me === undefined || message.author?.id === me) && carriesMarker(message, marker))?.id;
}

export async function deliveryFailed(
	rt: FeedRuntime,
	ctx: CycleContext,
	sub: FeedSubscription,
	attempts: number,
	error: unknown,
	keys: string[],
): Promise<"stop" | "skipped"> {
	ctx.report.deliveryFailures++;
	rt.metrics?.feedDelivery(sub.mode, "failed");
	const failure = classifyDiscordError(error);
	switch (failure.kind) {
		case "gone":
		case "forbidden":
			await disable(rt, sub, failure.reason);
			return "stop";
		case "invalid":
			if (attempts >= 3) {
				rt.log.error({ err: error, keys }, "Discord keeps refusing this delivery: dropped");
				rt.metrics?.feedDelivery(sub.mode, "dropped");
				for (const key of keys) await rt.store.outbox.done(key, ctx.fence);
				return "skipped";
			}
			rt.log.warn({ err: error, keys, attempts }, "Discord refused a delivery; will try again");
			rt.retryAt.set(sub.id, ctx.now + rt.intervalMs);
			return "stop";
		case "transient": {
			const wait = Math.min(MAX_BACKOFF_MS, 5_000 * 2 ** Math.min(8, Math.max(0, attempts - 1)));
			rt.log.warn({ err: error, keys, attempts, retryInMs: wait }, "delivery failed; will try again");
			rt.retryAt.set(sub.id, ctx.now + wait);
			return "stop";
		}
	}
}

/**
 * The channel's guild is in an outage (its channels stale, or not even cached when the bot
 * started during it): what the channel allows is unknown, so nothing is sent or dropped now.
 * The entries wait for a later cycle; only Discord's own 404/403 disables a feed.
 */
export async function waitForChannel(rt: FeedRuntime, ctx: CycleContext, sub: FeedSubscription): Promise<"stop"> {
	rt.log.info(
		{ subscriptionId: sub.id, guildId: sub.guildId, channelId: sub.channelId },
		"feed channel's guild is unavailable (Discord outage): deliveries wait",
	);
	rt.retryAt.set(sub.id, ctx.now + rt.intervalMs);
	return "stop";
}

/** 403/404: the subscription stops (entries kept), the reason is recorded, the guild is told once. */
export async function disable(rt: FeedRuntime, sub: FeedSubscription, reason: DisableReason): Promise<void> {
	const current = await rt.store.subscriptions.get(sub.id);
	if (!current || current.disabledReason !== null) return;
	await rt.store.subscriptions.update(sub.id, { disabledReason: reason });
	rt.dirty = true;
	rt.log.warn(
		{ subscriptionId: sub.id, guildId: sub.guildId, channelId: sub.channelId, reason },
		"feed subscription disabled",
	);
	try {
		await notifyDisabled(rt, current, reason);
	} catch (error) {
		rt.log.warn({ err: error, subscriptionId: sub.id }, "could not tell the guild that a feed stopped");
	}
}

async function notifyDisabled(rt: FeedRuntime, sub: FeedSubscription, reason: DisableReason): Promise<void> {
	const guild = rt.discord.guild(sub.guildId);
	const t = translatorFor(rt, sub.guildId);
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
			await rt.discord.send(system, body);
			return;
		} catch (error) {
			rt.log.debug({ err: error, channelId: system }, "system channel refused the notice; trying a DM");
		}
	}
	await rt.discord.dm(sub.createdBy, body);
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

/** Another process is sending this digest right now (several processes on one store). */
export class DigestBusyError extends Error {
	override name = "DigestBusyError";
}
