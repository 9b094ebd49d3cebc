import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreFencedError, type TokenCipher } from "../../src/store/index.js";
import { describeRedis, type RedisServer, startRedis } from "../support/redis.js";
import { forEachEngine, memoryLogger, openAt, randomCipher, tempDir } from "./helpers.js";

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

describe("lease on SQLite (best effort, on the caller's clock)", () => {
	it("one holder at a time: renewed by its holder, taken over after expiry, released on shutdown", async () => {
		const { store } = await openAt(dir, cipher);
		expect(await store.lease.acquire("feeds", "a", 30_000, 1_000)).toEqual({
			held: true,
			owner: "a",
			expiresAt: 31_000,
			fence: { lease: "feeds", owner: "a", token: 1 },
		});
		expect(await store.lease.acquire("feeds", "b", 30_000, 2_000)).toEqual({
			held: false,
			owner: "a",
			expiresAt: 31_000,
		});
		expect(await store.lease.acquire("feeds", "a", 30_000, 20_000)).toMatchObject({
			held: true,
			expiresAt: 50_000,
			fence: { token: 1 },
		});
		expect((await store.lease.acquire("feeds", "b", 30_000, 49_999)).held).toBe(false);
		expect(await store.lease.acquire("feeds", "b", 30_000, 50_001)).toMatchObject({
			held: true,
			owner: "b",
			fence: { token: 2 },
		});
		expect((await store.lease.acquire("feeds", "a", 30_000, 50_002)).held).toBe(false);
		expect(await store.lease.release("feeds", "a")).toBe(false);
		expect(await store.lease.release("feeds", "b")).toBe(true);
		expect(await store.lease.acquire("feeds", "a", 30_000, 50_003)).toMatchObject({ held: true, fence: { token: 3 } });
		await store.close();
	});
});

forEachEngine((open) => {
	describe("lease", () => {
		it("two processes taking over at once: one holder", async () => {
			// Two stores stand for two processes (each has its own connection and in-process locks).
			const first = await open(dir, cipher);
			const second = await open(dir, cipher);
			const now = Date.now();
			const [a, b] = await Promise.all([
				first.store.lease.acquire("feeds", "a", 30_000, now),
				second.store.lease.acquire("feeds", "b", 30_000, now),
			]);
			expect([a.held, b.held].filter(Boolean)).toHaveLength(1);
			expect(a.owner).toBe(b.owner);
			await first.store.close();
			await second.store.close();
		});

		it("fences: once another process holds the lease, writes under the old fence change nothing", async () => {
			const first = await open(dir, cipher);
			const second = await open(dir, cipher);
			const old = (await first.store.lease.acquire("feeds", "a", 30_000)).fence;
			if (!old) throw new Error("a should hold the lease");
			await first.store.outbox.put({ subscriptionId: "s1", postId: 1, payload: { n: 1 } }, old);
			await first.store.feedState.markSeen("q", [1], old);
			await first.store.feedState.setCursor("q", { failures: 1 }, old);

			// a stalls; b takes over (here a clean release stands for the expiry).
			expect(await second.store.lease.release("feeds", "a")).toBe(true);
			const fresh = (await second.store.lease.acquire("feeds", "b", 30_000)).fence;
			expect(fresh?.token).toBeGreaterThan(old.token);
			expect(await first.store.lease.holds(old)).toBe(false);
			expect(fresh && (await first.store.lease.holds(fresh))).toBe(true);

			// a wakes up: every fenced write is refused, and nothing changed.
			const refused = [
				() => first.store.outbox.put({ subscriptionId: "s1", postId: 2, payload: null }, old),
				() => first.store.outbox.recordSent("s1:1", "900", old),
				() => first.store.outbox.bumpAttempt("s1:1", old),
				() => first.store.outbox.done("s1:1", old),
				() => first.store.feedState.markSeen("q", [2], old),
				() => first.store.feedState.setCursor("q", { failures: 5 }, old),
			];
			for (const write of refused) await expect(write()).rejects.toBeInstanceOf(StoreFencedError);
			expect(await second.store.outbox.pending()).toMatchObject([
				{ key: "s1:1", state: "pending", attempts: 0, discordMessageId: null },
			]);
			expect([...(await second.store.feedState.getSeen("q"))]).toEqual([1]);
			expect((await second.store.feedState.getCursor("q")).failures).toBe(1);

			// The new holder's writes go through.
			expect(await second.store.outbox.recordSent("s1:1", "901", fresh)).toBe(true);
			expect(await second.store.outbox.done("s1:1", fresh)).toBe(true);
			await second.store.feedState.markSeen("q", [2], fresh);
			expect([...(await first.store.feedState.getSeen("q"))]).toEqual([1, 2]);
			await first.store.close();
			await second.store.close();
		});
	});
});

describeRedis("lease on Redis (atomic, on the server's clock)", () => {
	let server: RedisServer;
	beforeEach(async () => {
		server = await startRedis();
	});
	afterEach(async () => {
		await server.stop();
	});

	it("expires on its own: a holder that stops renewing loses it to the next process, with a new token", async () => {
		const open = () =>
			import("../../src/store/index.js").then(({ openStore }) =>
				openStore({ url: server.url, cipher, logger: memoryLogger().logger }),
			);
		const a = await open();
		const b = await open();
		const held = await a.lease.acquire("feeds", "a", 300);
		expect(held).toMatchObject({ held: true, fence: { token: 1 } });
		expect((await b.lease.acquire("feeds", "b", 300)).held).toBe(false);
		// Renewed by its holder: same token.
		expect(await a.lease.acquire("feeds", "a", 300)).toMatchObject({ held: true, fence: { token: 1 } });
		// a stops renewing: b gets it once the server expired it (bounded wait, no fixed sleep).
		const deadline = Date.now() + 5_000;
		let taken = await b.lease.acquire("feeds", "b", 30_000);
		while (!taken.held && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 25));
			taken = await b.lease.acquire("feeds", "b", 30_000);
		}
		expect(taken).toMatchObject({ held: true, owner: "b", fence: { token: 2 } });
		expect(await a.lease.release("feeds", "a")).toBe(false);
		await expect(a.feedState.markSeen("q", [1], held.fence)).rejects.toBeInstanceOf(StoreFencedError);
		await a.close();
		await b.close();
	});
});
