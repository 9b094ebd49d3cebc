import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { forEachEngine, randomCipher, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
	({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
	await cleanup();
});

forEachEngine((openAt) => {
	describe("usage counters", () => {
		it("count a user's uploads and a member's server-token uploads per UTC day, across restarts", async () => {
			let now = Date.parse("2026-11-26T23:00:00Z");
			const cipher = randomCipher();
			let { store } = await openAt(dir, cipher, { clock: () => now });
			await store.usage.record("7", 3);
			expect(await store.usage.reserve("100", "7", 2, 5)).toMatchObject({ ok: true });
			await store.usage.record("7", 2);
			expect(await store.usage.get("7")).toEqual({ day: "2026-11-26", uploads: 5 });
			expect(await store.usage.serverTokenUploads("100", "7")).toBe(2);
			expect(await store.usage.serverTokenUploads("101", "7")).toBe(0);
			await store.close();

			({ store } = await openAt(dir, cipher, { clock: () => now }));
			expect((await store.usage.get("7")).uploads).toBe(5);
			now = Date.parse("2026-11-27T00:30:00Z");
			expect(await store.usage.get("7")).toEqual({ day: "2026-11-27", uploads: 0 });
			expect(await store.usage.serverTokenUploads("100", "7")).toBe(0);
			await store.close();
		});

		it("reserves a member's server-token cap atomically, all or none, and takes back what was not used", async () => {
			let now = Date.parse("2026-11-26T23:59:00Z");
			const { store } = await openAt(dir, randomCipher(), { clock: () => now });
			expect(await store.usage.reserve("100", "7", 4, 5)).toMatchObject({ ok: true });
			const results = await Promise.all(Array.from({ length: 5 }, () => store.usage.reserve("100", "7", 1, 5)));
			expect(results.filter((result) => result.ok)).toHaveLength(1);
			expect(results.filter((result) => !result.ok)).toEqual(Array(4).fill({ ok: false, used: 5 }));
			expect(await store.usage.reserve("100", "7", 1, 5)).toEqual({ ok: false, used: 5 });
			const held = results.find((result) => result.ok);
			if (!held?.ok) throw new Error("no reservation");
			// Past midnight, the slot goes back to the day it was taken from; releasing twice gives back once.
			now = Date.parse("2026-11-27T00:01:00Z");
			await store.usage.release(held.reservation, 1);
			await store.usage.release(held.reservation, 1);
			now = Date.parse("2026-11-26T23:59:30Z");
			expect(await store.usage.serverTokenUploads("100", "7")).toBe(4);
			// All or none: two files do not fit in one slot.
			expect(await store.usage.reserve("100", "7", 2, 5)).toEqual({ ok: false, used: 4 });
			expect(await store.usage.serverTokenUploads("101", "7")).toBe(0);
			await store.close();
		});

		it("keeps concurrent increments", async () => {
			const { store } = await openAt(dir, randomCipher());
			await Promise.all(Array.from({ length: 40 }, () => store.usage.record("8", 1)));
			expect((await store.usage.get("8")).uploads).toBe(40);
			await store.close();
		});
	});
});
