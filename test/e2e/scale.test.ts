/**
 * Running at scale, end to end: two bot processes (own OS processes, the built bot) on one
 * redis-server, shards 0 and 1 of two, behind one REST proxy, against both emulators. Each
 * process is told apart by its shard (SHARD_IDS) and read through its own /metrics.
 */
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RestProxy, startRestProxy } from "../../src/proxy/server.js";
import {
	type Channel,
	type DiscordEmulator,
	type Guild,
	type Interaction,
	type Message,
	startDiscordEmulator,
	type User,
} from "../emulators/discord/index.js";
import { type ImgpileEmulator, startImgpileEmulator } from "../emulators/imgpile/index.js";
import { botEnv } from "../support/bot-env.js";
import { pngBytes } from "../support/images.js";
import { metricValue } from "../support/metrics.js";
import { freePort, healthz, pollUntil, spawnWithOutput } from "../support/process.js";
import { describeRedis, type RedisServer, startRedis } from "../support/redis.js";

/** Built apart from dist/: other test files build there at the same time. */
const BUILD = resolve("test-build/scale");
const ENTRY = join(BUILD, "src/index.js");
const LEASE_TTL_S = 5;
const ALICE = "ip-alice-scale-0001";
const CAROL = "ip-carol-scale-0002";

interface BotProcess {
	readonly shard: number;
	readonly port: number;
	child: ChildProcess;
	output: () => string;
}

