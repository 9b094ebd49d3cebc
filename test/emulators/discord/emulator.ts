/**
 * The emulator: listeners (REST + gateway on one port, CDN on another), request dispatch
 * (auth, rate limits, body, route, recording) and the driver API tests use to act as users.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cdn, type CdnRequest, readAttachment } from "./cdn.js";
import { type Clock, Snowflakes, systemClock } from "./clock.js";
import { Gateway, type GatewayLogEntry, RESUME_PATH, shardOf } from "./gateway.js";
import { type Ctx, DiscordError, errors, type RequestBody, readRequestBody, sendError, sendJson } from "./http.js";
import {
	contextOf,
	defaultOwners,
	type InstallVia,
	type Invocation,
	RESPONSE_ONLY_PERMISSIONS,
	userInvocation,
} from "./installs.js";
import { Interaction, InteractionType } from "./interactions.js";
import { computeMentions, type Ping } from "./mentions.js";
import { basePermissions, P, type PermissionInput, permissionNames } from "./permissions.js";
import {
	type ForcedRateLimit,
	normalizeRouteKey,
	RateLimiter,
	type RateLimitOptions,
	type RateLimitRule,
} from "./ratelimit.js";
import { type BotEvent, type RecordedRequest, Recorder, type Violation } from "./recording.js";
import { buildRoutes, type CommandRec, type RestCore } from "./rest.js";
import { addReaction, parseReactionEmoji, removeReaction } from "./rest-reactions.js";
import type { RouteRequest, Router } from "./router.js";
import {
	type AttachmentRec,
	type AttachmentSpec,
	attachmentToAPI,
	Channel,
	type CustomEmoji,
	Guild,
	Intents,
	type Json,
	Member,
	Message,
	Role,
	User,
	World,
} from "./state.js";

export interface DiscordEmulatorOptions {
	/** Default: a random token-looking string. */
	botToken?: string;
	/** Default: a fresh snowflake. The bot user has the same id (as for real applications). */
	applicationId?: string;
	botUsername?: string;
	/** Time for ids, timestamps, the 15-minute token life and CDN url expiry. Default: Date.now. */
	clock?: Clock;
	/** How long the bot has to acknowledge an interaction (default 3000 ms, real time and clock time). */
	interactionAckTimeoutMs?: number;
	/** Interaction token life for followups and @original (default 15 minutes, clock time). */
	interactionTokenLifetimeMs?: number;
	/** HELLO heartbeat_interval (default 41250). */
	heartbeatIntervalMs?: number;
	rateLimits?: RateLimitOptions;
	/** Where uploads are stored; default a fresh temp dir removed on close(). */
	storageDir?: string;
	/** Upload limit per request (default 10 MiB, Discord's limit for unboosted guilds). */
	uploadLimitBytes?: number;
	/** Lifetime of signed CDN urls (default 24 h). */
	attachmentUrlTtlMs?: number;
	/** Privileged intents enabled "in the developer portal" (default none): others close IDENTIFY with 4014. */
	privilegedIntents?: { guildMembers?: boolean; presences?: boolean; messageContent?: boolean };
	host?: string;
	port?: number;
	cdnPort?: number;
	/** The media proxy listener (proxy_url, media.discordapp.net). */
	mediaPort?: number;
	/**
	 * GET /gateway/bot's `session_start_limit` and how IDENTIFY is limited: `maxConcurrency`
	 * (default 1) IDENTIFYs per `windowMs` (default 5000, Discord's; 0 turns the check off, for
	 * clients that skip discord.js's identify spacing) per bucket `shard_id % max_concurrency`;
	 * `total` session starts (default 1000) per `resetAfterMs` (default 24 h, clock time).
	 */
	sessionStartLimit?: { total?: number; maxConcurrency?: number; windowMs?: number; resetAfterMs?: number };
	/** GET /gateway/bot's recommended `shards` (default Discord's rule: one per 1,000 guilds); see recommendShards. */
	recommendedShards?: number;
	/**
	 * Installation contexts the app supports (developer portal): `user: false` turns user installs
	 * off (`integration_types_config` without "1", commands with integration type 1 refused).
	 * Default: guild and user installs.
	 */
	installation?: { user?: boolean };
}

/** A failure `failNext` injects: the next `times` requests to `route` are answered with it. */
export interface InjectedFailure {
	/** Route key as in rate limits: "POST /interactions/{interaction_id}/{interaction_token}/callback" (":param" ok). */
	route: string;
	status: number;
	/** Discord's JSON error code (default 0, as on Discord's 5xx answers). */
	code?: number;
	message?: string;
	/** How many matching requests fail (default 1). @discordjs/rest sends a 5xx four times. */
	times?: number;
}

export type OptionValue = string | number | boolean | User | Member | Channel | Role | AttachmentSpec;

export interface SlashInput {
	user: User;
	channel: Channel;
	command: string;
	subcommand?: string;
	group?: string;
	options?: Record<string, OptionValue>;
	/** Attachment options by option name. */
	attachments?: Record<string, AttachmentSpec>;
	locale?: string;
	/**
	 * "guild" (default): through the guild's install of the app (or the bot's DM); "user": through
	 * the user's own install (installUserApp), also in private channels (createPrivateChannel).
	 */
	via?: InstallVia;
}

export interface AutocompleteInput extends Omit<SlashInput, "attachments"> {
	/** Name of the option being typed in. */
	focused: string;
	timeoutMs?: number;
}

export interface ButtonInput {
	user: User;
	message: Message;
	label?: string;
	customId?: string;
	locale?: string;
}

export interface SelectInput {
	user: User;
	message: Message;
	customId?: string;
	values: string[];
	locale?: string;
}

export interface ModalInput {
	user?: User;
	from: Interaction;
	/** Text input (or select) custom_id -> value (string[] for selects). */
	fields: Record<string, string | string[]>;
	locale?: string;
}

