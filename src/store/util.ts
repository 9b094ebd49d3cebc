import { randomInt } from "node:crypto";
import { StoreValidationError } from "./errors.js";

/** Current time in epoch ms; injectable so tests (and the feed scheduler's tests) control time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export function isoAt(clock: Clock): string {
	return new Date(clock()).toISOString();
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Discord ids (snowflakes) and our own ids end up inside store keys: keep them free of separators. */
export function assertId(name: string, value: string): void {
	if (typeof value !== "string" || !ID_PATTERN.test(value)) {
		throw new StoreValidationError(`${name} must be 1-64 characters of [A-Za-z0-9_-], got ${JSON.stringify(value)}`);
	}
}

/**
 * The last 4 characters of a secret, for display ("…abcd"). Secrets shorter than 12 characters show
 * nothing: 4 characters would reveal too much of them.
 */
export function last4Of(secret: string): string {
	return secret.length >= 12 ? secret.slice(-4) : "";
}

export function assertSecret(name: string, value: string): void {
	if (typeof value !== "string" || value.trim().length === 0) {
		throw new StoreValidationError(`${name} must be a non-empty string`);
	}
	if (value.length > 4096) {
		throw new StoreValidationError(`${name} is too long (${value.length} characters, at most 4096)`);
	}
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Short random id from [a-z0-9] (safe in custom_ids, keys and commands). */
export function randomId(length = 10): string {
	let id = "";
	for (let i = 0; i < length; i++) {
		id += ALPHABET[randomInt(ALPHABET.length)];
	}
	return id;
}

/** A string[] from stored JSON, tolerating a missing or damaged value. */
export function asStringArray(value: unknown): string[] {
	return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/** A number[] from stored JSON, tolerating a missing or damaged value. */
export function asNumberArray(value: unknown): number[] {
	return Array.isArray(value) ? value.filter((item): item is number => typeof item === "number") : [];
}
