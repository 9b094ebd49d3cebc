import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Comment, Media, Page, Post, UserSummary } from "../../src/imgpile/types.js";
import { gifBytes, jpegBytes, mp4Bytes, pngBytes, VIDEO_THUMBNAIL_JPEG, webpBytes } from "./imgpile/images.js";
import { type ImgpileEmulator, type ImgpileEmulatorOptions, startImgpileEmulator } from "./imgpile/index.js";

const ALICE = "token-alice";
const BOB = "token-bob";
const USERS = [
	{ username: "alice", token: ALICE, avatar: "https://example.test/alice.png" },
	{ username: "bob", token: BOB },
];

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted with toEqual/toMatchObject
type Json = any;

interface Res<T = Json> {
	status: number;
	headers: Headers;
	body: T;
}

let emu: ImgpileEmulator;
const extra: ImgpileEmulator[] = [];

async function start(opts: ImgpileEmulatorOptions = {}): Promise<ImgpileEmulator> {
	const e = await startImgpileEmulator({ users: USERS, ...opts });
	extra.push(e);
	return e;
}

beforeEach(async () => {
	emu = await startImgpileEmulator({ users: USERS });
});

afterEach(async () => {
	await emu.close();
	await Promise.all(extra.splice(0).map((e) => e.close()));
});