export interface UserMessageInput {
	user: User;
	channel: Channel;
	content?: string;
	embeds?: Json[];
	attachments?: AttachmentSpec[];
	/** Reply to this message. */
	replyTo?: Message;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class DiscordEmulator implements RestCore {
	readonly botToken: string;
	readonly applicationId: string;
	readonly clock: Clock;
	readonly ids: Snowflakes;
	readonly world: World;
	readonly recorder = new Recorder();
	readonly commands = new Map<string, CommandRec>();
	readonly interactions = new Map<string, Interaction>();
	/** Every gateway frame in and out (op, t, s), plus closes. */
	readonly gatewayLog: GatewayLogEntry[] = [];
	/** Errors inside the emulator itself (bugs): a 500 was answered. */
	readonly internalErrors: Error[] = [];
	readonly cdn: Cdn;
	/** Every request the CDN listener received, in arrival order. */
	readonly cdnRequests: CdnRequest[] = [];
	readonly limiter: RateLimiter;
	readonly gateway: Gateway;
	readonly messageContentIntent: boolean;
	readonly guildMembersIntent: boolean;
	/** Whether the app supports user installs (option `installation.user`, default true). */
	readonly userInstallEnabled: boolean;
	private readonly router: Router;
	private readonly failures: Array<Required<InjectedFailure>> = [];
	private readonly ackTimeoutMs: number;
	private readonly tokenLifetimeMs: number;
	private readonly uploadLimitBytes: number;
	private readonly storageDir: string;
	private readonly ownsStorage: boolean;
	private readonly verifyKey = randomBytes(32).toString("hex");
	private readonly sessionStarts: { total: number; remaining: number; resetAfterMs: number; resetAt: number | null };
	private recommendedShards: number | null = null;
	private minShards = 1;
	private restServer: Server | null = null;
	private cdnServer: Server | null = null;
	private mediaServer: Server | null = null;
	restUrl = "";
	/** Attachment `url`s (cdn.discordapp.com). */
	cdnUrl = "";
	/** Attachment `proxy_url`s (media.discordapp.net): another listener, so another host:port. */
	mediaUrl = "";
	gatewayUrl = "";

	private constructor(opts: DiscordEmulatorOptions) {
		this.clock = opts.clock ?? systemClock;
		this.ids = new Snowflakes(this.clock);
		this.applicationId = opts.applicationId ?? this.ids.next();
		this.botToken =
			opts.botToken ??
			`${Buffer.from(this.applicationId).toString("base64url")}.${randomBytes(4).toString("base64url")}.${randomBytes(27).toString("base64url")}`;
		this.ackTimeoutMs = opts.interactionAckTimeoutMs ?? 3000;
		this.tokenLifetimeMs = opts.interactionTokenLifetimeMs ?? 15 * 60_000;
		this.uploadLimitBytes = opts.uploadLimitBytes ?? 10 * 1024 * 1024;
		this.messageContentIntent = opts.privilegedIntents?.messageContent ?? false;
		this.guildMembersIntent = opts.privilegedIntents?.guildMembers ?? false;
		this.userInstallEnabled = opts.installation?.user ?? true;
		this.ownsStorage = opts.storageDir === undefined;
		this.storageDir = opts.storageDir ?? mkdtempSync(join(tmpdir(), "discord-emulator-"));
		this.cdn = new Cdn(
			this.clock,
			this.ids,
			(id) => this.world.attachments.get(id),
			opts.attachmentUrlTtlMs ?? 24 * 3600_000,
		);
		this.world = new World(
			this.ids,
			this.clock,
			{
				dispatch: (t, d, scope) => {
					// Nothing of a guild in an outage reaches the bot until it is back (GUILD_CREATE).
					if (scope.guildId && this.world.guilds.get(scope.guildId)?.unavailable) return;
					this.gateway.dispatch(t, d, scope.intent, scope.guildId ?? null);
				},
				attachmentUrls: (att) => this.cdn.urls(att),
			},
			{ id: this.applicationId, username: opts.botUsername ?? "imgpile" },
		);
		this.limiter = new RateLimiter(opts.rateLimits);
		this.recommendedShards = opts.recommendedShards ?? null;
		const limit = opts.sessionStartLimit ?? {};
		this.sessionStarts = {
			total: limit.total ?? 1000,
			remaining: limit.total ?? 1000,
			resetAfterMs: limit.resetAfterMs ?? 24 * 3600_000,
			resetAt: null,
		};
		const privileged = {
			guildMembers: opts.privilegedIntents?.guildMembers ?? false,
			presences: opts.privilegedIntents?.presences ?? false,
			messageContent: opts.privilegedIntents?.messageContent ?? false,
		};
		this.gateway = new Gateway({
			botToken: this.botToken,
			heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41250,
			privilegedIntents: privileged,
			baseUrl: () => this.gatewayUrl.replace(/\/gateway$/, ""),
			readyPayload: (sessionId, shard, resumeUrl) => this.readyPayload(sessionId, shard, resumeUrl),
			// During an outage Discord follows READY with GUILD_DELETE { unavailable: true } instead.
			guildAnnouncements: () =>
				this.liveGuilds().map((g) =>
					g.unavailable
						? { t: "GUILD_DELETE" as const, d: { id: g.id, unavailable: true } }
						: { t: "GUILD_CREATE" as const, d: g.toGatewayCreate() },
				),
			identifyConcurrency: limit.maxConcurrency ?? 1,
			identifyWindowMs: limit.windowMs ?? 5000,
			requiredShards: () => this.minShards,
			startSession: () => this.startSession(),
			log: (e) => this.gatewayLog.push(e),
			violation: (message) =>
				this.recorder.violation({
					at: this.clock.now(),
					kind: "gateway",
					request: "gateway",
					status: 0,
					code: null,
					message,
				}),
			changed: () => this.recorder.changed(),
		});
		this.router = buildRoutes(this);
	}

	static async start(opts: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
		const emu = new DiscordEmulator(opts);
		await emu.listen(opts.host ?? "127.0.0.1", opts.port ?? 0, opts.cdnPort ?? 0, opts.mediaPort ?? 0);
		return emu;
	}

	private async listen(host: string, port: number, cdnPort: number, mediaPort: number): Promise<void> {
		const rest = createServer((req, res) => {
			void this.onRest(req, res);
		});
		rest.on("upgrade", (req, socket, head) => {
			const path = new URL(req.url ?? "/", "http://x").pathname.replace(/\/+$/, "");
			if (path === "/gateway" || RESUME_PATH.test(path)) this.gateway.handleUpgrade(req, socket, head);
			else socket.destroy();
		});
		const cdnListener = (which: CdnRequest["host"]) =>
			createServer((req, res) => {
				const record: CdnRequest = {
					at: Date.now(),
					method: req.method ?? "GET",
					path: new URL(req.url ?? "/", "http://cdn.local").pathname,
					host: which,
					range: req.headers.range ?? null,
					status: 0,
					finished: false,
					closed: false,
				};
				this.cdnRequests.push(record);
				res.on("finish", () => {
					record.finished = true;
				});
				res.on("close", () => {
					record.closed = true;
					if (res.headersSent) record.status = res.statusCode;
				});
				void this.cdn
					.handle(req, res, (_att, status) => {
						record.status = status;
					})
					.catch((err: unknown) => {
						this.internalErrors.push(err as Error);
						if (!res.headersSent) res.writeHead(500);
						res.end();
					});
			});
		const cdn = cdnListener("cdn");
		const media = cdnListener("media");
		await Promise.all([
			new Promise<void>((resolve) => rest.listen(port, host, resolve)),
			new Promise<void>((resolve) => cdn.listen(cdnPort, host, resolve)),
			new Promise<void>((resolve) => media.listen(mediaPort, host, resolve)),
		]);
		this.restServer = rest;
		this.cdnServer = cdn;
		this.mediaServer = media;
		const h = host.includes(":") ? `[${host}]` : host;
		const restPort = (rest.address() as AddressInfo).port;
		this.restUrl = `http://${h}:${restPort}/api`;
		this.gatewayUrl = `ws://${h}:${restPort}/gateway`;
		this.cdnUrl = `http://${h}:${(cdn.address() as AddressInfo).port}`;
		this.cdn.baseUrl = this.cdnUrl;
		this.mediaUrl = `http://${h}:${(media.address() as AddressInfo).port}`;
		this.cdn.mediaBaseUrl = this.mediaUrl;
	}

	/** host:port of the CDN and of the media proxy: what a bot must allow (over http, on loopback). */
	get cdnHosts(): string[] {
		return [new URL(this.cdnUrl).host, new URL(this.mediaUrl).host];
	}

	// ------------------------------------------------------------------ HTTP dispatch

	private async onRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? "/", "http://x");
		const method = (req.method ?? "GET").toUpperCase();
		let path = url.pathname;
		const ctx: Ctx = { req, res, method, path, query: url.searchParams, headers: req.headers, responseHeaders: {} };
		const record: RecordedRequest = {
			at: this.clock.now(),
			method,
			path,
			route: null,
			query: Object.fromEntries(url.searchParams),
			status: 0,
			code: null,
			files: [],
			headers: { ...req.headers, authorization: req.headers.authorization ? "[redacted]" : undefined },
		};
		let body: RequestBody = { json: undefined, files: [], multipart: false, raw: null };
		let bodyRead = false;
		let scope: string | undefined;
		const banned = this.limiter.banned();
		if (banned > 0) {
			this.answerBanned(req, res, banned);
			record.status = 429;
			this.recorder.request(record);
			return;
		}
		try {
			if (!path.startsWith("/api/")) throw errors.notFoundRoute();
			path = path.slice(4);
			const version = /^\/v(\d+)(\/.*)$/.exec(path);
			if (version) {
				if (version[1] !== "10" && version[1] !== "9")
					throw new DiscordError(400, { message: "Invalid API version", code: 50041 }, "unknown-route");
				path = version[2] ?? "/";
			}
			ctx.path = path;
			record.path = path;
			const match = this.router.match(method, path);
			if (match.kind === "none") {
				console.warn(
					`[discord-emulator] UNKNOWN ROUTE ${method} ${path} (answered 404; add it to test/emulators/discord/rest.ts if the bot needs it)`,
				);
				throw errors.notFoundRoute();
			}
			if (match.kind === "method") throw errors.methodNotAllowed();
			const routeKey = `${match.route.method} ${match.route.template}`;
			record.route = routeKey;
			if (match.route.auth) {
				const auth = req.headers.authorization;
				if (auth !== `Bot ${this.botToken}`) throw errors.unauthorized();
			}
			// Interaction callbacks and webhooks carry no bot token: not bound to the global limit.
			ctx.responseHeaders = this.limiter.take(normalizeRouteKey(routeKey), match.params.major(), {
				global: match.route.auth,
			});
			if (method === "POST" || method === "PUT" || method === "PATCH") {
				body = await readRequestBody(ctx, this.storageDir, this.uploadLimitBytes);
			} else {
				req.resume();
			}
			bodyRead = true;
			record.body = body.json;
			record.files = body.files.map((f) => ({
				field: f.field,
				filename: f.filename,
				size: f.size,
				contentType: f.contentType,
			}));
			// After the body is read, like a failure inside Discord: the request arrived whole, nothing changed.
			const failure = this.failures.find((f) => f.route === normalizeRouteKey(routeKey));
			if (failure && --failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
			if (failure) throw new DiscordError(failure.status, { message: failure.message, code: failure.code });
			const routeReq: RouteRequest = {
				params: match.params,
				query: url.searchParams,
				body,
				method,
				path,
				route: routeKey,
			};
			const result = await match.route.handler(routeReq);
			record.status = result.status;
			sendJson(ctx, result.status, result.body);
		} catch (err) {
			if (!bodyRead) req.resume();
			if (err instanceof DiscordError) {
				record.status = err.status;
				record.code = typeof err.body.code === "number" ? err.body.code : null;
				scope = err.headers["X-RateLimit-Scope"];
				sendError(ctx, err);
				if (err.violation) {
					this.recorder.violation({
						at: this.clock.now(),
						kind: err.violation,
						request: `${method} ${ctx.path}`,
						status: err.status,
						code: record.code,
						message: `${String(err.body.message ?? "")}${scope ? ` (scope ${scope})` : ""}`,
						...(err.body.errors ? { errors: err.body.errors } : {}),
						...(body.json !== undefined ? { body: body.json } : {}),
					});
				}
			} else {
				const e = err instanceof Error ? err : new Error(String(err));
				this.internalErrors.push(e);
				console.error(`[discord-emulator] internal error on ${method} ${ctx.path}:`, e);
				record.status = 500;
				sendJson(ctx, 500, { message: "500: Internal Server Error", code: 0 });
			}
		} finally {
			this.recorder.request(record);
			this.countInvalid(record, scope);
		}
	}

