import type { RedisBackend } from "./backend.js";
import { Script } from "./client.js";

/**
 * GCRA (a token bucket kept as one "theoretical arrival time") on the Redis server's clock, so
 * every process sees the same time: `perMinute` requests a minute, all of them at once at most.
 * Returns 0 (go: one request counted) or the milliseconds to wait before asking again.
 */
const TAKE = new Script(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = 60000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allowed = tat - (burst - 1) * interval
if now < allowed then return math.ceil(allowed - now) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(burst * interval) + 1000)
return 0`);

/**
 * imgpile's request budget per identity (a token's hash, or "guest" for the IP), shared by every
 * process on the store: N processes together stay inside imgpile's limits.
 */
export class RedisRequestBudget {
	readonly #backend: RedisBackend;
	readonly #namespace: string;

	constructor(backend: RedisBackend, namespace: string) {
		this.#backend = backend;
		this.#namespace = namespace;
	}

	async take(identity: string, perMinute: number): Promise<number> {
		if (!/^[A-Za-z0-9_-]{1,64}$/.test(identity)) throw new Error("budget identity must be a hash or 'guest'");
		const limit = Math.max(1, Math.floor(perMinute));
		return (await TAKE.run(this.#backend.client, [`${this.#namespace}:${identity}`], [limit])) as number;
	}
}
