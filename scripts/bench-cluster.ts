/**
 * npm run bench:cluster — the bot as 1, 2 (and 4, given 4 cores or `--processes 1,2,4`) OS
 * processes of the build on one redis-server, behind one REST proxy, against the emulators under
 * Discord's real limits; the same workload for each:
 *
 * 1. 1,000 concurrent `/imgpile status` interactions from 1,000 members, in guilds spread over
 *    every shard: p50/p99 from INTERACTION_CREATE to the first callback (target: p99 with 2
 *    processes no worse than with 1).
 * 2. a feed burst: 20 channels over the shards follow one tag, 10 posts arrive (200 messages,
 *    5 messages / 5 s per channel, 50 requests/s for the bot): messages/s, duplicates and missing
 *    (target: 0 and 0). With 2 processes or more, a second burst in which the feed leader is
 *    SIGKILLed a quarter of the way: failover time until another process leads (target: at most
 *    the lease, 5 s here, plus the follower's 1 s tick), duplicates and missing again.
 * 3. RSS of each process after the run (its /metrics).
 *
 * Needs redis-server on PATH (apt-get install -y redis-server). Everything talks to 127.0.0.1.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { startRestProxy } from "../src/proxy/server.js";
import { type Channel, type Guild, startDiscordEmulator, type User } from "../test/emulators/discord/index.js";
import { startImgpileEmulator } from "../test/emulators/imgpile/index.js";
import { metricValue } from "../test/support/metrics.js";
import { freePort, healthz, pollUntil } from "../test/support/process.js";
import { startRedis } from "../test/support/redis.js";

const { values } = parseArgs({
	options: {
		processes: { type: "string", default: cpus().length >= 4 ? "1,2,4" : "1,2" },
		interactions: { type: "string", default: "1000" },
		channels: { type: "string", default: "20" },
		posts: { type: "string", default: "10" },
	},
});
const COUNTS = values.processes.split(",").map(Number);
const INTERACTIONS = Number(values.interactions);
const CHANNELS = Number(values.channels);
const POSTS = Number(values.posts);
const LEASE_S = 5;
const BUILD = resolve("test-build/bench-cluster");

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface Row {
	processes: number;
	p50: number;
	p99: number;
	answered: number;
	rate: number;
	duplicates: number;
	missing: number;
	failoverMs: number | null;
	rssMb: number[];
}

async function run(processes: number): Promise<Row> {
	const shardCount = Math.max(2, processes);
	const redis = await startRedis();
	const discord = await startDiscordEmulator({ sessionStartLimit: { maxConcurrency: shardCount } });
	const imgpile = await startImgpileEmulator({ users: [{ username: "alice", token: "ip-alice-bench-0001" }] });
	const proxy = await startRestProxy({
		discordApiUrl: discord.restUrl,
		token: discord.botToken,
		host: "127.0.0.1",
		port: 0,
		logger: pino({ level: "silent" }),
	});
	const dir = await mkdtemp(join(tmpdir(), "imgpile-bench-cluster-"));
	const key = randomBytes(32).toString("hex");
	const bots: { child: ChildProcess; port: number }[] = [];
	try {
		const owner = discord.createUser({ username: "owner" });
		const guilds: Guild[] = Array.from({ length: shardCount * 2 }, (_, i) =>
			discord.createGuild({ name: `Bench ${i}`, owner, shard: [i % shardCount, shardCount] }),
		);
		const generals = guilds.map((guild) => guild.createChannel({ name: "general" }));
		for (let i = 0; i < processes; i++) {
			const port = await freePort();
			const shards = Array.from({ length: shardCount }, (_, s) => s).filter((s) => s % processes === i);
			const child = spawn(process.execPath, ["--enable-source-maps", join(BUILD, "src/index.js")], {
				cwd: dir,
				env: {
					PATH: process.env.PATH,
					HOME: dir,
					DISCORD_TOKEN: discord.botToken,
					DISCORD_API_URL: proxy.apiUrl,
					IMGPILE_API_URL: imgpile.apiUrl,
					IMGPILE_UPLOAD_URL: imgpile.uploadUrl,
					STORE_URL: redis.url,
					TOKEN_ENCRYPTION_KEY: key,
					SHARD_COUNT: String(shardCount),
					SHARD_IDS: shards.join(","),
					HEALTH_PORT: String(port),
					FEED_POLL_INTERVAL: "15",
					FEED_LEASE_TTL: String(LEASE_S),
					LOG_LEVEL: "warn",
				},
				stdio: ["ignore", "ignore", "inherit"],
			});
			bots.push({ child, port });
		}
		for (const bot of bots) {
			await pollUntil(
				() => healthz(bot.port),
				(status) => status === 200,
				{ timeoutMs: 60_000, what: "a bot process" },
			);
		}
		const members = (prefix: string, count: number): Array<{ user: User; channel: Channel }> =>
			Array.from({ length: count }, (_, i) => {
				const user = discord.createUser({ username: `${prefix}${i}` });
				const g = i % guilds.length;
				guilds[g]?.addMember(user);
				return { user, channel: generals[g] as Channel };
			});
		const burst = async (who: Array<{ user: User; channel: Channel }>) => {
			const interactions = await Promise.all(
				who.map(({ user, channel }) => discord.slash({ user, channel, command: "imgpile", subcommand: "status" })),
			);
			await Promise.all(interactions.map((ix) => ix.settled({ timeoutMs: 60_000 })));
			return interactions;
		};
		await burst(members("warmup", 100));
		const measured = await burst(members("member", INTERACTIONS));
		const latencies = measured.map((ix) => ix.callback?.latencyMs ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
		const answered = measured.filter((ix) => ix.reply?.content.includes("Not linked")).length;

		// The feed burst.
		const channels = Array.from({ length: CHANNELS }, (_, i) =>
			(guilds[i % guilds.length] as Guild).createChannel({ name: `feed-${i}` }),
		);
		for (const [i, channel] of channels.entries()) {
			const ix = await discord.slash({
				user: owner,
				channel: generals[i % guilds.length] as Channel,
				command: "feed",
				subcommand: "add",
				options: { channel, tag: "bench" },
			});
			await ix.settled({ timeoutMs: 30_000 });
			if (!/added/.test(ix.reply?.content ?? "")) throw new Error(`feed add: ${ix.describe()}`);
		}
		const polls = () => imgpile.requests.filter((r) => r.path === "/api/v1/posts" && r.query.tag === "bench").length;
		await pollUntil(
			async () => polls(),
			(n) => n > 0,
			{ timeoutMs: 60_000, what: "the seeding poll" },
		);
		const leaderOf = async (among: typeof bots) => {
			for (const bot of among) {
				const text = await fetch(`http://127.0.0.1:${bot.port}/metrics`).then(
					(r) => r.text(),
					() => "",
				);
				if (metricValue(text, "imgpile_bot_feed_leader") === 1) return bot;
			}
			return undefined;
		};
		/** One burst of POSTS posts; with `kill`, the leader is SIGKILLed a quarter into it. */
		const feedBurst = async (name: string, kill: boolean) => {
			const titles = Array.from({ length: POSTS }, (_, i) => `${name} ${i + 1}`);
			for (const title of titles) imgpile.seedPost({ username: "alice", tags: ["bench"], title });
			const counts = () => {
				const seen = new Map<string, number>();
				for (const channel of channels) {
					for (const m of discord.messages(channel)) {
						const title = String(m.embeds[0]?.title ?? "");
						if (m.author.id !== discord.botUser.id || !titles.includes(title)) continue;
						seen.set(`${channel.id}:${title}`, (seen.get(`${channel.id}:${title}`) ?? 0) + 1);
					}
				}
				return seen;
			};
			const total = () => [...counts().values()].reduce((sum, n) => sum + n, 0);
			const expected = CHANNELS * POSTS;
			await pollUntil(
				async () => total(),
				(n) => n > 0,
				{ timeoutMs: 60_000, what: "the burst" },
			);
			const started = performance.now();
			let failoverMs: number | null = null;
			if (kill) {
				await pollUntil(
					async () => total(),
					(n) => n >= expected / 4,
					{ timeoutMs: 60_000, what: "a quarter of it" },
				);
				const leader = await pollUntil(
					() => leaderOf(bots),
					(bot) => bot !== undefined,
					{
						timeoutMs: 10_000,
						what: "the leader",
					},
				);
				leader?.child.kill("SIGKILL");
				const killed = performance.now();
				const rest = bots.filter((bot) => bot !== leader);
				await pollUntil(
					() => leaderOf(rest),
					(bot) => bot !== undefined,
					{ timeoutMs: 60_000, what: "a new leader" },
				);
				failoverMs = performance.now() - killed;
			}
			await pollUntil(
				async () => counts().size,
				(n) => n >= expected,
				{ timeoutMs: 180_000, what: "every announcement" },
			);
			const seconds = (performance.now() - started) / 1000;
			const seen = counts();
			return {
				rate: seen.size / seconds,
				duplicates: [...seen.values()].reduce((sum, n) => sum + n - 1, 0),
				missing: expected - seen.size,
				failoverMs,
			};
		};
		const steady = await feedBurst("Steady", false);
		const failover = processes >= 2 ? await feedBurst("Failover", true) : null;

		const rssMb: number[] = [];
		for (const bot of bots.filter((b) => b.child.exitCode === null && b.child.signalCode === null)) {
			const text = await fetch(`http://127.0.0.1:${bot.port}/metrics`).then((r) => r.text());
			rssMb.push(Math.round((metricValue(text, "process_resident_memory_bytes") ?? 0) / 2 ** 20));
		}
		return {
			processes,
			p50: percentile(latencies, 50),
			p99: percentile(latencies, 99),
			answered,
			rate: steady.rate,
			duplicates: steady.duplicates + (failover?.duplicates ?? 0),
			missing: steady.missing + (failover?.missing ?? 0),
			failoverMs: failover?.failoverMs ?? null,
			rssMb,
		};
	} finally {
		for (const { child } of bots) {
			if (child.exitCode !== null || child.signalCode !== null) continue;
			child.kill("SIGTERM");
			await once(child, "exit");
		}
		await proxy.close();
		await discord.close();
		await imgpile.close();
		await redis.stop();
		await rm(dir, { recursive: true, force: true });
	}
}