	/** 401 / 403 / 429 (not shared) count towards Discord's invalid-request limit; past it, a ban. */
	private countInvalid(record: RecordedRequest, scope: string | undefined): void {
		if (!this.limiter.countResponse(record.status, scope)) return;
		this.recorder.violation({
			at: this.clock.now(),
			kind: "invalid-requests",
			request: `${record.method} ${record.path}`,
			status: record.status,
			code: record.code,
			message: `${this.limiter.invalidRequests()} invalid requests (401/403/429) in the window, past Discord's limit: Cloudflare bans the bot`,
		});
	}

	/** Cloudflare's answer while banned: a plain-text 429, no JSON, no rate-limit bucket headers. */
	private answerBanned(req: IncomingMessage, res: ServerResponse, leftMs: number): void {
		req.resume();
		const payload = Buffer.from("error code: 1015");
		res.writeHead(429, {
			"Content-Type": "text/plain; charset=UTF-8",
			"Content-Length": String(payload.length),
			"Retry-After": String(Math.ceil(leftMs / 1000)),
		});
		res.end(req.method === "HEAD" ? undefined : payload);
	}

	// ------------------------------------------------------------------ RestCore

	dispatch(t: string, d: unknown, intent: number | undefined, guildId: string | null): void {
		this.gateway.dispatch(t, d, intent, guildId);
	}

	gatewayBot(): Json {
		this.refreshSessionStarts();
		const { total, remaining, resetAt, resetAfterMs } = this.sessionStarts;
		return {
			url: this.gatewayUrl,
			shards: this.recommendedShardCount(),
			session_start_limit: {
				total,
				remaining,
				reset_after: resetAt === null ? resetAfterMs : Math.max(0, resetAt - this.clock.now()),
				max_concurrency: this.gateway.identifyConcurrency,
			},
		};
	}

	/** Discord's recommendation: one shard per 1,000 guilds (at least one), unless a test set it. */
	private recommendedShardCount(): number {
		return this.recommendedShards ?? Math.max(1, Math.ceil(this.liveGuilds().length / 1000));
	}

	private refreshSessionStarts(): void {
		const starts = this.sessionStarts;
		if (starts.resetAt !== null && this.clock.now() >= starts.resetAt) {
			starts.remaining = starts.total;
			starts.resetAt = null;
		}
	}

	private startSession(): boolean {
		this.refreshSessionStarts();
		const starts = this.sessionStarts;
		if (starts.remaining <= 0) return false;
		starts.remaining--;
		starts.resetAt ??= this.clock.now() + starts.resetAfterMs;
		return true;
	}

	interactionError(ix: Interaction, err: DiscordError, req: RouteRequest): void {
		ix.errors.push({
			at: this.clock.now(),
			kind: err.violation ?? "not-found",
			request: `${req.method} ${req.path}`,
			status: err.status,
			code: typeof err.body.code === "number" ? err.body.code : null,
			message: String(err.body.message ?? ""),
			...(err.body.errors ? { errors: err.body.errors } : {}),
		});
	}

	applicationJson(): Json {
		return {
			id: this.applicationId,
			name: this.world.botUser.username,
			icon: null,
			description: "",
			summary: "",
			type: null,
			hook: true,
			bot_public: true,
			bot_require_code_grant: false,
			verify_key: this.verifyKey,
			// GATEWAY_MESSAGE_CONTENT (1 << 19): the intent is enabled in the portal (as READY's application says).
			flags: this.messageContentIntent ? 1 << 19 : 0,
			owner: {
				id: "1000000000000000001",
				username: "owner",
				discriminator: "0",
				global_name: null,
				avatar: null,
				public_flags: 0,
				flags: 0,
			},
			team: null,
			bot: this.world.botUser.toAPI(),
			redirect_uris: [],
			interactions_endpoint_url: null,
			role_connections_verification_url: null,
			event_webhooks_url: null,
			event_webhooks_status: 1,
			approximate_guild_count: this.liveGuilds().length,
			approximate_user_install_count: this.world.userInstalls.size,
			integration_types_config: this.userInstallEnabled ? { "0": {}, "1": {} } : { "0": {} },
			install_params: { scopes: ["bot", "applications.commands"], permissions: "0" },
		};
	}

	private readyPayload(sessionId: string, shard: [number, number] | null, resumeGatewayUrl: string): Json {
		return {
			v: 10,
			user_settings: {},
			user: { ...this.world.botUser.toAPI(), verified: true, mfa_enabled: true, email: null },
			guilds: this.liveGuilds()
				.filter((g) => !shard || shardOf(g.id, shard[1]) === shard[0])
				.map((g) => ({ id: g.id, unavailable: true })),
			relationships: [],
			private_channels: [],
			presences: [],
			guild_join_requests: [],
			geo_ordered_rtc_regions: ["emulator"],
			session_id: sessionId,
			session_type: "normal",
			resume_gateway_url: resumeGatewayUrl,
			...(shard ? { shard } : {}),
			application: { id: this.applicationId, flags: this.messageContentIntent ? 1 << 19 : 0 },
			auth: {},
			_trace: ["emulator"],
		};
	}

	private liveGuilds(): Guild[] {
		return [...this.world.guilds.values()].filter((g) => !g.deleted);
	}

	// ------------------------------------------------------------------ world building

	get botUser(): User {
		return this.world.botUser;
	}

	createUser(opts: { username: string; globalName?: string; locale?: string; bot?: boolean }): User {
		return this.world.createUser(opts);
	}

	/**
	 * A guild with @everyone (Discord's default permissions), the bot as a member with its managed
	 * role (`botPermissions`, default: View Channels, Send Messages (+ in threads), Embed Links,
	 * Attach Files, Read Message History, External Emojis) and an owner (created when not given).
	 * Dispatched as GUILD_CREATE when the bot is already connected. `shard: [id, count]` picks an id
	 * that lands on that shard (`(guild_id >> 22) % count`).
	 */
	createGuild(opts: {
		name: string;
		owner?: User;
		ownerId?: string;
		preferredLocale?: string;
		everyonePermissions?: PermissionInput;
		botPermissions?: PermissionInput;
		shard?: [number, number];
	}): Guild {
		let owner = opts.owner ?? (opts.ownerId ? this.world.users.get(opts.ownerId) : undefined);
		if (!owner)
			owner = this.world.createUser({ username: `${opts.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-owner` });
		const id = opts.shard ? this.idOnShard(...opts.shard) : this.ids.next();
		const guild = new Guild(this.world, id, opts.name, owner.id, opts.preferredLocale ?? "en-US", opts);
		guild.members.set(owner.id, new Member(guild, owner, [], this.clock.now()));
		this.world.guilds.set(guild.id, guild);
		this.gateway.dispatch("GUILD_CREATE", guild.toGatewayCreate(), Intents.Guilds, guild.id);
		return guild;
	}

