import { createHash } from "node:crypto";
import { createClient } from "@redis/client";
import type { Logger } from "pino";
import { StoreConfigError } from "../errors.js";

function makeClient(url: string, name: string) {
	return createClient({
		url,
		name,
		socket: { connectTimeout: 5_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2_000) },
	});
}

export type RedisClient = ReturnType<typeof makeClient>;

/** A Lua script run by its SHA (EVALSHA), loaded on first use or after a server restart. */
export class Script {
	readonly source: string;
	readonly sha: string;

	constructor(source: string) {
		this.source = source;
		this.sha = createHash("sha1").update(source).digest("hex");
	}

	async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
		const options = { keys: [...keys], arguments: args.map(String) };
		try {
			return await client.evalSha(this.sha, options);
		} catch (error) {
			if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
			return client.eval(this.source, options);
		}
	}
}

/**
 * Connects to `redis://` / `rediss://` (credentials and db from the URL). The client reconnects
 * on its own after a lost connection; commands issued meanwhile wait in its queue.
 */
export async function connectRedis(url: string, logger: Logger, name: string): Promise<RedisClient> {
	const client = makeClient(url, name);
	let reported = false;
	// Without an "error" listener node-redis would crash the process on a lost connection.
	client.on("error", (error: Error) => {
		if (!reported) logger.warn({ err: { message: error.message } }, "redis connection error (retrying)");
		reported = true;
	});
	client.on("ready", () => {
		if (reported) logger.info("redis connection back");
		reported = false;
	});
	try {
		await client.connect();
	} catch (error) {
		await client.destroy();
		// The message never echoes the URL: it may carry a password.
		throw new StoreConfigError(`Cannot connect to the Redis store: ${(error as Error).message}`, { cause: error });
	}
	return client;
}
