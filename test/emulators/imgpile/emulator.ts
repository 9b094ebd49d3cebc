/** The emulator: two loopback listeners, request dispatch, faults, rate limits, seeding. */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Media, ModerationStatus, Post, Visibility } from "../../../src/imgpile/types.js";
import { IMGPILE_LIMITS } from "../../../src/imgpile/types.js";
import { API_PREFIX, buildApiRouter, normalizeTags, nsfwModeration } from "./api.js";
import { buildCdnRouter, isCdnFilePath } from "./cdn.js";
import type { Core, ResolvedLimits } from "./core.js";
import { defaultFaultBody, FaultRegistry, type FaultSpec } from "./faults.js";
import {
	type Ctx,
	drainBody,
	HttpError,
	type Listener,
	type RecordedRequest,
	sendError,
	sendJson,
	sendRaw,
	tooManyAttempts,
} from "./http.js";
import { pngBytes } from "./images.js";
import type { ImgpileEmulator, ImgpileEmulatorOptions, SeedPostInput } from "./index.js";
import { FixedWindowLimiter, RATE_WINDOWS } from "./ratelimit.js";
import type { Router } from "./router.js";
import { EmulatorState, type PostRec, type UserRec, voteScore } from "./state.js";

function hostForUrl(host: string): string {
	return host.includes(":") ? `[${host}]` : host;
}

function listen(server: Server, host: string, port: number): Promise<number> {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, host, () => {
			server.off("error", reject);
			resolve((server.address() as AddressInfo).port);
		});
	});
}

function closeServer(server: Server): Promise<void> {
	return new Promise((resolve) => {
		if (!server.listening) {
			resolve();
			return;
		}
		server.close(() => resolve());
		server.closeAllConnections();
	});
}

const SEED_COLOURS: [number, number, number][] = [
	[200, 80, 40],
	[40, 160, 90],
	[50, 90, 200],
	[220, 190, 30],
];

export class Emulator implements ImgpileEmulator {
	readonly requests: RecordedRequest[] = [];
	apiUrl = "";
	uploadUrl = "";
	cdnUrl = "";

	private readonly state: EmulatorState;
	private readonly core: Core;
	private readonly faults = new FaultRegistry();
	private readonly limiter: FixedWindowLimiter;
	private readonly uploadQuota: FixedWindowLimiter;
	private readonly apiRouter: Router;
	private readonly cdnRouter: Router;
	private readonly servers: Server[] = [];
	private readonly closing = new AbortController();
	private closed: Promise<void> | null = null;

	private constructor(
		private readonly opts: ImgpileEmulatorOptions,
		storageDir: string,
		private readonly ownsStorage: boolean,
	) {
		const now = opts.now ?? Date.now;
		const limits: ResolvedLimits = {
			publicPerMinute: opts.limits?.publicPerMinute ?? IMGPILE_LIMITS.publicRequestsPerMinute,
			authPerMinute: opts.limits?.authPerMinute ?? IMGPILE_LIMITS.authRequestsPerMinute,
			uploadsPerDay: opts.limits?.uploadsPerDay ?? IMGPILE_LIMITS.uploadsPerDay,
			maxFileBytes: opts.limits?.maxFileBytes ?? IMGPILE_LIMITS.maxFileBytes,
		};
		this.state = new EmulatorState(now);
		this.limiter = new FixedWindowLimiter(now, RATE_WINDOWS.MINUTE_MS);
		this.uploadQuota = new FixedWindowLimiter(now, RATE_WINDOWS.DAY_MS);
		this.core = {
			state: this.state,
			storageDir,
			limits,
			defaultModeration: opts.defaultModeration ?? "approved",
			uploadQuota: this.uploadQuota,
			now,
			apiUrl: "",
		};
		for (const u of opts.users ?? []) this.state.addUser(u);
		for (const hex of opts.bannedSha256 ?? []) this.banSha256(hex);
		this.apiRouter = buildApiRouter(this.core);
		this.cdnRouter = buildCdnRouter(this.core);
	}

	static async start(opts: ImgpileEmulatorOptions = {}): Promise<Emulator> {
		let storageDir = opts.storageDir;
		const ownsStorage = storageDir === undefined;
		if (storageDir === undefined) storageDir = await mkdtemp(join(tmpdir(), "imgpile-emulator-"));
		else await mkdir(storageDir, { recursive: true });
		const emu = new Emulator(opts, storageDir, ownsStorage);
		try {
			await emu.listenAll();
		} catch (err) {
			await emu.close();
			throw err;
		}
		return emu;
	}