	/**
	 * A fresh snowflake on shard `shard` of `count`: a few ms later than now (the timestamp picks the
	 * shard), with worker id 2 so it never meets one of `ids` (worker 1).
	 */
	private idOnShard(shard: number, count: number): string {
		const base = BigInt(this.ids.next()) & ~(0x1fn << 17n);
		const ms = base >> 22n;
		const delta = (BigInt(shard) - (ms % BigInt(count)) + BigInt(count)) % BigInt(count);
		return ((base + (delta << 22n)) | (2n << 17n)).toString();
	}

	/** Removes a guild (the bot was kicked): GUILD_DELETE. */
	removeGuild(guild: Guild): void {
		guild.deleted = true;
		this.gateway.dispatch("GUILD_DELETE", { id: guild.id }, Intents.Guilds, guild.id);
	}

	/**
	 * A Discord outage takes `guild` away: GUILD_DELETE { id, unavailable: true }. Until
	 * `guildAvailable`, a new session gets the same after READY, and the guild's events are not sent.
	 */
	guildUnavailable(guild: Guild): void {
		if (guild.unavailable) return;
		guild.unavailable = true;
		this.gateway.dispatch("GUILD_DELETE", { id: guild.id, unavailable: true }, Intents.Guilds, guild.id);
	}

	/** The outage is over: GUILD_CREATE with the whole guild, as Discord sends it. */
	guildAvailable(guild: Guild): void {
		if (!guild.unavailable) return;
		guild.unavailable = false;
		this.gateway.dispatch("GUILD_CREATE", guild.toGatewayCreate(), Intents.Guilds, guild.id);
	}

	/** The DM channel between the bot and `user`. */
	dmChannel(user: User): Channel {
		return this.world.dmChannel(user);
	}

	/** The messages in the bot's DM with `user` (what they received, and wrote), oldest first. */
	dmsTo(user: User): Message[] {
		return this.world.dmChannels.get(user.id)?.messages() ?? [];
	}

	/**
	 * `user` installs the app to their account (a user app, integration type 1): their user-install
	 * commands run everywhere (`slash({ via: "user" })`), and the bot may DM them without a shared guild.
	 */
	installUserApp(user: User): void {
		if (!this.userInstallEnabled) throw new Error("The app does not support user installs (installation.user: false)");
		if (user.bot) throw new Error("Bots do not install apps");
		this.world.userInstalls.add(user.id);
	}

	uninstallUserApp(user: User): void {
		this.world.userInstalls.delete(user.id);
	}

	/**
	 * A private channel without the bot: a DM between two users, or a group DM (three or more, or a
	 * `name`). User-installed commands run there in context 2; the bot's REST calls to it get 50001.
	 */
	createPrivateChannel(users: User[], opts: { name?: string } = {}): Channel {
		return this.world.createPrivateChannel(users, opts);
	}

	/** The thread started from `message` (POST …/messages/{id}/threads), if any. */
	threadOf(message: Message): Channel | null {
		const thread = message.threadId ? this.world.channels.get(message.threadId) : undefined;
		return thread && !thread.deleted ? thread : null;
	}

	/**
	 * `user` reacts to `message` with `emoji` (unicode, or `name:id` / a guild's CustomEmoji):
	 * MESSAGE_REACTION_ADD to sessions with the reaction intents. Throws where Discord's client would
	 * not let them (cannot see the channel, no Read Message History, Add Reactions for a new emoji).
	 */
	react(input: { user: User; message: Message; emoji: string | CustomEmoji }): void {
		const { msg, parsed } = this.reactionTarget(input);
		const ch = msg.channel;
		if (ch.guild) {
			const perms = ch.permissionsFor(input.user.id);
			let need = P.ViewChannel | P.ReadMessageHistory;
			if (!msg.reactions.some((r) => r.key === parsed.key)) need |= P.AddReactions;
			if ((perms & need) !== need)
				throw new Error(
					`${input.user.username} cannot react in #${ch.name} (missing ${permissionNames(need & ~perms).join(", ")})`,
				);
		}
		addReaction(this.reactionDispatch, msg, parsed, input.user.id);
		this.recorder.changed();
	}

	/** `user` removes their reaction (MESSAGE_REACTION_REMOVE). */
	unreact(input: { user: User; message: Message; emoji: string | CustomEmoji }): void {
		const { msg, parsed } = this.reactionTarget(input);
		removeReaction(this.reactionDispatch, msg, parsed, input.user.id);
		this.recorder.changed();
	}

	private readonly reactionDispatch = (t: string, d: unknown, intent: number, guildId: string | null) => {
		if (guildId && this.world.guilds.get(guildId)?.unavailable) return;
		this.gateway.dispatch(t, d, intent, guildId);
	};

	private reactionTarget(input: { user: User; message: Message; emoji: string | CustomEmoji }) {
		const msg = input.message;
		if (msg.deleted) throw new Error(`message ${msg.id} was deleted`);
		const raw = typeof input.emoji === "string" ? input.emoji : `${input.emoji.name}:${input.emoji.id}`;
		const parsed = parseReactionEmoji(raw, this.world);
		if (!parsed) throw new Error(`Unknown emoji ${raw}`);
		return { msg, parsed };
	}

	// ------------------------------------------------------------------ interactions

	private findCommand(name: string, type: number, channel: Channel): CommandRec {
		const guildId = channel.guild?.id ?? null;
		const pool = [...this.commands.values()].filter(
			(c) => c.applicationId === this.applicationId && (c.json.type ?? 1) === type,
		);
		const found =
			(guildId ? pool.find((c) => c.guildId === guildId && c.json.name === name) : undefined) ??
			pool.find((c) => c.guildId === null && c.json.name === name);
		if (!found) {
			const known = pool
				.filter((c) => c.guildId === null || c.guildId === guildId)
				.map((c) => `${String(c.json.name)}${c.guildId ? " (guild)" : ""}`);
			const kind = type === 1 ? "slash command" : type === 3 ? "message command" : "user command";
			throw new Error(
				`The bot has not registered a ${kind} named "${name}"${guildId ? ` (globally or in ${channel.guild?.name})` : ""}. Registered: ${known.length ? known.join(", ") : "none"}.`,
			);
		}
		return found;
	}

	/**
	 * Where and through which install `user` runs `cmd` (null: a component or modal, which inherit
	 * it); throws when Discord's client would not offer the command there.
	 */
	private invoke(cmd: CommandRec, user: User, channel: Channel, via: InstallVia = "guild"): Invocation {
		if (via === "user") return userInvocation(this.world, this.userInstallEnabled, cmd, user, channel);
		if (!channel.botIsIn)
			throw new Error(`The bot is not in private channel ${channel.id}: only a user install (via: "user") runs there`);
		this.checkCanUse(cmd, user, channel);
		return { context: contextOf(channel), owners: defaultOwners(user, channel) };
	}

	/** A click or pick on `message`: through the installs of the interaction that posted it. */
	private componentPayload(input: { user: User; message: Message; locale?: string }) {
		const channel = input.message.channel;
		const owners = input.message.interaction?.owners;
		const inv = this.inherited(input.user, channel, owners);
		return this.basePayload(InteractionType.MessageComponent, input.user, channel, input.locale, inv);
	}

	/** Components and modals: the installs of the interaction (or message) they come from. */
	private inherited(user: User, channel: Channel, owners: Record<string, string> | undefined): Invocation {
		return { context: contextOf(channel), owners: owners ?? defaultOwners(user, channel) };
	}

