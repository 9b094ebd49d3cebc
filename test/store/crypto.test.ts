import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
	KEY_FILE_NAME,
	keyIdOf,
	loadOrCreateKey,
	parseKey,
	StoreKeyError,
	TokenCipher,
	TokenDecryptError,
} from "../../src/store/index.js";
import { memoryLogger, tempDir } from "./helpers.js";

const KEY = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");

describe("parseKey", () => {
	it("accepts 64 hex characters (either case, surrounding whitespace)", () => {
		expect(parseKey(KEY.toString("hex"))).toEqual(KEY);
		expect(parseKey(` ${KEY.toString("hex").toUpperCase()}\n`)).toEqual(KEY);
	});

	it("accepts base64 and base64url, padded or not", () => {
		const key = Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i)); // produces + / - _ characters
		const b64 = key.toString("base64");
		const b64url = key.toString("base64url");
		expect(b64).toMatch(/[+/]/);
		expect(b64url).toMatch(/[-_]/);
		expect(parseKey(b64)).toEqual(key);
		expect(parseKey(b64.replace(/=+$/, ""))).toEqual(key);
		expect(parseKey(b64url)).toEqual(key);
	});

	it.each([
		["empty", ""],
		["blank", "   "],
		["too short hex", "abcd"],
		["63 hex", KEY.toString("hex").slice(1)],
		["65 hex", `${KEY.toString("hex")}0`],
		["16-byte base64", randomBytes(16).toString("base64")],
		["48-byte base64", randomBytes(48).toString("base64")],
		["not an encoding", "correct horse battery staple, definitely not a key!"],
		["hex with a non-hex char", `${KEY.toString("hex").slice(0, 63)}g`],
	])("rejects %s with a StoreKeyError naming TOKEN_ENCRYPTION_KEY", (_label, text) => {
		expect(() => parseKey(text)).toThrow(StoreKeyError);
		expect(() => parseKey(text)).toThrow(/TOKEN_ENCRYPTION_KEY/);
	});

	it("never echoes the rejected key", () => {
		const secretish = "SuperSecretButWrongKeyMaterial-0123456789";
		try {
			parseKey(secretish);
			expect.unreachable();
		} catch (error) {
			expect((error as Error).message).not.toContain(secretish);
		}
	});
});

describe("TokenCipher", () => {
	const cipher = new TokenCipher(KEY);

	it("round-trips and uses the v1.<keyId>.<iv>.<tag>.<ciphertext> format", () => {
		const sealed = cipher.encrypt("imgpile-token-ü-🔑", "token:g:u");
		const parts = sealed.split(".");
		expect(parts).toHaveLength(5);
		expect(parts[0]).toBe("v1");
		expect(parts[1]).toBe(keyIdOf(KEY));
		expect(parts[1]).toMatch(/^[0-9a-f]{8}$/);
		expect(Buffer.from(parts[2] ?? "", "base64url")).toHaveLength(12);
		expect(Buffer.from(parts[3] ?? "", "base64url")).toHaveLength(16);
		for (const part of parts.slice(2)) {
			expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
		}
		expect(cipher.decrypt(sealed, "token:g:u")).toBe("imgpile-token-ü-🔑");
	});

	it("uses a fresh IV each time", () => {
		expect(cipher.encrypt("same", "aad")).not.toBe(cipher.encrypt("same", "aad"));
	});

	it("keyId is the first 8 hex of sha256('imgpile-bot key id' + key)", async () => {
		const { createHash } = await import("node:crypto");
		const expected = createHash("sha256")
			.update(Buffer.concat([Buffer.from("imgpile-bot key id"), KEY]))
			.digest("hex")
			.slice(0, 8);
		expect(cipher.keyId).toBe(expected);
	});

	it("fails with TokenDecryptError under another aad (ciphertext moved to another record)", () => {
		const sealed = cipher.encrypt("secret-token-value", "token:g1:alice");
		const attempt = () => cipher.decrypt(sealed, "token:g1:mallory");
		expect(attempt).toThrow(TokenDecryptError);
		try {
			attempt();
		} catch (error) {
			expect((error as TokenDecryptError).reason).toBe("auth_failed");
			expect((error as Error).message).not.toContain("secret-token-value");
		}
	});

	it("fails with TokenDecryptError when the ciphertext or tag is modified", () => {
		const sealed = cipher.encrypt("secret-token-value", "aad");
		const parts = sealed.split(".");
		const flip = (text: string) => {
			const bytes = Buffer.from(text, "base64url");
			bytes[0] = (bytes[0] ?? 0) ^ 1;
			return bytes.toString("base64url");
		};
		const badCiphertext = [...parts.slice(0, 4), flip(parts[4] ?? "")].join(".");
		const badTag = [...parts.slice(0, 3), flip(parts[3] ?? ""), parts[4]].join(".");
		expect(() => cipher.decrypt(badCiphertext, "aad")).toThrow(TokenDecryptError);
		expect(() => cipher.decrypt(badTag, "aad")).toThrow(TokenDecryptError);
	});

	it("reports a different key clearly", () => {
		const other = new TokenCipher(randomBytes(32));
		const sealed = other.encrypt("secret-token-value", "aad");
		try {
			cipher.decrypt(sealed, "aad");
			expect.unreachable();
		} catch (error) {
			expect(error).toBeInstanceOf(TokenDecryptError);
			expect((error as TokenDecryptError).reason).toBe("key_mismatch");
			expect((error as Error).message).toMatch(/different TOKEN_ENCRYPTION_KEY/);
			expect((error as Error).message).not.toContain("secret-token-value");
		}
	});

	it("rejects malformed input as TokenDecryptError", () => {
		for (const bad of ["", "plain-token", "v2.a.b.c.d", `v1.${cipher.keyId}.AAAA.BBBB.CCCC`, "v1.x.y.z"]) {
			expect(() => cipher.decrypt(bad, "aad")).toThrow(TokenDecryptError);
		}
	});

	it("refuses keys that are not 32 bytes", () => {
		expect(() => new TokenCipher(randomBytes(16))).toThrow(StoreKeyError);
	});
});