	private async listenAll(): Promise<void> {
		const host = this.opts.host ?? "127.0.0.1";
		const api = createServer((req, res) => void this.dispatch("api", req, res));
		const cdn = createServer((req, res) => void this.dispatch("cdn", req, res));
		this.servers.push(api, cdn);
		const apiPort = await listen(api, host, this.opts.apiPort ?? 0);
		const cdnPort = await listen(cdn, host, this.opts.cdnPort ?? 0);
		const h = hostForUrl(host);
		this.apiUrl = `http://${h}:${apiPort}${API_PREFIX}`;
		this.cdnUrl = `http://${h}:${cdnPort}`;
		this.uploadUrl = `${this.cdnUrl}${API_PREFIX}/media`;
		this.core.apiUrl = this.apiUrl;
		this.state.cdnUrl = this.cdnUrl;
	}

	// ----- dispatch -------------------------------------------------------------------------

	private async dispatch(listener: Listener, req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? "/", "http://emulator.invalid");
		let path = url.pathname;
		if (path.length > 1 && path.endsWith("/")) path = path.replace(/\/+$/, "") || "/";
		const method = (req.method ?? "GET").toUpperCase();
		const user = this.authenticate(req);
		const record: RecordedRequest = {
			listener,
			method,
			path,
			query: Object.fromEntries(url.searchParams),
			username: user?.username ?? null,
			status: 0,
			bodyBytes: 0,
			headers: req.headers,
		};
		this.requests.push(record);
		const ctx: Ctx = { listener, req, res, method, path, url, query: url.searchParams, user, record, rate: null };
		try {
			await this.handle(ctx);
		} catch (err) {
			if (err instanceof HttpError) sendError(ctx, err);
			else if (this.closing.signal.aborted) res.destroy();
			else {
				console.error("imgpile emulator: unexpected error", err);
				sendJson(ctx, 500, { message: "Server Error" });
			}
		}
	}

	private authenticate(req: IncomingMessage): UserRec | null {
		const header = req.headers.authorization;
		const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
		return m?.[1] ? (this.state.tokens.get(m[1]) ?? null) : null;
	}

	private rateKey(ctx: Ctx): { key: string; max: number } {
		if (ctx.user) return { key: `user:${ctx.user.id}`, max: this.core.limits.authPerMinute };
		return { key: `ip:${ctx.req.socket.remoteAddress ?? "unknown"}`, max: this.core.limits.publicPerMinute };
	}

	private async handle(ctx: Ctx): Promise<void> {
		const counted = !(ctx.listener === "cdn" && isCdnFilePath(ctx.path));
		const fault = this.faults.take(ctx.listener, ctx.method, ctx.path, ctx.query);
		if (fault && !(await this.applyFault(ctx, fault, counted))) return;

		if (counted) {
			const { key, max } = this.rateKey(ctx);
			const d = this.limiter.hit(key, max);
			ctx.rate = { limit: d.limit, remaining: d.remaining };
			if (!d.allowed) {
				const err = tooManyAttempts(d.retryAfter);
				const reset = Math.ceil(this.core.now() / 1000) + d.retryAfter;
				throw new HttpError(err.status, err.body, { ...err.headers, "X-RateLimit-Reset": String(reset) });
			}
		}

		const router = ctx.listener === "api" ? this.apiRouter : this.cdnRouter;
		const { handler, params } = router.resolve(ctx.method, ctx.path);
		if (ctx.method !== "GET" && ctx.method !== "HEAD" && !ctx.user)
			throw new HttpError(401, { message: "Unauthenticated." });
		await handler(ctx, params);
	}

	/** Applies a fault; true when the request should then proceed normally (delay only). */
	private async applyFault(ctx: Ctx, f: FaultSpec, counted: boolean): Promise<boolean> {
		if (f.delayMs && f.delayMs > 0) await sleep(f.delayMs, undefined, { signal: this.closing.signal });
		if (!f.reset && f.status === undefined) return true;
		if (f.when === "after-body") await drainBody(ctx);
		if (f.reset) {
			ctx.req.socket.destroy();
			return false;
		}
		const status = f.status ?? 500;
		if (counted) {
			const { key, max } = this.rateKey(ctx);
			const d = this.limiter.peek(key, max);
			ctx.rate = { limit: d.limit, remaining: d.remaining };
		}
		const body = f.body === undefined ? defaultFaultBody(status) : f.body;
		if (typeof body === "string" || Buffer.isBuffer(body)) sendRaw(ctx, status, body, f.headers);
		else sendJson(ctx, status, body, f.headers);
		return false;
	}

	// ----- control API --------------------------------------------------------------------

	addUser(u: { username: string; token: string; avatar?: string | null }): void {
		this.state.addUser(u);
	}

	banSha256(hex: string): void {
		this.state.banned.add(hex.trim().toLowerCase());
	}

	setModeration(kind: "post" | "media", slugOrId: string | number, status: ModerationStatus): void {
		const rec = kind === "post" ? this.state.findPost(slugOrId) : this.state.findMedia(slugOrId);
		if (!rec) throw new Error(`setModeration: no ${kind} ${slugOrId}`);
		rec.moderation = status;
	}

	setProcessed(mediaSlug: string, processed: boolean): void {
		const m = this.state.mediaBySlug.get(mediaSlug);
		if (!m) throw new Error(`setProcessed: no media ${mediaSlug}`);
		m.processed = processed;
	}

	setMediaUrls(mediaSlug: string, urls: Partial<Media["urls"]>): void {
		const m = this.state.mediaBySlug.get(mediaSlug);
		if (!m) throw new Error(`setMediaUrls: no media ${mediaSlug}`);
		m.urlOverrides = { ...m.urlOverrides, ...urls };
	}

	seedPost(p: SeedPostInput): Post {
		const { state, core } = this;
		const user = state.usersByName.get(p.username);
		if (!user) throw new Error(`seedPost: unknown user ${p.username}`);
		const createdAt = p.createdAt === undefined ? core.now() : new Date(p.createdAt).getTime();
		if (Number.isNaN(createdAt)) throw new Error(`seedPost: invalid createdAt ${String(p.createdAt)}`);
		const moderation = p.moderation ?? core.defaultModeration;
		const visibility = p.visibility ?? "public";
		const post = state.addPost({
			title: p.title ?? null,
			description: p.description ?? null,
			userId: user.id,
			mediaIds: [],
			visibility,
			accessKey: visibility === "private" ? state.newAccessKey() : null,
			moderation: nsfwModeration(moderation, p.isNsfw ?? false),
			createdAt,
			tags: normalizeTags(p.tags ?? []),
		});
		const count = p.mediaCount ?? 1;
		for (let i = 0; i < count; i++) {
			const width = 8 + i;
			const height = 6 + i;
			const bytes = pngBytes(width, height, SEED_COLOURS[i % SEED_COLOURS.length]);
			const slug = state.newSlug();
			const file = join(core.storageDir, `${slug}.png`);
			writeFileSync(file, bytes);
			state.addMedia({
				slug,
				ext: "png",
				mime: "image/png",
				kind: "image",
				width,
				height,
				size: bytes.length,
				sha256: createHash("sha256").update(bytes).digest("hex"),
				title: null,
				description: null,
				moderation,
				processed: true,
				createdAt,
				userId: user.id,
				postId: post.id,
				file,
			});
		}
		return state.serializePost(post, user, { kind: "single", mediaPage: 1, perPage: Math.max(1, count) });
	}

	#post(slugOrId: string | number, what: string): PostRec {
		const rec = this.state.findPost(slugOrId);
		if (!rec) throw new Error(`${what}: no post ${slugOrId}`);
		return rec;
	}

	editPost(
		slugOrId: string | number,
		change: { title?: string | null; description?: string | null; visibility?: Visibility },
	): void {
		const rec = this.#post(slugOrId, "editPost");
		if (change.title !== undefined) rec.title = change.title;
		if (change.description !== undefined) rec.description = change.description;
		if (change.visibility !== undefined) {
			rec.visibility = change.visibility;
			rec.accessKey = change.visibility === "private" ? (rec.accessKey ?? this.state.newAccessKey()) : null;
		}
	}

	setScore(slugOrId: string | number, score: number): void {
		const rec = this.#post(slugOrId, "setScore");
		// Anonymous voters have negative ids: no user can be one, and their votes make up the difference.
		for (const id of [...rec.votes.keys()]) if (id < 0) rec.votes.delete(id);
		const missing = score - voteScore(rec.votes);
		for (let i = 1; i <= Math.abs(missing); i++) rec.votes.set(-i, missing > 0 ? 1 : -1);
	}

	removePost(slugOrId: string | number): void {
		this.state.deletePost(this.#post(slugOrId, "removePost"));
	}

	injectFault(f: FaultSpec): void {
		this.faults.add(f);
	}

	clearFaults(): void {
		this.faults.clear();
	}

	resetRateLimits(): void {
		this.limiter.reset();
		this.uploadQuota.reset();
	}

	close(): Promise<void> {
		this.closed ??= (async () => {
			this.closing.abort();
			await Promise.all(this.servers.map(closeServer));
			if (this.ownsStorage) await rm(this.core.storageDir, { recursive: true, force: true });
		})();
		return this.closed;
	}
}