	/** Throws when Discord's client would not let `user` run `cmd` in `channel`. */
	private checkCanUse(cmd: CommandRec, user: User, channel: Channel): void {
		const contexts = Array.isArray(cmd.json.contexts) ? (cmd.json.contexts as number[]) : [0, 1];
		if (channel.guild) {
			if (!contexts.includes(0))
				throw new Error(`/${String(cmd.json.name)} is not available in guilds (contexts ${JSON.stringify(contexts)})`);
			const member = channel.guild.members.get(user.id);
			if (!member) throw new Error(`${user.username} is not a member of ${channel.guild.name}`);
			const perms = channel.permissionsFor(user.id);
			if ((perms & P.ViewChannel) === 0n) throw new Error(`${user.username} cannot see #${channel.name}`);
			if ((perms & P.UseApplicationCommands) === 0n)
				throw new Error(`${user.username} lacks Use Application Commands in #${channel.name}`);
			const dmp = cmd.json.default_member_permissions;
			if (typeof dmp === "string") {
				const needed = BigInt(dmp);
				const base = basePermissions(channel.guild.subject(member));
				const ok = (base & P.Administrator) !== 0n || (needed !== 0n && (base & needed) === needed);
				if (!ok) {
					throw new Error(
						`${user.username} cannot use /${String(cmd.json.name)}: it needs ${needed === 0n ? "Administrator" : permissionNames(needed).join(", ")} (default_member_permissions ${dmp})`,
					);
				}
			}
			if (cmd.json.nsfw === true && !channel.nsfw && !(channel.parent?.nsfw ?? false)) {
				throw new Error(`/${String(cmd.json.name)} is age-restricted and #${channel.name} is not`);
			}
		} else if (!contexts.includes(1) || cmd.json.dm_permission === false) {
			throw new Error(`/${String(cmd.json.name)} is not available in DMs`);
		}
	}

	private basePayload(
		type: number,
		user: User,
		channel: Channel,
		locale?: string,
		invocation?: Invocation,
	): { payload: Json; member: Member | null } {
		const guild = channel.guild;
		const member = guild ? guild.member(user) : null;
		const inv = invocation ?? { context: contextOf(channel), owners: defaultOwners(user, channel) };
		const id = this.ids.next();
		const token = `aW50ZXJhY3Rpb246${Buffer.from(`${id}:${randomBytes(48).toString("hex")}`).toString("base64url")}`;
		const userPerms = guild ? channel.permissionsFor(user.id) : P.ViewChannel | P.SendMessages;
		const payload: Json = {
			app_permissions: (guild
				? channel.permissionsFor(this.botUser.id)
				: inv.context === 2
					? RESPONSE_ONLY_PERMISSIONS
					: P.ViewChannel | P.SendMessages | P.EmbedLinks | P.AttachFiles
			).toString(),
			application_id: this.applicationId,
			attachment_size_limit: this.uploadLimitBytes,
			authorizing_integration_owners: inv.owners,
			channel: { ...channel.toAPI(), permissions: userPerms.toString() },
			channel_id: channel.id,
			context: inv.context,
			entitlement_sku_ids: [],
			entitlements: [],
			id,
			locale: locale ?? user.locale,
			token,
			type,
			version: 1,
		};
		if (guild && member) {
			payload.guild = { id: guild.id, locale: guild.preferredLocale, features: [] };
			payload.guild_id = guild.id;
			payload.guild_locale = guild.preferredLocale;
			payload.member = { ...member.toAPI(), permissions: userPerms.toString() };
		} else {
			payload.user = user.toAPI();
		}
		return { payload, member };
	}

	private dispatchInteraction(
		payload: Json,
		init: {
			user: User;
			member: Member | null;
			channel: Channel;
			label: string;
			sourceMessage?: Message | null;
			parent?: Interaction | null;
		},
	): Interaction {
		if (init.channel.guild?.unavailable) {
			throw new Error(`Cannot dispatch ${init.label}: ${init.channel.guild.name} is unavailable (outage)`);
		}
		if (!this.gateway.hasSession()) {
			throw new Error(
				`Cannot dispatch ${init.label}: the bot has no gateway session (did it log in, and wait for "ready"?)`,
			);
		}
		const guildId = init.channel.guild?.id ?? null;
		if (!this.gateway.hasSession(guildId)) {
			throw new Error(
				`Cannot dispatch ${init.label}: no gateway session runs the shard of ${guildId ? `guild ${guildId}` : "DMs (shard 0)"}`,
			);
		}
		const ix = new Interaction({
			id: String(payload.id),
			token: String(payload.token),
			type: Number(payload.type),
			applicationId: this.applicationId,
			user: init.user,
			member: init.member,
			guild: init.channel.guild,
			channel: init.channel,
			label: init.label,
			payload,
			sourceMessage: init.sourceMessage ?? null,
			parent: init.parent ?? null,
			ackTimeoutMs: this.ackTimeoutMs,
			tokenLifetimeMs: this.tokenLifetimeMs,
			now: () => this.clock.now(),
			recorder: this.recorder,
		});
		this.interactions.set(ix.id, ix);
		ix.armAckTimer((expired) => {
			this.recorder.violation({
				at: this.clock.now(),
				kind: "interaction",
				request: `interaction ${expired.label}`,
				status: 0,
				code: 10062,
				message: `Interaction ${expired.label} was not acknowledged within ${this.ackTimeoutMs} ms (the user sees "This interaction failed")`,
			});
		});
		this.gateway.dispatch("INTERACTION_CREATE", payload, undefined, guildId);
		return ix;
	}

	/** Builds `data.options` (and `resolved`) for a chat input command from the test's values. */
	private buildOptions(
		cmd: CommandRec,
		input: {
			subcommand?: string;
			group?: string;
			options?: Record<string, OptionValue>;
			attachments?: Record<string, AttachmentSpec>;
		},
		channel: Channel,
		focused?: string,
	): { options: Json[]; resolved: Json } {
		const resolved: Record<string, Record<string, unknown>> = {};
		const put = (kind: string, id: string, value: unknown) => {
			resolved[kind] ??= {};
			(resolved[kind] as Record<string, unknown>)[id] = value;
		};
		const name = String(cmd.json.name);
		let defs = (Array.isArray(cmd.json.options) ? cmd.json.options : []) as Json[];
		const wrap: Array<(inner: Json[]) => Json[]> = [];
		const hasSubs = defs.some((d) => d.type === 1 || d.type === 2);
		if (input.group) {
			const g = defs.find((d) => d.type === 2 && d.name === input.group);
			if (!g) throw new Error(`/${name} has no subcommand group "${input.group}"`);
			defs = (g.options ?? []) as Json[];
			wrap.push((inner) => [{ type: 2, name: input.group, options: inner }]);
		}
		if (input.subcommand) {
			const s = defs.find((d) => d.type === 1 && d.name === input.subcommand);
			if (!s) {
				const subs = defs.filter((d) => d.type === 1).map((d) => d.name);
				throw new Error(
					`/${name}${input.group ? ` ${input.group}` : ""} has no subcommand "${input.subcommand}" (has: ${subs.join(", ") || "none"})`,
				);
			}
			defs = (s.options ?? []) as Json[];
			wrap.unshift((inner) => [{ type: 1, name: input.subcommand, options: inner }]);
		} else if (hasSubs) {
			throw new Error(`/${name} needs a subcommand (has: ${defs.map((d) => d.name).join(", ")})`);
		}
		const values: Record<string, OptionValue> = { ...(input.options ?? {}), ...(input.attachments ?? {}) };
		const out: Json[] = [];
		for (const [optName, value] of Object.entries(values)) {
			const def = defs.find((d) => d.name === optName);
			if (!def)
				throw new Error(`/${name} has no option "${optName}" (has: ${defs.map((d) => d.name).join(", ") || "none"})`);
			const type = Number(def.type);
			const opt: Json = { name: optName, type };
			if (focused === optName) {
				opt.value = String(value);
				opt.focused = true;
				out.push(opt);
				continue;
			}
			opt.value = this.optionValue(def, value, channel, put, focused !== undefined);
			out.push(opt);
		}
		if (focused === undefined) {
			for (const d of defs) {
				if (d.required === true && !(String(d.name) in values))
					throw new Error(`/${name}: required option "${String(d.name)}" missing`);
			}
		} else if (!out.some((o) => o.focused === true)) {
			throw new Error(`autocomplete: the focused option "${focused}" needs a value in options (the text typed so far)`);
		}
		let options = out;
		for (const w of wrap) options = w(options);
		return { options, resolved };
	}

