/**
 * One REST proxy for all processes of a bot token: each process sends its Discord REST here
 * (DISCORD_API_URL=http://proxy:port/api), and one @discordjs/rest instance keeps Discord's limits
 * for all of them together — per route buckets learnt from every process's responses, and the
 * global limit (50 requests/s per token) paced evenly as one process paces itself (pacing.ts).
 *
 * Like @discordjs/proxy's `proxyRequests` (whose error answers it uses), but not that handler, which
 * - passes the incoming request stream as the body: after a 429 wait (or any retry) the request
 *   goes again with the stream already read, i.e. empty — a message becomes "Cannot send an
 *   empty message", an upload loses its files;
 * - forwards `authorization` lowercase, which the pacing does not recognise as the bot token:
 *   nothing would be paced;
 * - keeps sending a request whose caller has given up (its timeout) and will send it again;
 * - passes Discord's hop-by-hop headers on (`Connection`, `Keep-Alive`): the callers would then
 *   keep idle connections by Discord's hint, not this server's, and reuse ones it has closed.
 * Retries after 5xx and network errors stay with the caller (`retries: 0` here): the caller's
 * @discordjs/rest retries as it would without a proxy, instead of 4 × 4 attempts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { populateErrorResponse } from "@discordjs/proxy";
import { RateLimitError, REST, RESTEvents, type RequestMethod, type ResponseLike } from "@discordjs/rest";
import { Agent } from "undici";
import { pacedMakeRequest } from "../bot/pacing.js";
import type { Logger } from "../logger.js";

/** Discord's API version of every request the proxy sends (the bot's discord.js speaks v10). */
export const API_VERSION = "10";
/** Larger than any upload Discord takes (100 MiB for a level 3 guild); a body is held in memory until sent. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;
/** How long an idle caller connection stays open; announced in every answer's Keep-Alive. */
export const KEEP_ALIVE_MS = 65_000;
/**
 * Headers of Discord's answers that stay here: its buckets (the proxy keeps the limits; callers
 * must not wait on them twice) and hop-by-hop ones (this server sets its own).
 */
const NOT_PASSED_ON = /^(?:x-ratelimit-.*|connection|keep-alive|transfer-encoding)$/i;

export interface RestProxyOptions {
	/** Discord's REST base without a version, e.g. https://discord.com/api. */
	discordApiUrl: string;
	/** The bot token: requests with another Authorization are refused here, never forwarded. */
	token: string;
	port: number;
	/** Default all interfaces (the proxy serves other containers). */
	host?: string;
	logger: Logger;
	/** Discord's global limit per token (default 50); requests with the token are paced at 90% of it. */
	globalRequestsPerSecond?: number;
	/** How long `close()` lets requests in flight finish (default 20 s, inside compose's 30 s grace). */
	drainMs?: number;
}

export interface RestProxy {
	readonly port: number;
	/** What the bot processes use as DISCORD_API_URL: http://host:port/api. */
	readonly apiUrl: string;
	/** Stops taking connections, lets requests in flight finish (bounded), closes the upstream pool. */
	close(): Promise<void>;
}

