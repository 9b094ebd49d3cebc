import type { Fence } from "../backend.js";
import { StoreFencedError } from "../errors.js";
import type { Kv } from "../kv.js";
import {
	doneRetentionOf,
	newEntry,
	type Outbox,
	type OutboxEntry,
	type OutboxOptions,
	type OutboxPut,
	type PendingQuery,
	parseOutboxKey,
	selectPending,
} from "../outbox.js";
import { assertId, type Clock, systemClock } from "../util.js";
import type { RedisBackend } from "./backend.js";
import { Script } from "./client.js";

/** Fails a script (returns -1) unless the lease key holds the fence; ARGV[1] = '' means unfenced. */
const FENCE = `if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end`;

// KEYS: lease, entry, pending, done, subs, seq · ARGV: fence, entry JSON, key, postId, sid
const PUT = new Script(`${FENCE}
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('ZSCORE', KEYS[4], ARGV[4]) then return 0 end
local seq = redis.call('INCR', KEYS[6])
redis.call('ZADD', KEYS[5], 'NX', seq, ARGV[5])
redis.call('ZADD', KEYS[3], seq, ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return 1`);

// KEYS: lease, entry, pending, done, subs, seq · ARGV: fence, key, postId, sid, retention
const DONE = new Script(`${FENCE}
local seq = redis.call('INCR', KEYS[6])
redis.call('ZADD', KEYS[4], seq, ARGV[3])
local extra = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[5])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[4], 0, extra - 1) end
local removed = redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
if redis.call('ZCARD', KEYS[3]) == 0 then redis.call('ZREM', KEYS[5], ARGV[4]) end
return removed`);

// KEYS: pending, done, subs · ARGV: entry key prefix, sid
const REMOVE_SUBSCRIPTION = new Script(`
local removed = 0
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  removed = removed + redis.call('DEL', ARGV[1] .. key)
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return removed`);

// KEYS: pending, subs · ARGV: entry key prefix, sid — drops index members whose entry is gone.
const PRUNE = new Script(`
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. key) == 0 then redis.call('ZREM', KEYS[1], key) end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[2]) end
return 1`);

/**
 * The outbox on Redis, every change one script. Keys (in the outbox namespace):
 * `entry:<sid>:<postId>` (JSON), `pending:<sid>` (sorted set of entry keys by put sequence),
 * `done:<sid>` (sorted set of delivered post ids, trimmed to `doneRetention`), `subs` (sorted
 * set of subscriptions with not-done entries), `seq` (the put sequence). Entry changes
 * (`recordSent`, `bumpAttempt`) are compare-and-set on the entry, fenced like the scripts.
 */
export class RedisOutbox implements Outbox {
	readonly doneRetention: number;
	readonly #backend: RedisBackend;
	readonly #kv: Kv;
	readonly #clock: Clock;

	constructor(backend: RedisBackend, kv: Kv, options: OutboxOptions = {}, clock: Clock = systemClock) {
		this.doneRetention = doneRetentionOf(options);
		this.#backend = backend;
		this.#kv = kv;
		this.#clock = clock;
	}

	#k(key: string): string {
		return `${this.#kv.namespace}:${key}`;
	}

	#keys(subscriptionId: string, key: string, fence: Fence | undefined): string[] {
		const lease = this.#backend.fenceArgs(fence);
		return [
			lease.key ?? this.#k("seq"),
			this.#k(`entry:${key}`),
			this.#k(`pending:${subscriptionId}`),
			this.#k(`done:${subscriptionId}`),
			this.#k("subs"),
			this.#k("seq"),
		];
	}

	async put(input: OutboxPut, fence?: Fence): Promise<{ created: boolean; key: string }> {
		const entry = newEntry(input, this.#clock);
		const result = await PUT.run(this.#backend.client, this.#keys(entry.subscriptionId, entry.key, fence), [
			this.#backend.fenceArgs(fence).value,
			JSON.stringify(entry),
			entry.key,
			entry.postId,
			entry.subscriptionId,
		]);
		if (result === -1) throw new StoreFencedError(fence);
		return { created: result === 1, key: entry.key };
	}

	async get(key: string): Promise<OutboxEntry | undefined> {
		parseOutboxKey(key);
		return this.#kv.get<OutboxEntry>(`entry:${key}`);
	}

	async pending(query: PendingQuery = {}): Promise<OutboxEntry[]> {
		// Validates dueBefore before any read.
		selectPending([], query);
		let subscriptionIds: string[];
		if (query.subscriptionId !== undefined) {
			assertId("subscriptionId", query.subscriptionId);
			subscriptionIds = [query.subscriptionId];
		} else {
			subscriptionIds = await this.#backend.client.zRange(this.#k("subs"), 0, -1);
		}
		const entries: OutboxEntry[] = [];
		for (const subscriptionId of subscriptionIds) {
			const keys = await this.#backend.client.zRange(this.#k(`pending:${subscriptionId}`), 0, -1);
			const found = await this.#kv.getAll<OutboxEntry>(keys.map((key) => `entry:${key}`));
			if (found.some((entry) => entry === undefined)) {
				await PRUNE.run(
					this.#backend.client,
					[this.#k(`pending:${subscriptionId}`), this.#k("subs")],
					[this.#k("entry:"), subscriptionId],
				);
			}
			for (const entry of found) if (entry !== undefined) entries.push(entry);
		}
		return selectPending(entries, query);
	}

	async waiting(): Promise<string[]> {
		return this.#backend.client.zRange(this.#k("subs"), 0, -1);
	}

	async recordSent(key: string, discordMessageId: string, fence?: Fence): Promise<boolean> {
		parseOutboxKey(key);
		assertId("discordMessageId", discordMessageId);
		return this.#kv.modify<OutboxEntry, boolean>(
			`entry:${key}`,
			(entry) =>
				entry
					? { value: { ...entry, state: "sent", discordMessageId }, result: true }
					: { value: entry, result: false },
			undefined,
			fence,
		);
	}

	async done(key: string, fence?: Fence): Promise<boolean> {
		const { subscriptionId, postId } = parseOutboxKey(key);
		const result = await DONE.run(this.#backend.client, this.#keys(subscriptionId, key, fence), [
			this.#backend.fenceArgs(fence).value,
			key,
			postId,
			subscriptionId,
			this.doneRetention,
		]);
		if (result === -1) throw new StoreFencedError(fence);
		return result === 1;
	}

	async bumpAttempt(key: string, fence?: Fence): Promise<number | undefined> {
		parseOutboxKey(key);
		return this.#kv.modify<OutboxEntry, number | undefined>(
			`entry:${key}`,
			(entry) =>
				entry
					? { value: { ...entry, attempts: entry.attempts + 1 }, result: entry.attempts + 1 }
					: { value: entry, result: undefined },
			undefined,
			fence,
		);
	}

	async removeForSubscription(subscriptionId: string): Promise<number> {
		assertId("subscriptionId", subscriptionId);
		return (await REMOVE_SUBSCRIPTION.run(
			this.#backend.client,
			[this.#k(`pending:${subscriptionId}`), this.#k(`done:${subscriptionId}`), this.#k("subs")],
			[this.#k("entry:"), subscriptionId],
		)) as number;
	}
}
