/**
 * The bot behind the REST proxy (src/proxy), as it runs at scale: every Discord request goes
 * bot → proxy → Discord emulator. Slash commands, files on interaction callbacks, /upload's
 * attachment and deferred answer, feed announcements and a 429 on the way all work as without
 * it, and no token (bot, interaction, webhook, imgpile) reaches a log line, the proxy's included.
 * Then the reason for the proxy: two processes' worth of paced clients stay under Discord's global
 * limit together only through one proxy.
 */
import { DefaultRestOptions, REST } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pacedMakeRequest } from "../../src/bot/pacing.js";
import { createLogger } from "../../src/logger.js";
import { KEEP_ALIVE_MS, type RestProxy, startRestProxy } from "../../src/proxy/server.js";
import { type DiscordEmulator, startDiscordEmulator } from "../emulators/discord/index.js";
import type { RecordedRequest } from "../emulators/discord/recording.js";
import { pngBytes } from "../support/images.js";
import { secretFormsIn } from "../support/secrets.js";
import { Harness, IMGPILE_USERS, imgpileUsers } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-proxy-3b8e51d7c2";
const INTERVAL = 60_000;
let now = Date.now();
const clock = () => now;

let h: Harness;

beforeAll(async () => {
	h = await Harness.start({
		proxy: true,
		imgpile: { now: clock, users: imgpileUsers({ username: "feedbot", token: FEED_TOKEN }) },
		feeds: { now: clock, intervalMs: INTERVAL, token: FEED_TOKEN },
	});
	expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
});

afterAll(async () => {
	await h?.close();
});

/** The proxy's own log lines for requests it forwarded. */
const proxied = () =>
	h.logs
		.map((line) => JSON.parse(line) as { name?: string; msg?: string; path?: string; status?: number })
		.filter((line) => line.name === "imgpile-rest-proxy" && line.msg === "proxied");
const proxiedPaths = () => proxied().map((line) => line.path);

