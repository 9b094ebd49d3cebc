/**
 * Spaces the bot's Discord requests evenly below Discord's global limit (50 requests per second
 * per bot token). discord.js counts its global limit in fixed one-second windows as requests
 * leave its queues; Discord counts them as they arrive. Connection-pool queueing and network
 * delays move some of one window's requests into the next, and 50 at a window's end plus 50 at
 * the next one's start arrive within one second: global 429s, each an invalid request towards
 * Discord's Cloudflare ban. Even spacing at 90% of the limit keeps every second of arrivals under
 * it with ~100 ms of jitter to spare. Requests without the bot token (interaction callbacks and
 * webhooks) are not bound to the global limit, as Discord documents: they pass at once, so feed
 * traffic never delays an interaction's answer.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { DefaultRestOptions, type RESTOptions } from "discord.js";

type MakeRequest = RESTOptions["makeRequest"];

/**
 * Wraps @discordjs/rest's `makeRequest` (called after its per-route waits) with even spacing:
 * requests with the bot token leave one per `1000 / perSecond` ms, in order. Late timers are made
 * up for by one slot at most, so a stalled event loop is not followed by a catch-up burst.
 */
export function pacedMakeRequest(perSecond: number, inner: MakeRequest = DefaultRestOptions.makeRequest): MakeRequest {
	const spacingMs = 1000 / perSecond;
	let slot = Number.NEGATIVE_INFINITY;
	let queue: Promise<void> = Promise.resolve();
	const turn = async () => {
		const now = performance.now();
		slot = Math.max(slot + spacingMs, now - spacingMs);
		if (slot > now) await sleep(slot - now);
	};
	return async (url, init) => {
		// Header names are case-insensitive (the REST proxy forwards them as it received them).
		const headers = init.headers as Record<string, string> | undefined;
		if (headers && Object.keys(headers).some((name) => name.toLowerCase() === "authorization")) {
			const mine = queue.then(turn);
			queue = mine;
			await mine;
		}
		return inner(url, init);
	};
}
