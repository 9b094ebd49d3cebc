/**
 * Batch DMs of personal notifications, sent by the feed leader with the feed outbox's invariants:
 * every entry of a batch gets its attempt recorded (fenced) before the DM, so the entries with
 * attempts are the batch; Discord's acceptance is recorded on the marker's entry (`recordSent`),
 * then each is done and the profile's `lastBatchAt` written. A batch that may have reached Discord before a
 * crash is looked for in the DM channel by its marker (`n:` + its oldest post id, also its
 * enforced nonce) before it is sent again. At most one DM per user per `every`, none in quiet
 * hours (notify-schedule.ts). Discord's 50007 (the user does not take DMs from the bot) pauses
 * the user: nothing is queued for them until `/notify resume`, and the router tells them once.
 */
import { DiscordAPIError, RESTJSONErrorCodes } from "discord.js";
import { pickLocale, translator } from "../i18n/index.js";
import { type NotifyProfile, notifyWanted, type OutboxEntry } from "../store/index.js";
import { notificationBatch } from "./notify-render.js";
import { nextBatchAt } from "./notify-schedule.js";
import { isNotifyPayload } from "./notify-watchers.js";
import { carriesMarker } from "./render.js";
import { type CycleContext, type FeedRuntime, iso, MAX_BACKOFF_MS, mapLimit, parseTime } from "./runtime.js";

/** How often the whole notifications outbox is read (between, only users known to wait are looked at). */
const NOTIFY_SCAN_MS = 5 * 60_000;
/** Batch DMs a cycle at most (about a second of Discord's 50 requests a second). */
const NOTIFY_BATCHES_PER_CYCLE = 40;
/** The bot's recent DMs to a user looked through for a batch that may have reached Discord. */
const DM_HISTORY = 20;
/** Discord codes that mean the user cannot get DMs from the bot (closed DMs; no such user any more). */
const DM_REFUSED = new Set<number>([
	RESTJSONErrorCodes.CannotSendMessagesToThisUser,
	RESTJSONErrorCodes.UnknownUser,
	RESTJSONErrorCodes.InvalidRecipients,
]);

/** A batch Discord refused as invalid this many times is dropped. */
const INVALID_ATTEMPTS = 3;

/** The marker of a user's batch: its oldest post (a user's post is queued once, so it names one batch). */
export function notifyMarker(entry: Pick<OutboxEntry, "postId">): string {
	return `n:${entry.postId}`;
}

/** Step 7 of a cycle: the batches that are due (and those a crash interrupted). */
export async function deliverNotifications(rt: FeedRuntime, ctx: CycleContext): Promise<void> {
	await scanWaiting(rt, ctx.now);
	// The longest-waiting first, a bounded number a cycle: a burst of batches (a busy tag, many
	// users) goes out over a few cycles instead of holding the feeds' polls and deliveries back.
	const waiting = [...rt.notifyWaiting].filter(([, notBefore]) => notBefore <= ctx.now);
	waiting.sort((a, b) => a[1] - b[1]);
	const due: NotifyProfile[] = [];
	for (const [userId] of waiting.slice(0, NOTIFY_BATCHES_PER_CYCLE)) {
		const profile = await rt.store.notify.get(userId);
		if (!profile || profile.paused) {
			// Paused: looked at again when resumed (`changed()` rescans).
			rt.notifyWaiting.delete(userId);
			continue;
		}
		due.push(profile);
	}
	await mapLimit(due, rt.concurrency, async (profile) => {
		if (rt.stopped) return;
		await rt.locks.run(`notify:${profile.userId}`, () => batchFor(rt, ctx, profile));
	});
}

/** Reads the whole notifications outbox now and then (at start, after settings changed): who waits. */
async function scanWaiting(rt: FeedRuntime, now: number): Promise<void> {
	if (now - rt.notifyScanAt < NOTIFY_SCAN_MS) return;
	rt.notifyScanAt = now;
	rt.notifyWaiting.clear();
	for (const userId of await rt.store.notifyOutbox.waiting()) rt.notifyWaiting.set(userId, now);
}

