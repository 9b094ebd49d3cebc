import { describe, expect, it } from "vitest";
import { startHealthServer } from "../../src/bot/health.js";
import { Metrics } from "../../src/metrics.js";
import { metricValue } from "../support/metrics.js";

describe("health endpoint", () => {
	it("answers 503 until ready, then 200; anything else is 404", async () => {
		let ready = false;
		const health = await startHealthServer({ port: 0, host: "127.0.0.1", ready: () => ready });
		try {
			const url = `http://127.0.0.1:${health.port}`;
			const before = await fetch(`${url}/healthz`);
			expect(before.status).toBe(503);
			expect(await before.json()).toEqual({ status: "starting" });
			ready = true;
			const after = await fetch(`${url}/healthz`);
			expect(after.status).toBe(200);
			expect(await after.json()).toEqual({ status: "ok" });
			expect((await fetch(`${url}/other`)).status).toBe(404);
		} finally {
			await health.close();
		}
	});

	it("serves the metrics given on GET /metrics, in Prometheus' text format; without them /metrics is 404", async () => {
		const metrics = new Metrics({ processMetrics: false });
		metrics.interaction("command", "upload", "ok");
		const health = await startHealthServer({ port: 0, host: "127.0.0.1", ready: () => false, metrics });
		const bare = await startHealthServer({ port: 0, host: "127.0.0.1", ready: () => true });
		try {
			const response = await fetch(`http://127.0.0.1:${health.port}/metrics`);
			expect(response.status).toBe(200);
			expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
			expect(response.headers.get("cache-control")).toBe("no-store");
			const text = await response.text();
			expect(metricValue(text, "imgpile_bot_interactions_total", { command: "upload", outcome: "ok" })).toBe(1);
			// Served while not ready: metrics matter most when the bot is not healthy.
			expect((await fetch(`http://127.0.0.1:${health.port}/healthz`)).status).toBe(503);
			expect((await fetch(`http://127.0.0.1:${health.port}/metrics`, { method: "POST" })).status).toBe(404);
			expect((await fetch(`http://127.0.0.1:${bare.port}/metrics`)).status).toBe(404);
			expect((await fetch(`http://127.0.0.1:${bare.port}/healthz`)).status).toBe(200);
		} finally {
			await health.close();
			await bare.close();
		}
	});
});
