import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino, { type Logger } from "pino";
import { openStore, type Store, type StoreOptions, TokenCipher } from "../../src/store/index.js";

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
