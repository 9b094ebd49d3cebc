import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { request } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
	Imgpile,
	type ImgpileClient,
	ImgpileServerError,
	ImgpileUnavailableForLegalReasonsError,
	type Media,
} from "../../src/imgpile/index.js";
import {
	TransferError,
	type TransferFailureReason,
	TransferPipeline,
	type TransferPipelineOptions,
	type TransferSource,
} from "../../src/transfer/index.js";
import {
	type AttachmentSpec,
	type Channel,
	type DiscordEmulator,
	startDiscordEmulator,
	type User,
} from "../emulators/discord/index.js";
import { type ImgpileEmulator, startImgpileEmulator } from "../emulators/imgpile/index.js";
import { mp4Bytes, pngBytes } from "../support/images.js";

const TOKEN = "alice-token-0123456789abcdef";
const MiB = 1024 * 1024;
const PNG_HEAD = pngBytes(1920, 1080).subarray(0, 33); // signature + IHDR: sniffable, with dimensions

let discord: DiscordEmulator;
let imgpileEmu: ImgpileEmulator;
let imgpile: Imgpile;
let client: ImgpileClient;
let alice: User;
let channel: Channel;
let origin: Origin;
let pipeline: TransferPipeline;
const logLines: string[] = [];
const logger = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });

function newPipeline(options: Partial<TransferPipelineOptions> = {}): TransferPipeline {
	return new TransferPipeline({
		allowedHosts: [...discord.cdnHosts, origin.host],
		httpHosts: [...discord.cdnHosts, origin.host],
		maxConcurrent: 4,
		logger,
		...options,
	});
}

/** Alice posts a message with one attachment; the source as the bot would see it. */
async function attach(spec: AttachmentSpec, options: { ttl?: { issuedAt: number; ttlMs: number } } = {}) {
	const message = await discord.postUserMessage({ user: alice, channel, attachments: [spec] });
	const att = message.attachments[0]!;
	const source: TransferSource = {
		url: discord.attachmentUrl(att, options.ttl),
		filename: att.filename,
		size: att.size,
		contentType: att.contentType,
		key: att.id,
	};
	return { att, source, cdnRequests: () => discord.cdnRequests.filter((r) => r.path.includes(`/${att.id}/`)) };
}

function uploads() {
	return imgpileEmu.requests.filter((r) => r.listener === "cdn" && r.method === "POST");
}

async function failure(promise: Promise<unknown>, reason: TransferFailureReason): Promise<TransferError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(TransferError);
	expect((error as TransferError).reason, (error as Error).message).toBe(reason);
	return error as TransferError;
}

async function stored(media: Media): Promise<Buffer> {
	const response = await request(media.urls.original);
	expect(response.statusCode).toBe(200);
	return Buffer.from(await response.body.arrayBuffer());
}

/** Resolves when `predicate` holds, re-checked on every change `emitter` signals (no polling). */
function until(emitter: EventEmitter, predicate: () => boolean, what: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const check = () => {
			if (!predicate()) return;
			cleanup();
			resolve();
		};
		const timer = setTimeout(() => {
			cleanup();
			reject(new Error(`timed out waiting for ${what}`));
		}, 5_000);
		const cleanup = () => {
			clearTimeout(timer);
			emitter.off("change", check);
		};
		emitter.on("change", check);
		check();
	});
}

// ── A small origin of our own, for what the Discord emulator's CDN does not do ────────────────

interface Held {
	name: string;
	res: ServerResponse;
}

interface Origin {
	host: string;
	url: string;
	/** Requests to /gate/{name}, held until released (or the client leaves). */
	held: Held[];
	arrivals: string[];
	changes: EventEmitter;
	release(name: string, body?: Buffer): void;
	close(): Promise<void>;
}