	private optionValue(
		def: Json,
		value: OptionValue,
		channel: Channel,
		put: (kind: string, id: string, v: unknown) => void,
		lenient: boolean,
	): unknown {
		const type = Number(def.type);
		const where = `option "${String(def.name)}"`;
		const choices = Array.isArray(def.choices) ? (def.choices as Json[]) : null;
		switch (type) {
			case 3: {
				if (typeof value !== "string") throw new Error(`${where} is a string option`);
				if (!lenient && choices && !choices.some((c) => c.value === value))
					throw new Error(`${where}: "${value}" is not one of its choices`);
				if (typeof def.max_length === "number" && value.length > def.max_length)
					throw new Error(`${where}: longer than max_length ${def.max_length}`);
				if (typeof def.min_length === "number" && value.length < def.min_length)
					throw new Error(`${where}: shorter than min_length ${def.min_length}`);
				return value;
			}
			case 4:
			case 10: {
				if (typeof value !== "number" || (type === 4 && !Number.isInteger(value)))
					throw new Error(`${where} needs ${type === 4 ? "an integer" : "a number"}`);
				if (!lenient && choices && !choices.some((c) => c.value === value))
					throw new Error(`${where}: ${value} is not one of its choices`);
				if (typeof def.min_value === "number" && value < def.min_value)
					throw new Error(`${where}: below min_value ${def.min_value}`);
				if (typeof def.max_value === "number" && value > def.max_value)
					throw new Error(`${where}: above max_value ${def.max_value}`);
				return value;
			}
			case 5:
				if (typeof value !== "boolean") throw new Error(`${where} is a boolean option`);
				return value;
			case 6:
			case 9: {
				if (value instanceof Role && type === 9) {
					put("roles", value.id, value.toAPI());
					return value.id;
				}
				const user = value instanceof Member ? value.user : value instanceof User ? value : undefined;
				if (!user) throw new Error(`${where} needs a User or Member`);
				put("users", user.id, user.toAPI());
				const member = channel.guild?.members.get(user.id);
				if (member) {
					const { user: _u, ...m } = member.toAPI();
					put("members", user.id, { ...m, permissions: channel.permissionsFor(user.id).toString() });
				}
				return user.id;
			}
			case 7: {
				if (!(value instanceof Channel)) throw new Error(`${where} needs a Channel`);
				const types = Array.isArray(def.channel_types) ? (def.channel_types as number[]) : null;
				if (types && !types.includes(value.type))
					throw new Error(`${where}: channel type ${value.type} not in channel_types ${JSON.stringify(types)}`);
				const api = value.toAPI();
				put("channels", value.id, {
					id: value.id,
					name: api.name,
					type: value.type,
					permissions: channel.guild ? value.permissionsFor(channel.guild.ownerId).toString() : "0",
					...(value.isThread
						? { thread_metadata: api.thread_metadata, parent_id: value.parentId }
						: { parent_id: value.parentId, nsfw: value.nsfw }),
				});
				return value.id;
			}
			case 8:
				if (!(value instanceof Role)) throw new Error(`${where} needs a Role`);
				put("roles", value.id, value.toAPI());
				return value.id;
			case 11: {
				if (!isObj(value) || typeof (value as AttachmentSpec).filename !== "string")
					throw new Error(`${where} needs an attachment spec { filename, size?, contentType?, source? }`);
				const att = this.cdn.fromSpec(value as AttachmentSpec, `ephemeral-attachments/${this.applicationId}`, true);
				this.world.attachments.set(att.id, att);
				put("attachments", att.id, attachmentToAPI(att, this.world.hooks));
				return att.id;
			}
			default:
				throw new Error(`${where}: unsupported option type ${type}`);
		}
	}

	/** A user runs a slash command. Throws when the command is not registered or the user could not run it. */
	async slash(input: SlashInput): Promise<Interaction> {
		const cmd = this.findCommand(input.command, 1, input.channel);
		const inv = this.invoke(cmd, input.user, input.channel, input.via);
		const { options, resolved } = this.buildOptions(cmd, input, input.channel);
		const { payload, member } = this.basePayload(
			InteractionType.ApplicationCommand,
			input.user,
			input.channel,
			input.locale,
			inv,
		);
		const data: Json = { id: cmd.id, name: cmd.json.name, type: 1 };
		if (options.length > 0) data.options = options;
		if (Object.keys(resolved).length > 0) data.resolved = resolved;
		if (cmd.guildId) data.guild_id = cmd.guildId;
		payload.data = data;
		const label = `/${[input.command, input.group, input.subcommand].filter(Boolean).join(" ")}`;
		return this.dispatchInteraction(payload, { user: input.user, member, channel: input.channel, label });
	}

	/** A user types in an autocomplete option; resolves with the choices the bot returned. */
	async autocomplete(input: AutocompleteInput): Promise<Array<{ name: string; value: string | number }>> {
		const cmd = this.findCommand(input.command, 1, input.channel);
		const inv = this.invoke(cmd, input.user, input.channel, input.via);
		const { options } = this.buildOptions(cmd, input, input.channel, input.focused);
		const { payload, member } = this.basePayload(
			InteractionType.Autocomplete,
			input.user,
			input.channel,
			input.locale,
			inv,
		);
		payload.data = {
			id: cmd.id,
			name: cmd.json.name,
			type: 1,
			options,
			...(cmd.guildId ? { guild_id: cmd.guildId } : {}),
		};
		const ix = this.dispatchInteraction(payload, {
			user: input.user,
			member,
			channel: input.channel,
			label: `autocomplete /${input.command} ${input.focused}`,
		});
		const cb = await ix.response({ timeoutMs: input.timeoutMs });
		if (cb.type !== 8)
			throw new Error(`autocomplete: the bot answered with callback type ${cb.type}, not 8\n${ix.describe()}`);
		return ix.choices ?? [];
	}

	/** A user runs a message context-menu command on `message`. */
	async messageCommand(input: {
		user: User;
		message: Message;
		name: string;
		locale?: string;
		via?: InstallVia;
	}): Promise<Interaction> {
		const channel = input.message.channel;
		const cmd = this.findCommand(input.name, 3, channel);
		const inv = this.invoke(cmd, input.user, channel, input.via);
		const { payload, member } = this.basePayload(
			InteractionType.ApplicationCommand,
			input.user,
			channel,
			input.locale,
			inv,
		);
		payload.data = {
			id: cmd.id,
			name: cmd.json.name,
			type: 3,
			target_id: input.message.id,
			resolved: { messages: { [input.message.id]: input.message.toAPI() } },
			...(cmd.guildId ? { guild_id: cmd.guildId } : {}),
		};
		return this.dispatchInteraction(payload, {
			user: input.user,
			member,
			channel,
			label: `message command "${input.name}"`,
		});
	}

	/** A user runs a user context-menu command on `target`. */
	async userCommand(input: {
		user: User;
		target: User;
		channel: Channel;
		name: string;
		locale?: string;
		via?: InstallVia;
	}): Promise<Interaction> {
		const cmd = this.findCommand(input.name, 2, input.channel);
		const inv = this.invoke(cmd, input.user, input.channel, input.via);
		const { payload, member } = this.basePayload(
			InteractionType.ApplicationCommand,
			input.user,
			input.channel,
			input.locale,
			inv,
		);
		const resolved: Json = { users: { [input.target.id]: input.target.toAPI() } };
		const tm = input.channel.guild?.members.get(input.target.id);
		if (tm) {
			const { user: _u, ...m } = tm.toAPI();
			resolved.members = {
				[input.target.id]: { ...m, permissions: input.channel.permissionsFor(input.target.id).toString() },
			};
		}
		payload.data = {
			id: cmd.id,
			name: cmd.json.name,
			type: 2,
			target_id: input.target.id,
			resolved,
			...(cmd.guildId ? { guild_id: cmd.guildId } : {}),
		};
		return this.dispatchInteraction(payload, {
			user: input.user,
			member,
			channel: input.channel,
			label: `user command "${input.name}"`,
		});
	}

	private componentMessageCheck(user: User, message: Message): void {
		if (message.deleted) throw new Error(`message ${message.id} was deleted`);
		if (message.ephemeral && message.interaction && message.interaction.user.id !== user.id) {
			throw new Error(`${user.username} cannot see ${message.interaction.user.username}'s ephemeral message`);
		}
	}

	/** A user clicks a button (by label or custom id) on a message. */
	async clickButton(input: ButtonInput): Promise<Interaction> {
		this.componentMessageCheck(input.user, input.message);
		const buttons = findComponents(input.message.components, (c) => c.type === 2);
		const button = buttons.find(
			(b) =>
				(input.customId === undefined || b.custom_id === input.customId) &&
				(input.label === undefined || b.label === input.label),
		);
		if (!button || (input.label === undefined && input.customId === undefined)) {
			const list = buttons.map((b) => `"${String(b.label ?? "")}" (${String(b.custom_id ?? b.url ?? "")})`).join(", ");
			throw new Error(
				`No button ${input.label ? `labelled "${input.label}"` : `with custom_id "${input.customId}"`} on message ${input.message.id}; buttons: ${list || "none"}`,
			);
		}
		if (button.disabled === true) throw new Error(`Button "${String(button.label)}" is disabled`);
		if (button.style === 5 || typeof button.custom_id !== "string")
			throw new Error(`Button "${String(button.label)}" is a link button (no interaction)`);
		const channel = input.message.channel;
		const { payload, member } = this.componentPayload(input);
		payload.data = {
			custom_id: button.custom_id,
			component_type: 2,
			...(typeof button.id === "number" ? { id: button.id } : {}),
		};
		payload.message = input.message.toAPI();
		return this.dispatchInteraction(payload, {
			user: input.user,
			member,
			channel,
			label: `button "${String(button.label ?? button.custom_id)}"`,
			sourceMessage: input.message,
		});
	}

