/**
 * Errors raised by the store. None of them ever carries a token (plain or sealed) or a key.
 */

/** The encryption key is missing, malformed or unreadable (a configuration problem, fatal at startup). */
export class StoreKeyError extends Error {
	override name = "StoreKeyError";
}

export type TokenDecryptReason = "key_mismatch" | "auth_failed" | "malformed";

/**
 * A stored token could not be decrypted. Callers should treat the token as unusable (ask the user to
 * link it again) rather than as absent: `reason` tells whether the whole key changed (`key_mismatch`)
 * or this one record is damaged or was moved to another record (`auth_failed`, `malformed`).
 */
export class TokenDecryptError extends Error {
	override name = "TokenDecryptError";
	readonly reason: TokenDecryptReason;
	/** Whose token it is: a user's link, or a guild's shared server token (set by the guild repository). */
	subject: "link" | "server-token" = "link";

	constructor(reason: TokenDecryptReason, message: string, options?: ErrorOptions) {
		super(message, options);
		this.reason = reason;
	}
}

/** The store URL or options are not usable (unsupported scheme, bad path). */
export class StoreConfigError extends Error {
	override name = "StoreConfigError";
}

/** A repository was asked to store a value that breaks its rules (programming error in the caller). */
export class StoreValidationError extends Error {
	override name = "StoreValidationError";
}

/**
 * A write made under a lease (the feed leader's) was refused because that lease is no longer held
 * with this fencing token: another process took over. The writer must stop acting as leader.
 */
export class StoreFencedError extends Error {
	override name = "StoreFencedError";

	constructor(fence: { lease: string; token: number } | undefined) {
		super(`the ${fence?.lease} lease is no longer held with fencing token ${fence?.token}`);
	}
}