async function startOrigin(): Promise<Origin> {
	const changes = new EventEmitter();
	const held: Held[] = [];
	const arrivals: string[] = [];
	const server: Server = createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://origin");
		const [, route, name = ""] = url.pathname.split("/");
		if (route === "redirect") {
			// /redirect/{n}?to=URL: n hops on this host, then to URL.
			const hops = Number(name);
			const to = url.searchParams.get("to") ?? "/";
			const location = hops > 1 ? `/redirect/${hops - 1}?to=${encodeURIComponent(to)}` : to;
			res.writeHead(302, { location });
			res.end();
		} else if (route === "gate") {
			arrivals.push(name);
			const entry = { name, res };
			held.push(entry);
			res.on("close", () => {
				// The client gave up (timeout, abort): nothing to release any more.
				const index = held.indexOf(entry);
				if (index !== -1) held.splice(index, 1);
			});
			changes.emit("change");
		} else if (route === "chunked") {
			// A PNG without Content-Length, `name` bytes long.
			res.writeHead(200, { "content-type": "image/png" });
			const total = Number(name);
			res.write(PNG_HEAD);
			let left = total - PNG_HEAD.length;
			const block = Buffer.alloc(64 * 1024, 3);
			const pump = () => {
				while (left > 0) {
					const n = Math.min(block.length, left);
					left -= n;
					if (!res.write(block.subarray(0, n))) return void res.once("drain", pump);
				}
				res.end();
			};
			pump();
		} else if (route === "die") {
			// Announces `name` bytes, sends 1 MiB, then the connection drops.
			res.writeHead(200, { "content-type": "image/png", "content-length": name });
			res.write(Buffer.concat([PNG_HEAD, Buffer.alloc(MiB - PNG_HEAD.length, 1)]), () => {
				setImmediate(() => req.socket.destroy());
			});
		} else {
			res.writeHead(404);
			res.end();
		}
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		host,
		url: `http://${host}`,
		held,
		arrivals,
		changes,
		release(name, body = pngBytes(32, 24)) {
			const index = held.findIndex((h) => h.name === name);
			if (index === -1) throw new Error(`no held request ${name}`);
			const [{ res }] = held.splice(index, 1) as [Held];
			res.writeHead(200, { "content-type": "image/png", "content-length": String(body.length) });
			res.end(body);
		},
		async close() {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

// ──────────────────────────────────────────────────────────────────────────────────────────────

beforeAll(async () => {
	[discord, imgpileEmu, origin] = await Promise.all([
		startDiscordEmulator(),
		startImgpileEmulator({
			users: [{ username: "alice", token: TOKEN }],
			limits: { authPerMinute: 100_000, uploadsPerDay: 100_000 },
		}),
		startOrigin(),
	]);
	imgpile = new Imgpile({
		apiUrl: imgpileEmu.apiUrl,
		uploadUrl: imgpileEmu.uploadUrl,
		pacing: { authPerMinute: 100_000 },
		retry: { baseDelayMs: 5, maxDelayMs: 20 },
	});
	client = imgpile.as(TOKEN);
	const guild = discord.createGuild({ name: "Sandbox" });
	channel = guild.createChannel({ name: "general" });
	alice = discord.createUser({ username: "alice" });
	guild.addMember(alice);
	pipeline = newPipeline();
});

afterAll(async () => {
	await pipeline?.close();
	await imgpile?.close();
	await Promise.all([discord?.close(), imgpileEmu?.close(), origin?.close()]);
});

beforeEach(() => {
	imgpileEmu.clearFaults();
});

describe("TransferPipeline: end to end", () => {
	it("moves an image: imgpile stores the same bytes, sniffed type and dimensions, progress to the end", async () => {
		const bytes = pngBytes(640, 480, 300_000);
		const { source } = await attach({ filename: "holiday photo.png", source: bytes });
		const progress: Array<[number, number | undefined]> = [];
		let started = 0;
		const media = await pipeline.transfer(source, client, {
			onProgress: (sent, total) => progress.push([sent, total]),
			onStart: () => started++,
			onQueued: () => expect.fail("a free slot means no queue"),
		});
		expect(media).toMatchObject({ type: "image/png", width: 640, height: 480 });
		expect((await stored(media)).equals(bytes)).toBe(true);
		expect(started).toBe(1);
		expect(progress.at(-1)).toEqual([bytes.length, bytes.length]);
		expect(pipeline.active).toBe(0);
	});

	it("survives callbacks that throw", async () => {
		const { source } = await attach({ filename: "c.png", source: pngBytes(7, 7) });
		const boom = () => {
			throw new Error("callback bug");
		};
		const media = await pipeline.transfer(source, client, { onProgress: boom, onStart: boom });
		expect(media).toMatchObject({ width: 7, height: 7 });
	});

	it("moves a video mislabelled by name and Discord's type: the sniffed type wins", async () => {
		const bytes = mp4Bytes(200_000);
		const { source } = await attach({ filename: "clip.mov", contentType: "video/quicktime", source: bytes });
		const media = await pipeline.transfer(source, client);
		expect(media).toMatchObject({ type: "video/mp4", width: 0, height: 0 });
		expect((await stored(media)).equals(bytes)).toBe(true);
		const upload = uploads().at(-1)!;
		expect(upload.bodyBytes).toBeGreaterThan(bytes.length);
	});

	it("follows a redirect that stays on the allowed hosts", async () => {
		const bytes = pngBytes(12, 34);
		const { source } = await attach({ filename: "a.png", source: bytes });
		const url = `${origin.url}/redirect/2?to=${encodeURIComponent(source.url)}`;
		const media = await pipeline.transfer({ ...source, url }, client);
		expect(media).toMatchObject({ width: 12, height: 34 });
	});
});

describe("TransferPipeline: refusals before any upload", () => {
	it("refuses a 101 MiB attachment without a request", async () => {
		const { source, cdnRequests } = await attach({
			filename: "huge.png",
			source: { generate: { size: 101 * MiB, headBytes: PNG_HEAD } },
		});
		const before = imgpileEmu.requests.length;
		expect(() => pipeline.check(source)).toThrow(TransferError);
		const error = await failure(pipeline.transfer(source, client), "too_large");
		expect(error.uploadStarted).toBe(false);
		expect(cdnRequests()).toHaveLength(0);
		expect(imgpileEmu.requests).toHaveLength(before);
	});

	it("refuses by Content-Length when the size was not known, before reading the body", async () => {
		const { source, cdnRequests } = await attach({
			filename: "huge.png",
			source: { generate: { size: 101 * MiB, headBytes: PNG_HEAD } },
		});
		const before = uploads().length;
		const error = await failure(pipeline.transfer({ ...source, size: undefined }, client), "too_large");
		expect(error.uploadStarted).toBe(false);
		expect(uploads()).toHaveLength(before);
		expect(cdnRequests()).toHaveLength(1);
		expect(cdnRequests()[0]?.finished).toBe(false);
	});

	it("refuses a .png that is really text, and uploads nothing", async () => {
		const { source } = await attach({
			filename: "cat.png",
			contentType: "image/png",
			source: Buffer.from("just some text, not a picture\n".repeat(10)),
		});
		const before = uploads().length;
		const error = await failure(pipeline.transfer(source, client), "wrong_type");
		expect(error.uploadStarted).toBe(false);
		expect(uploads()).toHaveLength(before);
	});

	it("refuses URLs off the allowed hosts, with no request", async () => {
		const { att } = await attach({ filename: "a.png", source: pngBytes(2, 2) });
		const before = imgpileEmu.requests.length;
		const cdnBefore = discord.cdnRequests.length;
		const elsewhere = [
			`${imgpileEmu.cdnUrl}/attachments/1/2/a.png`,
			"https://evil.example.com/attachments/1/2/a.png",
			discord.attachmentUrl(att).replace("http:", "ftp:"),
			discord.attachmentUrl(att).replace("http://", "http://user:pw@"),
			"not a url",
		];
		for (const url of elsewhere) {
			const source = { url, filename: "a.png", size: 10 };
			expect(() => pipeline.check(source)).toThrow(/not an allowed|not http|credentials|not a valid/);
			await failure(pipeline.transfer(source, client), "bad_host");
		}
		expect(imgpileEmu.requests).toHaveLength(before);
		expect(discord.cdnRequests).toHaveLength(cdnBefore);
	});

	it("is https only: the emulator's plain-http CDN is refused unless its hosts are opted in", async () => {
		const { att, source } = await attach({ filename: "a.png", source: pngBytes(2, 2) });
		const strict = newPipeline({ httpHosts: undefined });
		try {
			const cdnBefore = discord.cdnRequests.length;
			// Both hosts: the attachment's url (cdn) and its proxy_url (media).
			for (const url of [source.url, discord.cdn.urls(att).proxy_url]) {
				expect(() => strict.check({ ...source, url })).toThrow(/https only/);
				await failure(strict.transfer({ ...source, url }, client), "bad_host");
			}
			expect(discord.cdnRequests).toHaveLength(cdnBefore);
			// The same URL with the hosts opted in (as the harness does) downloads.
			expect(() => pipeline.check(source)).not.toThrow();
		} finally {
			await strict.close();
		}
	});

	it("refuses a redirect off the allowed hosts without following it", async () => {
		const before = imgpileEmu.requests.length;
		const to = `${imgpileEmu.cdnUrl}/f/whatever.png`;
		const url = `${origin.url}/redirect/1?to=${encodeURIComponent(to)}`;
		const error = await failure(pipeline.transfer({ url, filename: "a.png" }, client), "bad_host");
		expect(error.downloadStatus).toBe(302);
		expect(imgpileEmu.requests).toHaveLength(before);
	});

	it("gives up after 3 redirects", async () => {
		const url = `${origin.url}/redirect/4?to=${encodeURIComponent(`${origin.url}/gate/never`)}`;
		const error = await failure(pipeline.transfer({ url, filename: "a.png" }, client), "download_failed");
		expect(error.message).toMatch(/redirected more than 3 times/);
		expect(origin.arrivals).not.toContain("never");
	});

	it("times out a CDN that does not answer", async () => {
		const impatient = newPipeline({ timeouts: { headersMs: 100 } });
		try {
			const url = `${origin.url}/gate/silent`;
			const error = await failure(impatient.transfer({ url, filename: "a.png" }, client), "download_failed");
			expect(error.message).toMatch(/timed out/);
		} finally {
			await impatient.close();
		}
	});

	it("reports a CDN error (an expired signed URL answers 404) as download_failed", async () => {
		const now = Date.now();
		const { source } = await attach(
			{ filename: "old.png", source: pngBytes(3, 3) },
			{ ttl: { issuedAt: now - 48 * 3600_000, ttlMs: 24 * 3600_000 } },
		);
		const before = uploads().length;
		const error = await failure(pipeline.transfer(source, client), "download_failed");
		expect(error.downloadStatus).toBe(404);
		expect(error.message).toMatch(/404/);
		expect(uploads()).toHaveLength(before);
	});
});

describe("TransferPipeline: failures during the upload", () => {
	it("imgpile 451 (banned file) → reason imgpile with the typed error", async () => {
		const bytes = pngBytes(5, 5, 1234);
		imgpileEmu.banSha256(createHash("sha256").update(bytes).digest("hex"));
		const { source } = await attach({ filename: "banned.png", source: bytes });
		const error = await failure(pipeline.transfer(source, client), "imgpile");
		expect(error.imgpileError).toBeInstanceOf(ImgpileUnavailableForLegalReasonsError);
		expect(error.uploadStarted).toBe(true);
	});

	it("imgpile 503 → reason imgpile with the typed error, never retried", async () => {
		imgpileEmu.injectFault({ listener: "cdn", method: "POST", path: "/api/v1/media", status: 503, times: 5 });
		const { source } = await attach({ filename: "b.png", source: pngBytes(6, 6) });
		const before = uploads().length;
		const error = await failure(pipeline.transfer(source, client), "imgpile");
		expect(error.imgpileError).toBeInstanceOf(ImgpileServerError);
		expect(uploads()).toHaveLength(before + 1);
	});

	it("a download that dies mid-upload fails as download_failed and the upload is cut off", async () => {
		const before = uploads().length;
		const url = `${origin.url}/die/${20 * MiB}`;
		const error = await failure(pipeline.transfer({ url, filename: "a.png" }, client), "download_failed");
		expect(error.uploadStarted).toBe(true);
		expect(uploads()).toHaveLength(before + 1);
		// imgpile never stored it: the request was cut off (status 0) or refused as incomplete.
		expect(uploads().at(-1)?.status).not.toBe(201);
		expect(pipeline.active).toBe(0);
	});

	it("a download without Content-Length that runs over the limit fails as too_large", async () => {
		const small = newPipeline({ maxBytes: 512 * 1024 });
		try {
			const error = await failure(
				small.transfer({ url: `${origin.url}/chunked/${2 * MiB}`, filename: "a.png" }, client),
				"too_large",
			);
			expect(error.uploadStarted).toBe(true);
			expect(uploads().at(-1)?.status).not.toBe(201);
		} finally {
			await small.close();
		}
	});
});

describe("TransferPipeline: streaming, pool, abort", () => {
	it("streams a 60 MB file: the upload progresses before the download ended, never held whole", async () => {
		const size = 60 * MiB;
		const { source, cdnRequests } = await attach({
			filename: "big.png",
			source: { generate: { size, headBytes: PNG_HEAD } },
		});
		// Warm up first (sockets, JIT, both emulators' buffers), so that the baseline is not a cold process.
		const warmup = await attach({ filename: "warm.png", source: { generate: { size: 8 * MiB, headBytes: PNG_HEAD } } });
		await pipeline.transfer(warmup.source, client);
		const baseline = process.memoryUsage().rss;
		let peak = baseline;
		let overlapped = false;
		let calls = 0;
		const media = await pipeline.transfer(source, client, {
			onProgress: (sent, total) => {
				expect(total).toBe(size);
				if (++calls % 16 === 0) peak = Math.max(peak, process.memoryUsage().rss);
				if (sent < size / 2 && cdnRequests()[0]?.finished === false) overlapped = true;
			},
		});
		expect(media).toMatchObject({ type: "image/png", width: 1920, height: 1080 });
		expect(overlapped).toBe(true);
		expect(uploads().at(-1)?.bodyBytes).toBeGreaterThan(size);
		// Both emulators share this process and the GC frees in batches, so this bounds growth by the
		// file itself (held whole, it would be at least that); bench:rehost measures the bot's RSS.
		expect(peak - baseline).toBeLessThan(size);
	});

	it("a pool of 2 runs 4 transfers two at a time, FIFO, telling queue positions", async () => {
		const pool = newPipeline({ maxConcurrent: 2 });
		try {
			const positions: number[][] = [[], [], [], []];
			const uploadsBefore = uploads().filter((r) => r.status === 201).length;
			/** Uploads imgpile answered 201: a transfer's slot is free only after that. */
			const done = () => uploads().filter((r) => r.status === 201).length - uploadsBefore;
			/** Transfers running when each one started, counted from imgpile's side: started - finished there. */
			const runningAtStart: number[] = [];
			const runs = [0, 1, 2, 3].map((i) =>
				pool.transfer({ url: `${origin.url}/gate/t${i}`, filename: `t${i}.png` }, client, {
					onQueued: (p) => positions[i]?.push(p),
					onStart: () => runningAtStart.push(runningAtStart.length + 1 - done()),
				}),
			);
			// Queue positions are known at once.
			expect(positions).toEqual([[], [], [1], [2]]);
			expect([pool.active, pool.queued]).toEqual([2, 2]);

			await until(origin.changes, () => origin.held.length === 2, "two downloads");
			expect(new Set(origin.arrivals.slice(-2))).toEqual(new Set(["t0", "t1"]));

			origin.release("t0");
			await until(origin.changes, () => origin.arrivals.at(-1) === "t2", "the third download");
			// t2 started only once t0 had finished its upload at imgpile.
			expect(done()).toBe(1);
			expect(positions[3]).toEqual([2, 1]);
			expect([pool.active, pool.queued]).toEqual([2, 1]);

			origin.release("t1");
			await until(origin.changes, () => origin.arrivals.at(-1) === "t3", "the fourth download");
			expect(done()).toBe(2);
			expect([pool.active, pool.queued]).toEqual([2, 0]);

			origin.release("t2");
			origin.release("t3");
			const media = await Promise.all(runs);
			expect(media.map((m) => m.type)).toEqual(["image/png", "image/png", "image/png", "image/png"]);
			expect(runningAtStart).toEqual([1, 2, 2, 2]);
			expect(positions).toEqual([[], [], [1], [2, 1]]);
			expect([pool.active, pool.queued]).toEqual([0, 0]);
		} finally {
			await pool.close();
		}
	});

	it("abort: while queued (the queue moves up), while downloading, and while uploading", async () => {
		const pool = newPipeline({ maxConcurrent: 1 });
		try {
			// t-a holds the only slot (its download is held); t-b and t-c wait.
			const downloading = new AbortController();
			const a = pool.transfer({ url: `${origin.url}/gate/abort-a`, filename: "a.png" }, client, {
				signal: downloading.signal,
			});
			const queuedAbort = new AbortController();
			const b = pool.transfer({ url: `${origin.url}/gate/abort-b`, filename: "b.png" }, client, {
				signal: queuedAbort.signal,
			});
			const cPositions: number[] = [];
			const c = pool.transfer({ url: `${origin.url}/gate/abort-c`, filename: "c.png" }, client, {
				onQueued: (p) => cPositions.push(p),
			});
			await until(origin.changes, () => origin.arrivals.at(-1) === "abort-a", "the first download");

			queuedAbort.abort();
			expect((await failure(b, "aborted")).uploadStarted).toBe(false);
			expect(cPositions).toEqual([2, 1]);

			downloading.abort();
			expect((await failure(a, "aborted")).uploadStarted).toBe(false);
			await until(origin.changes, () => origin.arrivals.at(-1) === "abort-c", "the last download");
			origin.release("abort-c");
			await c;
			expect(origin.arrivals).not.toContain("abort-b");
		} finally {
			await pool.close();
		}

		// While uploading: cancel on the first progress report of a big file.
		const { source } = await attach({
			filename: "big.png",
			source: { generate: { size: 30 * MiB, headBytes: PNG_HEAD } },
		});
		const uploading = new AbortController();
		const before = uploads().length;
		const error = await failure(
			pipeline.transfer(source, client, {
				signal: uploading.signal,
				// Far enough in that imgpile surely got the request (more than the socket buffers hold).
				onProgress: (sent) => sent >= 16 * MiB && uploading.abort(),
			}),
			"aborted",
		);
		expect(error.uploadStarted).toBe(true);
		expect(uploads()).toHaveLength(before + 1);
		expect(uploads().at(-1)?.status).not.toBe(201);
		expect(pipeline.active).toBe(0);
		// An already aborted signal: nothing happens at all.
		const cdnBefore = discord.cdnRequests.length;
		await failure(pipeline.transfer(source, client, { signal: AbortSignal.abort() }), "aborted");
		expect(discord.cdnRequests).toHaveLength(cdnBefore);
	});

	it("close() fails queued transfers as aborted and refuses new ones", async () => {
		const pool = newPipeline({ maxConcurrent: 1 });
		const first = pool.transfer({ url: `${origin.url}/gate/close-1`, filename: "a.png" }, client);
		const second = pool.transfer({ url: `${origin.url}/gate/close-2`, filename: "b.png" }, client);
		await until(origin.changes, () => origin.arrivals.at(-1) === "close-1", "the first download");
		const closing = pool.close();
		await failure(second, "aborted");
		await failure(pool.transfer({ url: `${origin.url}/gate/close-3`, filename: "c.png" }, client), "aborted");
		origin.release("close-1");
		await first;
		await closing;
	});
});

describe("TransferPipeline: logs", () => {
	it("never log a URL's query (Discord's signature)", () => {
		expect(logLines.length).toBeGreaterThan(10);
		const text = logLines.join("");
		expect(text).not.toMatch(/[?&](ex|is|hm)=/);
		expect(text).not.toContain("hm=");
		expect(text).toContain("/attachments/");
	});
});
