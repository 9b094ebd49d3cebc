import { describe, expect, it } from "vitest";
import { Lane, parseRetryAfter } from "../../src/imgpile/rate-limit.js";

describe("parseRetryAfter", () => {
	const now = Date.parse("2026-11-26T12:00:00Z");
	it.each([
		["120", 120_000],
		["0", 0],
		["1.5", 1_500],
		["0.25", 250],
		["Thu, 26 Nov 2026 12:00:30 GMT", 30_000],
		["Thu, 26 Nov 2026 11:59:00 GMT", 0],
	])("reads %s as %i ms", (value, ms) => {
		expect(parseRetryAfter(value, now)).toBe(ms);
	});

	it.each([undefined, "", "soon", "-5"])("ignores %s", (value) => {
		expect(parseRetryAfter(value, now)).toBeUndefined();
	});
});

describe("Lane", () => {
	it("grants up to its budget at once, then makes the rest wait", async () => {
		let now = 0;
		const lane = new Lane({ perMinute: 3, maxConcurrent: 10, now: () => now });
		for (let i = 0; i < 3; i++) await lane.acquire();
		let fourth = false;
		const waiting = lane.acquire().then(() => {
			fourth = true;
		});
		await Promise.resolve();
		expect(fourth).toBe(false);
		expect(lane.queued).toBe(1);
		now = 20_000; // one request per 20 s at 3/min
		for (let i = 0; i < 3; i++) lane.release();
		await waiting;
		expect(fourth).toBe(true);
	});

	it("caps requests in flight", async () => {
		const lane = new Lane({ perMinute: 1000, maxConcurrent: 2 });
		await lane.acquire();
		await lane.acquire();
		let third = false;
		const waiting = lane.acquire().then(() => {
			third = true;
		});
		await Promise.resolve();
		expect(third).toBe(false);
		lane.release();
		await waiting;
		expect(third).toBe(true);
	});

	it("takes the server's remaining budget and Retry-After blocks", async () => {
		let now = 0;
		const lane = new Lane({ perMinute: 120, maxConcurrent: 10, now: () => now });
		lane.observe(120, 0);
		const controller = new AbortController();
		const waiting = lane.acquire(controller.signal);
		expect(lane.queued).toBe(1);
		controller.abort(new Error("gave up"));
		await expect(waiting).rejects.toThrow("gave up");
		expect(lane.queued).toBe(0);

		now = 60_000;
		lane.blockUntil(now + 5_000);
		const blocked = lane.acquire(AbortSignal.timeout(50));
		await expect(blocked).rejects.toThrow();
	});
});
