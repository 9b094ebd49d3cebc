import { describe, expect, it } from "vitest";
import { startHealthServer } from "../../src/bot/health.js";

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
});
