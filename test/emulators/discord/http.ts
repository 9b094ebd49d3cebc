/**
 * HTTP plumbing: request context, Discord-shaped errors, JSON / multipart body reading (uploaded
 * files are streamed to disk), and responses that always carry the rate-limit headers.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import busboy from "busboy";

export type ViolationKind =
	| "validation"
	| "interaction"
	| "unknown-route"
	| "auth"
	| "rate-limit"
	| "invalid-requests"
	| "gateway"
	| "permission"
	| "not-found";

/** An error answered in Discord's shape. `violation` marks requests a correct bot never makes. */
export class DiscordError extends Error {
	constructor(
		readonly status: number,
		readonly body: Record<string, unknown>,
		readonly violation: ViolationKind | null = null,
		readonly headers: Record<string, string> = {},
	) {
		super(`${status} ${String(body.message ?? "")}${body.code !== undefined ? ` (code ${String(body.code)})` : ""}`);
	}
}

export const errors = {
	notFoundRoute: () => new DiscordError(404, { message: "404: Not Found", code: 0 }, "unknown-route"),
	methodNotAllowed: () => new DiscordError(405, { message: "405: Method Not Allowed", code: 0 }, "unknown-route"),
	unauthorized: () => new DiscordError(401, { message: "401: Unauthorized", code: 0 }, "auth"),
	unknownChannel: () => new DiscordError(404, { message: "Unknown Channel", code: 10003 }),
	unknownGuild: () => new DiscordError(404, { message: "Unknown Guild", code: 10004 }),
	unknownMember: () => new DiscordError(404, { message: "Unknown Member", code: 10007 }),
	unknownMessage: () => new DiscordError(404, { message: "Unknown Message", code: 10008 }),
	unknownUser: () => new DiscordError(404, { message: "Unknown User", code: 10013 }),
	unknownWebhook: () => new DiscordError(404, { message: "Unknown Webhook", code: 10015 }),
	unknownApplication: () => new DiscordError(404, { message: "Unknown Application", code: 10002 }),
	unknownInteraction: () => new DiscordError(404, { message: "Unknown interaction", code: 10062 }, "interaction"),
	unknownCommand: () => new DiscordError(404, { message: "Unknown application command", code: 10063 }),
	alreadyAcknowledged: () =>
		new DiscordError(400, { message: "Interaction has already been acknowledged.", code: 40060 }, "interaction"),
	invalidWebhookToken: () => new DiscordError(401, { message: "Invalid Webhook Token", code: 50027 }),
	missingAccess: () => new DiscordError(403, { message: "Missing Access", code: 50001 }, "permission"),
	missingPermissions: () => new DiscordError(403, { message: "Missing Permissions", code: 50013 }, "permission"),
	cannotEditOthers: () =>
		new DiscordError(403, { message: "Cannot edit a message authored by another user", code: 50005 }, "permission"),
	/** 50007: the recipient does not take DMs from the bot (not a violation: nothing tells the bot beforehand). */
	cannotSendToUser: () => new DiscordError(403, { message: "Cannot send messages to this user", code: 50007 }),
	emptyMessage: () => new DiscordError(400, { message: "Cannot send an empty message", code: 50006 }, "validation"),
	invalidJson: () =>
		new DiscordError(400, { message: "The request body contains invalid JSON.", code: 50109 }, "validation"),
	tooLarge: () => new DiscordError(413, { message: "Request entity too large", code: 40005 }, "validation"),
	invalidFormBody: (errs: Record<string, unknown>) =>
		new DiscordError(400, { code: 50035, errors: errs, message: "Invalid Form Body" }, "validation"),
};

export interface UploadedFile {
	/** The form field name, e.g. "files[0]". */
	field: string;
	/** n of "files[n]" (or the field name when it has another form). */
	index: string;
	filename: string;
	contentType: string;
	size: number;
	path: string;
}

export interface RequestBody {
	json: unknown;
	files: UploadedFile[];
	multipart: boolean;
	raw: string | null;
}

