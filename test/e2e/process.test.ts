/**
 * The bot as a process, as `npm start` runs it: configuration from the environment, SQLite in a
 * data directory, health and metrics endpoint, command registration, and a clean stop on SIGTERM.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiscordEmulator, startDiscordEmulator } from "../emulators/discord/index.js";
import { type ImgpileEmulator, startImgpileEmulator } from "../emulators/imgpile/index.js";
import { botEnv } from "../support/bot-env.js";
import { metricValue } from "../support/metrics.js";
import { freePort, healthz, spawnWithOutput } from "../support/process.js";

const TSX = resolve("node_modules/.bin/tsx");
const ENTRY = resolve("dist/src/index.js");

let discord: DiscordEmulator;
let imgpile: ImgpileEmulator;
let dir: string;

beforeAll(async () => {
	discord = await startDiscordEmulator();
	imgpile = await startImgpileEmulator({ users: [{ username: "alice", token: "ip-alice-process-0001" }] });
	dir = await mkdtemp(join(tmpdir(), "imgpile-process-"));
	// What `npm start` runs: the build (its `prestart`), then node on the output.
	await promisify(execFile)("npm", ["run", "build"]);
}, 60_000);

afterAll(async () => {
	await discord.close();
	await imgpile.close();
	await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	return botEnv({ discord, imgpile, dir }, extra);
}

describe("the bot process", () => {
	it("starts from the environment, serves /healthz once READY, answers, and stops cleanly on SIGTERM", async () => {
		const port = await freePort();
		const { child, output } = spawnWithOutput(process.execPath, ["--enable-source-maps", ENTRY], {
			cwd: dir,
			env: env({ HEALTH_PORT: String(port) }),
		});
		try {
			await expect.poll(() => healthz(port), { timeout: 20_000, interval: 100 }).toBe(200);
			// Logs are written asynchronously: the line may follow the first 200 by a moment.
			await expect.poll(output, { timeout: 5_000 }).toContain("bot ready");
			expect(output()).toMatch(/generated a token encryption key/);
			// SQLite and the generated key live in ./data, created on first start.
			expect((await stat(join(dir, "data", "imgpile-bot.sqlite"))).isFile()).toBe(true);
			expect((await stat(join(dir, "data", "token-encryption.key"))).mode & 0o777).toBe(0o600);

			const guild = discord.createGuild({ name: "Process" });
			const channel = guild.createChannel({ name: "general" });
			const user = discord.createUser({ username: "dora" });
			guild.addMember(user);
			const ix = await discord.slash({ user, channel, command: "imgpile", subcommand: "status" });
			await ix.settled();
			expect(ix.reply?.content).toContain("Not linked");
			// The metrics on the same port, with the process metrics the composition root turns on.
			const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
			expect(metricValue(metrics, "imgpile_bot_interactions_total", { command: "imgpile", outcome: "ok" })).toBe(1);
			expect(metricValue(metrics, "process_resident_memory_bytes")).toBeGreaterThan(0);
			expect(metrics).not.toContain(discord.botToken);

			const exited = once(child, "exit");
			child.kill("SIGTERM");
			const [code] = await exited;
			expect(code).toBe(0);
			expect(output()).toContain("stopped");
			expect(output()).not.toContain(discord.botToken);
			discord.assertNoViolations();
		} finally {
			if (child.exitCode === null) child.kill("SIGKILL");
		}
	}, 40_000);

	it("npm run deploy-commands registers in a guild only when the commands changed", async () => {
		const guild = discord.createGuild({ name: "Dev" });
		const run = () =>
			promisify(execFile)(TSX, [resolve("scripts/deploy-commands.ts"), "--guild", guild.id], { cwd: dir, env: env() });
		expect((await run()).stdout).toContain("commands updated (guild)");
		expect(discord.registeredCommands({ guildId: guild.id }).map((c) => c.name)).toContain("imgpile");
		expect((await run()).stdout).toContain("commands unchanged (guild)");
	}, 30_000);
});
