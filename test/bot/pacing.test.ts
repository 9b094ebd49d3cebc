import type { ResponseLike } from "discord.js";
import { describe, expect, it } from "vitest";
import { pacedMakeRequest } from "../../src/bot/pacing.js";

describe("Discord request pacing", () => {
	it("spaces requests with the bot token evenly, in order; callbacks and webhooks (no token) never wait", async () => {
		const departures: Array<{ url: string; at: number }> = [];
		const paced = pacedMakeRequest(20, async (url) => {
			departures.push({ url, at: performance.now() });
			return { status: 204 } as ResponseLike;
		});
		// Header names in any case (a proxy may forward them lowercased).
		const withToken = (i: number) => ({
			headers: { [i % 2 ? "Authorization" : "authorization"]: "Bot token" } as Record<string, string>,
		});
		const queued = Array.from({ length: 6 }, (_, i) => paced(`/channels/${i}/messages`, withToken(i)));
		await paced("/interactions/1/token/callback", { headers: {} });
		expect(departures[0]?.url).toBe("/interactions/1/token/callback");
		await Promise.all(queued);
		const paced6 = departures.slice(1);
		expect(paced6.map((d) => d.url)).toEqual(Array.from({ length: 6 }, (_, i) => `/channels/${i}/messages`));
		// 50 ms apart (20/s), one slot of catch-up at most: a late timer may let the next request go
		// sooner, but the k-th never leaves before (k - 1) slots after the first. The first's departure is
		// recorded a moment after its slot was taken, later still on a loaded machine: 15 ms of slack.
		const first = paced6[0]?.at ?? 0;
		for (const [k, d] of paced6.entries()) expect(d.at - first).toBeGreaterThanOrEqual((k - 1) * 50 - 15);
	});
});