async function batchFor(rt: FeedRuntime, ctx: CycleContext, profile: NotifyProfile): Promise<void> {
	const { userId } = profile;
	const entries = await rt.store.notifyOutbox.pending({ subscriptionId: userId });
	if (entries.length === 0) {
		rt.notifyWaiting.delete(userId);
		return;
	}
	const inflight = entries.filter((entry) => entry.state === "sent" || entry.attempts > 0);
	if (inflight.length === 0 && !notifyWanted(profile)) {
		// Everything turned off meanwhile: what waited is not sent.
		for (const entry of entries) await rt.store.notifyOutbox.done(entry.key, ctx.fence);
		rt.notifyWaiting.delete(userId);
		return;
	}
	if (inflight.length === 0) {
		const at = nextBatchAt({
			now: ctx.now,
			lastBatchAt: parseTime(profile.lastBatchAt),
			oldestQueuedAt: Date.parse(entries[0]?.createdAt ?? iso(ctx.now)),
			everyMs: profile.everyMs,
			quiet: profile.quiet,
			tz: profile.tz ?? "UTC",
		});
		if (at === null || at > ctx.now) {
			rt.notifyWaiting.set(userId, at ?? Number.POSITIVE_INFINITY);
			return;
		}
	}
	const batch = inflight.length > 0 ? inflight : entries;
	const first = batch[0];
	if (!first) return;
	const marker = notifyMarker(first);
	let messageId = batch.find((entry) => entry.state === "sent")?.discordMessageId ?? undefined;
	let channelId: string;
	try {
		channelId = await rt.discord.dmChannel(userId);
		if (!messageId && inflight.length > 0) messageId = await foundInDms(rt, channelId, marker);
	} catch (error) {
		await failed(rt, ctx, profile, batch, error);
		return;
	}
	if (messageId) {
		ctx.report.recovered += batch.length;
		rt.metrics?.feedDelivery("notify", "recovered");
		rt.log.info({ userId, messageId }, "notification batch had reached Discord before a restart");
	} else {
		messageId = await send(rt, ctx, profile, channelId, batch, marker);
		if (!messageId) return;
	}
	// Recorded on the marker's entry only (a batch is one message; a crash before the entries are
	// done finds it there, or by the marker): a batch of N posts writes N attempts, 1, then N dones.
	// The marker's entry is done last, so a crash in between still finds the message through it.
	if (first.state !== "sent") await rt.store.notifyOutbox.recordSent(first.key, messageId, ctx.fence);
	for (const entry of batch.slice(1)) await rt.store.notifyOutbox.done(entry.key, ctx.fence);
	await rt.store.notifyOutbox.done(first.key, ctx.fence);
	await rt.store.notify.updateExisting(userId, (current) => ({ ...current, lastBatchAt: iso(ctx.now) }), ctx.fence);
	// Posts queued while this batch went out wait for the next one (`every` from now).
	if (entries.length > batch.length) rt.notifyWaiting.set(userId, ctx.now + profile.everyMs);
	else rt.notifyWaiting.delete(userId);
}

/** Records the attempt on every entry of the batch, then DMs it; the message id, or undefined when it did not go (failed, or nothing left to send). */
async function send(
	rt: FeedRuntime,
	ctx: CycleContext,
	profile: NotifyProfile,
	channelId: string,
	batch: OutboxEntry[],
	marker: string,
): Promise<string | undefined> {
	const items = batch.flatMap((entry) => (isNotifyPayload(entry.payload) ? [entry.payload] : []));
	const t = translator(pickLocale(profile.locale));
	const body = notificationBatch(t, items, { nsfw: profile.nsfw, marker });
	if (!body) {
		// Nothing in it may go to this user any more (they turned NSFW off meanwhile).
		for (const entry of batch) await rt.store.notifyOutbox.done(entry.key, ctx.fence);
		return undefined;
	}
	for (const entry of batch) {
		if ((await rt.store.notifyOutbox.bumpAttempt(entry.key, ctx.fence)) === undefined) return undefined;
	}
	const info = {
		subscriptionId: profile.userId,
		channelId,
		keys: batch.map((entry) => entry.key),
		kind: "notify" as const,
	};
	await rt.hooks.beforeSend?.(info);
	let id: string;
	try {
		({ id } = await rt.discord.send(channelId, body));
	} catch (error) {
		await failed(rt, ctx, profile, batch, error);
		return undefined;
	}
	ctx.report.notifyBatches++;
	rt.metrics?.feedDelivery("notify", "sent");
	await rt.hooks.afterAccepted?.({ ...info, messageId: id });
	return id;
}

async function foundInDms(rt: FeedRuntime, channelId: string, marker: string): Promise<string | undefined> {
	const me = rt.discord.botUserId();
	const recent = await rt.discord.recentMessages(channelId, DM_HISTORY);
	return recent.find((message) => (me === undefined || message.author?.id === me) && carriesMarker(message, marker))
		?.id;
}

/** A refused DM pauses the user (told once, at their next interaction); anything else is tried again later. */
async function failed(
	rt: FeedRuntime,
	ctx: CycleContext,
	profile: NotifyProfile,
	batch: OutboxEntry[],
	error: unknown,
): Promise<void> {
	ctx.report.deliveryFailures++;
	rt.metrics?.feedDelivery("notify", "failed");
	const { userId } = profile;
	if (error instanceof DiscordAPIError && typeof error.code === "number" && DM_REFUSED.has(error.code)) {
		await rt.store.notify.updateExisting(
			userId,
			(current) =>
				current.paused ? current : { ...current, paused: { reason: "dm_closed", since: iso(ctx.now), toldAt: null } },
			ctx.fence,
		);
		rt.notifyWaiting.delete(userId);
		rt.dirty = true;
		rt.log.info({ userId, code: error.code }, "notification DMs refused by Discord: paused for this user");
		return;
	}
	const attempts = Math.max(...batch.map((entry) => entry.attempts), 1);
	if (error instanceof DiscordAPIError && error.status === 400 && attempts >= INVALID_ATTEMPTS) {
		// A body Discord keeps refusing would block the user's notifications for good.
		rt.log.error(
			{ err: error, userId, keys: batch.map((entry) => entry.key) },
			"Discord keeps refusing this batch: dropped",
		);
		rt.metrics?.feedDelivery("notify", "dropped");
		for (const entry of batch) await rt.store.notifyOutbox.done(entry.key, ctx.fence);
		return;
	}
	const wait = Math.min(MAX_BACKOFF_MS, 30_000 * 2 ** (attempts - 1));
	rt.notifyWaiting.set(userId, ctx.now + wait);
	rt.log.warn({ err: error, userId, attempts, retryAt: iso(ctx.now + wait) }, "notification batch failed; will retry");
}