describe("the bot behind the REST proxy", () => {
	it("logs in and answers a slash command, every request through the proxy", async () => {
		expect(h.proxy).toBeDefined();
		const ix = await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "status" });
		await ix.settled();
		expect(ix.reply?.content).toContain("Linked");
		expect(ix.ackExpired).toBe(false);
		// The gateway URL came from GET /gateway/bot through the proxy; the callback went the same way
		// (the proxy logs a request once it has passed the answer on: a moment after Discord has it).
		expect(proxiedPaths()).toContain("/api/v10/gateway/bot");
		await expect.poll(proxiedPaths).toContain(`/api/v10/interactions/${ix.id}/[redacted]/callback?with_response=false`);
		h.discord.assertNoViolations();
	});

	it("sends a file on an interaction callback (the ShareX file) whole", async () => {
		const ix = await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "sharex" });
		await ix.settled();
		const [file] = ix.reply?.attachments ?? [];
		expect({ ephemeral: ix.ephemeral, file: file?.filename }).toEqual({ ephemeral: true, file: "imgpile.sxcu" });
		const sxcu = JSON.parse((await h.discord.readAttachment(file as never)).toString("utf8"));
		expect(sxcu.Headers).toEqual({ Authorization: `Bearer ${IMGPILE_USERS.alice}` });
	});

	it("/upload with an attachment: deferred, then the result edited into @original by its webhook route", async () => {
		const ix = await h.finished(
			await h.discord.slash({
				user: h.alice,
				channel: h.general,
				command: "upload",
				attachments: { file: { filename: "cat.png", contentType: "image/png", source: pngBytes(40, 30) } },
			}),
		);
		expect(ix.callback?.type).toBe(5);
		const embed = ix.reply?.embeds[0];
		expect(embed?.title).toBe("cat.png");
		expect(JSON.stringify(embed?.fields)).toContain("40 × 30");
		await expect
			.poll(proxiedPaths)
			.toContain(`/api/v10/webhooks/${h.discord.applicationId}/[redacted]/messages/%40original`);
		h.discord.assertNoViolations();
	});

	it("announces a feed post, and after a 429 at the proxy sends the same message again, whole", async () => {
		const channel = h.guild.createChannel({ name: "proxied-feed" });
		await h.discord.waitFor(() => h.bot.client.channels.cache.has(channel.id), { what: "the channel in the cache" });
		const added = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "feed",
			subcommand: "add",
			options: { channel, tag: "proxied" },
		});
		await added.settled();
		expect(added.reply?.content).toContain("added");
		now += INTERVAL;
		await h.bot.tick(); // the first poll is silent
		h.imgpileEmulator.seedPost({ username: "bob", tags: ["proxied"], title: "Through the proxy" });
		// The proxy waits it out and retries: the retry must carry the message's body again.
		h.discord.forceRateLimit({ route: "POST /channels/{channel_id}/messages", times: 1, retryAfterMs: 100 });
		const before = h.discord.requests.length;
		now += INTERVAL;
		await h.bot.tick();
		const messages = h.discord.messages(channel).filter((m) => m.author.id === h.discord.botUser.id);
		expect(messages.map((m) => m.embeds[0]?.title)).toEqual(["Through the proxy"]);
		const posts = h.discord.requests.slice(before).filter((r) => r.route === "POST /channels/{channel_id}/messages");
		expect(posts.map((r) => r.status)).toEqual([429, 200]);
		h.discord.assertNoViolations();
	});

	it("no token reaches a log line, the proxy's lines included", () => {
		const logs = h.logs.join("\n");
		expect(proxied().length).toBeGreaterThan(10);
		expect(secretFormsIn(logs, h.discord.botToken)).toEqual([]);
		expect(secretFormsIn(logs, IMGPILE_USERS.alice)).toEqual([]);
		const tokens = [...h.discord.interactions.values()].map((ix) => ix.token);
		expect(tokens.length).toBeGreaterThan(3);
		expect(tokens.filter((token) => logs.includes(token))).toEqual([]);
	});

	it("refuses a request with another bot token itself: Discord never sees it, nothing counts as invalid", async () => {
		const before = h.discord.requests.length;
		const invalid = h.discord.invalidRequests();
		const other = "T3RoZXJCb3RJZDEyMzQ1Njc4.GaBcDe.ffffffffffffffffffffffffffffffffffffff";
		const response = await fetch(`${h.proxy?.apiUrl}/v10/users/@me`, { headers: { Authorization: `Bot ${other}` } });
		expect(response.status).toBe(401);
		expect(h.discord.requests.length).toBe(before);
		expect(h.discord.invalidRequests()).toBe(invalid);
		expect(h.logs.join("\n")).not.toContain(other);
	});

	it("answers with its own keep-alive and without Discord's bucket headers (it keeps the limits)", async () => {
		const response = await fetch(`${h.proxy?.apiUrl}/v10/gateway/bot`, {
			headers: { Authorization: `Bot ${h.discord.botToken}` },
		});
		expect(response.status).toBe(200);
		expect(response.headers.get("keep-alive")).toBe(`timeout=${KEEP_ALIVE_MS / 1000}`);
		expect([...response.headers.keys()].filter((name) => name.startsWith("x-ratelimit"))).toEqual([]);
		expect(((await response.json()) as { url: string }).url).toBe(h.discord.gatewayUrl);
	});

	it("passes a long rate limit back (10 crossposts an hour) instead of holding the request for it", async () => {
		const news = h.guild.createChannel({ name: "proxy-news", type: "announcement" });
		const auth = { Authorization: `Bot ${h.discord.botToken}`, "Content-Type": "application/json" };
		const posted = await fetch(`${h.proxy?.apiUrl}/v10/channels/${news.id}/messages`, {
			method: "POST",
			headers: auth,
			body: JSON.stringify({ content: "to publish" }),
		});
		const message = (await posted.json()) as { id: string };
		// Others published ten times this hour.
		for (let i = 0; i < 10; i++) news.crosspostTimes.push(Date.now());
		const crosspost = await fetch(`${h.proxy?.apiUrl}/v10/channels/${news.id}/messages/${message.id}/crosspost`, {
			method: "POST",
			headers: auth,
		});
		expect(crosspost.status).toBe(429);
		expect(Number(crosspost.headers.get("retry-after"))).toBeGreaterThan(3000);
		expect(((await crosspost.json()) as { retry_after: number }).retry_after).toBeGreaterThan(3000);
		expect(h.discord.messages(news).map((m) => m.flags & 1)).toEqual([0]);
	});

	it("serves /healthz", async () => {
		const response = await fetch(`${h.proxy?.apiUrl.replace(/\/api$/, "")}/healthz`);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ status: "ok" });
	});
});

