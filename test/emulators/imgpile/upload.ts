/**
 * `POST /api/v1/media` on the upload host: multipart parsing with busboy, the file streamed
 * to disk (never buffered whole) while its SHA-256 is computed and its first 256 KiB kept
 * for sniffing, then Laravel-style validation, the banned-hash check and storage.
 */
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import busboy from "busboy";
import type { UploadResponse } from "../../../src/imgpile/types.js";
import { readImageDimensions, sniffMedia } from "../../../src/media/sniff.js";
import type { Core } from "./core.js";
import {
	type Ctx,
	drainBody,
	forbidden,
	HttpError,
	normalizeInput,
	parseInteger,
	sendJson,
	tooManyAttempts,
	trackBody,
	unauthenticated,
	ValidationErrors,
} from "./http.js";
import type { PostRec } from "./state.js";

/** Bytes kept from the start of an upload for type sniffing and dimensions. */
export const SNIFF_HEAD_BYTES = 256 * 1024;

/**
 * How much of an upload may wait in memory for the disk. Sockets deliver 64 KiB at a time; with
 * a 1 MiB buffer the chunks that arrive while a write is in flight go out together in one
 * writev() instead of one thread-pool write (and a pause/resume of the request) each.
 */
const WRITE_BUFFER_BYTES = 1024 * 1024;

interface ReceivedFile {
	tmp: string;
	head: Buffer;
	size: number;
	/** The file went over maxFileBytes: writing stopped, the rest was drained. */
	oversize: boolean;
	sha256: string;
}

interface Received {
	file: ReceivedFile | null;
	/** `file` arrived as a plain text field, not a file part. */
	fileWasField: boolean;
	fields: Map<string, string>;
}

function receiveFile(stream: Readable, core: Core): Promise<ReceivedFile> {
	const tmp = join(core.storageDir, `.upload-${randomUUID()}`);
	const out = createWriteStream(tmp, { highWaterMark: WRITE_BUFFER_BYTES });
	const hash = createHash("sha256");
	const head: Buffer[] = [];
	let headLen = 0;
	let size = 0;
	let oversize = false;
	let failed: Error | null = null;
	let streamDone = false;
	let outDone = false;

	return new Promise((resolve, reject) => {
		const settle = () => {
			if (!streamDone || !outDone) return;
			if (failed) {
				void rm(tmp, { force: true });
				reject(failed);
			} else {
				resolve({ tmp, head: Buffer.concat(head), size, oversize, sha256: hash.digest("hex") });
			}
		};
		const fail = (err: Error) => {
			failed ??= err;
			stream.resume();
			out.destroy();
		};
		out.on("error", fail);
		out.on("close", () => {
			outDone = true;
			settle();
		});
		stream.on("data", (chunk: Buffer) => {
			size += chunk.length;
			if (oversize || failed) return;
			if (size > core.limits.maxFileBytes) {
				// Stop writing, keep draining the request so the 422 can be answered.
				oversize = true;
				out.end();
				return;
			}
			hash.update(chunk);
			if (headLen < SNIFF_HEAD_BYTES) {
				const part = Buffer.from(chunk.subarray(0, SNIFF_HEAD_BYTES - headLen));
				head.push(part);
				headLen += part.length;
			}
			if (!out.write(chunk)) {
				stream.pause();
				out.once("drain", () => stream.resume());
			}
		});
		stream.on("end", () => {
			streamDone = true;
			if (!oversize && !failed) out.end();
			settle();
		});
		stream.on("error", (err: Error) => {
			streamDone = true;
			fail(err);
			settle();
		});
	});
}

