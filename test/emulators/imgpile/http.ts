/**
 * HTTP plumbing shared by the emulator's listeners: the per-request context, JSON
 * responses (always with the rate-limit headers when the request was counted), body
 * reading, and Laravel-style errors.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { finished } from "node:stream/promises";
import type { UserRec } from "./state.js";

export type Listener = "api" | "cdn";

export interface RecordedRequest {
	listener: Listener;
	method: string;
	/** URL path without the query, e.g. `/api/v1/posts`. */
	path: string;
	/** Query parameters (last value wins for repeated names). */
	query: Record<string, string>;
	/** The authenticated user (valid Bearer token), else null. */
	username: string | null;
	/** Response status; 0 when no response was sent (socket reset or client gone). */
	status: number;
	/** Request body bytes the emulator read. */
	bodyBytes: number;
	/** Request headers as received (extra, for assertions on e.g. user-agent). */
	headers: IncomingHttpHeaders;
}

export interface RateInfo {
	limit: number;
	remaining: number;
}

export interface Ctx {
	listener: Listener;
	req: IncomingMessage;
	res: ServerResponse;
	method: string;
	path: string;
	url: URL;
	query: URLSearchParams;
	user: UserRec | null;
	record: RecordedRequest;
	/** Rate-limit headers to attach to every response of this request (null: none). */
	rate: RateInfo | null;
}

export class HttpError extends Error {
	constructor(
		readonly status: number,
		readonly body: unknown,
		readonly headers: Record<string, string> = {},
	) {
		super(`HTTP ${status}`);
	}
}

export const notFound = (): HttpError => new HttpError(404, { message: "Not found." });
export const unauthenticated = (): HttpError => new HttpError(401, { message: "Unauthenticated." });
export const forbidden = (): HttpError => new HttpError(403, { message: "This action is unauthorized." });
export const tooManyAttempts = (retryAfter: number): HttpError =>
	new HttpError(429, { message: "Too Many Attempts." }, { "Retry-After": String(retryAfter) });

/** Collects Laravel validation messages per field; `throwIfAny` answers 422. */
export class ValidationErrors {
	private readonly errors: Record<string, string[]> = {};

	add(field: string, message: string): void {
		const list = this.errors[field] ?? [];
		list.push(message);
		this.errors[field] = list;
	}

	has(field: string): boolean {
		return field in this.errors;
	}

	get any(): boolean {
		return Object.keys(this.errors).length > 0;
	}

	toError(): HttpError {
		const all = Object.values(this.errors).flat();
		const more = all.length - 1;
		const message = more > 0 ? `${all[0]} (and ${more} more error${more === 1 ? "" : "s"})` : (all[0] ?? "");
		return new HttpError(422, { message, errors: this.errors });
	}

	throwIfAny(): void {
		if (this.any) throw this.toError();
	}
}

function rateHeaders(ctx: Ctx): Record<string, string> {
	if (!ctx.rate) return {};
	return {
		"X-RateLimit-Limit": String(ctx.rate.limit),
		"X-RateLimit-Remaining": String(ctx.rate.remaining),
	};
}

/** Sends a response with the request's rate-limit headers; `extra` headers override them. */
export function sendRaw(ctx: Ctx, status: number, body: Buffer | string, extra: Record<string, string> = {}): void {
	const { res } = ctx;
	if (res.headersSent || res.destroyed) return;
	const payload = typeof body === "string" ? Buffer.from(body) : body;
	const headers: Record<string, string> = {
		"Content-Type": "application/json",
		...rateHeaders(ctx),
		...extra,
		"Content-Length": String(payload.length),
	};
	ctx.record.status = status;
	res.writeHead(status, headers);
	res.end(ctx.method === "HEAD" ? undefined : payload);
}

export function sendJson(ctx: Ctx, status: number, body: unknown, extra: Record<string, string> = {}): void {
	sendRaw(ctx, status, JSON.stringify(body), extra);
}

export function sendError(ctx: Ctx, err: HttpError): void {
	sendJson(ctx, err.status, err.body, err.headers);
}

/** Counts request body bytes into the record; idempotent. Call before consuming the body. */
export function trackBody(ctx: Ctx): void {
	const req = ctx.req as IncomingMessage & { __imgpileTracked?: boolean };
	if (req.__imgpileTracked) return;
	req.__imgpileTracked = true;
	req.on("data", (chunk: Buffer) => {
		ctx.record.bodyBytes += chunk.length;
	});
}

/** Reads and discards the whole request body. Resolves when it ended (or the client went away). */
export async function drainBody(ctx: Ctx): Promise<void> {
	trackBody(ctx);
	ctx.req.resume();
	await finished(ctx.req).catch(() => undefined);
}

const MAX_JSON_BYTES = 1024 * 1024;

/** Reads the request body (at most 1 MiB, else 413). */
export async function readBody(ctx: Ctx): Promise<Buffer> {
	trackBody(ctx);
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
		size += chunk.length;
		if (size > MAX_JSON_BYTES) {
			ctx.req.resume();
			throw new HttpError(413, { message: "Payload too large." });
		}
		chunks.push(chunk);
	}
	return Buffer.concat(chunks);
}

function parseForm(text: string): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [rawKey, value] of new URLSearchParams(text)) {
		if (rawKey.endsWith("[]")) {
			const key = rawKey.slice(0, -2);
			const list = Array.isArray(out[key]) ? (out[key] as unknown[]) : [];
			list.push(value);
			out[key] = list;
		} else {
			out[rawKey] = value;
		}
	}
	return out;
}

/**
 * Reads a JSON (or urlencoded form) body into an object. An empty body is `{}`; a JSON
 * value that is not an object is treated as `{}` (as Laravel's input bag would);
 * unparsable JSON answers 400 `{"message":"Malformed JSON."}`.
 */
export async function readInput(ctx: Ctx): Promise<Record<string, unknown>> {
	const raw = await readBody(ctx);
	const text = raw.toString("utf8");
	const type = String(ctx.req.headers["content-type"] ?? "").toLowerCase();
	if (type.includes("application/x-www-form-urlencoded")) return parseForm(text);
	if (text.trim() === "") return {};
	const looksJson = type.includes("json") || (type === "" && /^\s*[[{]/.test(text));
	if (!looksJson) return {};
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		throw new HttpError(400, { message: "Malformed JSON." });
	}
	return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Laravel's TrimStrings + ConvertEmptyStringsToNull on one input value. */
export function normalizeInput(value: unknown): unknown {
	if (typeof value !== "string") return value;
	const trimmed = value.trim();
	return trimmed === "" ? null : trimmed;
}

/** Length in characters (code points), as PHP's mb_strlen counts. */
export function charLength(s: string): number {
	let n = 0;
	for (const _ of s) n++;
	return n;
}

/** Laravel's `boolean` rule: true, false, 1, 0, "1", "0". */
export function parseBool(value: unknown): boolean | undefined {
	if (value === true || value === 1 || value === "1") return true;
	if (value === false || value === 0 || value === "0") return false;
	return undefined;
}

/** A query flag as `$request->boolean()` reads it: "1", "true", "on", "yes". */
export function queryFlag(value: string | null): boolean {
	return value !== null && ["1", "true", "on", "yes"].includes(value.toLowerCase());
}

/** Laravel's `integer` rule: integers or integer strings. */
export function parseInteger(value: unknown): number | undefined {
	if (typeof value === "number" && Number.isInteger(value)) return value;
	if (typeof value === "string" && /^[+-]?\d+$/.test(value.trim())) return Number.parseInt(value, 10);
	return undefined;
}
