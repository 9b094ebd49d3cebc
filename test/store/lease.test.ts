import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TokenCipher } from "../../src/store/index.js";
import { openAt, randomCipher, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
let cipher: TokenCipher;
beforeEach(async () => {
	({ dir, cleanup } = await tempDir());
	cipher = randomCipher();
});
afterEach(async () => {
	await cleanup();
});

describe("lease", () => {
	it("one holder at a time: renewed by its holder, taken over after expiry, released on shutdown", async () => {
		const { store } = await openAt(dir, cipher);
		expect(await store.lease.acquire("feeds", "a", 30_000, 1_000)).toEqual({
			held: true,
			owner: "a",
			expiresAt: 31_000,
		});
		expect(await store.lease.acquire("feeds", "b", 30_000, 2_000)).toEqual({
			held: false,
			owner: "a",
			expiresAt: 31_000,
		});
		expect(await store.lease.acquire("feeds", "a", 30_000, 20_000)).toMatchObject({ held: true, expiresAt: 50_000 });
		expect((await store.lease.acquire("feeds", "b", 30_000, 49_999)).held).toBe(false);
		expect(await store.lease.acquire("feeds", "b", 30_000, 50_001)).toMatchObject({ held: true, owner: "b" });
		expect((await store.lease.acquire("feeds", "a", 30_000, 50_002)).held).toBe(false);
		expect(await store.lease.release("feeds", "a")).toBe(false);
		expect(await store.lease.release("feeds", "b")).toBe(true);
		expect((await store.lease.acquire("feeds", "a", 30_000, 50_003)).held).toBe(true);
		await store.close();
	});

	it("two processes taking over at once: the read-back leaves one holder", async () => {
		// Two stores on one file stand for two processes (each has its own in-process locks).
		const first = await openAt(dir, cipher);
		const second = await openAt(dir, cipher);
		const [a, b] = await Promise.all([
			first.store.lease.acquire("feeds", "a", 30_000, 1_000),
			second.store.lease.acquire("feeds", "b", 30_000, 1_000),
		]);
		expect([a.held, b.held].filter(Boolean)).toHaveLength(1);
		expect(a.owner).toBe(b.owner);
		await first.store.close();
		await second.store.close();
	});
});
