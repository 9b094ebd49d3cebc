/**
 * The Dockerfile without Docker (no engine here): its runtime stage runs node directly (signals
 * reach the bot), stops with SIGTERM, and its HEALTHCHECK command, run as Docker would run it,
 * tells a ready bot's health server from one that is starting or absent.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHealthServer } from "../src/bot/health.js";

interface Instruction {
	keyword: string;
	args: string;
}

/** The instructions of the Dockerfile's last stage (the image that runs), continuation lines joined. */
async function runtimeStage(): Promise<Instruction[]> {
	const text = await readFile("Dockerfile", "utf8");
	const lines = text.replace(/\\\n\s*/g, "").split("\n");
	const instructions = lines
		.map((line) => line.trim())
		.filter((line) => line !== "" && !line.startsWith("#"))
		.map((line) => {
			const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
			return { keyword: keyword.toUpperCase(), args };
		});
	const from = instructions.map((i) => i.keyword).lastIndexOf("FROM");
	return instructions.slice(from);
}

function only(stage: Instruction[], keyword: string): string {
	const found = stage.filter((i) => i.keyword === keyword);
	expect(found, keyword).toHaveLength(1);
	return found[0]?.args ?? "";
}

/** The exec form (a JSON array) of CMD or HEALTHCHECK's CMD. */
function execForm(args: string): string[] {
	const parsed: unknown = JSON.parse(args);
	expect(Array.isArray(parsed) && parsed.every((part) => typeof part === "string"), args).toBe(true);
	return parsed as string[];
}

let stage: Instruction[];

beforeAll(async () => {
	stage = await runtimeStage();
});

/** HEALTHCHECK's command, in exec form. */
function healthcheck(): string[] {
	const parsed = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/.exec(only(stage, "HEALTHCHECK"));
	expect(parsed, "HEALTHCHECK [options] CMD [...]").toBeTruthy();
	return execForm(parsed?.[2] ?? "");
}

/** The HEALTH_PORT the image sets. */
function imagePort(): string {
	return /(?:^|\s)HEALTH_PORT=(\d+)(?:\s|$)/.exec(only(stage, "ENV"))?.[1] ?? "";
}

/** Runs the HEALTHCHECK command as Docker would inside the container: its exit code. */
function runCheck(env: Record<string, string>): Promise<number> {
	const [command = "", ...args] = healthcheck();
	return new Promise((resolve) => {
		// `node` in the image; this test's node here.
		const file = command === "node" ? process.execPath : command;
		execFile(file, args, { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000 }, (error) =>
			resolve(error ? (typeof error.code === "number" ? error.code : -1) : 0),
		);
	});
}

describe("Dockerfile", () => {
	it("runs node directly (no npm between Docker and the bot), on the entry `npm start` runs", async () => {
		const cmd = execForm(only(stage, "CMD"));
		expect(cmd).toEqual(["node", "--enable-source-maps", "dist/src/index.js"]);
		expect(stage.map((i) => i.keyword)).not.toContain("ENTRYPOINT");
		const pkg = JSON.parse(await readFile("package.json", "utf8")) as { scripts: Record<string, string> };
		expect(pkg.scripts.start).toBe(cmd.join(" "));
	});

	it("stops with SIGTERM, and sets a health port the check reads", () => {
		expect(only(stage, "STOPSIGNAL")).toBe("SIGTERM");
		expect(Number(imagePort())).toBeGreaterThan(0);
		expect(only(stage, "EXPOSE")).toBe(imagePort());
		const check = healthcheck();
		expect(check[0]).toBe("node");
		expect(check.join(" ")).toContain("process.env.HEALTH_PORT");
	});

	it("an .env made from .env.example keeps the image's HEALTH_PORT (an empty value would turn health off)", async () => {
		const example = await readFile(".env.example", "utf8");
		expect(example).not.toMatch(/^HEALTH_PORT=\s*$/m);
	});
});

describe("the HEALTHCHECK command", () => {
	let ready = false;
	let health: Awaited<ReturnType<typeof startHealthServer>>;

	beforeAll(async () => {
		// As the bot starts it: no host, so on every interface, loopback included.
		health = await startHealthServer({ port: 0, ready: () => ready });
	});

	afterAll(async () => {
		await health.close();
	});

	it("succeeds against a ready bot, fails while it is starting, and when nothing listens", async () => {
		const env = { HEALTH_PORT: String(health.port) };
		expect(await runCheck(env)).toBe(1);
		ready = true;
		expect(await runCheck(env)).toBe(0);

		const probe = createServer();
		await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
		const address = probe.address();
		const closedPort = typeof address === "object" && address ? address.port : 0;
		await new Promise<void>((resolve) => probe.close(() => resolve()));
		expect(await runCheck({ HEALTH_PORT: String(closedPort) })).toBe(1);
	});
});
