import { hostname } from "node:os";
import { register } from "prom-client";
import { describe, expect, it } from "vitest";
import { Metrics, UPLOAD_FAILURE_REASONS } from "../src/metrics.js";
import { metricValue, parseMetrics } from "./support/metrics.js";

describe("Metrics", () => {
	it("labels every series with its process (and shards, when known), in its own registry", async () => {
		const a = new Metrics({ process: "bot-a", shards: "0,1", processMetrics: false });
		const b = new Metrics({ processMetrics: false });
		a.interaction("command", "upload", "ok");
		a.interaction("command", "upload", "ok");
		a.interaction("button", "vote", "imgpile_error");

		const text = await a.text();
		expect(text).toContain(
			'imgpile_bot_interactions_total{type="command",command="upload",outcome="ok",process="bot-a",shards="0,1"} 2',
		);
		expect(metricValue(text, "imgpile_bot_interactions_total", { command: "vote", outcome: "imgpile_error" })).toBe(1);
		for (const sample of parseMetrics(text)) expect(sample.labels).toMatchObject({ process: "bot-a", shards: "0,1" });
		expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);

		// Another bot's registry starts empty; prom-client's global registry never sees either.
		const other = await b.text();
		expect(metricValue(other, "imgpile_bot_interactions_total", { command: "upload" })).toBeUndefined();
		for (const sample of parseMetrics(other)) {
			expect(sample.labels.process).toBe(`${hostname()}:${process.pid}`);
			expect(sample.labels).not.toHaveProperty("shards");
		}
		expect(await register.metrics()).not.toContain("imgpile_bot_");
	});

	it("counts uploads, failures, feed polls and deliveries; fixed label sets start at 0", async () => {
		const m = new Metrics({ processMetrics: false });
		const fresh = await m.text();
		expect(UPLOAD_FAILURE_REASONS).toContain("wrong_type");
		for (const reason of UPLOAD_FAILURE_REASONS) {
			expect(metricValue(fresh, "imgpile_bot_upload_failures_total", { reason })).toBe(0);
		}
		expect(metricValue(fresh, "imgpile_bot_feed_polls_total", { result: "rate_limited" })).toBe(0);
		expect(metricValue(fresh, "imgpile_bot_feed_duplicates_avoided_total", { reason: "outbox" })).toBe(0);

		m.uploaded(1_000);
		m.uploaded(234);
		m.uploadFailed("wrong_type");
		m.feedPolls("ok");
		m.feedPolls("deferred", 3);
		m.feedDelivery("live", "sent");
		m.feedDelivery("digest", "recovered");
		m.duplicateAvoided("outbox");
		m.imgpileError(503);
		m.imgpileError("network");
		m.firstResponse("command", "upload", 0.3);
		m.firstResponse("command", "upload", 2.7);

		const text = await m.text();
		expect(metricValue(text, "imgpile_bot_upload_bytes_total")).toBe(1_234);
		expect(metricValue(text, "imgpile_bot_uploads_total")).toBe(2);
		expect(metricValue(text, "imgpile_bot_upload_failures_total", { reason: "wrong_type" })).toBe(1);
		expect(metricValue(text, "imgpile_bot_feed_polls_total", { result: "deferred" })).toBe(3);
		expect(metricValue(text, "imgpile_bot_feed_deliveries_total", { kind: "live", outcome: "sent" })).toBe(1);
		expect(metricValue(text, "imgpile_bot_feed_deliveries_total", { kind: "digest", outcome: "recovered" })).toBe(1);
		// A recovered delivery is a message not sent twice.
		expect(metricValue(text, "imgpile_bot_feed_duplicates_avoided_total", { reason: "recovered" })).toBe(1);
		expect(metricValue(text, "imgpile_bot_feed_duplicates_avoided_total", { reason: "outbox" })).toBe(1);
		expect(metricValue(text, "imgpile_bot_imgpile_errors_total", { status: "503" })).toBe(1);
		expect(metricValue(text, "imgpile_bot_imgpile_errors_total", { status: "network" })).toBe(1);
		const histogram = "imgpile_bot_interaction_first_response_seconds";
		expect(metricValue(text, `${histogram}_count`, { command: "upload" })).toBe(2);
		expect(metricValue(text, `${histogram}_bucket`, { command: "upload", le: "0.5" })).toBe(1);
		expect(metricValue(text, `${histogram}_bucket`, { command: "upload", le: "3" })).toBe(2);
	});

	it("keeps Discord's rate-limit labels to the scopes Discord documents", async () => {
		const m = new Metrics({ processMetrics: false });
		m.discord429("shared");
		m.discord429("global");
		m.discord429(null);
		m.discord429("something-new-123456789");
		m.discordRateLimitWait(true);
		const text = await m.text();
		expect(metricValue(text, "imgpile_bot_discord_429_responses_total", { scope: "shared" })).toBe(1);
		expect(metricValue(text, "imgpile_bot_discord_429_responses_total", { scope: "global" })).toBe(1);
		expect(metricValue(text, "imgpile_bot_discord_429_responses_total", { scope: "unknown" })).toBe(2);
		expect(metricValue(text, "imgpile_bot_discord_rate_limit_waits_total", { global: "true" })).toBe(1);
		expect(text).not.toContain("something-new");
	});

	it("reads the feed gauges at scrape time: the outbox only while leader, keeping the last value when unreadable", async () => {
		const m = new Metrics({ processMetrics: false });
		let leader = false;
		let depth: number | undefined = 5;
		let reads = 0;
		m.watchFeeds({
			leader: () => leader,
			outboxDepth: async () => {
				reads++;
				return depth;
			},
		});
		let text = await m.text();
		expect(metricValue(text, "imgpile_bot_feed_leader")).toBe(0);
		expect(metricValue(text, "imgpile_bot_feed_outbox_entries")).toBe(0);
		expect(reads).toBe(0);

		leader = true;
		text = await m.text();
		expect(metricValue(text, "imgpile_bot_feed_leader")).toBe(1);
		expect(metricValue(text, "imgpile_bot_feed_outbox_entries")).toBe(5);
		depth = undefined;
		expect(metricValue(await m.text(), "imgpile_bot_feed_outbox_entries")).toBe(5);
		expect(reads).toBe(2);
	});

	it("includes prom-client's process metrics unless told not to", async () => {
		const m = new Metrics({ process: "with-process" });
		const text = await m.text();
		expect(metricValue(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
		expect(text).toContain('process_resident_memory_bytes{process="with-process"}');
		expect(await new Metrics({ processMetrics: false }).text()).not.toContain("process_resident_memory_bytes");
	});
});