describeRedis("two bot processes on one Redis, two shards, one REST proxy", () => {
	let redis: RedisServer;
	let discord: DiscordEmulator;
	let imgpile: ImgpileEmulator;
	let proxy: RestProxy;
	let dir: string;
	let alice: User;
	let carol: User;
	let guilds: Guild[];
	const key = randomBytes(32).toString("hex");
	const bots: BotProcess[] = [];

	async function spawnBot(shard: number): Promise<BotProcess> {
		const port = await freePort();
		const { child, output } = spawnWithOutput(process.execPath, ["--enable-source-maps", ENTRY], {
			cwd: dir,
			env: botEnv(
				{ discord, imgpile, dir },
				{
					DISCORD_API_URL: proxy.apiUrl,
					DISCORD_CDN_HOSTS: discord.cdnHosts.join(","),
					DISCORD_CDN_HTTP_HOSTS: discord.cdnHosts.join(","),
					STORE_URL: redis.url,
					TOKEN_ENCRYPTION_KEY: key,
					SHARD_COUNT: "2",
					SHARD_IDS: String(shard),
					HEALTH_PORT: String(port),
					FEED_POLL_INTERVAL: "15",
					FEED_LEASE_TTL: String(LEASE_TTL_S),
					LOG_LEVEL: "debug",
				},
			),
		});
		const bot = { shard, port, child, output };
		bots[shard] = bot;
		return bot;
	}

	const running = (bot: BotProcess | undefined): boolean =>
		bot !== undefined && bot.child.exitCode === null && bot.child.signalCode === null;

	async function ready(bot: BotProcess): Promise<void> {
		await pollUntil(
			() => healthz(bot.port),
			(status) => status === 200 || !running(bot),
			{ timeoutMs: 30_000, what: `shard ${bot.shard}'s process ready` },
		);
		if (!running(bot)) throw new Error(`shard ${bot.shard}'s process exited:\n${bot.output().slice(-3000)}`);
	}

	async function metrics(bot: BotProcess): Promise<string> {
		return (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
	}

	const commandsAnswered = async (bot: BotProcess, command: string) =>
		metricValue(await metrics(bot), "imgpile_bot_interactions_total", { type: "command", command, outcome: "ok" }) ?? 0;

	/** The process that leads the feeds now (by its /metrics), once one does. */
	async function leader(among: BotProcess[] = bots): Promise<BotProcess> {
		const find = async () => {
			for (const bot of among.filter((candidate) => running(candidate))) {
				const text = await metrics(bot).catch(() => "");
				if (metricValue(text, "imgpile_bot_feed_leader") === 1) return bot;
			}
			return undefined;
		};
		const found = await pollUntil(find, (bot) => bot !== undefined, {
			timeoutMs: 30_000,
			what: "a feed leader",
		}).catch((error: Error) => {
			const states = among.map(
				(bot) =>
					`shard ${bot.shard}: ${running(bot) ? "running" : `exited ${bot.child.exitCode ?? bot.child.signalCode}`}\n${bot.output().slice(-2000)}`,
			);
			throw new Error(`${error.message}\n${states.join("\n")}`);
		});
		return found as BotProcess;
	}

	beforeAll(async () => {
		dir = await mkdtemp(join(tmpdir(), "imgpile-scale-"));
		const built = promisify(execFile)("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", BUILD]);
		redis = await startRedis();
		// Two identify buckets: the two processes start at once, as Discord allows big bots.
		discord = await startDiscordEmulator({ sessionStartLimit: { maxConcurrency: 2 } });
		imgpile = await startImgpileEmulator({
			users: [
				{ username: "alice", token: ALICE },
				{ username: "carol", token: CAROL },
			],
		});
		proxy = await startRestProxy({
			discordApiUrl: discord.restUrl,
			token: discord.botToken,
			host: "127.0.0.1",
			port: 0,
			logger: pino({ level: "silent" }),
		});
		alice = discord.createUser({ username: "alice" });
		carol = discord.createUser({ username: "carol" });
		guilds = [0, 1].map((shard) => {
			const guild = discord.createGuild({ name: `Shard ${shard}`, owner: alice, shard: [shard, 2] });
			guild.addMember(carol);
			guild.createChannel({ name: "general" });
			return guild;
		});
		await built;
		await Promise.all((await Promise.all([spawnBot(0), spawnBot(1)])).map(ready));
	}, 120_000);

	afterAll(async () => {
		for (const bot of bots) {
			if (!running(bot)) continue;
			bot.child.kill("SIGCONT");
			bot.child.kill("SIGTERM");
			await once(bot.child, "exit");
		}
		await proxy?.close();
		await discord?.close();
		await imgpile?.close();
		await redis?.stop();
		await rm(dir, { recursive: true, force: true });
		await rm(BUILD, { recursive: true, force: true });
	});

	const general = (guild: Guild | undefined): Channel => {
		const channel = guild?.channels.find((c) => c.name === "general");
		if (!channel) throw new Error("no #general");
		return channel;
	};

	async function slash(
		user: User,
		channel: Channel,
		command: string,
		rest: Partial<Parameters<DiscordEmulator["slash"]>[0]> = {},
	) {
		const ix = await discord.slash({ user, channel, command, ...rest });
		await ix.response({ timeoutMs: 15_000 });
		await discord.waitFor(() => ix.isSettled, { timeoutMs: 30_000, what: `${ix.label} settled` });
		return ix;
	}

	it("answers interactions in guilds of both shards once, each by the process running its shard", async () => {
		const before = await Promise.all(bots.map((bot) => commandsAnswered(bot, "imgpile")));
		const first = await slash(carol, general(guilds[0]), "imgpile", { subcommand: "status" });
		expect(first.reply?.content, first.describe()).toContain("Not linked");
		const second = await slash(carol, general(guilds[1]), "imgpile", { subcommand: "status" });
		expect(second.reply?.content, second.describe()).toContain("Not linked");
		// Each process counts an interaction once it is done with it (a moment after Discord has the answer).
		const answered = () =>
			Promise.all(bots.map(async (bot, i) => (await commandsAnswered(bot, "imgpile")) - (before[i] ?? 0)));
		const counts = await pollUntil(answered, (now) => now.reduce((a, b) => a + b, 0) >= 2, {
			timeoutMs: 5_000,
			what: "both processes to count their interaction",
		});
		expect(counts).toEqual([1, 1]);
		// Commands were registered once, by shard 0's process.
		expect(discord.requests.filter((r) => r.method === "PUT" && r.route?.includes("/commands"))).toHaveLength(1);
		discord.assertNoViolations();
	}, 60_000);

	it("a token linked through one process is used by the other", async () => {
		// A link in DMs (shard 0's process) holds in every server, so in shard 1's too.
		const dm = discord.dmChannel(alice);
		const opened = await slash(alice, dm, "imgpile", { subcommand: "link" });
		const linked = await discord.submitModal({ user: alice, from: opened, fields: { token: ALICE } });
		await linked.settled();
		expect(linked.reply?.content, linked.describe()).toContain(ALICE.slice(-4));
		const status = await slash(alice, general(guilds[1]), "imgpile", { subcommand: "status" });
		expect(status.reply?.content, status.describe()).toContain(ALICE.slice(-4));
		discord.assertNoViolations();
	}, 60_000);

	it("parallel uploads on both processes respect each server's token cap", async () => {
		for (const guild of guilds) {
			const opened = await slash(alice, general(guild), "imgpile", {
				group: "server-token",
				subcommand: "set",
				options: { cap: 2 },
			});
			const set = await discord.submitModal({ user: alice, from: opened, fields: { token: CAROL } });
			await set.settled();
			expect(set.reply?.content, set.describe()).toContain(CAROL.slice(-4));
		}
		const uploads: Interaction[] = await Promise.all(
			guilds.flatMap((guild, g) =>
				Array.from({ length: 4 }, (_, i) =>
					discord.slash({
						user: carol,
						channel: general(guild),
						command: "upload",
						attachments: {
							file: { filename: `g${g}-${i}.png`, contentType: "image/png", source: pngBytes(40 + i, 7 + g) },
						},
					}),
				),
			),
		);
		for (const ix of uploads) {
			await ix.response({ timeoutMs: 15_000 });
			await discord.waitFor(() => ix.isSettled && !/Uploading|Downloading/.test(ix.reply?.content ?? ""), {
				timeoutMs: 60_000,
				what: `${ix.label} finished`,
			});
		}
		const uploaded = imgpile.requests.filter((r) => r.listener === "cdn" && r.method === "POST" && r.status === 201);
		expect(uploaded).toHaveLength(4);
		for (const [g, guild] of guilds.entries()) {
			const mine = uploads.slice(g * 4, g * 4 + 4);
			const titles = mine.map((ix) => String(ix.reply?.embeds[0]?.title ?? ""));
			expect(
				titles.filter((title) => title.startsWith(`g${g}-`)),
				`${guild.name}`,
			).toHaveLength(2);
		}
		discord.assertNoViolations();
	}, 120_000);

	describe("the feeds", () => {
		const TAG = "burst";
		let channels: Channel[] = [];
		let seeded: string[] = [];

		const feedMessages = (channel: Channel): Message[] =>
			discord.messages(channel).filter((m) => m.author.id === discord.botUser.id);
		const delivered = () => channels.reduce((sum, channel) => sum + feedMessages(channel).length, 0);
		const feedPolls = () =>
			imgpile.requests.filter((r) => r.listener === "api" && r.path === "/api/v1/posts" && r.query.tag === TAG).length;

		/** Seeds `n` posts once the query's first (silent) poll has read the feed; their titles. */
		async function seedBurst(n: number): Promise<string[]> {
			await pollUntil(
				async () => feedPolls(),
				(polls) => polls > 0,
				{ timeoutMs: 40_000, what: "the seeding poll" },
			);
			const titles = Array.from({ length: n }, (_, i) => `Burst ${seeded.length + i + 1}`);
			for (const title of titles) imgpile.seedPost({ username: "alice", tags: [TAG], title });
			seeded = [...seeded, ...titles];
			return titles;
		}

		/** The feed lines of a process's log (the last ones), for failure messages. */
		const feedLog = (bot: BotProcess) =>
			running(bot)
				? bot
						.output()
						.split("\n")
						.filter((line) => line.includes('"component":"feeds"') && !line.includes('"level":20'))
						.slice(-25)
						.join("\n")
				: `it exited (${bot.child.exitCode ?? bot.child.signalCode}): ${bot.output().slice(-3000)}`;

		/** Every feed channel has every seeded post exactly once. */
		function exactlyOnce(): void {
			for (const channel of channels) {
				const titles = feedMessages(channel).map((m) => String(m.embeds[0]?.title ?? ""));
				expect(titles.toSorted(), channel.name).toEqual(seeded.toSorted());
			}
		}

		beforeAll(async () => {
			// Eight channels in each server follow one tag: one query, 16 deliveries per new post.
			channels = guilds.flatMap((guild, g) =>
				Array.from({ length: 8 }, (_, i) => guild.createChannel({ name: `burst-${g}-${i}` })),
			);
			for (const channel of channels) {
				const guild = guilds.find((g) => g.channels.includes(channel));
				const added = await slash(alice, general(guild), "feed", { subcommand: "add", options: { channel, tag: TAG } });
				expect(added.reply?.content, added.describe()).toMatch(/Feed `[a-z0-9]+` added/);
			}
		}, 120_000);

		it("the leader killed during a delivery burst: the other takes over within the lease, every post announced once", async () => {
			await seedBurst(8);
			const first = await leader();
			await pollUntil(
				async () => delivered(),
				(n) => n >= 20,
				{ timeoutMs: 60_000, what: "the burst to start" },
			);
			first.child.kill("SIGKILL");
			const killedAt = performance.now();
			const other = bots.find((bot) => bot !== first) as BotProcess;
			await leader([other]);
			const failoverMs = performance.now() - killedAt;
			console.info(`feed failover after SIGKILL: ${Math.round(failoverMs)} ms (lease ${LEASE_TTL_S} s)`);
			// The lease expires at most its TTL after the last renewal; the other process tries each second.
			expect(failoverMs).toBeLessThan((LEASE_TTL_S + 3) * 1000);
			await pollUntil(
				async () => delivered(),
				(n) => n >= channels.length * seeded.length,
				{
					timeoutMs: 120_000,
					what: "every announcement",
				},
			).catch((error: Error) => {
				// What the surviving process was doing, for whoever reads the failure.
				throw new Error(`${error.message}: ${delivered()} delivered; ${feedLog(other)}`);
			});
			exactlyOnce();
			// The killed process comes back (as its restart policy would start it again).
			await ready(await spawnBot(first.shard));
			discord.assertNoViolations();
		}, 300_000);

		it("the leader paused past its lease, then resumed: it delivers and writes nothing more", async () => {
			const before = delivered();
			await seedBurst(8);
			const paused = await leader();
			await pollUntil(
				async () => delivered(),
				(n) => n >= before + 20,
				{ timeoutMs: 60_000, what: "the burst" },
			);
			paused.child.kill("SIGSTOP");
			const other = bots.find((bot) => bot !== paused) as BotProcess;
			await leader([other]);
			await pollUntil(
				async () => delivered(),
				(n) => n >= channels.length * seeded.length,
				{
					timeoutMs: 60_000,
					what: "every announcement, by the other process",
				},
			);
			paused.child.kill("SIGCONT");
			// Awake, it goes on with its cycle, and the cycle's next write carries a fence that no longer
			// holds: refused, so nothing it had in hand is sent or recorded; it follows from then on.
			await pollUntil(
				async () => paused.output(),
				(output) => output.includes("its write was fenced off"),
				{ timeoutMs: 30_000, what: "the paused leader's fenced write" },
			);
			expect(metricValue(await metrics(paused), "imgpile_bot_feed_leader")).toBe(0);
			exactlyOnce();
			discord.assertNoViolations();
		}, 300_000);
	});
});
