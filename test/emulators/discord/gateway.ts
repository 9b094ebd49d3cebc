/**
 * The gateway: a `ws` server on the REST listener (path /gateway). HELLO, IDENTIFY (token and
 * intents checked), READY + one GUILD_CREATE per guild, HEARTBEAT/ACK, sequence numbers, RESUME
 * with replay of missed dispatches then RESUMED, INVALID_SESSION (op 9, d: true resumable or
 * false), RECONNECT (op 7). Each session gets its own `resume_gateway_url` (a path on the same
 * listener, standing for Discord's per-session gateway node): a RESUME on a new connection to any
 * other URL, e.g. the plain gateway URL, is answered INVALID_SESSION d: false, as on Discord, and
 * recorded as a violation. JSON encoding; payload
 * compression (`compress: true` in IDENTIFY) and `compress=zlib-stream` are supported too,
 * although discord.js without zlib-sync (the default here) negotiates neither.
 *
 * Sharding as on Discord: IDENTIFY may carry `shard: [id, count]`; a guild's events (and its
 * GUILD_CREATE after READY) reach only sessions of shard `(guild_id >> 22) % count`, events without
 * a guild (DMs) only shard 0; without `shard` a session gets everything, as with [0, 1]. Several
 * sessions may hold the same shard, or use different counts (Discord routes each by its own).
 * Identify limits: one IDENTIFY per bucket (`shard_id % max_concurrency`) per window (5 s);
 * another in the window is answered INVALID_SESSION d: false, as on Discord, and recorded as a
 * violation. Each IDENTIFY uses one session start; with none left Discord ends every session and
 * resets the token: here the connection closes 4004 and it is a violation.
 *
 * Close codes: 4001 unknown opcode, 4002 decode error, 4003 not authenticated, 4004 bad token,
 * 4005 already authenticated, 4009 heartbeat missed (session timed out), 4010 invalid shard (id
 * outside 0..count-1, count < 1, not two integers), 4011 sharding required (count below what the
 * emulator requires), 4012 invalid API version, 4013 invalid intents, 4014 disallowed (privileged)
 * intents.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import zlib from "node:zlib";
import { type WebSocket, WebSocketServer } from "ws";
import { Intents } from "./state.js";

export interface GatewayLogEntry {
	at: number;
	direction: "in" | "out" | "close";
	op: number;
	t?: string | null;
	s?: number | null;
	sessionId?: string;
	code?: number;
}

export interface GatewayHost {
	botToken: string;
	heartbeatIntervalMs: number;
	privilegedIntents: { guildMembers: boolean; presences: boolean; messageContent: boolean };
	/** ws://host:port of the listener (resume URLs are paths on it). */
	baseUrl(): string;
	/** `shard`: what IDENTIFY asked for, if it did (READY then carries it). */
	readyPayload(sessionId: string, shard: [number, number] | null, resumeGatewayUrl: string): Record<string, unknown>;
	/**
	 * What follows READY for each guild: GUILD_CREATE, or GUILD_DELETE { unavailable: true } during
	 * an outage (`d.id` is the guild's id).
	 */
	guildAnnouncements(): Array<{ t: "GUILD_CREATE" | "GUILD_DELETE"; d: Record<string, unknown> }>;
	/** IDENTIFYs per bucket and window (`max_concurrency`), and the window (0: no check). */
	identifyConcurrency: number;
	identifyWindowMs: number;
	/** The fewest shards a session may identify with (1 unless a test requires sharding). */
	requiredShards(): number;
	/** Uses one session start; false when none were left. */
	startSession(): boolean;
	log(entry: GatewayLogEntry): void;
	violation(message: string): void;
	changed(): void;
}

const KNOWN_INTENTS = (1 << 26) - 1;