	/** A user picks values in a string select menu. */
	async selectMenu(input: SelectInput): Promise<Interaction> {
		this.componentMessageCheck(input.user, input.message);
		const selects = findComponents(input.message.components, (c) => c.type === 3);
		const select = selects.find((s) => input.customId === undefined || s.custom_id === input.customId);
		if (!select)
			throw new Error(`No string select${input.customId ? ` "${input.customId}"` : ""} on message ${input.message.id}`);
		const options = (Array.isArray(select.options) ? select.options : []) as Json[];
		for (const v of input.values)
			if (!options.some((o) => o.value === v))
				throw new Error(`select ${String(select.custom_id)}: "${v}" is not an option`);
		const min = typeof select.min_values === "number" ? select.min_values : 1;
		const max = typeof select.max_values === "number" ? select.max_values : 1;
		if (input.values.length < min || input.values.length > max)
			throw new Error(`select ${String(select.custom_id)}: pick ${min}..${max} values`);
		const channel = input.message.channel;
		const { payload, member } = this.componentPayload(input);
		payload.data = {
			custom_id: select.custom_id,
			component_type: 3,
			values: input.values,
			...(typeof select.id === "number" ? { id: select.id } : {}),
		};
		payload.message = input.message.toAPI();
		return this.dispatchInteraction(payload, {
			user: input.user,
			member,
			channel,
			label: `select "${String(select.custom_id)}"`,
			sourceMessage: input.message,
		});
	}

	/** The user submits the modal the bot opened on `from`. */
	async submitModal(input: ModalInput): Promise<Interaction> {
		const from = input.from;
		const modal = from.modal;
		if (!modal) throw new Error(`The bot did not open a modal on ${from.label}\n${from.describe()}`);
		const user = input.user ?? from.user;
		if (user.id !== from.user.id) throw new Error("Only the user who triggered the interaction sees its modal");
		const fields = { ...input.fields };
		let nextId = 1;
		const fill = (c: Json): Json => {
			const id = typeof c.id === "number" ? c.id : nextId;
			nextId++;
			const customId = String(c.custom_id ?? "");
			if (c.type === 4) {
				const raw = fields[customId];
				delete fields[customId];
				const value = raw === undefined ? (typeof c.value === "string" ? c.value : "") : String(raw);
				const required = c.required !== false;
				if (required && value === "")
					throw new Error(`modal ${String(modal.custom_id)}: text input "${customId}" is required`);
				if (value !== "" && typeof c.min_length === "number" && value.length < c.min_length)
					throw new Error(`modal: "${customId}" shorter than min_length ${c.min_length}`);
				if (typeof c.max_length === "number" && value.length > c.max_length)
					throw new Error(`modal: "${customId}" longer than max_length ${c.max_length}`);
				return { type: 4, id, custom_id: customId, value };
			}
			if (c.type === 3) {
				const raw = fields[customId];
				delete fields[customId];
				const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
				return { type: 3, id, custom_id: customId, values };
			}
			return { type: c.type, id };
		};
		const components = ((modal.components ?? []) as Json[]).map((top) => {
			const id = typeof top.id === "number" ? top.id : nextId;
			nextId++;
			if (top.type === 1) return { type: 1, id, components: ((top.components ?? []) as Json[]).map(fill) };
			if (top.type === 18 && isObj(top.component)) return { type: 18, id, component: fill(top.component) };
			return { type: top.type, id };
		});
		const unknown = Object.keys(fields);
		if (unknown.length > 0) throw new Error(`modal ${String(modal.custom_id)} has no input(s) ${unknown.join(", ")}`);
		const channel = from.channel;
		const { payload, member } = this.basePayload(
			InteractionType.ModalSubmit,
			user,
			channel,
			input.locale,
			this.inherited(user, channel, from.payload.authorizing_integration_owners as Record<string, string>),
		);
		payload.data = { custom_id: modal.custom_id, components };
		if (from.sourceMessage) payload.message = from.sourceMessage.toAPI();
		return this.dispatchInteraction(payload, {
			user,
			member,
			channel,
			label: `modal "${String(modal.custom_id)}"`,
			sourceMessage: from.sourceMessage,
			parent: from,
		});
	}

	/** A user posts a message (with CDN attachments). MESSAGE_CREATE is dispatched if the bot's intents ask for it. */
	async postUserMessage(input: UserMessageInput): Promise<Message> {
		const ch = input.channel;
		if (ch.guild) {
			const perms = ch.permissionsFor(input.user.id);
			const need =
				(ch.isThread ? P.SendMessagesInThreads : P.SendMessages) |
				P.ViewChannel |
				(input.attachments?.length ? P.AttachFiles : 0n);
			if ((perms & need) !== need)
				throw new Error(
					`${input.user.username} cannot post in #${ch.name} (missing ${permissionNames(need & ~perms).join(", ")})`,
				);
		}
		const msg = new Message(this.world, this.ids.next(), ch, input.user, input.replyTo ? 19 : 0);
		msg.content = input.content ?? "";
		msg.embeds = (input.embeds ?? []).map((embed) => this.withProxyUrls(embed));
		msg.attachments = (input.attachments ?? []).map((spec) => {
			const att = this.cdn.fromSpec(spec, `attachments/${ch.id}`, false);
			this.world.attachments.set(att.id, att);
			return att;
		});
		if (input.replyTo)
			msg.messageReference = {
				type: 0,
				message_id: input.replyTo.id,
				channel_id: ch.id,
				...(ch.guild ? { guild_id: ch.guild.id } : {}),
			};
		msg.mentionsOf = computeMentions({
			channel: ch,
			content: msg.content,
			allowed: undefined,
			senderPermissions: ch.guild ? ch.permissionsFor(input.user.id) : 0n,
			repliedTo: input.replyTo ?? null,
			author: input.user,
		});
		this.world.addMessage(msg);
		this.dispatchUserMessage("MESSAGE_CREATE", msg);
		return msg;
	}

	/** A user's message to the bot's sessions that ask for it; its content only with MessageContent (or a mention). */
	private dispatchUserMessage(t: "MESSAGE_CREATE" | "MESSAGE_UPDATE", msg: Message): void {
		const ch = msg.channel;
		if (!ch.botIsIn) return;
		const botId = this.botUser.id;
		const mentionsBot = msg.content.includes(`<@${botId}>`) || msg.content.includes(`<@!${botId}>`);
		this.gateway.dispatch(
			t,
			(intents: number) =>
				msg.toAPI({
					gateway: true,
					hideContent: ch.guild !== null && !mentionsBot && (intents & Intents.MessageContent) === 0,
				}),
			ch.guild ? Intents.GuildMessages : Intents.DirectMessages,
			ch.guild?.id ?? null,
		);
	}

	/**
	 * The author edits their message, or Discord unfurls a link in it: new `content` (sets
	 * edited_timestamp, as a user's edit does), new `embeds` (an unfurl: no edited_timestamp),
	 * attachments removed but never added (Discord's clients cannot add files to a sent message).
	 * MESSAGE_UPDATE carries the whole message, as Discord's does.
	 */
	editUserMessage(
		message: Message,
		edit: { content?: string; embeds?: Json[]; removeAttachments?: string[] },
	): Message {
		if (message.deleted) throw new Error(`message ${message.id} was deleted`);
		if (message.author.id === this.botUser.id) throw new Error("editUserMessage edits users' messages, not the bot's");
		const ch = message.channel;
		if (edit.content !== undefined) {
			message.content = edit.content;
			message.editedAt = this.clock.now();
			message.mentionsOf = computeMentions({
				channel: ch,
				content: message.content,
				allowed: undefined,
				senderPermissions: ch.guild ? ch.permissionsFor(message.author.id) : 0n,
				repliedTo: null,
				author: message.author,
			});
		}
		if (edit.embeds !== undefined) message.embeds = edit.embeds.map((embed) => this.withProxyUrls(embed));
		if (edit.removeAttachments?.length) {
			message.attachments = message.attachments.filter((att) => !edit.removeAttachments?.includes(att.id));
		}
		this.dispatchUserMessage("MESSAGE_UPDATE", message);
		return message;
	}

