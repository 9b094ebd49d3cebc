import { describe, expect, it } from "vitest";
import {
	NOTIFY_DEFAULT_EVERY_MS,
	NOTIFY_MAX_TAGS,
	type NotifyProfile,
	StoreValidationError,
} from "../../src/store/index.js";
import { forEachEngine, randomCipher, tempDirPerTest } from "./helpers.js";

const dir = tempDirPerTest();

const withTag = (tag: string) => (p: NotifyProfile) => ({ ...p, tags: [...p.tags, tag] });

forEachEngine((openAt) => {
	describe("personal notification profiles", () => {
		it("start from the defaults, keep what is set across a restart, and list who has anything on", async () => {
			const cipher = randomCipher();
			let { store } = await openAt(dir(), cipher);
			expect(await store.notify.get("7")).toBeUndefined();
			const fresh = await store.notify.getOrDefault("7");
			expect(fresh).toMatchObject({
				userId: "7",
				follows: false,
				tags: [],
				everyMs: NOTIFY_DEFAULT_EVERY_MS,
				quiet: null,
				tz: null,
				nsfw: false,
				paused: null,
				following: null,
			});
			// Reading the defaults creates nothing.
			expect(await store.notify.get("7")).toBeUndefined();

			await store.notify.update("7", (p) => ({ ...p, tags: ["cats"], locale: "zh-CN" }));
			await store.notify.update("8", (p) => ({ ...p, follows: true, username: "bob", following: ["alice"] }));
			await store.notify.update("9", (p) => ({ ...p, everyMs: 3_600_000 }));
			await store.close();

			({ store } = await openAt(dir(), cipher));
			expect(await store.notify.get("7")).toMatchObject({ tags: ["cats"], locale: "zh-CN" });
			expect(await store.notify.get("9")).toMatchObject({ everyMs: 3_600_000, tags: [], follows: false });
			expect((await store.notify.listActive()).map((p) => p.userId)).toEqual(["7", "8"]);
			// Turning everything off takes the user out of the index.
			await store.notify.update("8", (p) => ({ ...p, follows: false }));
			await store.notify.update("7", (p) => ({ ...p, tags: [] }));
			expect(await store.notify.listActive()).toEqual([]);
			await store.close();
		});

		it("remember when follows and each tag were turned on (older posts of them are not sent)", async () => {
			let now = Date.parse("2031-05-01T10:00:00Z");
			const { store } = await openAt(dir(), randomCipher(), { clock: () => now });
			await store.notify.update("9", (p) => ({ ...p, tags: ["cats"] }));
			now += 60_000;
			await store.notify.update("9", (p) => ({ ...p, follows: true, tags: [...p.tags, "dogs"] }));
			let profile = await store.notify.get("9");
			expect(profile?.tagsSince).toEqual({ cats: "2031-05-01T10:00:00.000Z", dogs: "2031-05-01T10:01:00.000Z" });
			expect(profile?.followsSince).toBe("2031-05-01T10:01:00.000Z");
			// Kept while on; a tag removed and added again, or follows turned off and on, start over.
			now += 60_000;
			await store.notify.update("9", (p) => ({ ...p, follows: false, tags: ["dogs"] }));
			now += 60_000;
			await store.notify.update("9", (p) => ({ ...p, follows: true, tags: ["dogs", "cats"] }));
			profile = await store.notify.get("9");
			expect(profile?.tagsSince).toEqual({ dogs: "2031-05-01T10:01:00.000Z", cats: "2031-05-01T10:03:00.000Z" });
			expect(profile?.followsSince).toBe("2031-05-01T10:03:00.000Z");
			await store.close();
		});

		it("refuses an 11th tag and a non-positive spacing, changing nothing", async () => {
			const { store } = await openAt(dir(), randomCipher());
			const tags = Array.from({ length: NOTIFY_MAX_TAGS }, (_, i) => `t${i}`);
			await store.notify.update("7", (p) => ({ ...p, tags }));
			await expect(store.notify.update("7", withTag("one-more"))).rejects.toBeInstanceOf(StoreValidationError);
			await expect(store.notify.update("7", (p) => ({ ...p, everyMs: 0 }))).rejects.toBeInstanceOf(
				StoreValidationError,
			);
			expect(await store.notify.get("7")).toMatchObject({ tags, everyMs: NOTIFY_DEFAULT_EVERY_MS });
			await store.close();
		});

		it("keeps every concurrent change, and updateExisting never creates a profile", async () => {
			const { store } = await openAt(dir(), randomCipher());
			await Promise.all(Array.from({ length: 8 }, (_, i) => store.notify.update("7", withTag(`t${i}`))));
			expect((await store.notify.get("7"))?.tags).toHaveLength(8);
			expect(await store.notify.updateExisting("8", (p) => ({ ...p, nsfw: true }))).toBeUndefined();
			expect(await store.notify.get("8")).toBeUndefined();
			const paused = { reason: "dm_closed" as const, since: "2031-01-01T10:00:00.000Z", toldAt: null };
			expect(await store.notify.updateExisting("7", (p) => ({ ...p, paused }))).toMatchObject({ paused });
			expect((await store.notify.get("7"))?.paused).toEqual(paused);
			await store.close();
		});
	});
});
