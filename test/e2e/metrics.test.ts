/**
 * GET /metrics end to end: the real bot against both emulators does what users and the feeds do
 * (commands, an upload with failing files, feed deliveries through a Discord 429, a crash and a
 * re-read), then the test scrapes the health port over HTTP and reads the counters as an
 * operator's dashboard would. The feed clock is moved by hand; nothing sleeps.
 */
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { DeliveryInfo } from "../../src/feeds/index.js";
import type { AttachmentSpec, Channel, Message } from "../emulators/discord/index.js";
import { pngBytes } from "../support/images.js";
import { metricValue, parseMetrics } from "../support/metrics.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

const INTERVAL = 60_000;
let now = Date.now();
const clock = () => now;

class SimulatedCrash extends Error {}
let crashAfterAccepted = false;

let h: Harness;

beforeAll(async () => {
	h = await Harness.start({
		healthPort: 0,
		processMetrics: true,
		uploadConcurrency: 1,
		imgpile: { now: clock },
		feeds: {
			now: clock,
			intervalMs: INTERVAL,
			hooks: {
				afterAccepted: (_info: DeliveryInfo) => {
					if (!crashAfterAccepted) return;
					crashAfterAccepted = false;
					throw new SimulatedCrash("simulated crash after Discord accepted");
				},
			},
		},
	});
});

afterAll(async () => {
	await h?.close();
});

async function scrape(): Promise<string> {
	const response = await fetch(`http://127.0.0.1:${h.bot.healthPort}/metrics`);
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
	return response.text();
}

/** One poll period later, one scheduler cycle. */
async function cycle(): Promise<void> {
	now += INTERVAL;
	await h.bot.tick();
}

const png = (name: string, width: number, height: number): AttachmentSpec => ({
	filename: name,
	contentType: "image/png",
	source: pngBytes(width, height),
});

const botMessages = (ch: Channel): Message[] =>
	h.discord.messages(ch).filter((m) => m.author.id === h.discord.botUser.id);

describe("GET /metrics", () => {
	it("counts commands, an upload with failing files and feed deliveries as an operator reads them", async () => {
		// A command (with its modal), and another.
		expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
		await (
			await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "status" })
		).settled();

		// One upload of three files: text posing as a PNG, one imgpile answers 503 to, one that makes it.
		h.imgpileEmulator.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", status: 503 });
		const good = png("good.png", 40, 30);
		const upload = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "upload",
			attachments: {
				file: { filename: "notes.png", contentType: "image/png", source: Buffer.from("just some text\n") },
				file2: png("broken.png", 20, 10),
				file3: good,
			},
		});
		await h.finished(upload);
		expect(upload.reply?.content).toMatch(/❌ `notes\.png`/);
		expect(upload.reply?.content).toMatch(/❌ `broken\.png`/);
		expect(upload.reply?.content).toMatch(/✅ `good\.png`/);

		// A live feed: the first poll is silent, then a post goes out through one Discord 429.
		const ch = h.guild.createChannel({ name: "metrics-feed" });
		await h.discord.waitFor(() => h.bot.client.channels.cache.has(ch.id), { what: "#metrics-feed in the bot's cache" });
		const added = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "feed",
			subcommand: "add",
			options: { channel: ch, tag: "metrics" },
		});
		await added.settled();
		expect(added.reply?.content).toContain("added");
		await cycle();
		const seed = (title: string) => h.imgpileEmulator.seedPost({ username: "bob", tags: ["metrics"], title });
		seed("First");
		h.discord.forceRateLimit({ route: "POST /channels/{channel_id}/messages", retryAfterMs: 100 });
		await cycle();
		// Killed after Discord accepted the second: the next cycle finds it in the channel, not sending again.
		seed("Second");
		crashAfterAccepted = true;
		await expect(cycle()).rejects.toThrow(SimulatedCrash);
		await cycle();
		// Killed before the third was marked seen (its poll fails): re-read next time, the outbox refuses it.
		seed("Third");
		vi.spyOn(h.store.feedState, "markSeen").mockRejectedValueOnce(new Error("simulated crash before markSeen"));
		await cycle();
		await cycle();
		expect(botMessages(ch).map((m) => m.embeds[0]?.title)).toEqual(["First", "Second", "Third"]);

		const text = await scrape();
		const value = (name: string, labels: Record<string, string> = {}) =>
			metricValue(text, `imgpile_bot_${name}`, labels);
		const interactions = (type: string, command: string, outcome: string) =>
			value("interactions_total", { type, command, outcome });
		expect(interactions("command", "imgpile", "ok")).toBe(2);
		expect(interactions("modal", "imgpile-link", "ok")).toBe(1);
		expect(interactions("command", "upload", "ok")).toBe(1);
		expect(interactions("command", "feed", "ok")).toBe(1);
		expect(value("interaction_first_response_seconds_count", { type: "command", command: "upload" })).toBe(1);
		expect(value("interaction_first_response_seconds_bucket", { command: "upload", le: "+Inf" })).toBe(1);

		expect(value("uploads_total")).toBe(1);
		expect(value("upload_bytes_total")).toBe((good.source as Buffer).length);
		expect(value("upload_failures_total", { reason: "wrong_type" })).toBe(1);
		expect(value("upload_failures_total", { reason: "imgpile" })).toBe(1);
		expect(value("upload_failures_total", { reason: "too_large" })).toBe(0);
		expect(value("imgpile_errors_total", { status: "503" })).toBe(1);

		expect(value("feed_polls_total", { result: "ok" })).toBe(5);
		expect(value("feed_polls_total", { result: "failed" })).toBe(1);
		expect(value("feed_deliveries_total", { kind: "live", outcome: "sent" })).toBe(2);
		expect(value("feed_deliveries_total", { kind: "live", outcome: "recovered" })).toBe(1);
		expect(value("feed_duplicates_avoided_total", { reason: "recovered" })).toBe(1);
		expect(value("feed_duplicates_avoided_total", { reason: "outbox" })).toBe(1);
		expect(value("feed_outbox_entries")).toBe(0);
		expect(value("feed_leader")).toBe(1);
		expect(value("discord_429_responses_total", { scope: "user" })).toBe(1);

		// prom-client's process metrics are there, and every series says which process it is.
		expect(metricValue(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
		const samples = parseMetrics(text);
		for (const sample of samples) expect(sample.labels.process).toBe(`${hostname()}:${process.pid}`);

		// Nothing secret, nothing unbounded: no tokens, ids, URLs or file names in any label.
		for (const secret of [h.discord.botToken, ...Object.values(IMGPILE_USERS)]) expect(text).not.toContain(secret);
		for (const id of [h.alice.id, h.guild.id, h.general.id, ch.id, upload.id]) expect(text).not.toContain(id);
		for (const sample of samples) {
			for (const value of Object.values(sample.labels)) {
				expect(value).not.toMatch(/https?:|\.png|\d{15,}/);
			}
		}

		// /healthz is as it was.
		const health = await fetch(`http://127.0.0.1:${h.bot.healthPort}/healthz`);
		expect(health.status).toBe(200);
		expect(await health.json()).toEqual({ status: "ok" });
		h.discord.assertNoViolations();
	});
});