execFileSync("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", BUILD], { stdio: "inherit" });
console.log(
	`bench:cluster — ${INTERACTIONS} concurrent interactions and a feed burst of ${CHANNELS} channels × ${POSTS} posts, ` +
		`per process count (${cpus().length} cores; Redis, REST proxy and emulators on 127.0.0.1)`,
);
const rows: Row[] = [];
try {
	for (const count of COUNTS) rows.push(await run(count));
} finally {
	await rm(BUILD, { recursive: true, force: true });
}
const cell = (value: string, width: number) => value.padStart(width);
console.log(
	`${cell("procs", 5)} ${cell("answered", 9)} ${cell("p50 ms", 8)} ${cell("p99 ms", 8)} ${cell("msg/s", 7)} ${cell("dupes", 6)} ${cell("missing", 8)} ${cell("failover", 9)}  RSS MB per process`,
);
for (const row of rows) {
	console.log(
		`${cell(String(row.processes), 5)} ${cell(`${row.answered}/${INTERACTIONS}`, 9)} ${cell(row.p50.toFixed(1), 8)} ${cell(row.p99.toFixed(1), 8)} ${cell(row.rate.toFixed(1), 7)} ${cell(String(row.duplicates), 6)} ${cell(String(row.missing), 8)} ${cell(row.failoverMs === null ? "-" : `${(row.failoverMs / 1000).toFixed(1)} s`, 9)}  ${row.rssMb.join(", ")}`,
	);
}
const one = rows.find((row) => row.processes === 1);
const two = rows.find((row) => row.processes === 2);
if (one && two) {
	console.log(`p99 with 2 processes vs 1: ${(two.p99 / one.p99).toFixed(2)}× (target ≤ 1)`);
}
const clean = rows.every((row) => row.duplicates === 0 && row.missing === 0);
const failoverOk = rows.every((row) => row.failoverMs === null || row.failoverMs <= LEASE_S * 1000 + 1000);
console.log(
	`duplicates/missing: ${clean ? "0/0 OK" : "NOT ZERO"}; failover within the ${LEASE_S} s lease (+1 s tick): ${failoverOk ? "OK" : "OVER"}`,
);
