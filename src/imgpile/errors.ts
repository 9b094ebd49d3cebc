import type { ErrorBody } from "./types.js";

/**
 * What went wrong, as a discriminator that callers (the bot's error mapping) can switch on.
 * One kind per documented status, plus transport failures and client-side refusals.
 */
export type ImgpileErrorKind =
	| "bad_request"
	| "unauthorized"
	| "forbidden"
	| "not_found"
	| "validation"
	| "rate_limited"
	| "unavailable_for_legal_reasons"
	| "server"
	| "http"
	| "network"
	| "timeout"
	| "too_large";

export interface RequestInfo {
	method: string;
	/** URL path only: never the query (a private post's `key`) and never the token. */
	path: string;
}

export class ImgpileError extends Error {
	/** Every subclass is named after itself, without repeating the name. */
	override name = this.constructor.name;
	readonly kind: ImgpileErrorKind;
	readonly method: string;
	readonly path: string;
	/** Whether repeating the same request later may succeed. */
	readonly retryable: boolean;

	constructor(
		kind: ImgpileErrorKind,
		message: string,
		request: RequestInfo,
		retryable: boolean,
		options?: ErrorOptions,
	) {
		super(message, options);
		this.kind = kind;
		this.method = request.method;
		this.path = request.path;
		this.retryable = retryable;
	}
}

/** The service answered with an error status. */
export class ImgpileHttpError extends ImgpileError {
	readonly status: number;
	/** imgpile's own `message` (or `error`) text, when the body had one. */
	readonly apiMessage: string | undefined;

	constructor(
		kind: ImgpileErrorKind,
		status: number,
		body: ErrorBody | undefined,
		request: RequestInfo,
		retryable = false,
	) {
		const apiMessage = body?.message ?? body?.error;
		super(
			kind,
			`imgpile ${request.method} ${request.path} failed with ${status}${apiMessage ? `: ${apiMessage}` : ""}`,
			request,
			retryable,
		);
		this.status = status;
		this.apiMessage = apiMessage;
	}
}

/** One class per status, so callers can tell them apart with instanceof. */
export class ImgpileBadRequestError extends ImgpileHttpError {}
export class ImgpileUnauthorizedError extends ImgpileHttpError {}
export class ImgpileForbiddenError extends ImgpileHttpError {}
export class ImgpileNotFoundError extends ImgpileHttpError {}
export class ImgpileUnavailableForLegalReasonsError extends ImgpileHttpError {}
export class ImgpileServerError extends ImgpileHttpError {}

export class ImgpileValidationError extends ImgpileHttpError {
	/** Field name → messages, as imgpile's 422 body gives them. */
	readonly errors: Readonly<Record<string, readonly string[]>>;

	constructor(status: number, body: ErrorBody | undefined, request: RequestInfo) {
		super("validation", status, body, request);
		this.errors = body?.errors ?? {};
	}
}

export class ImgpileRateLimitError extends ImgpileHttpError {
	/** How long imgpile asked us to wait, from `Retry-After`; undefined when it did not say. */
	readonly retryAfterMs: number | undefined;

	constructor(status: number, body: ErrorBody | undefined, request: RequestInfo, retryAfterMs: number | undefined) {
		super("rate_limited", status, body, request, true);
		this.retryAfterMs = retryAfterMs;
	}
}

/** The request never got an answer: refused, reset, or closed mid-way. */
export class ImgpileNetworkError extends ImgpileError {
	readonly code: string | undefined;

	constructor(request: RequestInfo, cause: unknown) {
		const code = errorCode(cause);
		super(
			"network",
			`imgpile ${request.method} ${request.path}: network error${code ? ` (${code})` : ""}`,
			request,
			true,
			{
				cause,
			},
		);
		this.code = code;
	}
}

export type TimeoutPhase = "connect" | "headers" | "body";

export class ImgpileTimeoutError extends ImgpileError {
	readonly phase: TimeoutPhase;

	constructor(request: RequestInfo, phase: TimeoutPhase, cause?: unknown) {
		super("timeout", `imgpile ${request.method} ${request.path}: timed out waiting for ${phase}`, request, true, {
			cause,
		});
		this.phase = phase;
	}
}

/** Refused by the client before (or while) sending: the file is over imgpile's size limit. */
export class ImgpileFileTooLargeError extends ImgpileError {
	readonly limitBytes: number;
	readonly sizeBytes: number | undefined;

	constructor(request: RequestInfo, limitBytes: number, sizeBytes?: number) {
		super(
			"too_large",
			`file is larger than imgpile's limit of ${limitBytes} bytes${sizeBytes === undefined ? "" : ` (${sizeBytes} bytes)`}`,
			request,
			false,
		);
		this.limitBytes = limitBytes;
		this.sizeBytes = sizeBytes;
	}
}

/** Maps an error status and body to the one class that stands for it. */
export function httpError(
	status: number,
	body: ErrorBody | undefined,
	request: RequestInfo,
	retryAfterMs: number | undefined,
): ImgpileHttpError {
	switch (status) {
		case 400:
			return new ImgpileBadRequestError("bad_request", status, body, request);
		case 401:
			return new ImgpileUnauthorizedError("unauthorized", status, body, request);
		case 403:
			return new ImgpileForbiddenError("forbidden", status, body, request);
		case 404:
			return new ImgpileNotFoundError("not_found", status, body, request);
		case 422:
			return new ImgpileValidationError(status, body, request);
		case 429:
			return new ImgpileRateLimitError(status, body, request, retryAfterMs);
		case 451:
			return new ImgpileUnavailableForLegalReasonsError("unavailable_for_legal_reasons", status, body, request);
		default:
			return status >= 500
				? new ImgpileServerError("server", status, body, request, true)
				: new ImgpileHttpError("http", status, body, request);
	}
}

export function errorCode(error: unknown): string | undefined {
	if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
		return error.code;
	}
	return undefined;
}
