/**
 * /upload end to end: the real bot streams Discord CDN attachments to the imgpile emulator.
 * One transfer at a time (uploadConcurrency 1), so the order of uploads is the order of files.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { t } from "../../src/i18n/index.js";
import type { AttachmentSpec, Interaction, Json, Message } from "../emulators/discord/index.js";
import { mp4Bytes, pngBytes } from "../support/images.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

let h: Harness;

beforeAll(async () => {
	h = await Harness.start({ uploadConcurrency: 1 });
	await link(h.alice, IMGPILE_USERS.alice);
	await link(h.bob, IMGPILE_USERS.bob);
});

afterAll(async () => {
	await h?.close();
});

async function link(user: typeof h.alice, token: string) {
	expect((await h.link(user, token)).reply?.content).toContain("Linked");
}

const finished = (ix: Interaction) => h.finished(ix);

function png(name: string, width = 40, height = 30): AttachmentSpec {
	return { filename: name, contentType: "image/png", source: pngBytes(width, height) };
}

async function upload(
	files: AttachmentSpec[],
	options: Record<string, string | boolean> = {},
	extra: { user?: typeof h.alice; locale?: string } = {},
) {
	const attachments: Record<string, AttachmentSpec> = {};
	files.forEach((file, index) => {
		attachments[index === 0 ? "file" : `file${index + 1}`] = file;
	});
	const ix = await h.discord.slash({
		user: extra.user ?? h.alice,
		channel: h.general,
		command: "upload",
		options,
		attachments,
		locale: extra.locale,
	});
	return finished(ix);
}

/** Upload requests imgpile received (POST on the upload host). */
function uploadRequests() {
	return h.imgpileEmulator.requests.filter((r) => r.listener === "cdn" && r.method === "POST");
}

function buttons(message: Message | undefined): Json[] {
	return (message?.components ?? []).flatMap((row) => (row.components as Json[] | undefined) ?? []);
}

function postSlugIn(text: string | undefined): string {
	const slug = text?.match(/https:\/\/imgpile\.com\/p\/([A-Za-z0-9]+)/)?.[1];
	expect(slug, text).toBeTruthy();
	return slug ?? "";
}

const guest = () => h.imgpile.as();

