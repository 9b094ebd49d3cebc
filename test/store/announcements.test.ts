import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AnnouncementMessage, StoreFencedError, type TokenCipher } from "../../src/store/index.js";
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

const DAY = 24 * 3_600_000;
const T0 = Date.parse("2030-01-01T00:00:00.000Z");

function message(subscriptionId: string, messageId: string): AnnouncementMessage {
	return {
		subscriptionId,
		channelId: "100",
		messageId,
		kind: "live",
		marker: `${subscriptionId}:1`,
		postIds: [1],
		at: new Date(T0).toISOString(),
		shown: { v: 1, id: 1, title: "a" },
		scoreAt: new Date(T0).toISOString(),
		state: "shown",
	};
}

forEachEngine((openAt) => {
	describe("announcements", () => {
		it("remembers which message announced a post per subscription, once, across a restart", async () => {
			let { store } = await openAt(dir, cipher);
			expect(await store.announcements.record(1, message("s1", "900"))).toBe(true);
			// Recorded again (after a crash): left as it is, even when its state moved on.
			await store.announcements.updateMessage(1, "s1", "900", { state: "removed" });
			expect(await store.announcements.record(1, message("s1", "900"))).toBe(false);
			expect(await store.announcements.record(1, message("s2", "901"))).toBe(true);
			await store.close();
			({ store } = await openAt(dir, cipher));
			const record = await store.announcements.get(1);
			expect(record?.messages.map((m) => [m.subscriptionId, m.messageId, m.state])).toEqual([
				["s1", "900", "removed"],
				["s2", "901", "shown"],
			]);
			expect(await store.announcements.updateMessage(1, "s3", "902", { state: "lost" })).toBe(false);
			await store.close();
		});

		it("keeps the watch index bounded: old posts and their records go, gated ones stay while their gate is open", async () => {
			const { store } = await openAt(dir, cipher, {});
			await store.announcements.record(1, message("s1", "900"));
			await store.announcements.watch(T0, (index) => {
				index.posts["1"] = { slug: "a", createdAt: T0, announcedAt: T0, syncedAt: T0, subs: ["s1"], gates: {} };
				index.posts["2"] = {
					slug: "b",
					createdAt: T0,
					announcedAt: null,
					syncedAt: T0,
					subs: [],
					gates: { s9: T0 + DAY },
				};
			});
			expect(Object.keys((await store.announcements.watched()).posts).sort()).toEqual(["1", "2"]);
			// A day and a bit later the gate has closed; nine days later the announcement is past retention.
			await store.announcements.watch(T0 + DAY + 1, () => undefined);
			expect(Object.keys((await store.announcements.watched()).posts)).toEqual(["1"]);
			await store.announcements.watch(T0 + 9 * DAY, () => undefined);
			expect((await store.announcements.watched()).posts).toEqual({});
			expect(await store.announcements.get(1)).toBeUndefined();
			await store.close();
		});

		it("writes under an old fence change nothing", async () => {
			const { store } = await openAt(dir, cipher);
			const old = (await store.lease.acquire("feeds", "a", 30_000)).fence;
			if (!old) throw new Error("a should hold the lease");
			await store.lease.release("feeds", "a");
			await store.lease.acquire("feeds", "b", 30_000);
			await expect(store.announcements.record(1, message("s1", "900"), old)).rejects.toThrow(StoreFencedError);
			await expect(
				store.announcements.watch(
					T0,
					(index) => {
						index.posts["1"] = { slug: "a", createdAt: T0, announcedAt: T0, syncedAt: T0, subs: ["s1"], gates: {} };
					},
					old,
				),
			).rejects.toThrow(StoreFencedError);
			expect(await store.announcements.get(1)).toBeUndefined();
			expect((await store.announcements.watched()).posts).toEqual({});
			await store.close();
		});
	});
});
