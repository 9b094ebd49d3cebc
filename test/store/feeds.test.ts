import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseOutboxKey, StoreFencedError, StoreValidationError, type TokenCipher } from "../../src/store/index.js";
import { forEachEngine, randomCipher, tempDir } from "./helpers.js";

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

/** A clock the test moves by hand. */
function manualClock(start = Date.parse("2030-01-01T00:00:00.000Z")) {
	let now = start;
	return {
		clock: () => now,
		advance: (ms: number) => {
			now += ms;
		},
	};
}

forEachEngine((openAt) => {
	describe("outbox", () => {
		it("waiting lists the subscriptions with entries not done, and the notifications outbox is its own", async () => {
			const { store } = await openAt(dir, cipher);
			await store.notifyOutbox.put({ subscriptionId: "u1", postId: 1, payload: {} });
			await store.notifyOutbox.put({ subscriptionId: "u2", postId: 1, payload: {} });
			await store.notifyOutbox.put({ subscriptionId: "u2", postId: 2, payload: {} });
			expect((await store.notifyOutbox.waiting()).sort()).toEqual(["u1", "u2"]);
			await store.notifyOutbox.done("u1:1");
			expect(await store.notifyOutbox.waiting()).toEqual(["u2"]);
			// The feeds' outbox knows nothing of them.
			expect(await store.outbox.waiting()).not.toContain("u2");
			expect(await store.outbox.pending({ subscriptionId: "u2" })).toEqual([]);
		});

		it("put is idempotent: a second put never overwrites or duplicates", async () => {
			const { store } = await openAt(dir, cipher);
			expect(await store.outbox.put({ subscriptionId: "s1", postId: 42, payload: { v: 1 } })).toEqual({
				created: true,
				key: "s1:42",
			});
			await store.outbox.bumpAttempt("s1:42");
			await store.outbox.recordSent("s1:42", "999");
			expect(await store.outbox.put({ subscriptionId: "s1", postId: 42, payload: { v: 2 } })).toEqual({
				created: false,
				key: "s1:42",
			});
			const pending = await store.outbox.pending();
			expect(pending).toHaveLength(1);
			expect(pending[0]).toMatchObject({ payload: { v: 1 }, attempts: 1, state: "sent", discordMessageId: "999" });

			// Concurrent puts of the same key: exactly one wins.
			const results = await Promise.all(
				Array.from({ length: 10 }, (_, i) => store.outbox.put({ subscriptionId: "s1", postId: 7, payload: { i } })),
			);
			expect(results.filter((r) => r.created)).toHaveLength(1);
			expect((await store.outbox.pending({ subscriptionId: "s1" })).map((e) => e.key)).toEqual(["s1:42", "s1:7"]);
			await store.close();
		});

		it("a post put again after done is not re-created, even after a restart", async () => {
			let { store } = await openAt(dir, cipher);
			await store.outbox.put({ subscriptionId: "s1", postId: 1, payload: null });
			await store.outbox.recordSent("s1:1", "123");
			expect(await store.outbox.done("s1:1")).toBe(true);
			expect(await store.outbox.done("s1:1")).toBe(false); // idempotent
			expect(await store.outbox.get("s1:1")).toBeUndefined();
			expect(await store.outbox.put({ subscriptionId: "s1", postId: 1, payload: null })).toMatchObject({
				created: false,
			});
			await store.close();

			({ store } = await openAt(dir, cipher));
			expect(await store.outbox.put({ subscriptionId: "s1", postId: 1, payload: null })).toMatchObject({
				created: false,
			});
			expect(await store.outbox.pending()).toEqual([]);
			// Another subscription may still get the same post.
			expect(await store.outbox.put({ subscriptionId: "s2", postId: 1, payload: null })).toMatchObject({
				created: true,
			});
			await store.close();
		});

		it("keeps a bounded tombstone window per subscription", async () => {
			const { store } = await openAt(dir, cipher, { doneRetention: 3 });
			for (const postId of [1, 2, 3, 4]) {
				await store.outbox.put({ subscriptionId: "s1", postId, payload: null });
				await store.outbox.done(`s1:${postId}`);
			}
			// 1 fell out of the window; 2..4 are still refused.
			expect((await store.outbox.put({ subscriptionId: "s1", postId: 4, payload: null })).created).toBe(false);
			expect((await store.outbox.put({ subscriptionId: "s1", postId: 2, payload: null })).created).toBe(false);
			expect((await store.outbox.put({ subscriptionId: "s1", postId: 1, payload: null })).created).toBe(true);
			await store.close();
		});

		it("lists pending entries oldest first, filtered by subscription and due time", async () => {
			const time = manualClock();
			const { store } = await openAt(dir, cipher, { clock: time.clock });
			await store.outbox.put({ subscriptionId: "b", postId: 1, payload: "b1" });
			time.advance(1000);
			await store.outbox.put({ subscriptionId: "a", postId: 5, payload: "a5" });
			await store.outbox.put({ subscriptionId: "a", postId: 3, payload: "a3" }); // same ms: put order
			time.advance(1000);
			await store.outbox.put({ subscriptionId: "digest", postId: 9, payload: "d9", dueAt: "2030-01-01T09:00:00.000Z" });
			time.advance(1000);
			await store.outbox.put({ subscriptionId: "b", postId: 2, payload: "b2" });

			expect((await store.outbox.pending()).map((e) => e.key)).toEqual(["b:1", "a:5", "a:3", "digest:9", "b:2"]);
			expect((await store.outbox.pending({ subscriptionId: "b" })).map((e) => e.key)).toEqual(["b:1", "b:2"]);
			expect((await store.outbox.pending({ dueBefore: "2030-01-01T08:59:59.000Z" })).map((e) => e.key)).toEqual([
				"b:1",
				"a:5",
				"a:3",
				"b:2",
			]);
			expect(
				(await store.outbox.pending({ dueBefore: new Date("2030-01-01T09:00:00.000Z") })).map((e) => e.key),
			).toContain("digest:9");
			expect((await store.outbox.pending({ limit: 2 })).map((e) => e.key)).toEqual(["b:1", "a:5"]);
			expect(await store.outbox.pending({ subscriptionId: "nobody" })).toEqual([]);
			const [first] = await store.outbox.pending();
			expect(first).toEqual({
				key: "b:1",
				subscriptionId: "b",
				postId: 1,
				payload: "b1",
				createdAt: "2030-01-01T00:00:00.000Z",
				dueAt: null,
				attempts: 0,
				discordMessageId: null,
				state: "pending",
			});
			await store.close();
		});

		it("recordSent, bumpAttempt and removeForSubscription", async () => {
			let { store } = await openAt(dir, cipher);
			await store.outbox.put({ subscriptionId: "s1", postId: 1, payload: { a: 1 } });
			await store.outbox.put({ subscriptionId: "s1", postId: 2, payload: { a: 2 } });
			await store.outbox.put({ subscriptionId: "s2", postId: 1, payload: { a: 3 } });
			expect(await store.outbox.bumpAttempt("s1:1")).toBe(1);
			expect(await store.outbox.bumpAttempt("s1:1")).toBe(2);
			expect(await store.outbox.bumpAttempt("s1:404")).toBeUndefined();
			expect(await store.outbox.recordSent("s1:2", "1234567890")).toBe(true);
			expect(await store.outbox.recordSent("s1:404", "1234567890")).toBe(false);
			await store.close();

			({ store } = await openAt(dir, cipher));
			expect(await store.outbox.get("s1:1")).toMatchObject({ attempts: 2, state: "pending" });
			expect(await store.outbox.get("s1:2")).toMatchObject({ state: "sent", discordMessageId: "1234567890" });
			expect(await store.outbox.removeForSubscription("s1")).toBe(2);
			expect((await store.outbox.pending()).map((e) => e.key)).toEqual(["s2:1"]);
			await store.outbox.done("s2:1");
			expect(await store.outbox.pending()).toEqual([]);
			await store.close();
		});

		it("validates keys and payloads", async () => {
			const { store } = await openAt(dir, cipher);
			expect(parseOutboxKey("abc:12")).toEqual({ subscriptionId: "abc", postId: 12 });
			expect(() => parseOutboxKey("abc")).toThrow(StoreValidationError);
			expect(() => parseOutboxKey("abc:x")).toThrow(StoreValidationError);
			await expect(store.outbox.done("nope")).rejects.toThrow(StoreValidationError);
			await expect(store.outbox.put({ subscriptionId: "s:1", postId: 1, payload: null })).rejects.toThrow(
				StoreValidationError,
			);
			await expect(store.outbox.put({ subscriptionId: "s1", postId: 1.5, payload: null })).rejects.toThrow(
				StoreValidationError,
			);
			await expect(store.outbox.put({ subscriptionId: "s1", postId: 1, payload: { n: 1n } })).rejects.toThrow(
				StoreValidationError,
			);
			await store.close();
		});
	});

	describe("feed state", () => {
		it("keeps the seen set bounded to the most recently marked ids", async () => {
			const { store } = await openAt(dir, cipher, { seenRetention: 5 });
			const q = "tag=cats|user=|nsfw=0";
			expect(await store.feedState.isSeeded(q)).toBe(false);
			expect(await store.feedState.getSeen(q)).toEqual(new Set());
			await store.feedState.markSeen(q, [1, 2, 3, 4]);
			await store.feedState.markSeen(q, [1]); // refreshed: now the newest
			await store.feedState.markSeen(q, [5, 6]);
			expect(await store.feedState.getSeen(q)).toEqual(new Set([3, 4, 1, 5, 6]));
			await store.feedState.markSeen(
				q,
				Array.from({ length: 20 }, (_, i) => 100 + i),
			);
			expect(await store.feedState.getSeen(q)).toEqual(new Set([115, 116, 117, 118, 119]));
			await store.close();
		});

		it("default retention is 5,000 and markSeen([]) seeds", async () => {
			let { store } = await openAt(dir, cipher);
			expect(store.feedState.seenRetention).toBe(5_000);
			const q = "tag=dogs|user=|nsfw=0";
			await store.feedState.markSeen(q, []);
			expect(await store.feedState.isSeeded(q)).toBe(true);
			await store.feedState.markSeen(
				q,
				Array.from({ length: 6_000 }, (_, i) => i),
			);
			await store.close();
			({ store } = await openAt(dir, cipher));
			const seen = await store.feedState.getSeen(q);
			expect(seen.size).toBe(5_000);
			expect(seen.has(999)).toBe(false);
			expect(seen.has(1_000)).toBe(true);
			expect(seen.has(5_999)).toBe(true);
			await store.close();
		});

		it("concurrent markSeen calls lose nothing", async () => {
			const { store } = await openAt(dir, cipher);
			const q = "tag=|user=bob|nsfw=1";
			await Promise.all(Array.from({ length: 30 }, (_, i) => store.feedState.markSeen(q, [i * 2, i * 2 + 1])));
			expect((await store.feedState.getSeen(q)).size).toBe(60);
			await store.close();
		});

		it("merges cursor patches and forgets queries", async () => {
			const { store } = await openAt(dir, cipher);
			const q = "tag=cats|user=|nsfw=0";
			expect(await store.feedState.getCursor(q)).toEqual({
				lastPolledAt: null,
				backoffUntil: null,
				failures: 0,
				slowedUntil: null,
			});
			await store.feedState.setCursor(q, { failures: 3, backoffUntil: "2030-01-01T00:05:00.000Z" });
			const next = await store.feedState.setCursor(q, {
				failures: 0,
				backoffUntil: null,
				lastPolledAt: "2030-01-01T00:06:00.000Z",
			});
			expect(next).toEqual({
				lastPolledAt: "2030-01-01T00:06:00.000Z",
				backoffUntil: null,
				failures: 0,
				slowedUntil: null,
			});
			expect(await store.feedState.getCursor(q)).toEqual(next);
			await store.feedState.markSeen(q, [1]);
			await store.feedState.forget(q);
			expect(await store.feedState.isSeeded(q)).toBe(false);
			expect((await store.feedState.getCursor(q)).lastPolledAt).toBeNull();
			await store.close();
		});
	});

	describe("feed state of shared polls", () => {
		it("keeps the posts seen while NSFW apart until released, across a restart, and forgets them with the seen set", async () => {
			let { store } = await openAt(dir, cipher);
			await store.feedState.markSeen("firehose", [1, 2, 3], undefined, { hold: [2, 3] });
			await store.feedState.markSeen("firehose", [4], undefined, { release: [3] });
			await store.close();
			({ store } = await openAt(dir, cipher));
			expect([...(await store.feedState.getSeen("firehose"))]).toEqual([1, 2, 3, 4]);
			expect([...(await store.feedState.getHeld("firehose"))]).toEqual([2]);
			await store.feedState.forget("firehose");
			expect(await store.feedState.isSeeded("firehose")).toBe(false);
			expect((await store.feedState.getHeld("firehose")).size).toBe(0);
			await store.close();
		});

		it("a fenced forget (old per-combination state taken over) is refused once another process leads", async () => {
			const { store } = await openAt(dir, cipher);
			const key = "tag=cats|user=|nsfw=0";
			const old = (await store.lease.acquire("feeds", "a", 30_000)).fence;
			if (!old) throw new Error("a should hold the lease");
			await store.feedState.markSeen(key, [1], old);
			await store.feedState.setCursor(key, { failures: 0 }, old);
			await store.lease.release("feeds", "a");
			const fresh = (await store.lease.acquire("feeds", "b", 30_000)).fence;
			await expect(store.feedState.forget(key, old)).rejects.toBeInstanceOf(StoreFencedError);
			expect(await store.feedState.isSeeded(key)).toBe(true);
			await store.feedState.forget(key, fresh);
			expect(await store.feedState.isSeeded(key)).toBe(false);
			expect((await store.feedState.getCursor(key)).lastPolledAt).toBeNull();
			await store.close();
		});
	});
});
