import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { SecretRegistry } from "../logger.js";
import { StoreKeyError, TokenDecryptError } from "./errors.js";
import type { Kv } from "./kv.js";

/** Name of the environment variable the key comes from; used in every key-related message. */
export const KEY_ENV_NAME = "TOKEN_ENCRYPTION_KEY";
/** File (inside the data directory) holding the generated key when none is configured. */
export const KEY_FILE_NAME = "token-encryption.key";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = "v1";
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
// Standard or URL-safe alphabet, optional padding. Node's decoder silently skips invalid
// characters, so the alphabet is checked here first.
const BASE64_KEY = /^[A-Za-z0-9+/_-]+={0,2}$/;

const KEY_HELP = `${KEY_ENV_NAME} must be 32 bytes written as 64 hex characters or as base64/base64url (generate one with \`openssl rand -hex 32\`)`;

/**
 * Parses a 32-byte key written as 64 hex characters or as base64 / base64url (padded or not).
 * `source` names where the text came from in the error message; the key itself is never echoed.
 */
export function parseKey(text: string, source: string = KEY_ENV_NAME): Buffer {
	const trimmed = text.trim();
	if (trimmed.length === 0) {
		throw new StoreKeyError(`${source} is empty. ${KEY_HELP}.`);
	}
	if (HEX_KEY.test(trimmed)) {
		return Buffer.from(trimmed, "hex");
	}
	if (BASE64_KEY.test(trimmed)) {
		const key = Buffer.from(trimmed, "base64");
		if (key.length === KEY_BYTES) {
			return key;
		}
		throw new StoreKeyError(
			`${source} decodes to ${key.length} bytes, not ${KEY_BYTES}. ${KEY_HELP}. (Got ${trimmed.length} characters.)`,
		);
	}
	throw new StoreKeyError(
		`${source} is neither 64 hex characters nor base64/base64url. ${KEY_HELP}. (Got ${trimmed.length} characters.)`,
	);
}

export interface LoadKeyOptions {
	/** The configured key text (`TOKEN_ENCRYPTION_KEY`), if any; it always wins over the key file. */
	configured?: string | undefined;
	/** Directory holding `token-encryption.key` when no key is configured. */
	dataDir: string;
	logger: Logger;
}

/**
 * Returns the token encryption key: the configured one if set; otherwise the one in
 * `<dataDir>/token-encryption.key`, generating that file (mode 0600) on first start.
 */
export async function loadOrCreateKey(options: LoadKeyOptions): Promise<Buffer> {
	const { configured, dataDir, logger } = options;
	if (configured !== undefined && configured.trim().length > 0) {
		return parseKey(configured);
	}
	const keyPath = path.resolve(dataDir, KEY_FILE_NAME);
	const existing = await readKeyFile(keyPath, logger);
	if (existing) {
		return existing;
	}

	await mkdir(path.dirname(keyPath), { recursive: true, mode: 0o700 });
	const key = randomBytes(KEY_BYTES);
	try {
		// "wx": never overwrite a key another process wrote meanwhile (that would orphan its data).
		await writeFile(keyPath, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "EEXIST") {
			const raced = await readKeyFile(keyPath, logger);
			if (raced) {
				return raced;
			}
		}
		throw new StoreKeyError(`Could not write the generated key to ${keyPath}: ${(error as Error).message}`, {
			cause: error,
		});
	}
	await chmod(keyPath, 0o600); // the umask may have dropped bits, never added them; be explicit anyway
	logger.warn(
		{ path: keyPath },
		`${KEY_ENV_NAME} is not set: generated a token encryption key; back it up or set ${KEY_ENV_NAME}`,
	);
	return key;
}

async function readKeyFile(keyPath: string, logger: Logger): Promise<Buffer | undefined> {
	let text: string;
	try {
		text = await readFile(keyPath, "utf8");
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "ENOENT") {
			return undefined;
		}
		throw new StoreKeyError(
			`Could not read the key file ${keyPath} (used because ${KEY_ENV_NAME} is not set): ${(error as Error).message}`,
			{ cause: error },
		);
	}
	const key = parseKey(text, `The key file ${keyPath} (used because ${KEY_ENV_NAME} is not set)`);
	if (process.platform !== "win32") {
		const { mode } = await stat(keyPath);
		if ((mode & 0o077) !== 0) {
			await chmod(keyPath, 0o600);
			logger.warn(
				{ path: keyPath, mode: `0${(mode & 0o777).toString(8)}` },
				"token encryption key file was readable by others; tightened its permissions to 0600",
			);
		}
	}
	return key;
}