export async function startRestProxy(options: RestProxyOptions): Promise<RestProxy> {
	const log = options.logger;
	const globalPerSecond = options.globalRequestsPerSecond ?? 50;
	const agent = new Agent({ connections: 32, keepAliveTimeout: 30_000 });
	const rest = new REST({
		api: options.discordApiUrl,
		version: API_VERSION,
		globalRequestsPerSecond: globalPerSecond,
		makeRequest: pacedMakeRequest(0.9 * globalPerSecond),
		retries: 0,
		// A long wait (e.g. 10 crossposts an hour per channel) is the caller's to decide on: it is
		// answered as Discord did, rather than holding the request (and the caller) for up to an hour.
		rejectOnRateLimit: (limit) => limit.retryAfter > LONG_RATE_LIMIT_MS,
	});
	rest.setAgent(agent);
	// A 429 the proxy did not see coming (a shared limit, another client of the token) is worth a line.
	rest.on(RESTEvents.Response, (request, response) => {
		if (response.status !== 429) return;
		log.warn(
			{ method: request.method, route: request.route, scope: response.headers.get("x-ratelimit-scope") },
			"Discord answered 429; waiting it out",
		);
	});
	// Not @discordjs/rest's debug lines: they name a webhook's bucket by its id/token, unscrubbable.
	// `route` is the bucket's template (`/webhooks/:id/:token`), never a token.
	rest.on(RESTEvents.RateLimited, (info) =>
		log.debug(
			{ method: info.method, route: info.route, global: info.global, waitMs: info.timeToReset },
			"waiting for a rate limit",
		),
	);

	const expected = `Bot ${options.token}`;
	let stopping = false;
	const inFlight = new Set<Promise<void>>();

	const server: Server = createServer((request, response) => {
		const handled = handle(request, response).catch((error: unknown) => {
			log.error({ err: error, method: request.method, path: request.url }, "proxy request failed");
			if (!response.headersSent) sendJson(response, 502, { message: "502: Bad Gateway", code: 0 });
			else response.destroy();
		});
		inFlight.add(handled);
		void handled.finally(() => inFlight.delete(handled));
	});

	async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
		const url = new URL(request.url ?? "/", "http://proxy");
		const method = (request.method ?? "GET").toUpperCase();
		if (url.pathname === "/healthz") {
			response.setHeader("cache-control", "no-store");
			sendJson(response, stopping ? 503 : 200, { status: stopping ? "stopping" : "ok" });
			return;
		}
		const path = /^\/api(?:\/v(\d+))?(\/.*)$/.exec(url.pathname);
		if (!path?.[2]) {
			request.resume();
			sendJson(response, 404, { message: "404: Not Found", code: 0 });
			return;
		}
		if (path[1] !== undefined && path[1] !== API_VERSION) {
			request.resume();
			sendJson(response, 400, { message: `This proxy speaks API v${API_VERSION} only`, code: 50041 });
			return;
		}
		const authorization = request.headers.authorization;
		// Interaction callbacks and webhooks carry their token in the path and no Authorization.
		if (authorization !== undefined && authorization !== expected) {
			request.resume();
			log.warn({ method, path: url.pathname }, "refused a request with another token than the bot's");
			sendJson(response, 401, { message: "401: Unauthorized", code: 0 });
			return;
		}
		const declared = Number(request.headers["content-length"] ?? 0);
		const body =
			method === "GET" || method === "HEAD" || declared > MAX_BODY_BYTES ? undefined : await readBody(request);
		if (declared > MAX_BODY_BYTES || body === null) {
			request.resume();
			sendJson(response, 413, { message: "Request entity too large", code: 40005 });
			return;
		}
		const headers: Record<string, string> = {};
		const contentType = request.headers["content-type"];
		if (contentType) headers["Content-Type"] = contentType;
		// Capitalised as @discordjs/rest names it: the pacing recognises the bot token by it.
		if (authorization) headers.Authorization = authorization;
		const reason = request.headers["x-audit-log-reason"];
		if (typeof reason === "string") headers["X-Audit-Log-Reason"] = reason;
		// A caller that gave up (timeout, shutdown) will retry on its own: its request leaves the queue unsent.
		const gone = new AbortController();
		response.once("close", () => {
			if (!response.writableFinished) gone.abort();
		});
		const started = performance.now();
		try {
			const upstream = await rest.queueRequest({
				fullRoute: path[2] as `/${string}`,
				method: method.toLowerCase() as RequestMethod,
				body: body?.length ? body : undefined,
				passThroughBody: true,
				auth: false,
				query: url.searchParams,
				headers,
				signal: gone.signal,
			});
			await passOn(response, upstream);
		} catch (error) {
			if (gone.signal.aborted) return;
			if (error instanceof RateLimitError) {
				sendRateLimited(response, error);
				return;
			}
			if (!populateErrorResponse(response, error)) throw error;
		} finally {
			response.end();
			log.debug(
				{
					method,
					path: `${url.pathname}${url.search}`,
					status: response.statusCode,
					ms: Math.round(performance.now() - started),
				},
				"proxied",
			);
		}
	}

	// Longer than the callers keep idle connections (the bot: 30 s), so they never reuse one this closed.
	server.keepAliveTimeout = KEEP_ALIVE_MS;
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
	});
	const port = (server.address() as AddressInfo).port;
	const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";
	return {
		port,
		apiUrl: `http://${host.includes(":") ? `[${host}]` : host}:${port}/api`,
		async close() {
			stopping = true;
			const closed = new Promise<void>((resolve) => server.close(() => resolve()));
			const drained = Promise.allSettled([...inFlight]).then(() => true);
			const late = new Promise<false>((resolve) => setTimeout(resolve, options.drainMs ?? 20_000, false).unref());
			if (!(await Promise.race([drained, late])))
				log.warn({ inFlight: inFlight.size }, "stopped with requests in flight");
			server.closeAllConnections();
			await closed;
			rest.clearHashSweeper();
			rest.clearHandlerSweeper();
			await agent.close();
		},
	};
}

/** Discord's answer to the caller: status, the headers meant for it, the body as it streams in. */
async function passOn(response: ServerResponse, upstream: ResponseLike): Promise<void> {
	response.statusCode = upstream.status;
	for (const [name, value] of upstream.headers) if (!NOT_PASSED_ON.test(name)) response.setHeader(name, value);
	const body = upstream.body;
	if (body) await pipeline(body instanceof Readable ? body : Readable.fromWeb(body as ReadableStream), response);
}

/** The whole body (a retry after a 429 must send the same bytes again), or null past MAX_BODY_BYTES. */
async function readBody(request: IncomingMessage): Promise<Buffer | null> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of request as AsyncIterable<Buffer>) {
		size += chunk.length;
		if (size > MAX_BODY_BYTES) return null;
		chunks.push(chunk);
	}
	return Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
	response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Rate limits longer than this are passed back to the caller instead of waited out. */
export const LONG_RATE_LIMIT_MS = 60_000;

/** Discord's own 429 for a limit the proxy will not wait out: Retry-After and a body with retry_after. */
function sendRateLimited(response: ServerResponse, error: RateLimitError): void {
	const seconds = error.retryAfter / 1000;
	response.setHeader("Retry-After", String(Math.ceil(seconds)));
	response.setHeader("X-RateLimit-Scope", error.scope);
	sendJson(response, 429, { message: "You are being rate limited.", retry_after: seconds, global: error.global });
}