describe("/upload one file", () => {
	let imageMessage: Message | undefined;
	let imageSlug = "";

	it("uploads one image: embed with preview, link, dimensions and size, and Open/Delete/Make post buttons", async () => {
		const before = uploadRequests().length;
		const ix = await upload([png("cat.png", 40, 30)]);
		expect(ix.callback?.type).toBe(5);
		expect(ix.ephemeral).toBe(false);
		const reply = ix.reply;
		const embed = reply?.embeds[0] as Json | undefined;
		expect(embed, ix.describe()).toBeTruthy();
		expect(embed?.title).toBe("cat.png");
		expect(String((embed?.image as Json | undefined)?.url)).toContain(h.imgpileEmulator.cdnUrl);
		expect(JSON.stringify(embed?.fields)).toContain("40 × 30");
		expect(JSON.stringify(embed?.fields)).toMatch(/\d+ B|KB/);
		imageSlug = String((embed?.footer as Json | undefined)?.text);
		const media = await guest().getMedia(imageSlug);
		expect(embed?.description).toBe(media.urls.original);
		const ids = buttons(reply).map((b) => b.custom_id ?? b.url);
		expect(ids).toEqual([media.urls.original, `upload-delete:${imageSlug}`, `upload-post:${imageSlug}`]);
		expect(uploadRequests().length).toBe(before + 1);
		const record = await h.store.uploads.get(imageSlug);
		expect(record).toMatchObject({ userId: h.alice.id, filename: "cat.png", width: 40, height: 30 });
		expect(record?.attachmentKey).toMatch(/^\d+$/);
		expect((await h.store.usage.get(h.alice.id)).uploads).toBeGreaterThanOrEqual(1);
		imageMessage = reply;
	});

	it("uploads one video: the link in the content for Discord's player, and the thumbnail", async () => {
		const ix = await upload([{ filename: "clip.mp4", contentType: "video/mp4", source: mp4Bytes(20_000) }]);
		const embed = ix.reply?.embeds[0] as Json | undefined;
		const slug = String((embed?.footer as Json | undefined)?.text);
		const media = await guest().getMedia(slug);
		expect(media.type).toBe("video/mp4");
		expect(ix.reply?.content).toContain(media.urls.original);
		expect((embed?.thumbnail as Json | undefined)?.url).toBe(media.urls.thumb);
		expect(embed?.image).toBeUndefined();
	});

	it("refuses Delete to anyone but the uploader, privately; the uploader deletes", async () => {
		const stranger = await finished(
			await h.discord.clickButton({ user: h.bob, message: imageMessage as Message, label: "Delete" }),
		);
		expect(stranger.ephemeral).toBe(true);
		expect(stranger.reply?.content).toContain("Only the person who uploaded this");
		expect((await guest().getMedia(imageSlug)).slug).toBe(imageSlug);

		const owner = await finished(
			await h.discord.clickButton({ user: h.alice, message: imageMessage as Message, label: "Delete" }),
		);
		expect(owner.callback?.type).toBe(7);
		expect(imageMessage?.content).toContain("was deleted");
		await expect(guest().getMedia(imageSlug)).rejects.toMatchObject({ kind: "not_found" });
		expect(await h.store.uploads.get(imageSlug)).toBeUndefined();
	});

	it("makes a post from a single upload with the Make post form, then edits it", async () => {
		const ix = await upload([png("dog.png", 12, 9)]);
		const message = ix.reply as Message;
		const opened = await h.discord.clickButton({ user: h.alice, message, label: "Make post" });
		await opened.settled();
		expect(opened.modal?.custom_id).toMatch(/^upload-post:/);
		const submitted = await finished(
			await h.discord.submitModal({ user: h.alice, from: opened, fields: { title: "Good dog", tags: "dog, pets" } }),
		);
		const slug = postSlugIn(message.content);
		expect(await guest().getPost(slug)).toMatchObject({ title: "Good dog", media_count: 1, tags: ["dog", "pets"] });
		expect(submitted.errors).toEqual([]);
		const edit = buttons(message).find((b) => b.label === "Edit post");
		expect(edit?.custom_id).toMatch(new RegExp(`:${slug}$`));

		const reopened = await h.discord.clickButton({ user: h.alice, message, label: "Edit post" });
		await reopened.settled();
		await finished(await h.discord.submitModal({ user: h.alice, from: reopened, fields: { title: "Best dog" } }));
		expect((await guest().getPost(slug)).title).toBe("Best dog");
		expect(message.content.match(/Post:/g)?.length).toBe(1);
	});
});

