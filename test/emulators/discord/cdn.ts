/**
 * The CDN: attachment bytes (in memory, on disk, or generated on the fly so multi-GB files cost
 * no memory) behind signed, expiring urls like Discord's:
 *   {cdnUrl}/attachments/{channel}/{attachment}/{filename}?ex=<hex expiry>&is=<hex issued>&hm=<hex hmac>
 *   {cdnUrl}/ephemeral-attachments/{application}/{attachment}/{filename}?...   (interaction uploads)
 * `proxy_url` is the same path and signature on {mediaUrl}, a second listener standing for
 * media.discordapp.net (Discord's media proxy is a separate host from cdn.discordapp.com). Expired
 * or badly signed urls answer 404 "This content is no longer available." (text/plain). GET and
 * HEAD, with single byte ranges. An attachment may come without `content_type` (Discord omits it
 * when it could not tell), and with `flags` (IS_SPOILER).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Clock, Snowflakes } from "./clock.js";
import type { AttachmentRec, AttachmentSpec } from "./state.js";

const MIME: Record<string, string> = {
	".png": "image/png",
	".jpg": "image/jpeg",
	".jpeg": "image/jpeg",
	".gif": "image/gif",
	".webp": "image/webp",
	".avif": "image/avif",
	".mp4": "video/mp4",
	".webm": "video/webm",
	".mov": "video/quicktime",
	".txt": "text/plain; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".pdf": "application/pdf",
	".zip": "application/zip",
};

/** Attachment flag IS_SPOILER (1 << 3). */
export const ATTACHMENT_IS_SPOILER = 1 << 3;

export function guessContentType(filename: string): string {
	return MIME[extname(filename).toLowerCase()] ?? "application/octet-stream";
}

/** Reads width/height of PNG, GIF and JPEG headers (null when unknown). */
export function imageSize(head: Buffer): { width: number; height: number } | null {
	if (head.length >= 24 && head.readUInt32BE(0) === 0x89504e47) {
		return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
	}
	if (head.length >= 10 && head.toString("latin1", 0, 3) === "GIF") {
		return { width: head.readUInt16LE(6), height: head.readUInt16LE(8) };
	}
	if (head.length >= 4 && head[0] === 0xff && head[1] === 0xd8) {
		let i = 2;
		while (i + 9 < head.length) {
			if (head[i] !== 0xff) return null;
			const marker = head[i + 1] ?? 0;
			const len = head.readUInt16BE(i + 2);
			if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
				return { height: head.readUInt16BE(i + 5), width: head.readUInt16BE(i + 7) };
			}
			i += 2 + len;
		}
	}
	return null;
}

/** One request the CDN listener received (`cdnRequests` on the emulator). */
export interface CdnRequest {
	/** Real time (Date.now) when it arrived. */
	at: number;
	method: string;
	/** URL path without the query (the query holds the signature). */
	path: string;
	/** Which host was asked: "cdn" (cdn.discordapp.com) or "media" (media.discordapp.net, proxy_url). */
	host: "cdn" | "media";
	range: string | null;
	/** Response status; 0 until the response headers are sent (or when the client went away first). */
	status: number;
	/** The whole response was handed to the socket. */
	finished: boolean;
	/** The connection closed (after `finished`, or cut off before it). */
	closed: boolean;
}

export class Cdn {
	private readonly secret = randomBytes(32);
	baseUrl = "";
	/** The media proxy's base (proxy_url). */
	mediaBaseUrl = "";

	constructor(
		private readonly clock: Clock,
		private readonly ids: Snowflakes,
		private readonly lookup: (id: string) => AttachmentRec | undefined,
		readonly urlTtlMs: number,
	) {}

	/** Builds an attachment record from a test's spec (bytes are not read, except a head for image sizes). */
	fromSpec(spec: AttachmentSpec, scope: string, ephemeral: boolean): AttachmentRec {
		const source = spec.source ?? { generate: { size: spec.size ?? 0 } };
		let size: number;
		let stored: AttachmentRec["source"];
		let head: Buffer | null = null;
		if (typeof source === "string" || source instanceof Uint8Array) {
			const buf = Buffer.from(source);
			size = buf.length;
			stored = buf;
			head = buf.subarray(0, 64 * 1024);
		} else if ("path" in source) {
			size = statSync(source.path).size;
			stored = source;
		} else {
			size = source.generate.size;
			stored = source;
			if (source.generate.headBytes) head = Buffer.from(source.generate.headBytes);
		}
		if (spec.size !== undefined && spec.size !== size) {
			throw new Error(`attachment ${spec.filename}: size ${spec.size} does not match its source (${size} bytes)`);
		}
		const dims = head ? imageSize(head) : null;
		return {
			id: this.ids.next(),
			filename: spec.filename,
			size,
			contentType: spec.contentType === null ? null : (spec.contentType ?? guessContentType(spec.filename)),
			flags: (spec.spoilerFlag ? ATTACHMENT_IS_SPOILER : 0) | (spec.flags ?? 0),
			description: spec.description ?? null,
			title: spec.title ?? null,
			width: spec.width ?? dims?.width ?? null,
			height: spec.height ?? dims?.height ?? null,
			scope,
			ephemeral,
			source: stored,
		};
	}

