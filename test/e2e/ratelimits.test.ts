/**
 * The real bot under Discord's own limits (the emulator's defaults: 50 requests/s per bot token,
 * 5 messages / 5 s per channel): a feed burst larger than a second's worth of requests goes out
 * complete, once each, without a single 429 or invalid request, and interactions are answered
 * meanwhile. The feed clock is moved by hand; Discord's limits run on real time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Channel } from "../emulators/discord/index.js";
import { Harness } from "./harness.js";

const INTERVAL = 60_000;
let now = Date.now();
const clock = () => now;

let h: Harness;

beforeAll(async () => {
	h = await Harness.start({ imgpile: { now: clock }, feeds: { now: clock, intervalMs: INTERVAL } });
});

afterAll(async () => {
	await h?.close();
});

describe("Discord's rate limits", () => {
	it("a feed burst of 500 messages to 100 channels: all delivered once, no 429, no invalid request; commands answered meanwhile", async () => {
		const channels: Channel[] = Array.from({ length: 100 }, (_, i) => h.guild.createChannel({ name: `hot-${i}` }));
		await h.discord.waitFor(() => channels.every((c) => h.bot.client.channels.cache.has(c.id)), {
			what: "the channels in the bot's cache",
		});
		for (const channel of channels) {
			await h.store.subscriptions.create({
				guildId: h.guild.id,
				channelId: channel.id,
				filters: { tag: "hot", username: null, nsfw: false },
				mode: "live",
				everyMs: null,
				at: null,
				backfill: 0,
				createdBy: h.alice.id,
			});
		}
		h.bot.feeds.changed();
		now += INTERVAL;
		await h.bot.tick(); // first poll: silent
		const posts = [1, 2, 3, 4, 5].map((i) =>
			h.imgpileEmulator.seedPost({ username: "alice", tags: ["hot"], title: `Hot ${i}` }),
		);
		const requestsBefore = h.discord.requests.length;
		const invalidBefore = h.discord.invalidRequests();

		now += INTERVAL;
		const burst = h.bot.tick();
		// While the feed keeps the global limit busy, people still get their answers.
		await h.discord.waitFor(() => h.discord.requests.length - requestsBefore >= 60, { timeoutMs: 10_000 });
		const commands = await Promise.all(
			[h.alice, h.bob, h.carol].map((user) =>
				h.discord.slash({ user, channel: h.general, command: "imgpile", subcommand: "status" }),
			),
		);
		for (const ix of commands) await ix.settled();
		expect(commands.map((ix) => ix.ackExpired)).toEqual([false, false, false]);
		const report = await burst;

		expect(report.delivered).toBe(500);
		for (const channel of channels) {
			const titles = h.discord
				.messages(channel)
				.filter((m) => m.author.id === h.discord.botUser.id)
				.map((m) => String(m.embeds[0]?.title ?? ""));
			expect(titles, `#${channel.name}`).toEqual(posts.map((p) => p.title));
		}
		const requests = h.discord.requests.slice(requestsBefore);
		expect(requests.filter((r) => r.status === 429)).toEqual([]);
		expect(h.discord.invalidRequests() - invalidBefore).toBe(0);
		// More than a second's worth of requests: the global limit was in play.
		const sent = requests.filter((r) => r.route === "POST /channels/{channel_id}/messages");
		expect(sent.length).toBe(500);
		expect((sent.at(-1)?.at ?? 0) - (sent[0]?.at ?? 0)).toBeGreaterThan(1000);
		// Within the limit whatever second Discord counts: at most 50 in any 1,000 ms of arrivals,
		// not only in the emulator's windows (an even pace, not bursts at each window's start).
		const authenticated = requests.filter((r) => r.route && !/^POST \/interactions|\/webhooks\//.test(r.route));
		let busiest = 0;
		for (let i = 0, j = 0; i < authenticated.length; i++) {
			while ((authenticated[j]?.at ?? 0) <= (authenticated[i]?.at ?? 0) - 1000) j++;
			busiest = Math.max(busiest, i - j + 1);
		}
		expect(busiest).toBeLessThanOrEqual(50);
		h.discord.assertNoViolations();
	});
});