/** `[shard_id, num_shards]`: two integers, at least one shard, the id one of them. */
function validShard(shard: unknown): shard is [number, number] {
	if (!Array.isArray(shard) || shard.length !== 2) return false;
	const [id, count] = shard as unknown[];
	return (
		Number.isInteger(id) &&
		Number.isInteger(count) &&
		(count as number) >= 1 &&
		(id as number) >= 0 &&
		(id as number) < (count as number)
	);
}

/** The shard that receives a guild's events: Discord's `(guild_id >> 22) % num_shards`. */
export function shardOf(guildId: string, count: number): number {
	return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

/** Where sessions resume: `/gateway/resume/{node}` (Discord: a per-session host like gateway-us-east1-b). */
export const RESUME_PATH = /^\/gateway\/resume\/([0-9a-f]{16})$/;

class Session {
	seq = 0;
	conn: Connection | null = null;
	invalid = false;
	readonly log: Array<{ s: number; text: string }> = [];
	/** The path of this session's resume_gateway_url. */
	readonly resumePath = `/gateway/resume/${randomBytes(8).toString("hex")}`;

	constructor(
		readonly id: string,
		readonly intents: number,
		readonly shard: [number, number],
	) {}

	/** Whether this session gets the events of `guildId` (null: events without a guild, shard 0's). */
	receives(guildId: string | null): boolean {
		const [id, count] = this.shard;
		return guildId === null ? id === 0 : shardOf(guildId, count) === id;
	}
}

class Connection {
	session: Session | null = null;
	private watchdog: NodeJS.Timeout | null = null;
	private deflate: zlib.Deflate | null = null;
	private sendChain: Promise<void> = Promise.resolve();
	payloadCompression = false;
	closed = false;

	constructor(
		readonly ws: WebSocket,
		/** The URL path the client connected to (the gateway, or a session's resume URL). */
		readonly path: string,
		readonly zlibStream: boolean,
		private readonly onTimeout: () => void,
		private readonly heartbeatMs: number,
	) {
		if (zlibStream) this.deflate = zlib.createDeflate({ chunkSize: 65535 });
		this.armWatchdog();
	}

	armWatchdog(): void {
		if (this.watchdog) clearTimeout(this.watchdog);
		this.watchdog = setTimeout(() => this.onTimeout(), Math.round(this.heartbeatMs * 1.5) + 1000);
		this.watchdog.unref();
	}

	send(payload: Record<string, unknown>): void {
		const text = JSON.stringify(payload);
		this.sendText(text);
	}

	sendText(text: string): void {
		if (this.closed) return;
		if (this.deflate) {
			const deflate = this.deflate;
			this.sendChain = this.sendChain.then(
				() =>
					new Promise<void>((resolve) => {
						const chunks: Buffer[] = [];
						const onData = (c: Buffer) => chunks.push(c);
						deflate.on("data", onData);
						deflate.write(text);
						deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
							deflate.off("data", onData);
							if (!this.closed) this.ws.send(Buffer.concat(chunks));
							resolve();
						});
					}),
			);
			return;
		}
		if (this.payloadCompression) {
			this.ws.send(zlib.deflateSync(text));
			return;
		}
		this.ws.send(text);
	}

	close(code: number, reason = ""): void {
		if (this.closed) return;
		this.closed = true;
		if (this.watchdog) clearTimeout(this.watchdog);
		try {
			this.ws.close(code, reason);
		} catch {
			this.ws.terminate();
		}
	}

	dispose(): void {
		this.closed = true;
		if (this.watchdog) clearTimeout(this.watchdog);
		this.deflate?.close();
	}
}

export class Gateway {
	private readonly wss = new WebSocketServer({ noServer: true });
	private readonly sessions = new Map<string, Session>();
	private readonly connections = new Set<Connection>();
	/** When each identify bucket (`shard_id % max_concurrency`) last took an IDENTIFY. */
	private readonly identifiedAt = new Map<number, number>();

	constructor(private readonly host: GatewayHost) {}

	/** max_concurrency: IDENTIFYs per bucket and window. */
	get identifyConcurrency(): number {
		return this.host.identifyConcurrency;
	}

