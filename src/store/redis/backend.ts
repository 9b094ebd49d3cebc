import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { CounterAdd, Fence, KvBackend, Update } from "../backend.js";
import { StoreFencedError } from "../errors.js";
import { connectRedis, type RedisClient, Script } from "./client.js";

/**
 * Compare-and-set of one value, optionally fenced: written only if the key still holds what was
 * read (or is still absent), and, for a fenced write, only while the lease key holds the fence.
 * Returns 1 (written), 0 (changed meanwhile: read again), -1 (fenced).
 */
const CAS = new Script(`
if ARGV[6] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[6] then return -1 end
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then return 0 end
if ARGV[3] == 'del' then redis.call('DEL', KEYS[1])
elseif ARGV[5] ~= '0' then redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else redis.call('SET', KEYS[1], ARGV[4]) end
return 1`);

/** A counter change in one step (INCRBY with a floor of 0, a cap, and the TTL renewed). */
const ADD = new Script(`
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local nxt = current + tonumber(ARGV[1])
if nxt < 0 then nxt = 0 end
if ARGV[3] ~= '' and nxt > tonumber(ARGV[3]) then return {0, current} end
redis.call('SET', KEYS[1], nxt, 'PX', ARGV[2])
return {1, nxt}`);

export interface RedisBackendOptions {
	url: string;
	logger: Logger;
	/** Prepended to every key (as the namespaces are) and to the invalidation channel. */
	prefix: string;
	/** Namespace of the leases (`<namespace>:<name>` holds `<token>:<owner>`), for fenced writes. */
	leaseNamespace: string;
}

/**
 * Redis as the shared store of several bot processes. Values are JSON strings under
 * `<namespace>:<key>`; every read-modify-write is one Lua script (atomic on the server), so no
 * process-local lock guards anything. Writes to namespaces that processes cache are announced on
 * a pub/sub channel, and every process drops its cached copy when it hears of one.
 *
 * One Redis server (or a primary with replicas): scripts touch keys they compute, so Redis
 * Cluster is not supported.
 */
export class RedisBackend implements KvBackend {
	readonly kind = "redis";
	readonly shared = true;
	readonly client: RedisClient;
	readonly #subscriber: RedisClient;
	readonly #options: RedisBackendOptions;
	readonly #origin = randomUUID();
	readonly #channel: string;
	readonly #listeners = new Map<string, ((key: string | undefined) => void)[]>();

	private constructor(client: RedisClient, subscriber: RedisClient, options: RedisBackendOptions) {
		this.client = client;
		this.#subscriber = subscriber;
		this.#options = options;
		this.#channel = `${options.prefix}store:invalidate`;
	}

