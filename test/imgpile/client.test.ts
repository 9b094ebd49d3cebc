import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
	fileFromPath,
	Imgpile,
	type ImgpileError,
	ImgpileFileTooLargeError,
	ImgpileForbiddenError,
	ImgpileHttpError,
	type ImgpileHttpOptions,
	ImgpileNetworkError,
	ImgpileNotFoundError,
	ImgpileRateLimitError,
	ImgpileServerError,
	ImgpileTimeoutError,
	ImgpileUnauthorizedError,
	ImgpileUnavailableForLegalReasonsError,
	ImgpileValidationError,
	type Page,
	type Post,
	type UploadFile,
} from "../../src/imgpile/index.js";
import { type ImgpileEmulator, startImgpileEmulator } from "../emulators/imgpile/index.js";
import { generatedStream, mp4Bytes, pngBytes } from "../support/images.js";

const ALICE = "alice-token-0123456789abcdef";
const BOB = "bob-token-fedcba9876543210";
const TOKENS = [ALICE, BOB];

let emu: ImgpileEmulator;
let imgpile: Imgpile;

function png(width: number, height: number, name = "cat.png"): UploadFile {
	const bytes = pngBytes(width, height);
	return { stream: Readable.from([bytes]), filename: name, contentType: "image/png", size: bytes.byteLength };
}

/** A client of its own, for tests that leave a token's lane blocked by a Retry-After. */
async function withOwnClient(run: (own: Imgpile) => Promise<void>, options: Partial<ImgpileHttpOptions> = {}) {
	const own = new Imgpile({ apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, retry: { baseDelayMs: 5 }, ...options });
	try {
		await run(own);
	} finally {
		await own.close();
	}
}

function uploadsSeen(): number {
	return emu.requests.filter((r) => r.listener === "cdn" && r.method === "POST").length;
}

/** The thrown error, which must mention no token anywhere. */
async function failure<T extends ImgpileError>(
	promise: Promise<unknown>,
	type: new (...args: never[]) => T,
): Promise<T> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(type);
	const text = `${String(error)} ${(error as Error).stack} ${JSON.stringify(error)}`;
	for (const token of TOKENS) expect(text).not.toContain(token);
	return error as T;
}

beforeAll(async () => {
	emu = await startImgpileEmulator({
		users: [
			{ username: "alice", token: ALICE },
			{ username: "bob", token: BOB },
		],
		limits: { publicPerMinute: 100_000, authPerMinute: 100_000 },
	});
	imgpile = new Imgpile({
		apiUrl: emu.apiUrl,
		uploadUrl: emu.uploadUrl,
		retry: { baseDelayMs: 5, maxDelayMs: 20 },
		pacing: { authPerMinute: 100_000, publicPerMinute: 100_000 },
	});
});

afterAll(async () => {
	await imgpile.close();
	await emu.close();
});

afterEach(() => emu.clearFaults());