/** Parses the multipart body; null when the client went away before it ended. */
async function receiveMultipart(ctx: Ctx, core: Core): Promise<Received | null> {
	const { req } = ctx;
	const received: Received = { file: null, fileWasField: false, fields: new Map() };
	let bb: busboy.Busboy;
	try {
		bb = busboy({
			headers: req.headers,
			limits: { fieldNameSize: 200, fieldSize: 64 * 1024, fields: 100, files: 20, parts: 200 },
		});
	} catch {
		// Not multipart at all: no file was sent.
		await drainBody(ctx);
		return req.complete ? received : null;
	}

	const files: Promise<ReceivedFile>[] = [];
	const streams: Readable[] = [];
	bb.on("file", (name, stream) => {
		streams.push(stream);
		if (name !== "file" || files.length > 0) {
			stream.resume();
			return;
		}
		const p = receiveFile(stream, core);
		p.catch(() => undefined); // observed below
		files.push(p);
	});
	bb.on("field", (name, value) => {
		if (name === "file") received.fileWasField = true;
		else if (!received.fields.has(name)) received.fields.set(name, value);
	});

	let parseOk = true;
	const parsed = new Promise<void>((resolve, reject) => {
		bb.on("close", resolve);
		bb.on("error", reject);
		req.on("close", () => {
			if (!req.complete) reject(new Error("client aborted the upload"));
		});
	});
	trackBody(ctx);
	req.pipe(bb);
	try {
		await parsed;
	} catch (err) {
		parseOk = false;
		req.unpipe(bb);
		req.resume();
		// Unfinished file parts will never end now: fail them so their temp files go.
		const reason = err instanceof Error ? err : new Error(String(err));
		for (const stream of streams) if (!stream.readableEnded) stream.destroy(reason);
		bb.destroy();
	}
	const [settled] = await Promise.allSettled(files);
	const file = settled?.status === "fulfilled" ? settled.value : null;
	if (!parseOk || settled?.status === "rejected") {
		if (file) await rm(file.tmp, { force: true });
		if (!req.complete) {
			await drainBody(ctx);
			if (!req.complete) return null;
		}
		// A broken multipart body: as far as validation goes, no file arrived.
		return { ...received, file: null };
	}
	received.file = file;
	return received;
}

export async function handleUpload(ctx: Ctx, core: Core): Promise<void> {
	const user = ctx.user;
	if (!user) throw unauthenticated();
	const { state } = core;
	const quotaKey = `user:${user.id}`;
	const quota = core.uploadQuota.peek(quotaKey, core.limits.uploadsPerDay);
	if (!quota.allowed) throw tooManyAttempts(quota.retryAfter);

	const received = await receiveMultipart(ctx, core);
	if (!received) return; // the client went away; nobody to answer
	const file = received.file;
	let stored = false;
	try {
		const errors = new ValidationErrors();
		const sniffed = file ? sniffMedia(file.head) : null;
		if (!file) {
			errors.add("file", received.fileWasField ? "The file field must be a file." : "The file field is required.");
		} else {
			if (!sniffed) errors.add("file", "The file field must be a file of type: image/*, video/*.");
			if (file.oversize) {
				const kb = Math.floor(core.limits.maxFileBytes / 1024);
				errors.add("file", `The file field must not be greater than ${kb} kilobytes.`);
			}
		}
		let post: PostRec | undefined;
		const rawPostId = normalizeInput(received.fields.get("post_id"));
		if (rawPostId !== null && rawPostId !== undefined) {
			const id = parseInteger(rawPostId);
			if (id === undefined) errors.add("post_id", "The post id field must be an integer.");
			else {
				post = state.posts.get(id);
				if (!post) errors.add("post_id", "The selected post id is invalid.");
			}
		}
		errors.throwIfAny();
		if (!file || !sniffed) throw new Error("unreachable: validated above");
		if (post && post.userId !== user.id) throw forbidden();
		if (state.banned.has(file.sha256)) throw new HttpError(451, { error: "This file is not allowed." });

		const slug = state.newSlug();
		const dest = join(core.storageDir, `${slug}.${sniffed.ext}`);
		await rename(file.tmp, dest);
		stored = true;
		const dims = sniffed.kind === "image" ? readImageDimensions(file.head) : null;
		const media = state.addMedia({
			slug,
			ext: sniffed.ext,
			mime: sniffed.mime,
			kind: sniffed.kind,
			width: dims?.width ?? 0,
			height: dims?.height ?? 0,
			size: file.size,
			sha256: file.sha256,
			title: null,
			description: null,
			moderation: core.defaultModeration,
			processed: true,
			createdAt: core.now(),
			userId: user.id,
			postId: post?.id ?? null,
			file: dest,
		});
		core.uploadQuota.add(quotaKey);
		const body: UploadResponse = { message: "Media created successfully", media: state.serializeMedia(media) };
		sendJson(ctx, 201, body);
	} finally {
		if (file && !stored) await rm(file.tmp, { force: true });
	}
}