async function call<T = Json>(
	path: string,
	opts: {
		method?: string;
		token?: string;
		json?: unknown;
		body?: string;
		headers?: Record<string, string>;
		on?: ImgpileEmulator;
	} = {},
): Promise<Res<T>> {
	const target = opts.on ?? emu;
	const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
	if (opts.token) headers.authorization = `Bearer ${opts.token}`;
	let body: string | undefined = opts.body;
	if (opts.json !== undefined) {
		headers["content-type"] = "application/json";
		body = JSON.stringify(opts.json);
	}
	const url = path.startsWith("http") ? path : `${target.apiUrl}${path}`;
	const res = await fetch(url, { method: opts.method ?? "GET", headers, body });
	const text = await res.text();
	return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function upload(
	bytes: Uint8Array,
	opts: {
		token?: string | null;
		filename?: string;
		type?: string;
		postId?: number | string;
		field?: string;
		on?: ImgpileEmulator;
	} = {},
): Promise<Res> {
	const target = opts.on ?? emu;
	const fd = new FormData();
	fd.append(
		opts.field ?? "file",
		new Blob([bytes], { type: opts.type ?? "application/octet-stream" }),
		opts.filename ?? "f.bin",
	);
	if (opts.postId !== undefined) fd.append("post_id", String(opts.postId));
	const token = opts.token === undefined ? ALICE : opts.token;
	const res = await fetch(target.uploadUrl, {
		method: "POST",
		body: fd,
		headers: token ? { authorization: `Bearer ${token}` } : {},
	});
	return { status: res.status, headers: res.headers, body: await res.json() };
}

async function uploadPng(token = ALICE, w = 4, h = 3): Promise<Media> {
	const r = await upload(pngBytes(w, h), { token, filename: "a.png", type: "image/png" });
	expect(r.status).toBe(201);
	return r.body.media as Media;
}

async function createPost(token = ALICE, mediaCount = 1): Promise<{ id: number; slug: string; media: Media[] }> {
	const media: Media[] = [];
	for (let i = 0; i < mediaCount; i++) media.push(await uploadPng(token));
	const r = await call("/posts", { method: "POST", token, json: { media_ids: media.map((m) => m.id) } });
	expect(r.status).toBe(201);
	return { ...r.body.post, media };
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("documented error bodies", () => {
	it("401 without or with an invalid token on writes", async () => {
		for (const token of [undefined, "nope"]) {
			const r = await call("/posts", { method: "POST", token, json: { media_ids: [1] } });
			expect(r.status).toBe(401);
			expect(r.body).toEqual({ message: "Unauthenticated." });
			expect(r.headers.get("content-type")).toBe("application/json");
		}
		const up = await upload(pngBytes(1, 1), { token: null });
		expect(up.status).toBe(401);
		expect(up.body).toEqual({ message: "Unauthenticated." });
	});

	it("an invalid token on a GET is a guest", async () => {
		const r = await call("/posts", { token: "nope" });
		expect(r.status).toBe(200);
		expect(r.headers.get("x-ratelimit-limit")).toBe("30");
		expect(emu.requests.at(-1)).toMatchObject({
			listener: "api",
			method: "GET",
			path: "/api/v1/posts",
			username: null,
		});
	});

	it("403 when not the owner", async () => {
		const post = await createPost(ALICE);
		const r = await call(`/posts/${post.slug}`, { method: "PATCH", token: BOB, json: { title: "mine now" } });
		expect(r.status).toBe(403);
		expect(r.body).toEqual({ message: "This action is unauthorized." });
		const m = await call(`/media/${post.media[0]?.slug}`, { method: "DELETE", token: BOB });
		expect(m.body).toEqual({ message: "This action is unauthorized." });
		const bobMedia = await uploadPng(BOB);
		const p = await call("/posts", { method: "POST", token: ALICE, json: { media_ids: [bobMedia.id] } });
		expect(p.status).toBe(403);
	});

	it("404 for unknown routes, slugs, ids and users", async () => {
		for (const path of [
			"/nope",
			"/posts/zzzzzzz",
			"/media/zzzzzzz",
			"/users/nobody/posts",
			"/users/nobody/followers",
		]) {
			const r = await call(path);
			expect(r.status, path).toBe(404);
			expect(r.body).toEqual({ message: "Not found." });
		}
		const c = await call("/comments/999", { method: "DELETE", token: ALICE });
		expect(c.status).toBe(404);
		const v = await call("/posts/12345/upvote", { method: "POST", token: ALICE });
		expect(v.body).toEqual({ message: "Not found." });
		const cdn = await fetch(`${emu.cdnUrl}/f/zzzzzzz.png`);
		expect(cdn.status).toBe(404);
	});

	it("405 for an upload sent to the API host", async () => {
		const r = await call("/media", { method: "POST", token: ALICE, json: {} });
		expect(r.status).toBe(405);
		expect(r.body).toEqual({
			message: "The POST method is not supported for route api/v1/media. Supported methods: GET, HEAD.",
		});
		expect(r.headers.get("x-ratelimit-remaining")).not.toBeNull();
	});

	it("422 when the file is missing, exactly as documented", async () => {
		const fd = new FormData();
		fd.append("title", "no file here");
		const res = await fetch(emu.uploadUrl, { method: "POST", body: fd, headers: { authorization: `Bearer ${ALICE}` } });
		expect(res.status).toBe(422);
		expect(await res.json()).toEqual({
			message: "The file field is required.",
			errors: { file: ["The file field is required."] },
		});
		// not multipart at all
		const raw = await fetch(emu.uploadUrl, {
			method: "POST",
			body: "hello",
			headers: { authorization: `Bearer ${ALICE}`, "content-type": "text/plain" },
		});
		expect(raw.status).toBe(422);
		expect(((await raw.json()) as Json).message).toBe("The file field is required.");
	});

	it("451 for a banned hash, nothing stored", async () => {
		const banned = pngBytes(5, 5, [1, 2, 3]);
		emu.banSha256(sha256(banned).toUpperCase());
		const r = await upload(banned, { filename: "x.png" });
		expect(r.status).toBe(451);
		expect(r.body).toEqual({ error: "This file is not allowed." });
		const list = await call("/users/alice/media");
		expect(list.body.meta.total).toBe(0);
		const other = await start({ bannedSha256: [sha256(banned)] });
		expect((await upload(banned, { on: other })).status).toBe(451);
	});

	it("400 for malformed JSON", async () => {
		const post = await createPost();
		const r = await call(`/posts/${post.slug}`, {
			method: "PATCH",
			token: ALICE,
			body: '{"title": ',
			headers: { "content-type": "application/json" },
		});
		expect(r.status).toBe(400);
		expect(r.body).toEqual({ message: "Malformed JSON." });
		expect(emu.requests.at(-1)).toMatchObject({ method: "PATCH", status: 400, bodyBytes: 10, username: "alice" });
	});
});

describe("uploads and the CDN", () => {
	const images: Array<[string, Buffer, string, string, number, number]> = [
		["PNG", pngBytes(37, 21), "image/png", "png", 37, 21],
		["JPEG with EXIF", jpegBytes(64, 40, { exifBytes: 3000 }), "image/jpeg", "jpg", 64, 40],
		["GIF", gifBytes(20, 10), "image/gif", "gif", 20, 10],
		["WebP VP8", webpBytes(300, 150, "VP8"), "image/webp", "webp", 300, 150],
		["WebP VP8L", webpBytes(301, 151, "VP8L"), "image/webp", "webp", 301, 151],
		["WebP VP8X", webpBytes(302, 152, "VP8X"), "image/webp", "webp", 302, 152],
	];

	it.each(images)("%s: upload, dimensions, CDN bytes round trip", async (_n, bytes, mime, ext, w, h) => {
		// the client's content type and name are ignored: only the bytes count
		const r = await upload(bytes, { filename: "whatever.txt", type: "text/plain" });
		expect(r.status).toBe(201);
		expect(r.body.message).toBe("Media created successfully");
		const media = r.body.media as Media;
		expect(media).toMatchObject({
			type: mime,
			width: w,
			height: h,
			moderation_status: "approved",
			processed: true,
			title: null,
			description: null,
			user: { username: "alice", avatar: "https://example.test/alice.png" },
		});
		expect(media.id).toBeTypeOf("number");
		expect(media.slug).toMatch(/^[A-Za-z0-9]{7}$/);
		expect(media.filename).toBe(media.slug);
		expect(media.urls.original).toBe(`${emu.cdnUrl}/f/${media.slug}.${ext}`);
		expect(Object.keys(media.urls).sort()).toEqual(["lg", "md", "original", "sm", "xl", "xs"]);
		expect(media.urls.thumb).toBeUndefined();
		for (const url of [media.urls.original, media.urls.md, media.urls.xs]) {
			const res = await fetch(url as string);
			expect(res.status).toBe(200);
			expect(res.headers.get("content-type")).toBe(mime);
			expect(res.headers.get("content-length")).toBe(String(bytes.length));
			expect(res.headers.get("x-ratelimit-limit")).toBeNull();
			expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
		}
		const got = await call(`/media/${media.slug}`);
		expect(got.body).toEqual({ data: media });
		const rec = emu.requests.find((q) => q.listener === "cdn" && q.method === "POST");
		expect(rec).toMatchObject({ path: "/api/v1/media", username: "alice", status: 201 });
		expect(rec?.bodyBytes).toBeGreaterThan(bytes.length);
	});

	it("videos: width/height 0, original + thumb", async () => {
		const bytes = mp4Bytes();
		const r = await upload(bytes, { filename: "clip.mp4" });
		expect(r.status).toBe(201);
		const media = r.body.media as Media;
		expect(media).toMatchObject({ type: "video/mp4", width: 0, height: 0 });
		expect(media.urls).toEqual({
			original: `${emu.cdnUrl}/f/${media.slug}.mp4`,
			thumb: `${emu.cdnUrl}/f/${media.slug}_thumb.jpg`,
		});
		const thumb = await fetch(media.urls.thumb as string);
		expect(thumb.headers.get("content-type")).toBe("image/jpeg");
		expect(Buffer.from(await thumb.arrayBuffer()).equals(VIDEO_THUMBNAIL_JPEG)).toBe(true);
		const orig = await fetch(media.urls.original);
		expect(Buffer.from(await orig.arrayBuffer()).equals(bytes)).toBe(true);
		expect((await fetch(`${emu.cdnUrl}/f/${media.slug}.png`)).status).toBe(404);
	});

	it("refuses a text file labelled as PNG", async () => {
		const r = await upload(Buffer.from("just some text, honestly\n"), { filename: "cat.png", type: "image/png" });
		expect(r.status).toBe(422);
		expect(r.body).toEqual({
			message: "The file field must be a file of type: image/*, video/*.",
			errors: { file: ["The file field must be a file of type: image/*, video/*."] },
		});
	});

	it("a `file` text field is not a file", async () => {
		const fd = new FormData();
		fd.append("file", "not-a-file");
		const res = await fetch(emu.uploadUrl, { method: "POST", body: fd, headers: { authorization: `Bearer ${ALICE}` } });
		expect(res.status).toBe(422);
		expect(((await res.json()) as Json).errors).toEqual({ file: ["The file field must be a file."] });
	});

	it("refuses an oversize file after draining it, and leaves nothing on disk", async () => {
		const dir = await mkdtemp(join(tmpdir(), "imgpile-test-"));
		try {
			const small = await start({ storageDir: dir, limits: { maxFileBytes: 1024 * 1024 } });
			const big = Buffer.alloc(1024 * 1024 + 512 * 1024);
			pngBytes(10, 10).copy(big);
			const r = await upload(big, { on: small });
			expect(r.status).toBe(422);
			expect(r.body).toEqual({
				message: "The file field must not be greater than 1024 kilobytes.",
				errors: { file: ["The file field must not be greater than 1024 kilobytes."] },
			});
			expect(small.requests.at(-1)?.bodyBytes).toBeGreaterThan(big.length);
			expect(await readdir(dir)).toEqual([]);
			// exactly at the limit is fine
			const exact = Buffer.alloc(1024 * 1024);
			pngBytes(10, 10).copy(exact);
			const ok = await upload(exact, { on: small });
			expect(ok.status).toBe(201);
			expect(await readdir(dir)).toEqual([`${ok.body.media.slug}.png`]);
			// both failures at once, Laravel style
			const both = await upload(Buffer.alloc(2 * 1024 * 1024, 0x41), { on: small });
			expect(both.body.message).toBe("The file field must be a file of type: image/*, video/*. (and 1 more error)");
			expect(both.body.errors.file).toHaveLength(2);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});

	it("post_id: attaches to the caller's post; unknown 422; someone else's 403", async () => {
		const post = await createPost(ALICE);
		const ok = await upload(pngBytes(2, 2), { postId: post.id });
		expect(ok.status).toBe(201);
		const got = await call(`/posts/${post.slug}`);
		expect(got.body.data.media_count).toBe(2);
		expect(got.body.data.media.map((m: Media) => m.id)).toEqual([post.media[0]?.id, ok.body.media.id]);

		const unknown = await upload(pngBytes(2, 2), { postId: 9999 });
		expect(unknown.status).toBe(422);
		expect(unknown.body).toEqual({
			message: "The selected post id is invalid.",
			errors: { post_id: ["The selected post id is invalid."] },
		});
		const foreign = await upload(pngBytes(2, 2), { postId: post.id, token: BOB });
		expect(foreign.status).toBe(403);
		expect(foreign.body).toEqual({ message: "This action is unauthorized." });
	});

	it("processed=false hides variants; delete removes the file", async () => {
		const media = await uploadPng();
		emu.setProcessed(media.slug, false);
		const got = await call(`/media/${media.slug}`);
		expect(got.body.data.processed).toBe(false);
		expect(got.body.data.urls).toEqual({ original: media.urls.original });
		expect((await fetch(media.urls.md as string)).status).toBe(404);
		emu.setProcessed(media.slug, true);
		expect((await fetch(media.urls.md as string)).status).toBe(200);

		const head = await fetch(media.urls.original, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(head.headers.get("content-type")).toBe("image/png");

		const del = await call(`/media/${media.slug}`, { method: "DELETE", token: ALICE });
		expect(del.body).toEqual({ message: "Media deleted successfully." });
		expect((await fetch(media.urls.original)).status).toBe(404);
		expect((await call(`/media/${media.slug}`)).status).toBe(404);
	});

	it("PATCH /media updates title/description", async () => {
		const media = await uploadPng();
		const r = await call(`/media/${media.slug}`, {
			method: "PATCH",
			token: ALICE,
			json: { title: "  Sunset  ", description: "Over the sea" },
		});
		expect(r.body).toEqual({ message: "Media updated successfully" });
		const got = await call(`/media/${media.slug}`);
		expect(got.body.data).toMatchObject({ title: "Sunset", description: "Over the sea" });
		const long = await call(`/media/${media.slug}`, {
			method: "PATCH",
			token: ALICE,
			json: { title: "x".repeat(256) },
		});
		expect(long.status).toBe(422);
		expect(long.body.message).toBe("The title field must not be greater than 255 characters.");
	});
});

describe("posts", () => {
	it("create, read (media pages, views, owner fields), patch, delete", async () => {
		const post = await createPost(ALICE, 3);
		expect(post.slug).toMatch(/^[A-Za-z0-9]{7}$/);
		const none = await call("/posts", { method: "POST", token: ALICE, json: { media_ids: [] } });
		expect(none.status).toBe(422);
		expect(none.body).toEqual({
			message: "The media ids field is required.",
			errors: { media_ids: ["The media ids field is required."] },
		});

		const guest = await call<{ data: Post }>(`/posts/${post.slug}?mediaPage=2&perPage=2`);
		expect(guest.status).toBe(200);
		expect(guest.body.data).toMatchObject({ id: post.id, slug: post.slug, media_count: 3, view_count: 1, score: 0 });
		expect(guest.body.data.media?.map((m) => m.id)).toEqual([post.media[2]?.id]);
		expect(guest.body.data).not.toHaveProperty("first_media");
		expect(guest.body.data).not.toHaveProperty("visibility");
		expect(guest.body.data).not.toHaveProperty("access_key");
		expect(guest.body.data.tags).toEqual([]);

		const owner = await call<{ data: Post }>(`/posts/${post.slug}`, { token: ALICE });
		expect(owner.body.data).toMatchObject({ view_count: 2, visibility: "public", access_key: null });
		expect(owner.body.data.media).toHaveLength(3);

		const title = await call(`/posts/${post.slug}`, {
			method: "PATCH",
			token: ALICE,
			json: { title: "t".repeat(256) },
		});
		expect(title.status).toBe(422);
		expect(title.body).toEqual({
			message: "The title field must not be greater than 255 characters.",
			errors: { title: ["The title field must not be greater than 255 characters."] },
		});

		const order = [post.media[2]?.slug, post.media[0]?.slug, post.media[1]?.slug];
		const patched = await call(`/posts/${post.slug}`, {
			method: "PATCH",
			token: ALICE,
			json: { title: "Hello", description: "World", media_order: order, tags: [" Cats ", "cats", "DOGS", ""] },
		});
		expect(patched.body).toEqual({ message: "Post updated successfully", visibility: "public", access_key: null });
		const after = await call<{ data: Post }>(`/posts/${post.slug}`);
		expect(after.body.data).toMatchObject({ title: "Hello", description: "World", tags: ["cats", "dogs"] });
		expect(after.body.data.media?.map((m) => m.slug)).toEqual(order);

		const badOrder = await call(`/posts/${post.slug}`, {
			method: "PATCH",
			token: ALICE,
			json: { media_order: order.slice(0, 2) },
		});
		expect(badOrder.status).toBe(422);
		expect(badOrder.body.errors).toHaveProperty("media_order");

		const tooMany = await call(`/posts/${post.slug}`, {
			method: "PATCH",
			token: ALICE,
			json: { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
		});
		expect(tooMany.status).toBe(422);
		expect(tooMany.body.errors).toEqual({ tags: ["The tags field must not have more than 20 items."] });
		const tooLong = await call(`/posts/${post.slug}`, {
			method: "PATCH",
			token: ALICE,
			json: { tags: ["a".repeat(51)] },
		});
		expect(tooLong.status).toBe(422);

		const del = await call(`/posts/${post.slug}`, { method: "DELETE", token: ALICE });
		expect(del.body).toEqual({ message: "Post deleted successfully" });
		expect((await call(`/posts/${post.slug}`)).status).toBe(404);
	});

	it("hidden: by slug only; private: key or owner", async () => {
		const hidden = await createPost();
		const priv = await createPost();
		const h = await call(`/posts/${hidden.slug}`, { method: "PATCH", token: ALICE, json: { visibility: "hidden" } });
		expect(h.body).toEqual({ message: "Post updated successfully", visibility: "hidden", access_key: null });
		const p = await call(`/posts/${priv.slug}`, { method: "PATCH", token: ALICE, json: { visibility: "private" } });
		expect(p.body.visibility).toBe("private");
		const key = p.body.access_key as string;
		expect(key).toMatch(/^[a-z0-9]{10}$/);
		// re-setting private keeps the key
		const again = await call(`/posts/${priv.slug}`, { method: "PATCH", token: ALICE, json: { visibility: "private" } });
		expect(again.body.access_key).toBe(key);

		const feed = await call<Page<Post>>("/posts");
		expect(feed.body.data).toEqual([]);
		expect((await call(`/posts/${hidden.slug}`)).status).toBe(200);
		expect((await call(`/posts/${priv.slug}`)).status).toBe(404);
		expect((await call(`/posts/${priv.slug}?key=wrongkey00`)).status).toBe(404);
		expect((await call(`/posts/${priv.slug}`, { token: BOB })).status).toBe(404);
		const withKey = await call(`/posts/${priv.slug}?key=${key}`);
		expect(withKey.status).toBe(200);
		expect(withKey.body.data).not.toHaveProperty("access_key");
		const owner = await call(`/posts/${priv.slug}`, { token: ALICE });
		expect(owner.body.data).toMatchObject({ visibility: "private", access_key: key });
		// comments on a private post need the key too
		const c = await call(`/posts/${priv.slug}/comments`, { method: "POST", token: BOB, json: { content: "hi" } });
		expect(c.status).toBe(404);
		const ck = await call(`/posts/${priv.slug}/comments?key=${key}`, {
			method: "POST",
			token: BOB,
			json: { content: "hi" },
		});
		expect(ck.status).toBe(201);

		const pub = await call(`/posts/${priv.slug}`, { method: "PATCH", token: ALICE, json: { visibility: "public" } });
		expect(pub.body).toMatchObject({ visibility: "public", access_key: null });
		expect((await call("/posts")).body.meta.total).toBe(1);
	});

	it("moderation: nsfw only with nsfw=1, pending and rejected never", async () => {
		const safe = emu.seedPost({ username: "alice", title: "safe" });
		const adult = emu.seedPost({ username: "alice", title: "adult", isNsfw: true });
		const pending = emu.seedPost({ username: "alice", title: "pending", moderation: "pending" });
		const rejected = emu.seedPost({ username: "alice", title: "rejected", moderation: "rejected" });
		expect(adult.moderation_status).toBe("nsfw");

		const titles = async (q: string, token?: string) =>
			((await call<Page<Post>>(`/posts${q}`, { token })).body.data ?? []).map((p) => p.title).sort();
		expect(await titles("")).toEqual(["safe"]);
		expect(await titles("?nsfw=1")).toEqual(["adult", "safe"]);
		expect(await titles("?nsfw=1", ALICE)).toEqual(["adult", "safe"]);
		expect(await titles("?username=alice&nsfw=1")).toEqual(["adult", "safe"]);
		const userPosts = await call<Page<Post>>("/users/alice/posts");
		expect(userPosts.body.data.map((p) => p.title)).toEqual(["safe"]);

		const media = await call<Page<Media>>("/media");
		expect(media.body.data.map((m) => m.id)).toEqual([safe.media?.[0]?.id]);
		const mediaNsfw = await call<Page<Media>>("/media?nsfw=1");
		expect(mediaNsfw.body.meta.total).toBe(2);

		expect((await call(`/posts/${pending.slug}`)).status).toBe(200);
		expect((await call(`/posts/${rejected.slug}`)).status).toBe(404);
		expect((await call(`/posts/${rejected.slug}`, { token: ALICE })).status).toBe(200);

		// is_nsfw toggles approved <-> nsfw; setModeration moves posts into the feed late
		await call(`/posts/${safe.slug}`, { method: "PATCH", token: ALICE, json: { is_nsfw: true } });
		expect(await titles("")).toEqual([]);
		await call(`/posts/${safe.slug}`, { method: "PATCH", token: ALICE, json: { is_nsfw: false } });
		emu.setModeration("post", pending.id, "approved");
		expect(await titles("")).toEqual(["pending", "safe"]);
		// seeded media share the post's status: the pending post's media is still pending
		expect((await call<Page<Media>>("/media")).body.data.map((m) => m.id)).toEqual([safe.media?.[0]?.id]);
		emu.setModeration("media", pending.media?.[0]?.id as number, "approved");
		emu.setModeration("media", safe.media?.[0]?.slug as string, "rejected");
		expect((await call<Page<Media>>("/media")).body.data.map((m) => m.id)).toEqual([pending.media?.[0]?.id]);
	});
});

describe("pagination and feed filters", () => {
	it("links keep the other query parameters; meta is exact", async () => {
		const base = Date.parse("2030-01-01T00:00:00Z");
		for (let i = 0; i < 23; i++) {
			emu.seedPost({ username: "alice", title: `cat ${i}`, tags: ["Cats"], createdAt: new Date(base + i * 1000) });
		}
		emu.seedPost({ username: "bob", title: "dog", tags: ["dogs"], createdAt: new Date(base + 99_000) });

		const p1 = await call<Page<Post>>("/posts?tag=cats&limit=10");
		const u = (page: number) => `${emu.apiUrl}/posts?tag=cats&limit=10&page=${page}`;
		expect(p1.body.links).toEqual({ first: u(1), last: u(3), prev: null, next: u(2) });
		expect(p1.body.meta).toEqual({ current_page: 1, from: 1, to: 10, per_page: 10, total: 23, last_page: 3 });
		expect(p1.body.data[0]?.title).toBe("cat 22"); // latest first
		expect(p1.body.data[0]).toHaveProperty("first_media");
		expect(p1.body.data[0]).not.toHaveProperty("media");

		// follow links.next until null
		const seen: string[] = [];
		let next: string | null = p1.body.links.first;
		while (next) {
			const page: Res<Page<Post>> = await call<Page<Post>>(next);
			seen.push(...page.body.data.map((p) => p.title ?? ""));
			next = page.body.links.next;
		}
		expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `cat ${22 - i}`));

		const p3 = await call<Page<Post>>(u(3));
		expect(p3.body.meta).toEqual({ current_page: 3, from: 21, to: 23, per_page: 10, total: 23, last_page: 3 });
		expect(p3.body.links.prev).toBe(u(2));
		expect(p3.body.links.next).toBeNull();

		const past = await call<Page<Post>>(u(9));
		expect(past.body.data).toEqual([]);
		expect(past.body.meta).toMatchObject({ current_page: 9, from: null, to: null, last_page: 3 });

		const empty = await call<Page<Post>>("/posts?tag=birds");
		expect(empty.body.meta).toEqual({ current_page: 1, from: null, to: null, per_page: 10, total: 0, last_page: 1 });
		expect(empty.body.links).toEqual({
			first: `${emu.apiUrl}/posts?tag=birds&page=1`,
			last: `${emu.apiUrl}/posts?tag=birds&page=1`,
			prev: null,
			next: null,
		});

		const big = await call("/posts?limit=251");
		expect(big.status).toBe(422);
		expect(big.body).toEqual({
			message: "The limit field must not be greater than 250.",
			errors: { limit: ["The limit field must not be greater than 250."] },
		});
		expect((await call<Page<Post>>("/posts?limit=250")).body.data).toHaveLength(24);
		expect((await call("/posts?sort=best")).status).toBe(422);

		const bob = await call<Page<Post>>("/posts?username=bob");
		expect(bob.body.data.map((p) => p.title)).toEqual(["dog"]);
		expect((await call<Page<Post>>("/posts?username=nobody")).body.meta.total).toBe(0);
		const random = await call<Page<Post>>("/posts?sort=random&limit=250");
		expect(random.body.data.map((p) => p.title).sort()).toEqual(
			(await call<Page<Post>>("/posts?limit=250")).body.data.map((p) => p.title).sort(),
		);

		const mediaPage = await call<Page<Media>>("/users/alice/media?limit=5&page=2&tag=cats");
		expect(mediaPage.body.meta).toMatchObject({ total: 23, current_page: 2, from: 6, to: 10, last_page: 5 });
		expect(mediaPage.body.links.next).toBe(`${emu.apiUrl}/users/alice/media?limit=5&page=3&tag=cats`);
	});

	it("period filters relative to the injected clock", async () => {
		let now = Date.parse("2031-06-15T12:00:00Z");
		const e = await start({ now: () => now });
		const day = 86_400_000;
		e.seedPost({ username: "alice", title: "hour", createdAt: new Date(now - 3_600_000) });
		e.seedPost({ username: "alice", title: "3 days", createdAt: new Date(now - 3 * day) });
		e.seedPost({ username: "alice", title: "20 days", createdAt: new Date(now - 20 * day) });
		e.seedPost({ username: "alice", title: "200 days", createdAt: new Date(now - 200 * day) });
		e.seedPost({ username: "alice", title: "2 years", createdAt: new Date(now - 730 * day) });
		const count = async (period: string) =>
			(await call<Page<Post>>(`/posts?period=${period}`, { on: e })).body.meta.total;
		expect([
			await count("day"),
			await count("week"),
			await count("month"),
			await count("year"),
			await count("all"),
		]).toEqual([1, 2, 3, 4, 5]);
		now += 2 * day;
		expect(await count("day")).toBe(0);
	});
});

describe("votes and comments", () => {
	it("votes toggle and switch; the post accepts id or slug", async () => {
		const post = await createPost();
		const vote = async (path: string, token: string) =>
			(await call(`/posts/${path}`, { method: "POST", token })).body as { message: string; score: number };
		expect(await vote(`${post.id}/upvote`, BOB)).toEqual({ message: "Post upvoted successfully", score: 1 });
		expect((await call(`/posts/${post.slug}`, { token: BOB })).body.data).toMatchObject({
			isUpvotedByUser: true,
			isDownvotedByUser: false,
			score: 1,
		});
		expect((await call(`/posts/${post.slug}`)).body.data.isUpvotedByUser).toBe(false);
		expect(await vote(`${post.slug}/upvote`, BOB)).toEqual({ message: "Upvote removed", score: 0 });
		expect(await vote(`${post.slug}/downvote`, BOB)).toEqual({ message: "Post downvoted successfully", score: -1 });
		expect(await vote(`${post.slug}/upvote`, BOB)).toEqual({ message: "Post upvoted successfully", score: 1 });
		expect(await vote(`${post.id}/downvote`, ALICE)).toEqual({ message: "Post downvoted successfully", score: 0 });
		expect(await vote(`${post.id}/downvote`, ALICE)).toEqual({ message: "Downvote removed", score: 1 });
		expect((await call(`/posts/${post.slug}`, { token: ALICE })).body.data.isDownvotedByUser).toBe(false);
	});

	it("comments with parent_id, validation, votes, delete, listing", async () => {
		const post = await createPost();
		const other = await createPost();
		const c1 = await call(`/posts/${post.slug}/comments`, {
			method: "POST",
			token: BOB,
			json: { content: " Nice shot! " },
		});
		expect(c1.status).toBe(201);
		expect(c1.body).toEqual({
			success: true,
			comment: {
				id: expect.any(Number),
				content: "Nice shot!",
				user_id: expect.any(Number),
				post_id: post.id,
				parent_id: null,
				created_at: expect.any(String),
				user: { username: "bob", avatar: null },
			},
		});
		const parent = c1.body.comment as Comment;
		const reply = await call(`/posts/${post.id}/comments`, {
			method: "POST",
			token: ALICE,
			json: { content: "Thanks", parent_id: parent.id },
		});
		expect(reply.status).toBe(201);
		expect(reply.body.comment).toMatchObject({ parent_id: parent.id, post_id: post.id });

		const wrongParent = await call(`/posts/${other.slug}/comments`, {
			method: "POST",
			token: ALICE,
			json: { content: "x", parent_id: parent.id },
		});
		expect(wrongParent.status).toBe(422);
		expect(wrongParent.body.errors).toEqual({ parent_id: ["The selected parent id is invalid."] });
		const long = await call(`/posts/${post.slug}/comments`, {
			method: "POST",
			token: ALICE,
			json: { content: "é".repeat(501) },
		});
		expect(long.status).toBe(422);
		expect(long.body).toEqual({
			message: "The content field must not be greater than 500 characters.",
			errors: { content: ["The content field must not be greater than 500 characters."] },
		});
		expect(
			(await call(`/posts/${post.slug}/comments`, { method: "POST", token: ALICE, json: { content: "é".repeat(500) } }))
				.status,
		).toBe(201);
		const missing = await call(`/posts/${post.slug}/comments`, { method: "POST", token: ALICE, json: {} });
		expect(missing.body).toEqual({
			message: "The content field is required.",
			errors: { content: ["The content field is required."] },
		});

		const up = await call(`/comments/${parent.id}/upvote`, { method: "POST", token: ALICE });
		expect(up.body).toEqual({ message: "Comment upvoted successfully", score: 1 });
		const down = await call(`/comments/${parent.id}/downvote`, { method: "POST", token: ALICE });
		expect(down.body).toEqual({ message: "Comment downvoted successfully", score: -1 });
		const undo = await call(`/comments/${parent.id}/downvote`, { method: "POST", token: ALICE });
		expect(undo.body).toEqual({ message: "Downvote removed", score: 0 });

		const listed = await call<Page<Comment>>("/users/bob/comments");
		expect(listed.body.data).toHaveLength(1);
		expect(listed.body.data[0]).toMatchObject({ id: parent.id, score: 0, user: { username: "bob" } });

		expect((await call(`/comments/${parent.id}`, { method: "DELETE", token: ALICE })).status).toBe(403);
		const del = await call(`/comments/${parent.id}`, { method: "DELETE", token: BOB });
		expect(del.body).toEqual({ success: true, message: "Comment deleted successfully" });
		expect((await call(`/comments/${reply.body.comment.id}/upvote`, { method: "POST", token: BOB })).status).toBe(404);
		expect((await call<Page<Comment>>("/users/bob/comments")).body.meta.total).toBe(0);
	});
});

describe("follows", () => {
	it("follow (idempotent), listings, self-follow refused, unfollow", async () => {
		const f = await call("/users/bob/follow", { method: "POST", token: ALICE });
		expect(f.body).toEqual({ message: "User followed." });
		expect((await call("/users/bob/follow", { method: "POST", token: ALICE })).status).toBe(200);
		const followers = await call<Page<UserSummary>>("/users/bob/followers");
		expect(followers.body.data).toEqual([{ username: "alice", avatar: "https://example.test/alice.png" }]);
		expect(followers.body.meta.total).toBe(1);
		const following = await call<Page<UserSummary>>("/users/alice/following");
		expect(following.body.data).toEqual([{ username: "bob", avatar: null }]);

		const self = await call("/users/alice/follow", { method: "POST", token: ALICE });
		expect(self.status).toBe(422);
		expect(self.body).toEqual({ message: "You cannot follow yourself." });
		expect((await call("/users/nobody/follow", { method: "POST", token: ALICE })).status).toBe(404);
		expect((await call("/users/bob/follow", { method: "POST" })).status).toBe(401);

		const un = await call("/users/bob/follow", { method: "DELETE", token: ALICE });
		expect(un.body).toEqual({ message: "User unfollowed." });
		expect((await call<Page<UserSummary>>("/users/bob/followers")).body.data).toEqual([]);
	});
});

describe("fault injection", () => {
	it("status with body and headers, `times`, then normal again", async () => {
		emu.injectFault({
			path: "/api/v1/posts",
			status: 503,
			body: { message: "Down" },
			headers: { "Retry-After": "2" },
			times: 2,
		});
		for (let i = 0; i < 2; i++) {
			const r = await call("/posts");
			expect(r.status).toBe(503);
			expect(r.body).toEqual({ message: "Down" });
			expect(r.headers.get("retry-after")).toBe("2");
			expect(r.headers.get("x-ratelimit-limit")).toBe("30");
		}
		expect((await call("/posts")).status).toBe(200);
		expect(emu.requests.slice(-3).map((r) => r.status)).toEqual([503, 503, 200]);
	});

	it("method/listener/RegExp matching and clearFaults", async () => {
		emu.injectFault({ method: "POST", path: /^\/api\/v1\/posts/, status: 500, times: 5 });
		expect((await call("/posts")).status).toBe(200);
		emu.injectFault({ listener: "cdn", path: "/api/v1/posts", status: 418 });
		expect((await call("/posts")).status).toBe(200);
		const r = await call("/posts", { method: "POST", token: ALICE, json: { media_ids: [] } });
		expect(r.status).toBe(500);
		expect(r.body).toEqual({ message: "Server Error" });
		emu.clearFaults();
		expect((await call("/posts", { method: "POST", token: ALICE, json: { media_ids: [] } })).status).toBe(422);
	});

	it("before-body fails without reading the upload; after-body reads it all first", async () => {
		const bytes = pngBytes(64, 64);
		emu.injectFault({ path: "/api/v1/media", status: 502 });
		expect((await upload(bytes)).status).toBe(502);
		expect(emu.requests.at(-1)).toMatchObject({ listener: "cdn", status: 502, bodyBytes: 0 });

		emu.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", status: 500, when: "after-body" });
		const r = await upload(bytes);
		expect(r.status).toBe(500);
		const rec = emu.requests.at(-1);
		expect(rec?.bodyBytes).toBe(Number(rec?.headers["content-length"]));
		expect(rec?.bodyBytes).toBeGreaterThan(bytes.length);
		expect((await call("/users/alice/media")).body.meta.total).toBe(0);
	});

	it("reset destroys the socket (before or after the body)", async () => {
		emu.injectFault({ path: "/api/v1/posts", reset: true });
		await expect(call("/posts")).rejects.toThrow();
		emu.injectFault({ path: "/api/v1/media", reset: true, when: "after-body" });
		await expect(upload(pngBytes(8, 8))).rejects.toThrow();
		expect(emu.requests.at(-1)?.status).toBe(0);
		expect(emu.requests.at(-1)?.bodyBytes).toBeGreaterThan(0);
		expect((await call("/posts")).status).toBe(200);
	});

	it("delay alone delays, then proceeds normally", async () => {
		emu.injectFault({ path: "/api/v1/posts", delayMs: 150 });
		const t0 = performance.now();
		const r = await call("/posts");
		expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
		expect(r.status).toBe(200);
		emu.injectFault({ path: "/api/v1/posts", delayMs: 50, status: 504 });
		expect((await call("/posts")).status).toBe(504);
	});
});

describe("rate limits", () => {
	it("per-IP guest window, per-user window, Retry-After, reset on the next window", async () => {
		let now = Date.parse("2032-01-01T00:00:10Z");
		const e = await start({ now: () => now, limits: { publicPerMinute: 3, authPerMinute: 2 } });
		const remaining: string[] = [];
		for (let i = 0; i < 3; i++) {
			const r = await call("/posts", { on: e });
			expect(r.status).toBe(200);
			expect(r.headers.get("x-ratelimit-limit")).toBe("3");
			remaining.push(r.headers.get("x-ratelimit-remaining") ?? "");
		}
		expect(remaining).toEqual(["2", "1", "0"]);
		now += 5_000; // 15 s into the window
		const limited = await call("/nope", { on: e });
		expect(limited.status).toBe(429);
		expect(limited.body).toEqual({ message: "Too Many Attempts." });
		expect(limited.headers.get("retry-after")).toBe("45");
		expect(limited.headers.get("x-ratelimit-limit")).toBe("3");
		expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
		expect(limited.headers.get("content-type")).toBe("application/json");

		// authenticated requests have their own budget
		const a1 = await call("/posts", { on: e, token: ALICE });
		expect(a1.headers.get("x-ratelimit-limit")).toBe("2");
		expect(a1.headers.get("x-ratelimit-remaining")).toBe("1");
		await call("/posts", { on: e, token: ALICE });
		const a3 = await call("/posts", { on: e, token: ALICE });
		expect(a3.status).toBe(429);
		expect((await call("/posts", { on: e, token: BOB })).status).toBe(200);

		now += 45_000; // next window
		const fresh = await call("/posts", { on: e });
		expect(fresh.status).toBe(200);
		expect(fresh.headers.get("x-ratelimit-remaining")).toBe("2");
		expect((await call("/posts", { on: e, token: ALICE })).status).toBe(200);

		for (let i = 0; i < 2; i++) await call("/posts", { on: e });
		expect((await call("/posts", { on: e })).status).toBe(429);
		e.resetRateLimits();
		expect((await call("/posts", { on: e })).status).toBe(200);
	});

	it("daily upload quota", async () => {
		let now = Date.parse("2032-01-01T23:00:00Z");
		const e = await start({ now: () => now, limits: { uploadsPerDay: 2 } });
		expect((await upload(pngBytes(1, 1), { on: e })).status).toBe(201);
		expect((await upload(Buffer.from("text"), { on: e })).status).toBe(422); // refused uploads do not count
		expect((await upload(pngBytes(2, 1), { on: e })).status).toBe(201);
		const r = await upload(pngBytes(3, 1), { on: e });
		expect(r.status).toBe(429);
		expect(r.body).toEqual({ message: "Too Many Attempts." });
		expect(r.headers.get("retry-after")).toBe("3600");
		expect(r.headers.get("x-ratelimit-remaining")).not.toBeNull();
		expect((await upload(pngBytes(3, 1), { on: e, token: BOB })).status).toBe(201);
		now += 3_600_000;
		expect((await upload(pngBytes(3, 1), { on: e })).status).toBe(201);
	});
});

describe("lifecycle", () => {
	it("close() ends keep-alive connections promptly", async () => {
		const e = await startImgpileEmulator({ users: USERS });
		await fetch(`${e.apiUrl}/posts`).then((r) => r.text());
		const t0 = performance.now();
		await e.close();
		expect(performance.now() - t0).toBeLessThan(1000);
		await expect(fetch(`${e.apiUrl}/posts`)).rejects.toThrow();
	});
});