	/** Discord adds proxy_url to embed media: the media proxy for its CDN, images-ext-N for other sites. */
	private withProxyUrls(embed: Json): Json {
		const out: Json = { ...embed };
		for (const key of ["image", "thumbnail", "video"]) {
			const media = embed[key];
			if (!isObj(media) || typeof media.url !== "string" || media.proxy_url !== undefined) continue;
			out[key] = { ...media, proxy_url: this.proxyUrlFor(media.url) };
		}
		return out;
	}

	/**
	 * The proxy_url Discord would give `url`: same path on the media proxy for CDN files, else
	 * https://images-ext-N.discordapp.net/external/{hash}/[{%3Fquery}/]{scheme}/{host}{path}.
	 */
	proxyUrlFor(url: string): string {
		let u: URL;
		try {
			u = new URL(url);
		} catch {
			return url;
		}
		if (u.origin === new URL(this.cdnUrl).origin) return `${this.mediaUrl}${u.pathname}${u.search}`;
		const hash = createHash("sha256").update(url).digest("base64url").slice(0, 43);
		const query = u.search ? `${encodeURIComponent(u.search)}/` : "";
		const n = 1 + ((hash.codePointAt(0) ?? 0) % 2);
		return `https://images-ext-${n}.discordapp.net/external/${hash}/${query}${u.protocol.replace(/:$/, "")}/${u.host}${u.pathname}`;
	}

	// ------------------------------------------------------------------ observation

	/** Non-ephemeral messages of a channel, oldest first. */
	messages(channel: Channel): Message[] {
		return channel.messages();
	}

	get events(): BotEvent[] {
		return this.recorder.events;
	}

	get violations(): Violation[] {
		return this.recorder.violations;
	}

	/** Every notification the bot's messages caused (users, roles, @everyone/@here), as Discord would send them. */
	get pings(): Ping[] {
		return this.recorder.pings;
	}

	get requests(): RecordedRequest[] {
		return this.recorder.requests;
	}

	/** Throws (listing them) when the bot made requests a correct bot never makes. */
	assertNoViolations(): void {
		const v = this.recorder.violations;
		if (v.length === 0 && this.internalErrors.length === 0) return;
		const lines = v.map(
			(x) =>
				`  - [${x.kind}] ${x.request} -> ${x.status}${x.code !== null ? ` (${x.code})` : ""} ${x.message}${x.errors ? ` ${JSON.stringify(x.errors)}` : ""}`,
		);
		for (const e of this.internalErrors) lines.push(`  - [emulator bug] ${e.message}`);
		throw new Error(`Discord emulator recorded ${lines.length} violation(s):\n${lines.join("\n")}`);
	}

	/** Returns and clears the recorded violations (for tests that provoke them on purpose). */
	takeViolations(): Violation[] {
		return this.recorder.violations.splice(0);
	}

	/** The commands the bot registered: global by default, or for `guildId`. */
	registeredCommands(opts: { guildId?: string | null } = {}): Json[] {
		const guildId = opts.guildId ?? null;
		return [...this.commands.values()]
			.filter((c) => c.guildId === guildId)
			.map((c) => ({
				...c.json,
				id: c.id,
				application_id: c.applicationId,
				version: c.version,
				...(c.guildId ? { guild_id: c.guildId } : {}),
			}));
	}

	/** Waits until `predicate` returns something truthy (re-checked on every emulator change). */
	waitFor<T>(
		predicate: () => T | undefined | null | false,
		opts: { timeoutMs?: number; what?: string } = {},
	): Promise<T> {
		return this.recorder.waitFor(predicate, opts);
	}

	/** Waits for the next outgoing gateway dispatch `t` (e.g. "RESUMED", "READY") after now. */
	nextDispatch(t: string, opts: { timeoutMs?: number } = {}): Promise<GatewayLogEntry> {
		const from = this.gatewayLog.length;
		return this.recorder.waitFor(
			() => this.gatewayLog.slice(from).find((e) => e.direction === "out" && e.op === 0 && e.t === t),
			{
				timeoutMs: opts.timeoutMs ?? 10_000,
				what: `gateway dispatch ${t}`,
			},
		);
	}

	/** GET /gateway/bot's recommended `shards` from now on; null: Discord's rule (one per 1,000 guilds). */
	recommendShards(count: number | null): void {
		this.recommendedShards = count;
	}

	/**
	 * From now on an IDENTIFY with fewer than `minShards` shards (or none: one) is closed 4011
	 * Sharding required, as Discord does when a session would hold too many guilds; 1 lifts it.
	 */
	requireSharding(minShards: number): void {
		this.minShards = minShards;
	}

	/** Gateway sessions that can receive dispatches, with the shard each identified with ([0, 1] if none). */
	gatewaySessions(): Array<{ id: string; shard: [number, number]; intents: number; connected: boolean }> {
		return this.gateway.liveSessions();
	}

	/** Op 7 RECONNECT: Discord asks the bot to reconnect (it should resume on resume_gateway_url). */
	requestReconnect(): void {
		this.gateway.reconnect();
	}

	/** Op 9 INVALID_SESSION, d: `resumable` (true: the bot may resume; false: it must identify again). */
	invalidateSession(opts: { resumable: boolean }): void {
		this.gateway.invalidateSession(opts.resumable);
	}

	/** Drops the bot's gateway connection (see Gateway.drop). */
	dropGateway(opts: { resumable?: boolean; code?: number } = {}): void {
		this.gateway.drop(opts);
	}

	/** The next `times` requests to `route` ("POST /channels/{channel_id}/messages", or "*") get a 429. */
	forceRateLimit(f: ForcedRateLimit): void {
		this.limiter.force(f);
	}

	/**
	 * Fault injection: the next `times` requests to `route` get `status` with `{ message, code }`
	 * (e.g. 500, or 403 code 50013 Missing Permissions), after the body was read; not violations.
	 */
	failNext(f: InjectedFailure): void {
		this.failures.push({
			route: normalizeRouteKey(f.route),
			status: f.status,
			code: f.code ?? 0,
			message: f.message ?? `${f.status}: ${f.status >= 500 ? "Internal Server Error" : "Injected failure"}`,
			times: f.times ?? 1,
		});
	}

	/**
	 * A shared (per-resource) limit on a channel, guild or "webhook_id/token", as when other users
	 * keep a channel hot; `null` lifts it. Its 429s have scope `shared` and are not violations.
	 */
	limitResource(major: string, rule: RateLimitRule | null): void {
		this.limiter.limitResource(major, rule);
	}

	/**
	 * Invalid requests (401, 403, 429 but shared-scope ones) in the current 10-minute window: what
	 * Discord counts towards its Cloudflare ban (10,000; crossing it records an "invalid-requests" violation).
	 */
	invalidRequests(): number {
		return this.limiter.invalidRequests();
	}

	/** A signed CDN url for an attachment; `issuedAt`/`ttlMs` let tests craft expired ones. */
	attachmentUrl(att: AttachmentRec, opts: { issuedAt?: number; ttlMs?: number } = {}): string {
		return this.cdn.urls(att, opts).url;
	}

	/** The bytes of an attachment (uploaded by the bot or registered by a test). */
	readAttachment(att: AttachmentRec): Promise<Buffer> {
		return readAttachment(att);
	}

	async close(): Promise<void> {
		for (const ix of this.interactions.values()) ix.disarm();
		this.recorder.dispose();
		await this.gateway.close();
		for (const server of [this.restServer, this.cdnServer, this.mediaServer]) {
			if (!server) continue;
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
		this.restServer = null;
		this.cdnServer = null;
		this.mediaServer = null;
		if (this.ownsStorage) rmSync(this.storageDir, { recursive: true, force: true });
	}
}

/** Depth-first search through action rows, sections (accessory), containers. */
function findComponents(list: Json[], pred: (c: Json) => boolean): Json[] {
	const out: Json[] = [];
	const visit = (c: unknown) => {
		if (!isObj(c)) return;
		if (pred(c)) out.push(c);
		for (const key of ["components", "items"]) if (Array.isArray(c[key])) (c[key] as unknown[]).forEach(visit);
		if (isObj(c.accessory)) visit(c.accessory);
		if (isObj(c.component)) visit(c.component);
	};
	list.forEach(visit);
	return out;
}
