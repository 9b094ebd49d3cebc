import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewUpload } from "../../src/store/index.js";
import { forEachEngine, randomCipher, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
	({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
	await cleanup();
});

function upload(slug: string, extra: Partial<NewUpload> = {}): NewUpload {
	return {
		mediaId: slug.charCodeAt(0),
		slug,
		url: `https://cdn.imgpile.com/f/${slug}.png`,
		type: "image/png",
		width: 10,
		height: 10,
		size: 100,
		filename: `${slug}.png`,
		userId: "7",
		guildId: "100",
		attachmentKey: null,
		...extra,
	};
}

forEachEngine((openAt) => {
	describe("uploads", () => {
		it("remembers uploads, finds a rehosted attachment again, lists recent ones, survives a restart", async () => {
			const cipher = randomCipher();
			let { store } = await openAt(dir, cipher);
			await store.uploads.record(upload("aaaaaaa", { attachmentKey: "att-1" }));
			await store.uploads.record(upload("bbbbbbb"));
			await store.uploads.record(upload("ccccccc", { userId: "8" }));
			await store.close();

			({ store } = await openAt(dir, cipher));
			expect((await store.uploads.byAttachment("att-1"))?.slug).toBe("aaaaaaa");
			expect((await store.uploads.recent("7")).map((r) => r.slug)).toEqual(["bbbbbbb", "aaaaaaa"]);
			expect((await store.uploads.get("ccccccc"))?.userId).toBe("8");

			await store.uploads.forget("aaaaaaa");
			expect(await store.uploads.byAttachment("att-1")).toBeUndefined();
			expect((await store.uploads.recent("7")).map((r) => r.slug)).toEqual(["bbbbbbb"]);
			await store.close();
		});

		it("the first upload of an attachment stays its rehost: a racing one never replaces it", async () => {
			const { store } = await openAt(dir, randomCipher());
			await Promise.all(
				["first00", "second0"].map((slug) => store.uploads.record(upload(slug, { attachmentKey: "555" }))),
			);
			const kept = (await store.uploads.byAttachment("555"))?.slug;
			expect(["first00", "second0"]).toContain(kept);
			const other = kept === "first00" ? "second0" : "first00";
			// Forgetting the other one (deleted on imgpile) leaves the attachment's rehost alone.
			await store.uploads.forget(other);
			expect((await store.uploads.byAttachment("555"))?.slug).toBe(kept);
			await store.uploads.forget(kept ?? "");
			expect(await store.uploads.byAttachment("555")).toBeUndefined();
			await store.close();
		});

		it("keeps at most 25 recent uploads per user", async () => {
			const { store } = await openAt(dir, randomCipher());
			for (let i = 0; i < 30; i++) await store.uploads.record(upload(`m${String(i).padStart(6, "0")}`));
			const recent = await store.uploads.recent("7");
			expect(recent).toHaveLength(25);
			expect(recent[0]?.slug).toBe("m000029");
			await store.close();
		});
	});
});
