import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino, { type Logger } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe } from "vitest";
import { openStore, type Store, type StoreOptions, TokenCipher } from "../../src/store/index.js";
import { describeRedis, type RedisServer, startRedis } from "../support/redis.js";

export interface LogRecord {
	level: number;
	msg: string;
	[field: string]: unknown;
}

/** A pino logger writing JSON lines into memory. */
export function memoryLogger(): { logger: Logger; records: LogRecord[] } {
	const records: LogRecord[] = [];
	const logger = pino(
		{ level: "debug" },
		{
			write(line: string) {
				records.push(JSON.parse(line) as LogRecord);
			},
		},
	);
	return { logger, records };
}

/** A fresh temp dir, and a function removing it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
	const dir = await mkdtemp(path.join(os.tmpdir(), "imgpile-bot-store-"));
	return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A fresh temporary directory for each test of the file, removed after it: call `dir()` in a test. */
export function tempDirPerTest(): () => string {
	let current: { dir: string; cleanup: () => Promise<void> } | undefined;
	beforeEach(async () => {
		current = await tempDir();
	});
	afterEach(async () => {
		await current?.cleanup();
	});
	return () => {
		if (!current) throw new Error("tempDirPerTest: no directory outside a test");
		return current.dir;
	};
}

export function randomCipher(): TokenCipher {
	return new TokenCipher(randomBytes(32));
}

export async function openAt(
	dir: string,
	cipher: TokenCipher,
	extra: Partial<StoreOptions> = {},
): Promise<{ store: Store; url: string; file: string }> {
	const file = path.join(dir, "db", "imgpile-bot.sqlite");
	const url = `sqlite://${file}`;
	const store = await openStore({ url, cipher, logger: memoryLogger().logger, ...extra });
	return { store, url, file };
}

export type OpenAt = typeof openAt;

/**
 * Declares `body`'s tests once per store engine: on SQLite (a file in `dir`), and on a real
 * redis-server (the same `dir` names the same data, under its own key prefix, so reopening is a
 * restart). The Redis half is skipped only outside CI without redis-server (see describeRedis).
 */
export function forEachEngine(body: (open: OpenAt) => void): void {
	describe("on SQLite", () => body(openAt));
	describeRedis("on Redis", () => {
		let server: RedisServer | undefined;
		beforeAll(async () => {
			server = await startRedis();
		});
		afterAll(async () => {
			await server?.stop();
		});
		body(async (dir, cipher, extra = {}) => {
			if (!server) throw new Error("redis-server did not start");
			const prefix = `t${createHash("sha256").update(dir).digest("hex").slice(0, 12)}.`;
			const store = await openStore({
				url: server.url,
				cipher,
				logger: memoryLogger().logger,
				namespacePrefix: prefix,
				...extra,
			});
			return { store, url: server.url, file: "" };
		});
	});
}
