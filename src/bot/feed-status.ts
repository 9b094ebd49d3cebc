/**
 * What `/feed` tells admins about their subscriptions: each one's health (paused, stopped and
 * why, imgpile errors, slowed), its mode, and why Discord refused a send.
 */
import {
	DigestBusyError,
	describeFilters,
	type FeedControl,
	FeedSendError,
	formatInterval,
	reasonText,
} from "../feeds/index.js";
import { DEFAULT_SCORE_WINDOW_MS, type FeedSubscription } from "../store/index.js";
import { UserError } from "./errors.js";
import type { HandlerContext } from "./types.js";

/** One `/feed list` entry per subscription: id, channel, filters, mode, last delivery, health. */
export async function subscriptionLines(
	ctx: HandlerContext,
	control: FeedControl,
	subs: readonly FeedSubscription[],
	timezone: string,
): Promise<string[]> {
	const lines: string[] = [];
	for (const sub of subs) {
		const health = await healthText(ctx, control, sub);
		lines.push(
			ctx.t("feed.list.line", {
				id: sub.id,
				channel: `<#${sub.channelId}>`,
				filters: describeFilters(ctx.t, sub.filters),
				mode: modeText(ctx, sub, timezone),
				last: sub.lastDeliveryAt ? discordTime(sub.lastDeliveryAt, "R") : ctx.t("feed.list.never"),
				health,
			}),
		);
		const options = optionsText(ctx, sub);
		if (options) lines[lines.length - 1] += `\n${options}`;
		const sync = await control.syncStatus(sub);
		if (sync.behind > 0) {
			lines[lines.length - 1] +=
				`\n${ctx.t("feed.sync.behind", { count: sync.behind, time: discordTime(sync.oldestUnsyncedAt, "R") })}`;
		}
	}
	return lines;
}

/** The subscription's announcement options that differ from the defaults, as one line; "" when none. */
export function optionsText(ctx: HandlerContext, sub: FeedSubscription): string {
	const parts: string[] = [];
	if (sub.style !== "full") parts.push(ctx.t(`feed.options.style.${sub.style}`));
	if (sub.mentionRoleId) parts.push(ctx.t("feed.options.mention", { role: `<@&${sub.mentionRoleId}>` }));
	if (sub.publish) {
		const limited = sub.publishLimitedUntil ? Date.parse(sub.publishLimitedUntil) : Number.NaN;
		parts.push(
			limited > ctx.now()
				? ctx.t("feed.options.publishLimited", { time: discordTime(sub.publishLimitedUntil, "R") })
				: ctx.t("feed.options.publish"),
		);
	}
	if (sub.minScore !== null) {
		const window = formatInterval(sub.withinMs ?? DEFAULT_SCORE_WINDOW_MS);
		parts.push(ctx.t("feed.options.scoreGate", { score: sub.minScore, window }));
	}
	if (sub.removed === "note") parts.push(ctx.t("feed.options.removedNote"));
	return parts.length > 0 ? ctx.t("feed.options.line", { options: parts.join(" · ") }) : "";
}

/** How a subscription is doing: paused, stopped (why), imgpile errors, slowed, or fine. */
async function healthText(ctx: HandlerContext, control: FeedControl, sub: FeedSubscription): Promise<string> {
	if (sub.disabledReason) {
		return ctx.t("feed.health.disabled", { reason: reasonText(ctx.t, sub.disabledReason), id: sub.id });
	}
	if (sub.paused) return ctx.t("feed.health.paused");
	const now = control.now();
	const cursor = await control.cursor(sub);
	if (cursor.failures > 0) {
		return ctx.t("feed.health.failing", {
			count: cursor.failures,
			time: cursor.backoffUntil ? discordTime(cursor.backoffUntil, "R") : "?",
		});
	}
	const status = control.status();
	const slowedUntil = cursor.slowedUntil ? Date.parse(cursor.slowedUntil) : Number.NaN;
	if (status.slowed || slowedUntil > now) {
		return ctx.t("feed.health.slowed", { interval: formatInterval(status.periodMs) });
	}
	if (!cursor.lastPolledAt) return ctx.t("feed.health.waiting");
	return ctx.t("feed.health.ok", { time: discordTime(cursor.lastPolledAt, "R") });
}

export function modeText(ctx: HandlerContext, sub: FeedSubscription, timezone: string): string {
	if (sub.mode === "live") return ctx.t("feed.mode.live");
	if (sub.at) return ctx.t("feed.mode.daily", { at: sub.at, timezone });
	return ctx.t("feed.mode.every", { interval: formatInterval(sub.everyMs ?? 86_400_000) });
}

/** `<t:…:R>` (relative) or `<t:…:f>` (date and time), shown in each reader's own time zone. */
export function discordTime(iso: string | null, style: "R" | "f"): string {
	const ms = iso ? Date.parse(iso) : Number.NaN;
	return Number.isNaN(ms) ? "?" : `<t:${Math.floor(ms / 1000)}:${style}>`;
}

/** Runs a send to the subscription's channel; Discord refusing it becomes a message saying why. */
export async function sendingTo<T>(ctx: HandlerContext, sub: FeedSubscription, send: () => Promise<T>): Promise<T> {
	try {
		return await send();
	} catch (error) {
		if (error instanceof DigestBusyError) throw new UserError("feed.digest.busy", { id: sub.id });
		if (error instanceof FeedSendError) {
			throw new UserError("feed.sendFailed", { channel: `<#${sub.channelId}>`, reason: sendFailureText(ctx, error) });
		}
		throw error;
	}
}

function sendFailureText(ctx: HandlerContext, error: FeedSendError): string {
	if (error.reason === "invalid" || error.reason === "transient") return ctx.t("feed.reason.discordError");
	return reasonText(ctx.t, error.reason);
}