describe("/upload several files", () => {
	it("uploads ten files into one post, in order, with title and tags, and shows a gallery", async () => {
		const files = Array.from({ length: 10 }, (_, i) => png(`p${i + 1}.png`, 10 + i, 6));
		const ix = await upload(files, { title: "Ten of them", tags: "ten, #many numbers" });
		const slug = postSlugIn(ix.reply?.content);
		expect(ix.reply?.content).not.toContain("Not uploaded");
		const post = await guest().getPost(slug, { perPage: 10 });
		expect(post).toMatchObject({ title: "Ten of them", media_count: 10, tags: ["ten", "many", "numbers"] });
		expect(post.media?.map((m) => m.width)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
		expect(ix.reply?.embeds.length).toBe(10);
		expect((ix.reply?.embeds[0] as Json | undefined)?.title).toBe("Ten of them");
	});

	it("makes the post of the files that made it when the third of four gets a 5xx, naming it and listing the rest", async () => {
		h.imgpileEmulator.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", times: 2 });
		h.imgpileEmulator.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", status: 503 });
		const ix = await upload([png("a.png", 21, 6), png("b.png", 22, 6), png("c.png", 23, 6), png("d.png", 24, 6)]);
		const content = ix.reply?.content ?? "";
		const slug = postSlugIn(content);
		const post = await guest().getPost(slug);
		expect(post.media_count).toBe(3);
		expect(post.media?.map((m) => m.width)).toEqual([21, 22, 24]);
		expect(content).toMatch(/❌ `c\.png` — imgpile is having trouble right now \(error 503\)\. Try again/);
		for (const name of ["a.png", "b.png", "d.png"]) expect(content).toMatch(new RegExp(`✅ \`${name}\` — <http`));
	});

	it("shows a private post's link with its key only in an answer nobody else sees", async () => {
		const ix = await upload([png("secret.png")], { visibility: "private" });
		expect(ix.ephemeral).toBe(true);
		const key = ix.reply?.content.match(/\?key=([A-Za-z0-9_-]+)/)?.[1];
		expect(key, ix.reply?.content).toBeTruthy();
		const slug = postSlugIn(ix.reply?.content);
		expect((await h.imgpile.as(IMGPILE_USERS.alice).getPost(slug)).visibility).toBe("private");
		expect(h.publicText()).not.toContain(key);
	});
});

describe("/upload refusals and imgpile errors", () => {
	it("refuses a 101 MB file before downloading anything", async () => {
		const before = uploadRequests().length;
		const ix = await upload([
			{ filename: "huge.mp4", contentType: "video/mp4", source: { generate: { size: 101 * 1024 * 1024 } } },
		]);
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("`huge.mp4` — Larger than imgpile's 100 MB limit");
		expect(h.discord.cdnRequests.filter((r) => r.path.includes("huge.mp4"))).toEqual([]);
		expect(uploadRequests().length).toBe(before);
	});

	it("refuses a .png that is really text, whatever Discord says its type is", async () => {
		const before = uploadRequests().length;
		const ix = await upload([
			{ filename: "cat.png", contentType: "image/png", source: Buffer.from("just some text\n") },
		]);
		expect(ix.reply?.content).toContain("`cat.png` — Not an image or a video");
		expect(uploadRequests().length).toBe(before);
	});

	it("says imgpile does not allow a banned file (451)", async () => {
		const bytes = pngBytes(33, 33);
		h.imgpileEmulator.banSha256(createHash("sha256").update(bytes).digest("hex"));
		const ix = await upload([{ filename: "banned.png", contentType: "image/png", source: bytes }]);
		expect(ix.reply?.content).toContain("`banned.png` — imgpile does not allow this file.");
	});

	it("tells the user to link again when imgpile refuses the token (401)", async () => {
		h.imgpileEmulator.injectFault({
			listener: "cdn",
			method: "POST",
			path: "/api/v1/media",
			status: 401,
			body: { message: "Unauthenticated." },
		});
		const ix = await upload([png("one.png")]);
		expect(ix.reply?.content).toContain("imgpile did not accept your token");
		expect(ix.reply?.content).toContain("/imgpile link");
	});

	it("waits out a 429 on the upload and tries again once", async () => {
		h.imgpileEmulator.injectFault({
			listener: "cdn",
			method: "POST",
			path: "/api/v1/media",
			status: 429,
			headers: { "Retry-After": "1" },
		});
		const before = uploadRequests().length;
		const ix = await upload([png("busy.png", 17, 17)]);
		const embed = ix.reply?.embeds[0] as Json | undefined;
		expect(embed?.title, ix.describe()).toBe("busy.png");
		const statuses = uploadRequests()
			.slice(before)
			.map((r) => r.status);
		expect(statuses).toEqual([429, 201]);
	});

	it("answers a zh-CN user in Chinese", async () => {
		const refused = await upload(
			[{ filename: "note.png", contentType: "image/png", source: Buffer.from("text") }],
			{},
			{ locale: "zh-CN" },
		);
		expect(refused.reply?.content).toContain("不是图片或视频");
		const ok = await upload([png("zh.png", 8, 8)], {}, { locale: "zh-CN" });
		expect(JSON.stringify(ok.reply?.embeds[0])).toContain("尺寸");
		expect(buttons(ok.reply).map((b) => b.label)).toEqual(["打开", "删除", "创建帖子"]);
	});
});

describe("/upload progress", () => {
	it("edits the reply with per-file progress and queue positions, at most once every 1.5 s", async () => {
		h.imgpileEmulator.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", delayMs: 1_700, times: 3 });
		const ix = await upload([png("s1.png", 5, 5), png("s2.png", 6, 6), png("s3.png", 7, 7)], { title: "Slow" });
		postSlugIn(ix.reply?.content);
		const edits = h.discord.events.filter((e) => e.kind === "edit" && e.interactionId === ix.id);
		const progress = edits.filter((e) => e.content.startsWith("Uploading 3 files"));
		expect(progress.length).toBeGreaterThanOrEqual(2);
		expect(progress.some((e) => /in the queue/.test(e.content))).toBe(true);
		const times = edits.map((e) => e.at);
		for (let i = 1; i < times.length; i++) {
			expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(1_400);
		}
		h.discord.assertNoViolations();
	}, 30_000);
});

describe("/upload with the server token", () => {
	const CAP = 2;

	it("takes the member's daily cap before transferring: five at once with one slot left upload one file", async () => {
		const set = await h.setServerToken(h.alice, IMGPILE_USERS.carol, CAP);
		expect(set.reply?.content, set.describe()).toContain(IMGPILE_USERS.carol.slice(-4));
		// carol has no link of her own: her uploads go with the server token.
		const first = await upload([png("shared-1.png", 31, 7)], {}, { user: h.carol });
		expect((first.reply?.embeds[0] as Json | undefined)?.title, first.describe()).toBe("shared-1.png");

		const before = uploadRequests().length;
		const started = await Promise.all(
			Array.from({ length: 5 }, (_, i) =>
				h.discord.slash({
					user: h.carol,
					channel: h.general,
					command: "upload",
					attachments: { file: png(`race-${i}.png`, 40 + i, 7) },
				}),
			),
		);
		const done = await Promise.all(started.map(finished));
		expect(
			uploadRequests()
				.slice(before)
				.map((r) => r.status),
		).toEqual([201]);
		const capReached = t("en-US", "identity.serverCapReached", { cap: CAP, remaining: 0 });
		const refused = done.filter((ix) => ix.reply?.content === capReached);
		expect(refused, done.map((ix) => ix.describe()).join("\n")).toHaveLength(4);
		for (const ix of refused) expect(ix.ephemeral).toBe(true);
		const uploaded = done.filter((ix) => !refused.includes(ix));
		expect(String((uploaded[0]?.reply?.embeds[0] as Json | undefined)?.title)).toMatch(/^race-\d\.png$/);
		expect(await h.store.usage.serverTokenUploads(h.guild.id, h.carol.id)).toBe(CAP);
		h.discord.assertNoViolations();
	});

	it("gives the slot of a failed transfer back, and counts only what was uploaded", async () => {
		await h.store.guilds.update(h.guild.id, { serverTokenDailyCap: CAP + 1 });
		h.imgpileEmulator.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", status: 503 });
		const failedOnce = await upload([png("flaky.png", 51, 7)], {}, { user: h.carol });
		expect(failedOnce.reply?.content, failedOnce.describe()).toContain("`flaky.png`");
		expect(await h.store.usage.serverTokenUploads(h.guild.id, h.carol.id)).toBe(CAP);

		const status = await h.discord.slash({
			user: h.carol,
			channel: h.general,
			command: "imgpile",
			subcommand: "status",
		});
		await status.settled();
		expect(status.reply?.content).toContain(t("en-US", "status.serverToken", { remaining: 1 }));

		const again = await upload([png("flaky.png", 51, 7)], {}, { user: h.carol });
		expect((again.reply?.embeds[0] as Json | undefined)?.title, again.describe()).toBe("flaky.png");
		expect(await h.store.usage.serverTokenUploads(h.guild.id, h.carol.id)).toBe(CAP + 1);
		const over = await upload([png("one-more.png", 52, 7)], {}, { user: h.carol });
		expect(over.reply?.content).toBe(t("en-US", "identity.serverCapReached", { cap: CAP + 1, remaining: 0 }));
		h.discord.assertNoViolations();
	});
});