/** A proxy of its own in front of `discord`, logging nothing. */
function proxyFor(discord: DiscordEmulator): Promise<RestProxy> {
	return startRestProxy({
		discordApiUrl: discord.restUrl,
		token: discord.botToken,
		host: "127.0.0.1",
		port: 0,
		logger: createLogger({ level: "silent" }),
	});
}

describe("a caller that gives up", () => {
	it("takes its request out of the proxy's queue: it is never sent, so the caller's retry cannot post twice", async () => {
		// One message per 2 s in the channel: the second waits in the proxy longer than its caller does.
		const discord = await startDiscordEmulator({
			rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 1, windowMs: 2000 } } },
		});
		const proxy = await proxyFor(discord);
		try {
			const channel = discord.createGuild({ name: "Queue" }).createChannel({ name: "slow" });
			const client = (timeout: number) =>
				new REST({ api: proxy.apiUrl, timeout, retries: 0 }).setToken(discord.botToken);
			const post = (rest: REST, content: string) =>
				rest.post(`/channels/${channel.id}/messages`, { body: { content } });
			await post(client(15_000), "first");
			await expect(post(client(200), "given up")).rejects.toThrow(/abort/i);
			// Queued behind the abandoned one in the same bucket: when it is in, the other had its turn.
			await post(client(15_000), "third");
			expect(discord.messages(channel).map((m) => m.content)).toEqual(["first", "third"]);
			discord.assertNoViolations();
		} finally {
			await proxy.close();
			await discord.close();
		}
	}, 20_000);
});

/**
 * Two bot processes' worth of REST: two discord.js REST clients, each paced as the bot paces
 * itself (90% of 50/s), 100 requests each at once over 50 channels. Per process that is within
 * the limit; together it is 90/s.
 */
describe("the global limit across processes", () => {
	const PER_CLIENT = 100;
	const ROUTE = "GET /channels/{channel_id}";

	/**
	 * A fresh Discord (its global window untouched) with 50 channels; both clients send their
	 * requests at once, straight to it or through one proxy. What Discord received and counted.
	 */
	async function twoProcesses(options: { proxy: boolean }) {
		const discord = await startDiscordEmulator();
		const proxy = options.proxy ? await proxyFor(discord) : undefined;
		try {
			const guild = discord.createGuild({ name: "Load" });
			const channels = Array.from({ length: 50 }, (_, i) => guild.createChannel({ name: `load-${i}` }));
			const clients = [0, 1].map(() =>
				new REST({
					api: proxy?.apiUrl ?? discord.restUrl,
					makeRequest: pacedMakeRequest(0.9 * 50, DefaultRestOptions.makeRequest),
				}).setToken(discord.botToken),
			);
			await Promise.all(
				clients.flatMap((rest) =>
					Array.from({ length: PER_CLIENT }, (_, i) => rest.get(`/channels/${channels[i % channels.length]?.id}`)),
				),
			);
			const requests = discord.requests.filter((r) => r.route === ROUTE);
			return {
				requests,
				globalLimited: requests.filter((r) => r.status === 429).length,
				invalid: discord.invalidRequests(),
				violations: discord.takeViolations(),
			};
		} finally {
			await proxy?.close();
			await discord.close();
		}
	}

	/** The most requests that arrived within any 1,000 ms. */
	function peakPerSecond(requests: RecordedRequest[]): number {
		const times = requests.map((r) => r.at).sort((a, b) => a - b);
		let peak = 0;
		for (let start = 0, end = 0; end < times.length; end++) {
			while ((times[end] ?? 0) - (times[start] ?? 0) >= 1000) start++;
			peak = Math.max(peak, end - start + 1);
		}
		return peak;
	}

	it("without the proxy, each paced on its own, they go over it: global 429s", async () => {
		const run = await twoProcesses({ proxy: false });
		expect(run.globalLimited).toBeGreaterThan(0);
		expect(run.invalid).toBe(run.globalLimited);
		expect(run.violations.filter((v) => v.kind === "rate-limit" && v.message.includes("scope global"))).toHaveLength(
			run.globalLimited,
		);
	}, 30_000);

	it("through one proxy they stay under it: no 429, at most 50 arrivals in any second", async () => {
		const run = await twoProcesses({ proxy: true });
		expect(run.requests).toHaveLength(2 * PER_CLIENT);
		expect(run.globalLimited).toBe(0);
		expect(run.invalid).toBe(0);
		expect(run.violations).toEqual([]);
		expect(peakPerSecond(run.requests)).toBeLessThanOrEqual(50);
	}, 30_000);
});
