/**
 * The Discord emulator shards as Discord does: who gets a guild's events, IDENTIFY's `shard`
 * checks (4010, 4011), GET /gateway/bot, the identify concurrency and the session start limit.
 * Raw gateway connections where the frames themselves are the point; discord.js Clients for routing.
 */
import { Client, Events, GatewayIntentBits, Routes, SlashCommandBuilder } from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type DiscordEmulator, type DiscordEmulatorOptions, startDiscordEmulator } from "./discord/index.js";

type Frame = { op: number; t?: string | null; d: unknown };

let discord: DiscordEmulator;
const clients: Client[] = [];
const sockets: WebSocket[] = [];

async function start(opts: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
	discord = await startDiscordEmulator(opts);
	return discord;
}

afterEach(async () => {
	await Promise.all(clients.splice(0).map((c) => c.destroy()));
	for (const ws of sockets.splice(0)) ws.terminate();
	await discord?.close();
});

/** A raw gateway connection: its frames, the next frame matching, and its close code. */
async function connect() {
	const ws = new WebSocket(`${discord.gatewayUrl}?v=10&encoding=json`);
	sockets.push(ws);
	const frames: Frame[] = [];
	let wake: (() => void) | null = null;
	let closeCode: number | null = null;
	ws.on("message", (data) => {
		frames.push(JSON.parse(String(data)) as Frame);
		wake?.();
	});
	ws.on("close", (code) => {
		closeCode = code;
		wake?.();
	});
	const until = async <T>(pick: () => T | null | undefined): Promise<T> => {
		for (;;) {
			const found = pick();
			if (found !== null && found !== undefined) return found;
			await new Promise<void>((resolve) => {
				wake = resolve;
			});
		}
	};
	await until(() => frames.find((f) => f.op === 10));
	return {
		frames,
		identify: (shard?: unknown) =>
			ws.send(
				JSON.stringify({
					op: 2,
					d: { token: discord.botToken, intents: 1, properties: {}, ...(shard === undefined ? {} : { shard }) },
				}),
			),
		next: (pred: (f: Frame) => boolean) => until(() => frames.find(pred)),
		closed: () => until(() => closeCode),
	};
}

const dispatched = (frames: Frame[], t: string) =>
	frames.filter((f) => f.op === 0 && f.t === t).map((f) => (f.d as { id?: string; guild_id?: string }) ?? {});

/** A client running `shards` of `shardCount`, logged in. */
async function shardedClient(shards: number[], shardCount: number): Promise<Client> {
	const client = new Client({
		intents: [GatewayIntentBits.Guilds, GatewayIntentBits.DirectMessages],
		rest: { api: discord.restUrl },
		shards,
		shardCount,
	});
	clients.push(client);
	const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
	await client.login(discord.botToken);
	await ready;
	return client;
}

