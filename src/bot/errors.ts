import type { MessageKey, Params, Translate } from "../i18n/index.js";
import { ImgpileError, type ImgpileRateLimitError, type ImgpileServerError } from "../imgpile/index.js";
import { TokenDecryptError } from "../store/index.js";

/**
 * An error meant for the user: the central catch renders `key` in the user's locale, ephemerally.
 * Throw it from any handler; nothing else needs to know how to answer.
 */
export class UserError extends Error {
	override name = "UserError";
	readonly key: MessageKey;
	readonly params: Params;

	constructor(key: MessageKey, params: Params = {}) {
		super(key);
		this.key = key;
		this.params = params;
	}
}

/**
 * The one mapping of an error to what the user is told: a UserError as it is, an imgpile error
 * (`userErrorFromImgpile`), a stored token that cannot be decrypted (link it again). Anything
 * else is unexpected: `undefined`, for the caller to log (the router shows an error id).
 */
export function userErrorOf(error: unknown): UserError | undefined {
	if (error instanceof UserError) return error;
	if (isImgpileError(error)) return userErrorFromImgpile(error);
	if (error instanceof TokenDecryptError) {
		// Whatever needed the token: the link has to be made again (the key changed, or the record was damaged).
		return new UserError(error.subject === "server-token" ? "identity.serverTokenUnreadable" : "identity.unreadable");
	}
	return undefined;
}

/** `userErrorOf` as text in the user's locale; `undefined` for an unexpected error. */
export function userMessage(t: Translate, error: unknown): string | undefined {
	const shown = userErrorOf(error);
	return shown && t(shown.key, shown.params);
}

/**
 * imgpile's failures as users see them: the one place that decides. `what` names the thing
 * looked up, for 404s ("post `abc1234`").
 */
export function userErrorFromImgpile(error: ImgpileError, what = "that"): UserError {
	switch (error.kind) {
		case "unauthorized":
			return new UserError("imgpile.unauthorized");
		case "forbidden":
			return new UserError("imgpile.forbidden");
		case "not_found":
			return new UserError("imgpile.notFound", { what });
		case "validation":
		case "bad_request":
			return new UserError("imgpile.validation", { details: validationDetails(error) });
		case "rate_limited": {
			const ms = (error as ImgpileRateLimitError).retryAfterMs ?? 60_000;
			return new UserError("imgpile.rateLimited", { seconds: Math.max(1, Math.ceil(ms / 1000)) });
		}
		case "unavailable_for_legal_reasons":
			return new UserError("imgpile.notAllowed");
		case "too_large":
			return new UserError("imgpile.tooLarge");
		case "timeout":
			return new UserError("imgpile.timeout");
		case "network":
			return new UserError("imgpile.network");
		case "server":
		case "http":
			return new UserError("imgpile.server", { status: (error as ImgpileServerError).status ?? "?" });
	}
}

function validationDetails(error: ImgpileError): string {
	const fields = "errors" in error ? (error.errors as Record<string, readonly string[]>) : {};
	const messages = Object.values(fields).flat();
	if (messages.length > 0) return messages.join(" ");
	return "apiMessage" in error && typeof error.apiMessage === "string" ? error.apiMessage : error.message;
}

export function isImgpileError(error: unknown): error is ImgpileError {
	return error instanceof ImgpileError;
}
