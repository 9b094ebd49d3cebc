import type { Fence } from "../backend.js";
import { checkLease, checkName, type LeaseRecord, type LeaseState, type Leases } from "../lease.js";
import type { RedisBackend } from "./backend.js";
import { Script } from "./client.js";

/**
 * Take or renew, in one step: `SET lease <token>:<owner> NX PX ttl` with the fencing token
 * incremented in the same script (a crash cannot leave a lease without its token), or, when
 * `owner` holds it already, a new expiry with the same token.
 * Returns {held 1/0, token, ms left, holder}.
 */
const ACQUIRE = new Script(`
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  local token = tonumber(string.sub(current, 1, sep - 1))
  local holder = string.sub(current, sep + 1)
  if holder ~= ARGV[1] then return {0, token, redis.call('PTTL', KEYS[1]), holder} end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, token, tonumber(ARGV[2]), holder}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'NX', 'PX', ARGV[2])
return {1, token, tonumber(ARGV[2]), ARGV[1]}`);

/** Release by the owner only. */
const RELEASE = new Script(`
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local sep = string.find(current, ':', 1, true)
if string.sub(current, sep + 1) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`);

/**
 * Leases on Redis: atomic, expiring on the server's clock (a holder that stalls past its TTL
 * has lost it, whatever it believes), with a fencing token that every fenced write checks in
 * the same script as the write (RedisBackend), so a stalled holder that wakes up changes nothing.
 */
export class RedisLeases implements Leases {
	readonly #backend: RedisBackend;
	readonly #namespace: string;

	constructor(backend: RedisBackend, namespace: string) {
		this.#backend = backend;
		this.#namespace = namespace;
	}

	#key(name: string): string {
		return `${this.#namespace}:${checkName(name)}`;
	}

	async get(name: string): Promise<LeaseRecord | undefined> {
		const key = this.#key(name);
		const [value, ttl] = await Promise.all([this.#backend.client.get(key), this.#backend.client.pTTL(key)]);
		if (value === null) return undefined;
		const sep = value.indexOf(":");
		return { owner: value.slice(sep + 1), token: Number(value.slice(0, sep)), expiresAt: Date.now() + ttl, nonce: "" };
	}

	async acquire(name: string, owner: string, ttlMs: number, now: number = Date.now()): Promise<LeaseState> {
		checkLease(name, owner, ttlMs);
		const key = this.#key(name);
		const [held, token, left, holder] = (await ACQUIRE.run(
			this.#backend.client,
			[key, `${key}:fence`],
			[owner, ttlMs],
		)) as [number, number, number, string];
		const state: LeaseState = { held: held === 1, owner: holder, expiresAt: now + Math.max(0, left) };
		if (held === 1) state.fence = { lease: name, owner, token };
		return state;
	}

	async release(name: string, owner: string): Promise<boolean> {
		return (await RELEASE.run(this.#backend.client, [this.#key(name)], [owner])) === 1;
	}

	async holds(fence: Fence): Promise<boolean> {
		const { key, value } = this.#backend.fenceArgs(fence);
		return key !== undefined && (await this.#backend.client.get(key)) === value;
	}
}