describe("loadOrCreateKey", () => {
	let dir: string;
	let cleanup: () => Promise<void>;
	beforeEach(async () => {
		({ dir, cleanup } = await tempDir());
	});
	afterEach(async () => {
		await cleanup();
	});

	it("uses the configured key and writes no file", async () => {
		const { logger, records } = memoryLogger();
		const key = await loadOrCreateKey({ configured: KEY.toString("base64"), dataDir: dir, logger });
		expect(key).toEqual(KEY);
		await expect(stat(path.join(dir, KEY_FILE_NAME))).rejects.toThrow();
		expect(records.filter((r) => r.level >= 40)).toEqual([]);
	});

	it("rejects a bad configured key", async () => {
		const { logger } = memoryLogger();
		await expect(loadOrCreateKey({ configured: "nope", dataDir: dir, logger })).rejects.toThrow(/TOKEN_ENCRYPTION_KEY/);
	});

	it("generates a 0600 key file (creating the directory), warns, and reuses it", async () => {
		const dataDir = path.join(dir, "nested", "data");
		const { logger, records } = memoryLogger();
		const key = await loadOrCreateKey({ dataDir, logger });
		expect(key).toHaveLength(32);

		const file = path.join(dataDir, KEY_FILE_NAME);
		if (process.platform !== "win32") {
			expect((await stat(file)).mode & 0o777).toBe(0o600);
		}
		expect(parseKey(await readFile(file, "utf8"))).toEqual(key);

		const warnings = records.filter((r) => r.level === 40);
		expect(warnings).toHaveLength(1);
		expect(warnings[0]?.path).toBe(file);
		expect(warnings[0]?.msg).toMatch(/generated a token encryption key; back it up or set TOKEN_ENCRYPTION_KEY/);
		expect(JSON.stringify(records)).not.toContain(key.toString("hex"));

		const again = memoryLogger();
		expect(await loadOrCreateKey({ dataDir, logger: again.logger })).toEqual(key);
		expect(again.records.filter((r) => r.level >= 40)).toEqual([]);
	});

	it.skipIf(process.platform === "win32")("tightens a key file readable by others to 0600", async () => {
		const file = path.join(dir, KEY_FILE_NAME);
		await writeFile(file, `${KEY.toString("hex")}\n`);
		await chmod(file, 0o644);
		const { logger, records } = memoryLogger();
		expect(await loadOrCreateKey({ dataDir: dir, logger })).toEqual(KEY);
		expect((await stat(file)).mode & 0o777).toBe(0o600);
		expect(records.some((r) => r.level === 40 && r.path === file)).toBe(true);
	});

	it("reports an invalid key file by path", async () => {
		await mkdir(dir, { recursive: true });
		const file = path.join(dir, KEY_FILE_NAME);
		await writeFile(file, "garbage", { mode: 0o600 });
		const { logger } = memoryLogger();
		const attempt = loadOrCreateKey({ dataDir: dir, logger });
		await expect(attempt).rejects.toThrow(StoreKeyError);
		await expect(loadOrCreateKey({ dataDir: dir, logger })).rejects.toThrow(file);
	});
});
