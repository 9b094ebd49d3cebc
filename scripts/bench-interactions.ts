/**
 * npm run bench:interactions — 200 concurrent `/imgpile status` interactions from 200 members
 * through the Discord emulator to the real bot; prints p50/p99 of the time from INTERACTION_CREATE
 * (the emulator's dispatch) to the bot's first callback. Target: p99 < 250 ms.
 *
 * The bot runs as its own process (the build, as `npm start` runs it), so that it and the
 * emulators do not share one event loop: in production Discord is not inside the bot either.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startDiscordEmulator } from "../test/emulators/discord/index.js";
import { startImgpileEmulator } from "../test/emulators/imgpile/index.js";
import { freePort } from "../test/support/process.js";

const COUNT = Number(process.env.BENCH_INTERACTIONS ?? 200);

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
	for (let i = 0; i < 300; i++) {
		if (child.exitCode !== null) throw new Error(`the bot exited with ${child.exitCode}`);
		const status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
			(r) => r.status,
			() => 0,
		);
		if (status === 200) return;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error("the bot did not become healthy in 30 s");
}

const discord = await startDiscordEmulator();
const imgpile = await startImgpileEmulator();
const dir = await mkdtemp(join(tmpdir(), "imgpile-bench-interactions-"));
const port = await freePort();
// The bot as `npm start` runs it: the compiled build. BENCH_BOT_NODE_ARGS="--cpu-prof
// --cpu-prof-dir=/tmp/prof" profiles it.
execFileSync("npm", ["run", "build"], { stdio: "ignore" });
const nodeArgs = (process.env.BENCH_BOT_NODE_ARGS ?? "").split(" ").filter(Boolean);
const bot = spawn(process.execPath, [...nodeArgs, "--enable-source-maps", resolve("dist/src/index.js")], {
	cwd: dir,
	env: {
		PATH: process.env.PATH,
		DISCORD_TOKEN: discord.botToken,
		DISCORD_API_URL: discord.restUrl,
		IMGPILE_API_URL: imgpile.apiUrl,
		IMGPILE_UPLOAD_URL: imgpile.uploadUrl,
		HEALTH_PORT: String(port),
		LOG_LEVEL: "warn",
	},
	stdio: ["ignore", "ignore", "inherit"],
});
try {
	await waitHealthy(port, bot);
	const guild = discord.createGuild({ name: "Bench" });
	const channel = guild.createChannel({ name: "general" });
	const members = (prefix: string) =>
		Array.from({ length: COUNT }, (_, i) => {
			const user = discord.createUser({ username: `${prefix}${i}` });
			guild.addMember(user);
			return user;
		});
	// Warm-up: one burst from other members, so that the process's start-up (JIT, first
	// connections) is not what we measure. The measured members are new to the bot in round 1
	// (nothing of theirs cached), and known in the later rounds.
	const warmup = await Promise.all(
		members("warmup").map((user) => discord.slash({ user, channel, command: "imgpile", subcommand: "status" })),
	);
	await Promise.all(warmup.map((ix) => ix.settled({ timeoutMs: 30_000 })));
	const users = members("member");

	const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
	console.log(
		`bench:interactions — ${COUNT} concurrent /imgpile status, Discord emulator → bot process, ${rounds} rounds`,
	);
	const p99s: number[] = [];
	for (let round = 1; round <= rounds; round++) {
		const started = performance.now();
		const interactions = await Promise.all(
			users.map((user) => discord.slash({ user, channel, command: "imgpile", subcommand: "status" })),
		);
		await Promise.all(interactions.map((ix) => ix.settled({ timeoutMs: 30_000 })));
		const wall = performance.now() - started;
		const latencies = interactions
			.map((ix) => ix.callback?.latencyMs ?? Number.POSITIVE_INFINITY)
			.sort((a, b) => a - b);
		const p50 = percentile(latencies, 50);
		const p99 = percentile(latencies, 99);
		p99s.push(p99);
		const answered = interactions.filter((ix) => ix.reply?.content.includes("Not linked")).length;
		console.log(
			`  round ${round}: answered ${answered}/${COUNT} in ${wall.toFixed(0)} ms; INTERACTION_CREATE → first callback p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms`,
		);
	}
	const worst = Math.max(...p99s);
	console.log(`  worst p99 ${worst.toFixed(1)} ms — target p99 < 250 ms: ${worst < 250 ? "OK" : "OVER"}`);
	discord.assertNoViolations();
} finally {
	bot.kill("SIGTERM");
	await new Promise((r) => bot.once("exit", r));
	await discord.close();
	await imgpile.close();
	await rm(dir, { recursive: true, force: true });
}
