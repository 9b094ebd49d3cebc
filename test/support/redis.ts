import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe } from "vitest";

/**
 * A real `redis-server` for the tests that need one: own port on 127.0.0.1, own temporary
 * directory, no persistence, stopped by the test. Never a mock.
 */
export interface RedisServer {
	readonly url: string;
	readonly port: number;
	/** The server's process (a test may SIGSTOP it to simulate a stalled engine). */
	readonly process: ChildProcess;
	stop(): Promise<void>;
}

export const INSTALL_REDIS = "apt-get install -y redis-server";

/** Whether `redis-server` is on PATH. */
export const redisAvailable: boolean = (() => {
	const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
	return probe.error === undefined && probe.status === 0;
})();

/**
 * `describe` for Redis tests: skipped with one line saying how to install redis-server when it is
 * missing, except in CI (`CI=true`), where a missing server is a failure, never a skip.
 */
export function describeRedis(name: string, fn: () => void): void {
	if (redisAvailable) {
		describe(name, fn);
		return;
	}
	if (process.env.CI === "true") {
		throw new Error(`${name}: redis-server is not installed, and in CI the Redis tests must run (${INSTALL_REDIS})`);
	}
	console.warn(`skipped "${name}": redis-server is not installed (${INSTALL_REDIS})`);
	describe.skip(name, fn);
}

/** Starts a redis-server on a free loopback port; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
	for (let attempt = 0; ; attempt++) {
		try {
			return await startOnce(await freePort());
		} catch (error) {
			// Another process may have taken the port between our probe and the server's bind.
			if (attempt >= 4) throw error;
		}
	}
}

async function startOnce(port: number): Promise<RedisServer> {
	const dir = await mkdtemp(path.join(tmpdir(), "imgpile-redis-"));
	const child = spawn(
		"redis-server",
		["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
		{ stdio: ["ignore", "pipe", "pipe"] },
	);
	let output = "";
	await new Promise<void>((resolve, reject) => {
		const onData = (chunk: Buffer) => {
			output += chunk.toString();
			if (output.includes("Ready to accept connections")) {
				child.stdout?.off("data", onData);
				resolve();
			}
		};
		child.stdout?.on("data", onData);
		child.once("error", reject);
		child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)));
	}).catch(async (error: unknown) => {
		child.kill("SIGKILL");
		await rm(dir, { recursive: true, force: true });
		throw error;
	});
	child.stdout?.resume();
	child.stderr?.resume();
	let stopped: Promise<void> | undefined;
	return {
		url: `redis://127.0.0.1:${port}`,
		port,
		process: child,
		stop: () => {
			stopped ??= (async () => {
				if (child.exitCode === null && child.signalCode === null) {
					const exited = new Promise((resolve) => child.once("exit", resolve));
					child.kill("SIGCONT");
					child.kill("SIGTERM");
					await exited;
				}
				await rm(dir, { recursive: true, force: true });
			})();
			return stopped;
		},
	};
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			server.close(() =>
				typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
			);
		});
	});
}