/** Identifies a key without revealing it: first 8 hex characters of sha256("imgpile-bot key id" + key). */
export function keyIdOf(key: Buffer): string {
	return createHash("sha256").update("imgpile-bot key id").update(key).digest("hex").slice(0, 8);
}

/**
 * AES-256-GCM for secrets at rest. Sealed format: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts).
 * `aad` binds a ciphertext to the record it belongs to (e.g. `token:<guild>:<user>`): decrypting it
 * under any other aad fails, so a sealed token copied to another record is useless.
 * Every plaintext it seals or opens is added to `secrets` (when given): the one place all stored
 * tokens pass, so one read back after a restart is scrubbed from the logs like a newly linked one.
 */
export class TokenCipher {
	readonly keyId: string;
	readonly #key: Buffer;
	readonly #secrets: Pick<SecretRegistry, "add"> | undefined;

	constructor(key: Buffer, secrets?: Pick<SecretRegistry, "add">) {
		if (key.length !== KEY_BYTES) {
			throw new StoreKeyError(`The token encryption key must be ${KEY_BYTES} bytes, got ${key.length}. ${KEY_HELP}.`);
		}
		this.#key = Buffer.from(key); // private copy: later changes to the caller's buffer do not leak in
		this.keyId = keyIdOf(this.#key);
		this.#secrets = secrets;
	}

	encrypt(plain: string, aad: string): string {
		this.#secrets?.add(plain);
		const iv = randomBytes(IV_BYTES);
		const cipher = createCipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
		cipher.setAAD(Buffer.from(aad, "utf8"));
		const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
		const tag = cipher.getAuthTag();
		return [FORMAT_VERSION, this.keyId, b64url(iv), b64url(tag), b64url(ciphertext)].join(".");
	}

	/** Whether `sealed` is in the current format under this key: cheap (the key id is in it), no decryption. */
	canOpen(sealed: string): boolean {
		const parts = sealed.split(".");
		return parts.length === 5 && parts[0] === FORMAT_VERSION && parts[1] === this.keyId;
	}

	decrypt(sealed: string, aad: string): string {
		const parts = sealed.split(".");
		if (parts.length !== 5 || parts[0] !== FORMAT_VERSION) {
			throw new TokenDecryptError("malformed", "Stored token is not in a supported encrypted format (expected v1).");
		}
		const [, keyId, ivText, tagText, ciphertextText] = parts as [string, string, string, string, string];
		if (keyId !== this.keyId) {
			throw new TokenDecryptError(
				"key_mismatch",
				`This data was encrypted with a different ${KEY_ENV_NAME} (key id ${keyId}, current key id ${this.keyId}). ` +
					`Restore the original ${KEY_ENV_NAME} (or key file), or have the token linked again.`,
			);
		}
		const iv = Buffer.from(ivText, "base64url");
		const tag = Buffer.from(tagText, "base64url");
		if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
			throw new TokenDecryptError("malformed", "Stored token has a damaged encryption header.");
		}
		let plain: string;
		try {
			const decipher = createDecipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
			decipher.setAAD(Buffer.from(aad, "utf8"));
			decipher.setAuthTag(tag);
			plain = Buffer.concat([decipher.update(Buffer.from(ciphertextText, "base64url")), decipher.final()]).toString(
				"utf8",
			);
		} catch (error) {
			throw new TokenDecryptError(
				"auth_failed",
				"Stored token failed authentication: it was modified, or it belongs to a different record.",
				{ cause: error },
			);
		}
		this.#secrets?.add(plain);
		return plain;
	}
}

/**
 * How many records of `kv` hold a sealed secret (found in each by `sealedOf`) that `cipher` cannot
 * open, told by the key id: nothing is decrypted.
 */
export async function countUnopenable(
	kv: Kv,
	cipher: TokenCipher,
	sealedOf: (stored: unknown) => unknown,
): Promise<number> {
	let count = 0;
	for await (const [, stored] of kv.entries()) {
		const sealed = sealedOf(stored);
		if (typeof sealed === "string" && !cipher.canOpen(sealed)) count++;
	}
	return count;
}

function b64url(bytes: Buffer): string {
	return bytes.toString("base64url");
}