	/** Signed urls; `issuedAt` defaults to now, expiry = issuedAt + ttl. */
	urls(att: AttachmentRec, opts: { issuedAt?: number; ttlMs?: number } = {}): { url: string; proxy_url: string } {
		const issued = Math.floor((opts.issuedAt ?? this.clock.now()) / 1000);
		const expires = issued + Math.floor((opts.ttlMs ?? this.urlTtlMs) / 1000);
		const path = `/${att.scope}/${att.id}/${encodeURIComponent(att.filename)}`;
		const ex = expires.toString(16);
		const is = issued.toString(16);
		const hm = this.sign(path, ex, is);
		const query = `?ex=${ex}&is=${is}&hm=${hm}&`;
		return { url: `${this.baseUrl}${path}${query}`, proxy_url: `${this.mediaBaseUrl}${path}${query}` };
	}

	private sign(path: string, ex: string, is: string): string {
		return createHmac("sha256", this.secret)
			.update(`${decodeURIComponent(path)}\n${ex}\n${is}`)
			.digest("hex");
	}

	/** Handles a CDN request. Returns false when the path is not a CDN path. */
	async handle(
		req: IncomingMessage,
		res: ServerResponse,
		onServe: (att: AttachmentRec, status: number) => void,
	): Promise<void> {
		const url = new URL(req.url ?? "/", "http://cdn.local");
		const path = url.pathname;
		const gone = () => {
			res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
			res.end("This content is no longer available.");
		};
		if (req.method !== "GET" && req.method !== "HEAD") {
			res.writeHead(405, { Allow: "GET, HEAD" });
			res.end();
			return;
		}
		const m = /^\/(attachments|ephemeral-attachments)\/(\d+)\/(\d+)\/([^/]+)$/.exec(path);
		if (!m) return gone();
		const [, kind, scopeId, attId] = m;
		const att = this.lookup(attId ?? "");
		if (!att || att.scope !== `${kind}/${scopeId}`) return gone();
		const ex = url.searchParams.get("ex") ?? "";
		const is = url.searchParams.get("is") ?? "";
		const hm = url.searchParams.get("hm") ?? "";
		const expected = Buffer.from(this.sign(path, ex, is));
		const given = Buffer.from(hm);
		if (given.length !== expected.length || !timingSafeEqual(given, expected)) return gone();
		if (!/^[0-9a-f]+$/.test(ex) || Number.parseInt(ex, 16) * 1000 < this.clock.now()) return gone();
		const filename = decodeURIComponent(m[4] ?? "");
		if (filename !== att.filename) return gone();

		let start = 0;
		let end = att.size - 1;
		let status = 200;
		const range = req.headers.range;
		if (range) {
			const r = /^bytes=(\d*)-(\d*)$/.exec(range);
			if (r && (r[1] || r[2])) {
				if (r[1]) {
					start = Number(r[1]);
					end = r[2] ? Math.min(Number(r[2]), att.size - 1) : att.size - 1;
				} else {
					start = Math.max(0, att.size - Number(r[2]));
				}
				if (start > end || start >= att.size) {
					res.writeHead(416, { "Content-Range": `bytes */${att.size}` });
					res.end();
					return;
				}
				status = 206;
			}
		}
		const headers: Record<string, string> = {
			"Content-Type": att.contentType ?? "application/octet-stream",
			"Content-Length": String(att.size === 0 ? 0 : end - start + 1),
			"Accept-Ranges": "bytes",
			"Cache-Control": "public, max-age=31536000",
			"Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(att.filename)}`,
		};
		if (status === 206) headers["Content-Range"] = `bytes ${start}-${end}/${att.size}`;
		res.writeHead(status, headers);
		onServe(att, status);
		if (req.method === "HEAD" || att.size === 0) {
			res.end();
			return;
		}
		await pipeline(openRange(att, start, end), res).catch(() => undefined);
	}
}

/** A readable of bytes [start, end] of the attachment. */
export function openRange(att: AttachmentRec, start = 0, end = att.size - 1): Readable {
	const src = att.source;
	if (Buffer.isBuffer(src)) return Readable.from([src.subarray(start, end + 1)]);
	if ("path" in src) return createReadStream(src.path, { start, end });
	return generated(src.generate.size, src.generate.headBytes ? Buffer.from(src.generate.headBytes) : null, start, end);
}

const PATTERN = Buffer.from(Array.from({ length: 251 * 263 }, (_, i) => i % 251));

/** Deterministic bytes: the head, then byte i = i % 251. Streams in 64 KiB chunks. */
function generated(size: number, head: Buffer | null, start: number, end: number): Readable {
	let pos = start;
	const last = Math.min(end, size - 1);
	return new Readable({
		read() {
			if (pos > last) {
				this.push(null);
				return;
			}
			const n = Math.min(64 * 1024, last - pos + 1);
			const off = pos % 251;
			const chunk = Buffer.from(PATTERN.subarray(off, off + n));
			if (head && pos < head.length) head.copy(chunk, 0, pos, Math.min(head.length, pos + n));
			pos += n;
			this.push(chunk);
		},
	});
}

/** The bytes a generated source yields (for assertions on small sizes). */
export function generatedBytes(size: number, headBytes?: Buffer | Uint8Array): Buffer {
	const out = Buffer.alloc(size);
	for (let i = 0; i < size; i++) out[i] = i % 251;
	if (headBytes) Buffer.from(headBytes).copy(out, 0, 0, Math.min(size, headBytes.length));
	return out;
}

/** Reads a whole attachment into memory (tests; small files). */
export async function readAttachment(att: AttachmentRec): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of openRange(att)) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}