	get connected(): boolean {
		return [...this.connections].some((c) => c.session !== null && !c.closed);
	}

	/** True when some session can receive dispatches (of `guildId`, if given) now or on resume. */
	hasSession(guildId?: string | null): boolean {
		return [...this.sessions.values()].some((s) => !s.invalid && (guildId === undefined || s.receives(guildId)));
	}

	/** The sessions that can receive dispatches now or on resume, with their shard. */
	liveSessions(): Array<{ id: string; shard: [number, number]; intents: number; connected: boolean }> {
		return [...this.sessions.values()]
			.filter((s) => !s.invalid)
			.map((s) => ({ id: s.id, shard: s.shard, intents: s.intents, connected: s.conn !== null && !s.conn.closed }));
	}

	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
		this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
	}

	private onConnection(ws: WebSocket, req: IncomingMessage): void {
		const url = new URL(req.url ?? "/", "http://gateway.local");
		const compress = url.searchParams.get("compress");
		const conn = new Connection(
			ws,
			url.pathname.replace(/\/+$/, ""),
			compress === "zlib-stream",
			() => {
				this.host.log({ at: Date.now(), direction: "close", op: -1, code: 4009, sessionId: conn.session?.id });
				conn.close(4009, "Session timed out");
			},
			this.host.heartbeatIntervalMs,
		);
		this.connections.add(conn);
		ws.on("close", (code) => {
			this.connections.delete(conn);
			conn.dispose();
			const session = conn.session;
			if (session && session.conn === conn) {
				session.conn = null;
				// A normal close ends the session (Discord does not let it be resumed).
				if (code === 1000 || code === 1001) session.invalid = true;
			}
			this.host.log({ at: Date.now(), direction: "close", op: -1, code, sessionId: session?.id });
			this.host.changed();
		});
		ws.on("error", () => undefined);
		const v = url.searchParams.get("v");
		if (v !== null && v !== "10" && v !== "9") {
			conn.close(4012, "Invalid API version");
			return;
		}
		const encoding = url.searchParams.get("encoding") ?? "json";
		if (encoding !== "json") {
			this.host.violation(`gateway: encoding=${encoding} is not supported by the emulator (json only)`);
			conn.close(4002, "Decode error");
			return;
		}
		if (compress !== null && compress !== "zlib-stream") {
			conn.close(4002, "Decode error");
			return;
		}
		ws.on("message", (data, isBinary) => this.onMessage(conn, data as Buffer, isBinary));
		this.out(conn, {
			op: 10,
			d: { heartbeat_interval: this.host.heartbeatIntervalMs, _trace: ["emulator"] },
			s: null,
			t: null,
		});
	}

	private out(conn: Connection, payload: Record<string, unknown>): void {
		conn.send(payload);
		this.host.log({
			at: Date.now(),
			direction: "out",
			op: payload.op as number,
			t: (payload.t as string | null) ?? null,
			s: (payload.s as number | null) ?? null,
			sessionId: conn.session?.id,
		});
		this.host.changed();
	}

	private onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
		let payload: { op?: unknown; d?: unknown };
		try {
			const text = isBinary ? zlib.inflateSync(data).toString("utf8") : data.toString("utf8");
			payload = JSON.parse(text) as { op?: unknown; d?: unknown };
		} catch {
			this.host.violation("gateway: undecodable payload");
			conn.close(4002, "Error while decoding payload.");
			return;
		}
		const op = typeof payload.op === "number" ? payload.op : -1;
		this.host.log({ at: Date.now(), direction: "in", op, sessionId: conn.session?.id });
		conn.armWatchdog();
		switch (op) {
			case 1:
				this.out(conn, { op: 11, d: null, s: null, t: null });
				return;
			case 2:
				this.identify(conn, payload.d);
				return;
			case 6:
				this.resume(conn, payload.d);
				return;
			case 3:
			case 4:
			case 8:
				if (!conn.session) {
					conn.close(4003, "Not authenticated.");
				}
				return;
			default:
				this.host.violation(`gateway: unknown opcode ${String(payload.op)}`);
				conn.close(4001, "Unknown opcode.");
		}
	}

	private tokenOk(token: unknown): boolean {
		if (typeof token !== "string") return false;
		const t = token.startsWith("Bot ") ? token.slice(4) : token;
		return t === this.host.botToken;
	}

	private identify(conn: Connection, d: unknown): void {
		if (conn.session) {
			this.host.violation("gateway: IDENTIFY sent twice on one connection");
			conn.close(4005, "Already authenticated.");
			return;
		}
		const body = (d ?? {}) as { token?: unknown; intents?: unknown; shard?: unknown; compress?: unknown };
		if (!this.tokenOk(body.token)) {
			conn.close(4004, "Authentication failed.");
			return;
		}
		const intents = typeof body.intents === "number" ? body.intents : Number.NaN;
		if (!Number.isInteger(intents) || intents < 0 || (intents & ~KNOWN_INTENTS) !== 0) {
			conn.close(4013, "Invalid intent(s).");
			return;
		}
		const p = this.host.privilegedIntents;
		if (
			((intents & Intents.GuildMembers) !== 0 && !p.guildMembers) ||
			((intents & Intents.GuildPresences) !== 0 && !p.presences) ||
			((intents & Intents.MessageContent) !== 0 && !p.messageContent)
		) {
			conn.close(4014, "Disallowed intent(s).");
			return;
		}
		const shard = body.shard === undefined ? null : body.shard;
		if (shard !== null && !validShard(shard)) {
			conn.close(4010, "Invalid shard.");
			return;
		}
		if ((shard?.[1] ?? 1) < this.host.requiredShards()) {
			conn.close(4011, "Sharding required.");
			return;
		}
		if (!this.host.startSession()) {
			this.host.violation(
				"gateway: IDENTIFY with no session starts left (Discord ends every session and resets the token)",
			);
			conn.close(4004, "Authentication failed.");
			return;
		}
		const bucket = (shard?.[0] ?? 0) % this.host.identifyConcurrency;
		const last = this.identifiedAt.get(bucket);
		const now = Date.now();
		if (this.host.identifyWindowMs > 0 && last !== undefined && now - last < this.host.identifyWindowMs) {
			this.host.violation(
				`gateway: IDENTIFY of shard ${shard?.[0] ?? 0} ${now - last} ms after another in its bucket (${bucket}); max_concurrency ${this.host.identifyConcurrency} allows one per ${this.host.identifyWindowMs} ms`,
			);
			this.out(conn, { op: 9, d: false, s: null, t: null });
			return;
		}
		this.identifiedAt.set(bucket, now);
		conn.payloadCompression = body.compress === true;
		const session = new Session(randomBytes(16).toString("hex"), intents, shard ?? [0, 1]);
		this.sessions.set(session.id, session);
		session.conn = conn;
		conn.session = session;
		this.sendDispatch(
			session,
			"READY",
			this.host.readyPayload(session.id, shard, `${this.host.baseUrl()}${session.resumePath}`),
		);
		for (const { t, d } of this.host.guildAnnouncements()) {
			if (session.receives(String(d.id))) this.sendDispatch(session, t, d);
		}
	}

	private resume(conn: Connection, d: unknown): void {
		const body = (d ?? {}) as { token?: unknown; session_id?: unknown; seq?: unknown };
		if (!this.tokenOk(body.token)) {
			conn.close(4004, "Authentication failed.");
			return;
		}
		const session = typeof body.session_id === "string" ? this.sessions.get(body.session_id) : undefined;
		if (!session || session.invalid) {
			this.out(conn, { op: 9, d: false, s: null, t: null });
			return;
		}
		if (conn.session !== session && conn.path !== session.resumePath) {
			// Discord: resume on the session's resume_gateway_url; anywhere else the session is unknown.
			this.host.violation(
				`gateway: RESUME on ${conn.path || "/"} instead of the session's resume_gateway_url (${session.resumePath})`,
			);
			this.out(conn, { op: 9, d: false, s: null, t: null });
			return;
		}
		const seq = typeof body.seq === "number" ? body.seq : 0;
		if (seq > session.seq) {
			conn.close(4007, "Invalid seq.");
			return;
		}
		if (session.conn && session.conn !== conn) session.conn.close(4000, "Session resumed elsewhere");
		session.conn = conn;
		conn.session = session;
		for (const entry of session.log) {
			if (entry.s > seq) conn.sendText(entry.text);
		}
		this.sendDispatch(session, "RESUMED", { _trace: ["emulator"] });
	}

	private sendDispatch(session: Session, t: string, d: unknown): void {
		session.seq++;
		const payload = { op: 0, t, s: session.seq, d };
		const text = JSON.stringify(payload);
		session.log.push({ s: session.seq, text });
		if (session.log.length > 2000) session.log.shift();
		const conn = session.conn;
		if (conn && !conn.closed) conn.sendText(text);
		this.host.log({ at: Date.now(), direction: "out", op: 0, t, s: session.seq, sessionId: session.id });
		this.host.changed();
	}

	/**
	 * Dispatch to every live (or resumable) session whose intents include `intent` and whose shard
	 * gets `guildId`'s events (null: an event without a guild, for shard 0); `d` may be a function
	 * of the session's intents (e.g. to blank message content without MessageContent).
	 */
	dispatch(
		t: string,
		d: unknown | ((intents: number) => unknown),
		intent: number | undefined,
		guildId: string | null,
	): number {
		let n = 0;
		for (const session of this.sessions.values()) {
			if (session.invalid) continue;
			if (intent !== undefined && (session.intents & intent) === 0) continue;
			if (!session.receives(guildId)) continue;
			this.sendDispatch(session, t, typeof d === "function" ? (d as (i: number) => unknown)(session.intents) : d);
			n++;
		}
		return n;
	}

	sessionIntents(): number[] {
		return [...this.sessions.values()].filter((s) => !s.invalid).map((s) => s.intents);
	}

	/**
	 * Drops the bot's connection(s). Resumable (default): close code 4000, the client resumes and
	 * gets what it missed. Not resumable: the session is invalidated and INVALID_SESSION (d: false)
	 * is sent, so the client identifies again.
	 */
	drop(opts: { resumable?: boolean; code?: number } = {}): void {
		if (!(opts.resumable ?? true)) {
			this.invalidateSession(false);
			return;
		}
		for (const conn of [...this.connections]) {
			if (conn.session) conn.close(opts.code ?? 4000, "Emulator dropped the connection");
		}
	}

	/** Op 7 RECONNECT on every live connection: the client should reconnect and resume. */
	reconnect(): number {
		let n = 0;
		for (const conn of [...this.connections]) {
			if (!conn.session || conn.closed) continue;
			this.out(conn, { op: 7, d: null, s: null, t: null });
			n++;
		}
		return n;
	}

	/**
	 * Op 9 INVALID_SESSION on every live connection. `resumable: true` (d: true): the session stays
	 * and the client may resume it; false: the session ends and the client must identify again.
	 */
	invalidateSession(resumable: boolean): number {
		let n = 0;
		for (const conn of [...this.connections]) {
			if (!conn.session || conn.closed) continue;
			if (!resumable) conn.session.invalid = true;
			this.out(conn, { op: 9, d: resumable, s: null, t: null });
			n++;
		}
		return n;
	}

	async close(): Promise<void> {
		for (const conn of this.connections) conn.close(1001, "Emulator closing");
		for (const client of this.wss.clients) client.terminate();
		await new Promise<void>((resolve) => this.wss.close(() => resolve()));
	}
}