export interface Ctx {
	req: IncomingMessage;
	res: ServerResponse;
	method: string;
	/** Path below the API base and version, e.g. `/channels/123/messages`. */
	path: string;
	query: URLSearchParams;
	headers: IncomingHttpHeaders;
	/** Headers to add to the response (rate limits). */
	responseHeaders: Record<string, string>;
}

export function sendJson(ctx: Ctx, status: number, body: unknown, extra: Record<string, string> = {}): void {
	const { res } = ctx;
	if (res.headersSent || res.destroyed) return;
	const headers: Record<string, string> = { ...ctx.responseHeaders, ...extra };
	if (status === 204) {
		res.writeHead(204, headers);
		res.end();
		return;
	}
	const payload = Buffer.from(JSON.stringify(body));
	res.writeHead(status, { "Content-Type": "application/json", ...headers, "Content-Length": String(payload.length) });
	res.end(ctx.method === "HEAD" ? undefined : payload);
}

export function sendError(ctx: Ctx, err: DiscordError): void {
	sendJson(ctx, err.status, err.body, err.headers);
}

const MAX_JSON_BYTES = 2 * 1024 * 1024;

/**
 * Reads a JSON or multipart body. Multipart: `payload_json` is the JSON body, `files[n]` parts are
 * streamed into `dir`; more than `maxUploadBytes` of files answers 413 (code 40005).
 */
export async function readRequestBody(ctx: Ctx, dir: string, maxUploadBytes: number): Promise<RequestBody> {
	const type = String(ctx.headers["content-type"] ?? "").toLowerCase();
	if (type.startsWith("multipart/form-data")) return readMultipart(ctx, dir, maxUploadBytes);
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
		size += chunk.length;
		if (size > MAX_JSON_BYTES) {
			ctx.req.resume();
			throw errors.tooLarge();
		}
		chunks.push(chunk);
	}
	const raw = Buffer.concat(chunks).toString("utf8");
	if (raw.trim() === "") return { json: undefined, files: [], multipart: false, raw };
	try {
		return { json: JSON.parse(raw), files: [], multipart: false, raw };
	} catch {
		throw errors.invalidJson();
	}
}

async function readMultipart(ctx: Ctx, dir: string, maxUploadBytes: number): Promise<RequestBody> {
	const files: UploadedFile[] = [];
	const fields = new Map<string, string>();
	let total = 0;
	let tooLarge = false;
	const writes: Promise<void>[] = [];
	await new Promise<void>((resolve, reject) => {
		let bb: busboy.Busboy;
		try {
			bb = busboy({ headers: ctx.headers, limits: { fieldSize: MAX_JSON_BYTES } });
		} catch (err) {
			reject(err);
			return;
		}
		bb.on("field", (name, value) => {
			fields.set(name, value);
		});
		bb.on("file", (name, stream, info) => {
			const path = join(dir, `upload-${randomUUID()}`);
			const match = /^files\[(\d+)\]$/.exec(name) ?? /^file(\d*)$/.exec(name);
			const file: UploadedFile = {
				field: name,
				index: match ? match[1] || "0" : name,
				filename: info.filename || "unknown",
				contentType: info.mimeType || "application/octet-stream",
				size: 0,
				path,
			};
			files.push(file);
			stream.on("data", (chunk: Buffer) => {
				file.size += chunk.length;
				total += chunk.length;
				if (total > maxUploadBytes) tooLarge = true;
			});
			writes.push(pipeline(stream, createWriteStream(path)));
		});
		bb.on("close", () => resolve());
		bb.on("error", (err) => reject(err));
		ctx.req.pipe(bb);
	}).catch(() => {
		throw errors.invalidFormBody({ _errors: [{ code: "BASE_TYPE_INVALID", message: "Malformed multipart body." }] });
	});
	await Promise.all(writes);
	if (tooLarge) throw errors.tooLarge();
	const payload = fields.get("payload_json");
	let json: unknown;
	if (payload !== undefined) {
		try {
			json = JSON.parse(payload);
		} catch {
			throw errors.invalidJson();
		}
	} else {
		const obj: Record<string, unknown> = {};
		for (const [k, v] of fields) obj[k] = v;
		json = obj;
	}
	return { json, files, multipart: true, raw: payload ?? null };
}
