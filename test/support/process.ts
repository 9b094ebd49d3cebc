/** Helpers for tests that run the bot or the REST proxy as a child process. */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** GET /healthz on 127.0.0.1:port: its status, or 0 while nothing listens. */
export async function healthz(port: number): Promise<number> {
	try {
		return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
	} catch {
		return 0;
	}
}

/**
 * A port that is free now, for a child to listen on (the child cannot report an ephemeral one).
 * Picked below the kernel's ephemeral range (32768 up): a port in it can be taken at any moment
 * by an outgoing connection's local end, and the child's listen then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
	for (;;) {
		const port = 10_000 + Math.floor(Math.random() * 22_000);
		const server = createServer();
		const bound = await new Promise<boolean>((resolve) => {
			server.once("error", () => resolve(false));
			server.listen(port, "0.0.0.0", () => resolve(true));
		});
		if (!bound) continue;
		await new Promise((resolve) => server.close(resolve));
		return port;
	}
}

/** Spawns `command` with exactly `env`; `output()` is everything it wrote so far, stdout and stderr. */
export function spawnWithOutput(
	command: string,
	args: string[],
	options: { env: NodeJS.ProcessEnv; cwd?: string },
): { child: ChildProcess; output: () => string } {
	const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
	let output = "";
	const collect = (chunk: Buffer) => {
		output += chunk;
	};
	child.stdout?.on("data", collect);
	child.stderr?.on("data", collect);
	return { child, output: () => output };
}

/**
 * Polls `read` until `done` holds (another process's endpoint has no event to await); throws
 * after `timeoutMs` saying `what`. Returns the last value read.
 */
export async function pollUntil<T>(
	read: () => Promise<T>,
	done: (value: T) => boolean,
	options: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<T> {
	const deadline = Date.now() + options.timeoutMs;
	for (;;) {
		const value = await read();
		if (done(value)) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
		await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
	}
}
