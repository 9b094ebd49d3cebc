/**
 * `npm run start:cluster`'s logic (scripts/lib/cluster.ts): bot processes, one per shard, against
 * the emulators. Each answers its shard's guild; commands are registered once; logs carry the
 * shards; a process that dies is logged and not restarted; a stop ends them all.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, shardsOf, startCluster, tagLine } from "../../scripts/lib/cluster.js";
import { type DiscordEmulator, type Guild, startDiscordEmulator, type User } from "../emulators/discord/index.js";
import { type ImgpileEmulator, startImgpileEmulator } from "../emulators/imgpile/index.js";
import { botEnv } from "../support/bot-env.js";

const TSX = resolve("node_modules/.bin/tsx");
const ENTRY = resolve("src/index.ts");

let discord: DiscordEmulator;
let imgpile: ImgpileEmulator;
let dir: string;
let carol: User;
let guilds: Guild[];

beforeAll(async () => {
	// The children start at once here: two buckets, so their IDENTIFYs do not collide.
	discord = await startDiscordEmulator({ sessionStartLimit: { maxConcurrency: 2 } });
	imgpile = await startImgpileEmulator({ users: [] });
	dir = await mkdtemp(join(tmpdir(), "imgpile-cluster-"));
	carol = discord.createUser({ username: "carol" });
	guilds = [0, 1].map((shard) => {
		const guild = discord.createGuild({ name: `Shard ${shard}`, shard: [shard, 2] });
		guild.addMember(carol);
		guild.createChannel({ name: "general" });
		return guild;
	});
});

afterAll(async () => {
	await discord.close();
	await imgpile.close();
	await rm(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => botEnv({ discord, imgpile, dir });

/** Two bot processes (SHARD_COUNT=2, SHARD_IDS 0 and 1), each with its own data directory. */
function twoProcesses(lines: string[]): Cluster {
	return startCluster({
		count: 2,
		command: [TSX, ENTRY],
		cwd: dir,
		env: env(),
		childEnv: (index) => ({ DATA_DIR: `data-${index}`, STORE_URL: `sqlite://data-${index}/imgpile-bot.sqlite` }),
		staggerMs: 0,
		write: (line) => lines.push(line),
	});
}

const readyLines = (lines: string[]) => lines.filter((line) => line.includes('"msg":"bot ready"'));

async function answeredIn(guild: Guild): Promise<void> {
	const channel = guild.channels[0];
	if (!channel) throw new Error("no channel");
	const ix = await discord.slash({ user: carol, channel, command: "imgpile", subcommand: "status" });
	await ix.settled();
	expect(ix.reply?.content).toContain("Not linked");
}

describe("start:cluster", () => {
	it("child i runs shards i, i + N, …; its JSON log lines get a shards field, others a prefix", () => {
		expect([0, 1, 2].map((i) => shardsOf(i, 3, 8))).toEqual([
			[0, 3, 6],
			[1, 4, 7],
			[2, 5],
		]);
		expect(JSON.parse(tagLine('{"level":30,"msg":"bot ready"}', [1]))).toEqual({
			clusterShards: [1],
			level: 30,
			msg: "bot ready",
		});
		expect(tagLine("plain text", [0, 2])).toBe("[shards 0,2] plain text");
		expect(() => startCluster({ count: 3, shardCount: 2, command: ["node"], env: {} })).toThrow(
			"the shard count must be a whole number of at least 3",
		);
	});

	it("two processes answer in their own shard's guild, register commands once, and stop together", async () => {
		const lines: string[] = [];
		const cluster = twoProcesses(lines);
		try {
			await expect.poll(() => readyLines(lines).length, { timeout: 45_000, interval: 100 }).toBe(2);
			for (const shard of [0, 1]) {
				expect(readyLines(lines).map((line) => JSON.parse(line).clusterShards)).toContainEqual([shard]);
			}
			for (const guild of guilds) await answeredIn(guild);
			expect(discord.requests.filter((r) => r.route?.includes("/commands")).map((r) => r.method)).toEqual([
				"GET",
				"PUT",
			]);
			expect(await cluster.stop("SIGTERM")).toBe(0);
			expect(cluster.children.map((c) => c.exit?.code)).toEqual([0, 0]);
			discord.assertNoViolations();
		} finally {
			await cluster.stop("SIGKILL");
		}
	}, 90_000);

	it("a process that dies is logged and not restarted; the cluster then exits 1", async () => {
		const lines: string[] = [];
		const cluster = twoProcesses(lines);
		try {
			await expect.poll(() => readyLines(lines).length, { timeout: 45_000, interval: 100 }).toBe(2);
			// The whole process group: tsx runs the bot in a child process of its own.
			const pid = cluster.children[1]?.process?.pid;
			if (!pid) throw new Error("shard 1's process did not start");
			process.kill(-pid, "SIGKILL");
			await expect
				.poll(() => lines.find((line) => line.includes("it is not restarted")), { timeout: 10_000 })
				.toMatch(/"shards":\[1\].*"signal":"SIGKILL"/);
			// Shard 0's process keeps answering; nothing came back for shard 1.
			await answeredIn(guilds[0] as Guild);
			expect(cluster.children[1]?.exit).toEqual({ code: null, signal: "SIGKILL" });
			expect(await cluster.stop("SIGTERM")).toBe(1);
			expect(lines.filter((line) => line.includes('"msg":"bot process started"'))).toHaveLength(2);
		} finally {
			await cluster.stop("SIGKILL");
		}
	}, 90_000);

	it("SHARD_COUNT=auto in a process's environment: it runs Discord's recommendation", async () => {
		// discord.js reads SHARD_COUNT from the environment too, and would refuse `auto`.
		discord.recommendShards(2);
		const child = spawn(TSX, [ENTRY], {
			cwd: dir,
			env: { ...env(), SHARD_COUNT: "auto", DATA_DIR: "data-auto", STORE_URL: "sqlite://data-auto/imgpile-bot.sqlite" },
			stdio: ["ignore", "pipe", "pipe"],
		});
		const lines: string[] = [];
		for (const stream of [child.stdout, child.stderr]) {
			if (stream) createInterface({ input: stream }).on("line", (line) => lines.push(line));
		}
		const closed = once(child, "close");
		try {
			await expect.poll(() => readyLines(lines), { timeout: 30_000, interval: 100 }).toHaveLength(1);
			expect(JSON.parse(readyLines(lines)[0] ?? "{}")).toMatchObject({ shards: [0, 1], shardCount: 2 });
		} finally {
			discord.recommendShards(null);
			child.kill("SIGTERM");
			await closed;
		}
	}, 60_000);
});