describe("Discord emulator sharding", () => {
	it("a guild's events, its GUILD_CREATE and its interactions reach only the session of its shard; DMs shard 0", async () => {
		await start({ sessionStartLimit: { maxConcurrency: 2 } });
		const even = discord.createGuild({ name: "Even", shard: [0, 2] });
		const odd = discord.createGuild({ name: "Odd", shard: [1, 2] });
		expect([even.id, odd.id].map((id) => Number((BigInt(id) >> 22n) % 2n))).toEqual([0, 1]);
		const alice = discord.createUser({ username: "alice" });
		even.addMember(alice);
		odd.addMember(alice);
		const evenChannel = even.createChannel({ name: "general" });
		const oddChannel = odd.createChannel({ name: "general" });

		const zero = await shardedClient([0], 2);
		const one = await shardedClient([1], 2);
		expect([...zero.guilds.cache.keys()]).toEqual([even.id]);
		expect([...one.guilds.cache.keys()]).toEqual([odd.id]);
		expect(discord.gatewaySessions().map((s) => s.shard)).toEqual([
			[0, 2],
			[1, 2],
		]);

		// Later events too: a channel created in Odd reaches shard 1 only.
		const later = odd.createChannel({ name: "later" });
		await discord.waitFor(() => one.channels.cache.has(later.id));
		expect(zero.channels.cache.has(later.id)).toBe(false);

		await zero.rest.put(Routes.applicationCommands(discord.applicationId), {
			body: [new SlashCommandBuilder().setName("ping").setDescription("Replies pong").setContexts(0, 1).toJSON()],
		});
		const seen = new Map<Client, string[]>([
			[zero, []],
			[one, []],
		]);
		for (const client of [zero, one]) {
			client.on(Events.InteractionCreate, (ix) => {
				seen.get(client)?.push(ix.guildId ?? "dm");
				if (ix.isChatInputCommand()) void ix.reply("pong");
			});
		}
		const inOdd = await discord.slash({ user: alice, channel: oddChannel, command: "ping" });
		const inEven = await discord.slash({ user: alice, channel: evenChannel, command: "ping" });
		const inDm = await discord.slash({ user: alice, channel: discord.dmChannel(alice), command: "ping" });
		for (const ix of [inOdd, inEven, inDm]) expect((await ix.settled()).reply?.content).toBe("pong");
		expect(seen.get(zero)).toEqual([even.id, "dm"]);
		expect(seen.get(one)).toEqual([odd.id]);
		discord.assertNoViolations();
	});

	it("READY carries the shard when IDENTIFY did; without one a session gets every guild", async () => {
		await start({ sessionStartLimit: { windowMs: 0 } });
		const even = discord.createGuild({ name: "Even", shard: [0, 2] });
		const odd = discord.createGuild({ name: "Odd", shard: [1, 2] });
		const plain = await connect();
		plain.identify();
		const ready = (await plain.next((f) => f.t === "READY")).d as Record<string, unknown>;
		expect(ready).not.toHaveProperty("shard");
		await plain.next(() => dispatched(plain.frames, "GUILD_CREATE").length === 2);
		expect(dispatched(plain.frames, "GUILD_CREATE").map((g) => g.id)).toEqual([even.id, odd.id]);

		const sharded = await connect();
		sharded.identify([1, 2]);
		expect((await sharded.next((f) => f.t === "READY")).d).toMatchObject({ shard: [1, 2] });
		await sharded.next((f) => f.t === "GUILD_CREATE");
		// A dispatch after both: the sharded session's last guild event is Odd's, and only that.
		odd.createChannel({ name: "sync" });
		await sharded.next((f) => f.t === "CHANNEL_CREATE");
		expect(dispatched(sharded.frames, "GUILD_CREATE").map((g) => g.id)).toEqual([odd.id]);
		discord.assertNoViolations();
	});

	it("an invalid shard closes 4010: id out of range, negative, count below one, not a pair", async () => {
		await start({ sessionStartLimit: { windowMs: 0 } });
		for (const shard of [[2, 2], [-1, 2], [0, 0], [0], [0.5, 2], "0,1"]) {
			const conn = await connect();
			conn.identify(shard);
			expect(await conn.closed(), JSON.stringify(shard)).toBe(4010);
		}
	});

	it("requireSharding: identifying with fewer shards closes 4011 Sharding required; enough gets READY", async () => {
		await start({ sessionStartLimit: { windowMs: 0 } });
		discord.requireSharding(2);
		for (const shard of [undefined, [0, 1]]) {
			const conn = await connect();
			conn.identify(shard);
			expect(await conn.closed(), JSON.stringify(shard)).toBe(4011);
		}
		const conn = await connect();
		conn.identify([1, 3]);
		expect((await conn.next((f) => f.t === "READY")).d).toMatchObject({ shard: [1, 3] });

		// discord.js gives up on 4011 (it cannot fix it by itself): the shard disconnects for good, login fails.
		const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.restUrl } });
		clients.push(client);
		const failed = new Promise<Error>((resolve) => client.once(Events.ShardError, resolve));
		const disconnected = new Promise<number>((resolve) =>
			client.once(Events.ShardDisconnect, (event) => resolve(event.code)),
		);
		await expect(client.login(discord.botToken)).rejects.toThrow();
		expect((await failed).message).toMatch(/Sharding is required/);
		expect(await disconnected).toBe(4011);
	});

	it("GET /gateway/bot: one shard per 1,000 guilds unless a test says otherwise; each IDENTIFY uses a start", async () => {
		await start({ sessionStartLimit: { windowMs: 0, maxConcurrency: 4 } });
		const gatewayBot = async () =>
			(await (
				await fetch(`${discord.restUrl}/v10/gateway/bot`, { headers: { Authorization: `Bot ${discord.botToken}` } })
			).json()) as { url: string; shards: number; session_start_limit: Record<string, number> };
		expect(await gatewayBot()).toEqual({
			url: discord.gatewayUrl,
			shards: 1,
			session_start_limit: { total: 1000, remaining: 1000, reset_after: 24 * 3600_000, max_concurrency: 4 },
		});
		for (let i = 0; i < 1001; i++) discord.createGuild({ name: `g${i}` });
		expect((await gatewayBot()).shards).toBe(2);
		discord.recommendShards(5);
		expect((await gatewayBot()).shards).toBe(5);

		for (const shard of [
			[0, 2],
			[1, 2],
		]) {
			const conn = await connect();
			conn.identify(shard);
			await conn.next((f) => f.t === "READY");
		}
		const limit = (await gatewayBot()).session_start_limit;
		expect(limit.remaining).toBe(998);
		expect(limit.reset_after).toBeLessThanOrEqual(24 * 3600_000);
		expect(limit.reset_after).toBeGreaterThan(23 * 3600_000);
	});

	it("max_concurrency: one IDENTIFY per bucket (shard_id % max_concurrency) per 5 s; another gets op 9", async () => {
		await start({ sessionStartLimit: { maxConcurrency: 2 } });
		const results: unknown[] = [];
		for (const shard of [
			[0, 4],
			[1, 4],
			[2, 4],
		]) {
			const conn = await connect();
			conn.identify(shard);
			results.push(await conn.next((f) => f.t === "READY" || f.op === 9));
		}
		// Shards 0 and 1 fill the two buckets; shard 2 is bucket 0 again, within the same 5 s.
		expect(results).toMatchObject([{ t: "READY" }, { t: "READY" }, { op: 9, d: false }]);
		expect(discord.takeViolations().map((v) => v.message)).toEqual([
			expect.stringMatching(/IDENTIFY of shard 2 \d+ ms after another in its bucket \(0\)/),
		]);
	});

	it("discord.js spaces its shards' IDENTIFYs by bucket: two shards at max_concurrency 1, no op 9", async () => {
		await start();
		const even = discord.createGuild({ name: "Even", shard: [0, 2] });
		const odd = discord.createGuild({ name: "Odd", shard: [1, 2] });
		const client = await shardedClient([0, 1], 2);
		expect(new Set(client.guilds.cache.keys())).toEqual(new Set([even.id, odd.id]));
		const identifies = discord.gatewayLog.filter((e) => e.direction === "out" && e.t === "READY").map((e) => e.at);
		expect(identifies).toHaveLength(2);
		expect((identifies[1] ?? 0) - (identifies[0] ?? 0)).toBeGreaterThanOrEqual(5000);
		discord.assertNoViolations();
	}, 20_000);

	it("with no session starts left, IDENTIFY closes 4004 (Discord resets the token) and is a violation", async () => {
		await start({ sessionStartLimit: { total: 1, windowMs: 0 } });
		const first = await connect();
		first.identify([0, 1]);
		await first.next((f) => f.t === "READY");
		const second = await connect();
		second.identify([0, 1]);
		expect(await second.closed()).toBe(4004);
		expect(discord.takeViolations().map((v) => v.message)).toEqual([expect.stringMatching(/no session starts left/)]);
	});
});