	static async open(options: RedisBackendOptions): Promise<RedisBackend> {
		const client = await connectRedis(options.url, options.logger, "imgpile-bot");
		let subscriber: RedisClient;
		try {
			subscriber = await connectRedis(options.url, options.logger, "imgpile-bot-invalidate");
		} catch (error) {
			await client.close();
			throw error;
		}
		const backend = new RedisBackend(client, subscriber, options);
		await subscriber.subscribe(backend.#channel, (message) => backend.#heard(message));
		// Messages sent while the channel was down are lost: forget every cached value once it is back.
		subscriber.on("ready", () => backend.#notifyAll());
		return backend;
	}

	#key(namespace: string, key: string): string {
		return `${namespace}:${key}`;
	}

	async get(namespace: string, key: string): Promise<unknown> {
		return parse(await this.client.get(this.#key(namespace, key)));
	}

	async getMany(namespace: string, keys: readonly string[]): Promise<unknown[]> {
		if (keys.length === 0) return [];
		const values = await this.client.mGet(keys.map((key) => this.#key(namespace, key)));
		return values.map((value) => parse(value));
	}

	async set(namespace: string, key: string, value: unknown, ttlMs?: number): Promise<void> {
		const json = JSON.stringify(value);
		const full = this.#key(namespace, key);
		if (ttlMs !== undefined) await this.client.set(full, json, { expiration: { type: "PX", value: ttlMs } });
		else await this.client.set(full, json);
		await this.#announce(namespace, key);
	}

	async delete(namespace: string, key: string): Promise<boolean> {
		const removed = (await this.client.del(this.#key(namespace, key))) > 0;
		await this.#announce(namespace, key);
		return removed;
	}

	async has(namespace: string, key: string): Promise<boolean> {
		return (await this.client.exists(this.#key(namespace, key))) > 0;
	}

	async *scan(namespace: string): AsyncGenerator<[string, unknown]> {
		const prefix = `${namespace}:`;
		for await (const keys of this.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
			if (keys.length === 0) continue;
			const values = await this.client.mGet(keys);
			for (const [index, full] of keys.entries()) {
				const value = parse(values[index] ?? null);
				if (value !== undefined) yield [String(full).slice(prefix.length), value];
			}
		}
	}

	async modify<T, R>(namespace: string, key: string, update: Update<T, R>, ttlMs?: number, fence?: Fence): Promise<R> {
		const full = this.#key(namespace, key);
		const lease = this.fenceArgs(fence);
		for (let attempt = 0; ; attempt++) {
			const raw = await this.client.get(full);
			const current = parse(raw) as T | undefined;
			const { value, result } = update(current);
			if (value === current) return result;
			const written = await CAS.run(
				this.client,
				[full, lease.key ?? full],
				[
					raw === null ? "1" : "0",
					raw ?? "",
					value === undefined ? "del" : "set",
					value === undefined ? "" : JSON.stringify(value),
					ttlMs ?? 0,
					lease.value,
				],
			);
			if (written === 1) {
				await this.#announce(namespace, key);
				return result;
			}
			if (written === -1) throw new StoreFencedError(fence);
			// Someone wrote in between: read again (after a short random pause when it keeps happening).
			if (attempt >= 3) await delay(Math.random() * Math.min(attempt, 20));
			if (attempt >= 200) throw new Error(`store write of ${namespace}:${key} kept conflicting`);
		}
	}

	async add(namespace: string, key: string, change: CounterAdd): Promise<{ ok: boolean; value: number }> {
		const [ok, value] = (await ADD.run(
			this.client,
			[this.#key(namespace, key)],
			[change.delta, change.ttlMs, change.max ?? ""],
		)) as [number, number];
		if (ok === 1) await this.#announce(namespace, key);
		return { ok: ok === 1, value };
	}

	/** The lease key and the value it must hold for a fenced write (none: not fenced). */
	fenceArgs(fence: Fence | undefined): { key: string | undefined; value: string } {
		if (!fence) return { key: undefined, value: "" };
		return { key: this.#key(this.#options.leaseNamespace, fence.lease), value: `${fence.token}:${fence.owner}` };
	}

	onRemoteWrite(namespace: string, listener: (key: string | undefined) => void): void {
		const listeners = this.#listeners.get(namespace);
		if (listeners) listeners.push(listener);
		else this.#listeners.set(namespace, [listener]);
	}

	async #announce(namespace: string, key: string): Promise<void> {
		if (!this.#listeners.has(namespace)) return;
		await this.client.publish(this.#channel, JSON.stringify({ o: this.#origin, n: namespace, k: key }));
	}

	#heard(message: string): void {
		let parsed: { o?: unknown; n?: unknown; k?: unknown };
		try {
			parsed = JSON.parse(message) as typeof parsed;
		} catch {
			return;
		}
		if (parsed.o === this.#origin || typeof parsed.n !== "string" || typeof parsed.k !== "string") return;
		for (const listener of this.#listeners.get(parsed.n) ?? []) listener(parsed.k);
	}

	#notifyAll(): void {
		for (const listeners of this.#listeners.values()) for (const listener of listeners) listener(undefined);
	}

	async close(): Promise<void> {
		await this.#subscriber.close().catch(() => undefined);
		await this.client.close();
	}
}

function parse(raw: string | null | undefined): unknown {
	if (raw === null || raw === undefined) return undefined;
	return JSON.parse(raw);
}