describe("media", () => {
	it("uploads a stream to the upload host and serves the same bytes from the CDN", async () => {
		const bytes = pngBytes(640, 480);
		const progress: number[] = [];
		const media = await imgpile
			.as(ALICE)
			.uploadMedia(
				{ stream: Readable.from([bytes]), filename: "cat.png" },
				{ onProgress: (sent) => progress.push(sent) },
			);
		expect(media).toMatchObject({ type: "image/png", width: 640, height: 480, moderation_status: "approved" });
		expect(media.id).toBeTypeOf("number");
		expect(media.slug).toMatch(/^[A-Za-z0-9]{7}$/);
		expect(media.user?.username).toBe("alice");
		expect(progress.at(-1)).toBe(bytes.byteLength);
		const served = Buffer.from(await (await fetch(media.urls.original)).arrayBuffer());
		expect(served.equals(bytes)).toBe(true);
	});

	it("uploads a file from disk with its length known, and a video", async () => {
		const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
		const { join } = await import("node:path");
		const { tmpdir } = await import("node:os");
		const dir = await mkdtemp(join(tmpdir(), "imgpile-client-"));
		try {
			await writeFile(join(dir, "clip.mp4"), mp4Bytes(4096));
			const video = await imgpile.as(ALICE).uploadMedia(await fileFromPath(join(dir, "clip.mp4")));
			expect(video.type).toBe("video/mp4");
			expect(video.urls.thumb).toMatch(/_thumb\.jpg$/);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});

	it("keeps a large file from disk byte for byte (its read buffers are reused)", async () => {
		const { createHash, randomBytes } = await import("node:crypto");
		const { mkdtemp, open, rm } = await import("node:fs/promises");
		const { join } = await import("node:path");
		const { tmpdir } = await import("node:os");
		const dir = await mkdtemp(join(tmpdir(), "imgpile-client-"));
		try {
			const path = join(dir, "big.png");
			const file = await open(path, "w");
			const hash = createHash("sha256");
			for (const chunk of [pngBytes(800, 600), ...Array.from({ length: 24 }, () => randomBytes(1024 * 1024 + 7))]) {
				hash.update(chunk);
				await file.write(chunk);
			}
			await file.close();
			const media = await imgpile.as(ALICE).uploadMedia(await fileFromPath(path));
			const served = createHash("sha256")
				.update(Buffer.from(await (await fetch(media.urls.original)).arrayBuffer()))
				.digest("hex");
			expect(served).toBe(hash.digest("hex"));
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});

	it("lists, reads, edits and deletes media", async () => {
		const alice = imgpile.as(ALICE);
		const media = await alice.uploadMedia(png(10, 10));
		expect((await alice.getMedia(media.slug)).id).toBe(media.id);
		expect(await alice.updateMedia(media.slug, { title: "A cat", description: "on a mat" })).toEqual({
			message: "Media updated successfully",
		});
		expect(await imgpile.as().getMedia(media.slug)).toMatchObject({ title: "A cat", description: "on a mat" });
		const listed = await imgpile.as().listMedia({ username: "alice", limit: 250 });
		expect(listed.data.map((m) => m.slug)).toContain(media.slug);
		expect((await imgpile.as().userMedia("alice")).data.length).toBeGreaterThan(0);

		await failure(imgpile.as(BOB).deleteMedia(media.slug), ImgpileForbiddenError);
		expect(await alice.deleteMedia(media.slug)).toEqual({ message: "Media deleted successfully." });
		const gone = await failure(alice.getMedia(media.slug), ImgpileNotFoundError);
		expect(gone.status).toBe(404);
		expect((await fetch(media.urls.original)).status).toBe(404);
	});

	it("refuses a 150 MB stream of unknown length without storing anything", async () => {
		const before = (await imgpile.as().listMedia({ username: "alice", limit: 250 })).meta.total;
		const error = await failure(
			imgpile
				.as(ALICE)
				.uploadMedia({ stream: generatedStream(150 * 1024 * 1024, pngBytes(1, 1)), filename: "big.png" }),
			ImgpileFileTooLargeError,
		);
		expect(error.limitBytes).toBe(100 * 1024 * 1024);
		expect((await imgpile.as().listMedia({ username: "alice", limit: 250 })).meta.total).toBe(before);
	});

	it("refuses a file whose known size is over 100 MB before sending a byte", async () => {
		const seen = uploadsSeen();
		await failure(
			imgpile.as(ALICE).uploadMedia({
				stream: generatedStream(150 * 1024 * 1024),
				filename: "big.mp4",
				size: 150 * 1024 * 1024,
			}),
			ImgpileFileTooLargeError,
		);
		expect(uploadsSeen()).toBe(seen);
	});

	it("maps a banned file to 451 with imgpile's text", async () => {
		const bytes = pngBytes(3, 3);
		const { createHash } = await import("node:crypto");
		emu.banSha256(createHash("sha256").update(bytes).digest("hex"));
		const error = await failure(
			imgpile.as(ALICE).uploadMedia({ stream: Readable.from([bytes]), filename: "x.png" }),
			ImgpileUnavailableForLegalReasonsError,
		);
		expect(error.status).toBe(451);
		expect(error.apiMessage).toBe("This file is not allowed.");
	});

	it("maps a file that is not an image or video to 422 with field errors", async () => {
		const error = await failure(
			imgpile.as(ALICE).uploadMedia({
				stream: Readable.from([Buffer.from("just text, not a png")]),
				filename: "fake.png",
				contentType: "image/png",
			}),
			ImgpileValidationError,
		);
		expect(error.errors.file?.[0]).toMatch(/image|video/);
	});

	it("never retries an upload once its body was sent", async () => {
		const seen = uploadsSeen();
		emu.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", status: 503, when: "after-body" });
		const error = await failure(imgpile.as(ALICE).uploadMedia(png(5, 5)), ImgpileServerError);
		expect(error.status).toBe(503);
		expect(uploadsSeen()).toBe(seen + 1);

		emu.injectFault({
			listener: "cdn",
			method: "POST",
			path: "/api/v1/media",
			status: 429,
			body: { message: "Too Many Attempts." },
			headers: { "retry-after": "7" },
			when: "after-body",
		});
		await withOwnClient(async (own) => {
			const limited = await failure(own.as(ALICE).uploadMedia(png(5, 5)), ImgpileRateLimitError);
			expect(limited.retryAfterMs).toBe(7000);
		});
		expect(uploadsSeen()).toBe(seen + 2);
	});

	it("a POST of a file to the API host fails as the real service does", async () => {
		await withOwnClient(
			async (misconfigured) => {
				const error = await failure(misconfigured.as(ALICE).uploadMedia(png(2, 2)), ImgpileHttpError);
				expect(error.status).toBe(405);
			},
			{ uploadUrl: `${emu.apiUrl}/media` },
		);
	});
});

describe("posts", () => {
	it("creates a post from media, edits every field, reads it back, and deletes it", async () => {
		const alice = imgpile.as(ALICE);
		const a = await alice.uploadMedia(png(100, 50));
		const b = await alice.uploadMedia(png(60, 60));
		const created = await alice.createPost([a.id, b.id]);
		expect(created.slug).toMatch(/^[A-Za-z0-9]{7}$/);

		const updated = await alice.updatePost(created.slug, {
			title: "Two cats",
			description: "a pair",
			visibility: "private",
			is_nsfw: false,
			media_order: [b.slug, a.slug],
			tags: ["Cats", "pets"],
		});
		expect(updated).toMatchObject({ message: "Post updated successfully", visibility: "private" });
		expect(updated.access_key).toMatch(/^\w{10}$/);

		// Private: strangers need the key; the owner sees owner-only fields.
		await failure(imgpile.as().getPost(created.slug), ImgpileNotFoundError);
		const shared = await imgpile.as().getPost(created.slug, { key: updated.access_key ?? "" });
		expect(shared).toMatchObject({ title: "Two cats", description: "a pair", media_count: 2 });
		expect(shared.media?.map((m) => m.slug)).toEqual([b.slug, a.slug]);
		expect(shared.tags).toEqual(["cats", "pets"]);
		expect(shared.access_key).toBeUndefined();
		const own = await alice.getPost(created.slug, { mediaPage: 2, perPage: 1 });
		expect(own.visibility).toBe("private");
		expect(own.media?.map((m) => m.slug)).toEqual([a.slug]);

		await failure(imgpile.as(BOB).updatePost(created.slug, { title: "mine now" }), ImgpileForbiddenError);
		expect(await alice.deletePost(created.slug)).toEqual({ message: "Post deleted successfully" });
		await failure(alice.getPost(created.slug), ImgpileNotFoundError);
	});

	it("answers 422 with field errors for a post without media", async () => {
		const error = await failure(imgpile.as(ALICE).createPost([]), ImgpileValidationError);
		expect(error.status).toBe(422);
		expect(Object.keys(error.errors)).toContain("media_ids");
	});

	it("refuses a title over 255 characters before sending", async () => {
		await expect(imgpile.as(ALICE).updatePost("abcdefg", { title: "x".repeat(256) })).rejects.toThrow(RangeError);
	});

	it("lists with filters, and follows links.next across pages keeping them", async () => {
		for (let i = 0; i < 25; i++) emu.seedPost({ username: "bob", tags: ["paged"], title: `paged ${i}` });
		emu.seedPost({ username: "bob", tags: ["other"], title: "not paged" });
		const guest = imgpile.as();
		const pages: Page<Post>[] = [];
		for await (const page of guest.pages((o) => guest.listPosts({ tag: "paged", sort: "latest" }, o))) pages.push(page);
		expect(pages.map((p) => p.data.length)).toEqual([10, 10, 5]);
		expect(pages.map((p) => p.meta.current_page)).toEqual([1, 2, 3]);
		const titles = pages.flatMap((p) => p.data.map((post) => post.title));
		expect(titles[0]).toBe("paged 24");
		expect(titles.at(-1)).toBe("paged 0");
		expect(new Set(titles).size).toBe(25);
		expect(pages[0]?.data[0]?.first_media?.urls.original).toBeTruthy();

		const capped: string[] = [];
		for await (const post of guest.items((o) => guest.listPosts({ tag: "paged", limit: 4 }, o), { maxPages: 2 })) {
			capped.push(post.slug);
		}
		expect(capped).toHaveLength(8);
		expect((await guest.listPosts({ tag: "paged", limit: 250 })).data).toHaveLength(25);
		await expect(guest.listPosts({ limit: 251 })).rejects.toThrow(RangeError);
		expect((await guest.userPosts("bob", { limit: 5 })).meta.per_page).toBe(5);
	});

	it("refuses to follow a pagination link off the imgpile API", async () => {
		const page: Page<Post> = {
			data: [],
			links: { first: null, last: null, prev: null, next: "https://evil.example/api/v1/posts?page=2" },
			meta: { current_page: 1, from: null, to: null, per_page: 10, total: 0, last_page: 2 },
		};
		await expect(imgpile.as(ALICE).nextPage(page)).rejects.toThrow(/off the imgpile API/);
	});

	it("hides NSFW and pending posts from listings unless asked", async () => {
		const nsfw = emu.seedPost({ username: "bob", tags: ["moderated"], isNsfw: true });
		const pending = emu.seedPost({ username: "bob", tags: ["moderated"], moderation: "pending" });
		const safe = await imgpile.as().listPosts({ tag: "moderated" });
		expect(safe.data.map((p) => p.slug)).not.toContain(nsfw.slug);
		const adult = await imgpile.as().listPosts({ tag: "moderated", nsfw: true });
		expect(adult.data.map((p) => p.slug)).toContain(nsfw.slug);
		expect(adult.data.map((p) => p.slug)).not.toContain(pending.slug);
		emu.setModeration("post", pending.slug, "approved");
		expect((await imgpile.as().listPosts({ tag: "moderated" })).data.map((p) => p.slug)).toContain(pending.slug);
	});
});

describe("comments and votes", () => {
	it("comments, replies and deletes, by numeric id or slug", async () => {
		const post = emu.seedPost({ username: "bob" });
		const alice = imgpile.as(ALICE);
		const comment = await alice.createComment(post.slug, { content: "Nice shot!" });
		expect(comment).toMatchObject({ content: "Nice shot!", post_id: post.id });
		const reply = await imgpile.as(BOB).createComment(post.id, { content: "thanks", parentId: comment.id });
		expect(reply.parent_id).toBe(comment.id);
		expect((await imgpile.as().userComments("alice")).data.map((c) => c.id)).toContain(comment.id);
		await failure(imgpile.as(BOB).deleteComment(comment.id), ImgpileForbiddenError);
		expect(await alice.deleteComment(comment.id)).toEqual({ success: true, message: "Comment deleted successfully" });
		await failure(alice.deleteComment(comment.id), ImgpileNotFoundError);
		await expect(alice.createComment(post.slug, { content: "x".repeat(501) })).rejects.toThrow(RangeError);
	});

	it("votes toggle: up, up again removes, down after up switches", async () => {
		const post = emu.seedPost({ username: "bob" });
		const alice = imgpile.as(ALICE);
		expect((await alice.upvotePost(post.slug)).score).toBe(1);
		expect((await alice.getPost(post.slug)).isUpvotedByUser).toBe(true);
		expect((await alice.upvotePost(post.slug)).score).toBe(0);
		expect((await alice.upvotePost(post.id)).score).toBe(1);
		expect((await alice.downvotePost(post.slug)).score).toBe(-1);
		const read = await alice.getPost(post.slug);
		expect(read).toMatchObject({ isUpvotedByUser: false, isDownvotedByUser: true, score: -1 });

		const comment = await alice.createComment(post.slug, { content: "vote me" });
		expect(await imgpile.as(BOB).upvoteComment(comment.id)).toMatchObject({ score: 1 });
		expect(await imgpile.as(BOB).downvoteComment(comment.id)).toMatchObject({ score: -1 });
	});
});

describe("users", () => {
	it("follows, lists followers and following, and unfollows", async () => {
		expect(await imgpile.as(ALICE).follow("bob")).toEqual({ message: "User followed." });
		expect((await imgpile.as().followers("bob")).data).toContainEqual(expect.objectContaining({ username: "alice" }));
		expect((await imgpile.as().following("alice")).data.map((u) => u.username)).toContain("bob");
		expect(await imgpile.as(ALICE).unfollow("bob")).toEqual({ message: "User unfollowed." });
		expect((await imgpile.as().followers("bob")).data.map((u) => u.username)).not.toContain("alice");
		await failure(imgpile.as().userPosts("nobody-here"), ImgpileNotFoundError);
	});
});

describe("errors, retries and limits", () => {
	it("maps 401 for a bad token, with imgpile's message and no token in it", async () => {
		const bad = "bad-token-that-must-not-leak-42";
		const error = await imgpile
			.as(bad)
			.follow("bob")
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ImgpileUnauthorizedError);
		expect((error as ImgpileUnauthorizedError).apiMessage).toBe("Unauthenticated.");
		expect(`${String(error)} ${(error as Error).stack} ${JSON.stringify(error)}`).not.toContain(bad);
	});

	it("verifies a token without changing anything", async () => {
		const before = emu.requests.length;
		expect(await imgpile.as(ALICE).verifyToken()).toBe(true);
		expect(await imgpile.as("no-such-token-000000").verifyToken()).toBe(false);
		expect(emu.requests.slice(before).map((r) => `${r.method} ${r.status}`)).toEqual(["PATCH 404", "PATCH 401"]);
	});

	it("retries a GET after 5xx answers, then succeeds", async () => {
		const before = emu.requests.length;
		emu.injectFault({ method: "GET", path: "/api/v1/posts", status: 503, times: 2 });
		const page = await imgpile.as().listPosts();
		expect(page.data.length).toBeGreaterThan(0);
		expect(emu.requests.slice(before).filter((r) => r.path === "/api/v1/posts")).toHaveLength(3);
	});

	it("gives up after the retry budget with a typed server error", async () => {
		emu.injectFault({ method: "GET", path: "/api/v1/posts", status: 502, times: 10 });
		const error = await failure(imgpile.as().listPosts(), ImgpileServerError);
		expect(error.status).toBe(502);
	});

	it.each([
		["fractional seconds", () => "0.2", 200],
		["seconds", () => "1", 1000],
		["an HTTP date", () => new Date(Date.now() + 2000).toUTCString(), 1],
	])("honours Retry-After as %s", async (_form, value, minimumMs) => {
		emu.injectFault({
			method: "GET",
			path: "/api/v1/posts",
			status: 429,
			body: { message: "Too Many Attempts." },
			headers: { "retry-after": value() },
		});
		const started = performance.now();
		await imgpile.as().listPosts();
		expect(performance.now() - started).toBeGreaterThanOrEqual(minimumMs - 5);
	});

	it("hands a long Retry-After to the caller instead of waiting, and sends nothing more until then", async () => {
		emu.injectFault({ method: "GET", path: "/api/v1/posts", status: 429, headers: { "retry-after": "3600" } });
		await withOwnClient(async (own) => {
			const error = await failure(own.as().listPosts(), ImgpileRateLimitError);
			expect(error.retryAfterMs).toBe(3_600_000);
			const sent = emu.requests.length;
			const again = await failure(own.as().getPost("abcdefg"), ImgpileRateLimitError);
			expect(again.retryAfterMs).toBeGreaterThan(3_500_000);
			expect(emu.requests).toHaveLength(sent);
			// Other tokens are not held up.
			expect((await own.as(BOB).listPosts()).data).toBeInstanceOf(Array);
		});
	});

	it("reads a listing once for a caller on its own clock: headers back, no retry, a 429 left to it", async () => {
		for (let i = 0; i < 3; i++) emu.seedPost({ username: "bob", tags: ["once"], title: `once ${i}` });
		await withOwnClient(async (own) => {
			const guest = own.as();
			const first = await guest.listPostsOnce({ tag: "once", sort: "latest", limit: 2 });
			expect(first.page.data.map((post) => post.title)).toEqual(["once 2", "once 1"]);
			expect(first.limit).toBeGreaterThan(0);
			expect(first.remaining).toBeLessThan(first.limit ?? 0);
			// links.next keeps the filters.
			const second = await guest.nextPageOnce(first.page);
			expect(second?.page.data.map((post) => post.title)).toEqual(["once 0"]);
			expect(second && (await guest.nextPageOnce(second.page))).toBeNull();

			let sent = emu.requests.length;
			emu.injectFault({ method: "GET", path: "/api/v1/posts", status: 503 });
			await failure(guest.listPostsOnce({ tag: "once" }), ImgpileServerError);
			expect(emu.requests.length - sent).toBe(1);

			emu.injectFault({ method: "GET", path: "/api/v1/posts", status: 429, headers: { "retry-after": "30" } });
			const limited = await failure(guest.listPostsOnce({ tag: "once" }), ImgpileRateLimitError);
			expect(limited.retryAfterMs).toBe(30_000);
			// The caller backs off on its own clock; the bot's other requests are not held up by it.
			expect(own.http.lane(undefined).blockedForMs).toBe(0);
			expect((await guest.listPosts({ tag: "once" })).data).toHaveLength(3);

			// A wait imposed by another request's 429 is not sat out: a 429 at once, nothing sent.
			emu.injectFault({ method: "GET", path: "/api/v1/posts", status: 429, headers: { "retry-after": "3600" } });
			await failure(guest.listPosts(), ImgpileRateLimitError);
			sent = emu.requests.length;
			await failure(guest.listPostsOnce({ tag: "once" }), ImgpileRateLimitError);
			expect(emu.requests).toHaveLength(sent);
		});
	});

	it("retries a GET whose connection was reset, but not a vote", async () => {
		emu.injectFault({ method: "GET", path: "/api/v1/posts", reset: true });
		expect((await imgpile.as().listPosts()).data).toBeInstanceOf(Array);

		const post = emu.seedPost({ username: "bob" });
		emu.injectFault({ method: "POST", path: `/api/v1/posts/${post.slug}/upvote`, reset: true });
		await failure(imgpile.as(ALICE).upvotePost(post.slug), ImgpileNetworkError);
		expect((await imgpile.as(ALICE).getPost(post.slug)).score).toBe(0);
	});

	it("retries a vote that imgpile rejected with 429", async () => {
		const post = emu.seedPost({ username: "bob" });
		emu.injectFault({
			method: "POST",
			path: `/api/v1/posts/${post.slug}/upvote`,
			status: 429,
			headers: { "retry-after": "0.05" },
		});
		expect((await imgpile.as(ALICE).upvotePost(post.slug)).score).toBe(1);
	});

	it("times out waiting for headers", async () => {
		emu.injectFault({ method: "GET", path: "/api/v1/posts", delayMs: 1500 });
		await withOwnClient(
			async (impatient) => {
				const error = await failure(impatient.as().listPosts(), ImgpileTimeoutError);
				expect(error.phase).toBe("headers");
			},
			{ timeouts: { headersMs: 150 }, retry: { maxRetries: 0 } },
		);
	});

	it("is abortable with an AbortSignal", async () => {
		emu.injectFault({ method: "GET", path: "/api/v1/posts", delayMs: 1500 });
		const controller = new AbortController();
		const pending = imgpile.as().listPosts({}, { signal: controller.signal });
		controller.abort(new Error("user cancelled"));
		await expect(pending).rejects.toThrow("user cancelled");
	});

	it("paces each token on its own: a busy token does not hold up another", async () => {
		const paced = new Imgpile({
			apiUrl: emu.apiUrl,
			uploadUrl: emu.uploadUrl,
			pacing: { authPerMinute: 2, maxConcurrentPerToken: 1 },
		});
		const controller = new AbortController();
		try {
			const alice = paced.as(ALICE);
			await alice.getPost(emu.seedPost({ username: "alice" }).slug);
			await alice.getPost(emu.seedPost({ username: "alice" }).slug);
			// Alice's budget is spent: her third request waits in her lane (30 s at 2/min)...
			const third = alice.listPosts({}, { signal: controller.signal }).catch((e: unknown) => e);
			// ...while Bob goes straight through.
			await paced.as(BOB).listPosts();
			expect(paced.http.lane(ALICE).queued).toBe(1);
			controller.abort(new Error("stop waiting"));
			expect(await third).toMatchObject({ message: "stop waiting" });
		} finally {
			await paced.close();
		}
	});

	it("follows X-RateLimit-Remaining: with none left, the next request waits instead of hitting a 429", async () => {
		const strict = await startImgpileEmulator({
			users: [{ username: "alice", token: ALICE }],
			limits: { authPerMinute: 2 },
		});
		const client = new Imgpile({ apiUrl: strict.apiUrl, uploadUrl: strict.uploadUrl });
		const controller = new AbortController();
		try {
			const alice = client.as(ALICE);
			await alice.listPosts();
			await alice.listPosts(); // imgpile now says X-RateLimit-Remaining: 0
			const third = alice.listPosts({}, { signal: controller.signal }).catch((e: unknown) => e);
			await new Promise((resolve) => setImmediate(resolve));
			expect(client.http.lane(ALICE).queued).toBe(1);
			expect(strict.requests).toHaveLength(2);
			controller.abort(new Error("enough"));
			await third;
			expect(strict.requests.filter((r) => r.status === 429)).toHaveLength(0);
		} finally {
			await client.close();
			await strict.close();
		}
	});
});
