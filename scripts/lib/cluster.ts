import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * Bot processes on one machine, one per slice of the gateway shards: `count` processes share
 * `shardCount` shards (child i runs i, i + count, …), each started with SHARD_COUNT and SHARD_IDS.
 * Nothing is restarted: a child that exits is logged, and the cluster ends when all have.
 */
export interface ClusterOptions {
	/** How many bot processes. */
	count: number;
	/** Shards across all of them (default `count`: one each). */
	shardCount?: number;
	/** The argv of one bot process, e.g. [process.execPath, "dist/src/index.js"]. */
	command: readonly string[];
	/** Every child's environment (SHARD_COUNT and SHARD_IDS are set on top). */
	env: NodeJS.ProcessEnv;
	/** More variables for child `index` (e.g. its own HEALTH_PORT). */
	childEnv?: (index: number) => NodeJS.ProcessEnv;
	cwd?: string;
	/**
	 * Between two starts. Discord takes one IDENTIFY per 5 s per bucket (shard_id % max_concurrency,
	 * max_concurrency 1 for most bots), and processes do not share discord.js's identify queue, so
	 * the default (5.5 s) keeps them apart.
	 */
	staggerMs?: number;
	/** Where each line goes (default: stdout, or stderr for the children's stderr). */
	write?: (line: string, stream: "stdout" | "stderr") => void;
}

export interface ClusterChild {
	readonly index: number;
	readonly shards: readonly number[];
	/** Null until started (children start `staggerMs` apart), or when it could not be spawned. */
	process: ChildProcess | null;
	exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

export interface Cluster {
	readonly children: readonly ClusterChild[];
	/** Sends `signal` to every child (those not started yet are not started), then waits for the end. */
	stop(signal?: NodeJS.Signals): Promise<number>;
	/** The cluster's exit code once every child is gone: 0 if each exited 0 after a stop, else 1. */
	readonly exited: Promise<number>;
}

/** Shards of child `index` of `count` among `shardCount`: index, index + count, … */
export function shardsOf(index: number, count: number, shardCount: number): number[] {
	const ids: number[] = [];
	for (let id = index; id < shardCount; id += count) ids.push(id);
	return ids;
}

/**
 * A child's line, tagged with its shards: pino's JSON lines get a `clusterShards` field (still JSON),
 * anything else a `[shards 0,2]` prefix.
 */
export function tagLine(line: string, shards: readonly number[]): string {
	if (line.startsWith("{")) return `{"clusterShards":[${shards.join(",")}],${line.slice(1)}`;
	return `[shards ${shards.join(",")}] ${line}`;
}

export function startCluster(options: ClusterOptions): Cluster {
	const { count, command } = options;
	const shardCount = options.shardCount ?? count;
	if (!Number.isInteger(count) || count < 1) throw new Error(`the process count must be 1 or more, not ${count}`);
	if (!Number.isInteger(shardCount) || shardCount < count) {
		throw new Error(`the shard count must be a whole number of at least ${count} (one per process), not ${shardCount}`);
	}
	const [file, ...args] = command;
	if (!file) throw new Error("no command to start the bot with");
	const write =
		options.write ?? ((line, stream) => (stream === "stdout" ? process.stdout : process.stderr).write(`${line}\n`));
	const note = (level: number, msg: string, extra: Record<string, unknown> = {}) =>
		write(JSON.stringify({ level, time: Date.now(), component: "cluster", ...extra, msg }), "stderr");
	const children: ClusterChild[] = Array.from({ length: count }, (_, index) => ({
		index,
		shards: shardsOf(index, count, shardCount),
		process: null,
		exit: null,
	}));
	let stopping = false;
	let resolveExited: (code: number) => void = () => undefined;
	const exited = new Promise<number>((resolve) => {
		resolveExited = resolve;
	});
	const timers: NodeJS.Timeout[] = [];

	const finishIfDone = () => {
		const pending = children.filter((c) => c.exit === null && (c.process !== null || !stopping));
		if (pending.length > 0) return;
		const clean = stopping && children.every((c) => c.exit === null || c.exit.code === 0);
		note(clean ? 30 : 50, clean ? "every bot process has stopped" : "every bot process is gone");
		resolveExited(clean ? 0 : 1);
	};

	const launch = (child: ClusterChild) => {
		if (stopping) return;
		const proc = spawn(file, args, {
			cwd: options.cwd,
			env: {
				...options.env,
				...options.childEnv?.(child.index),
				SHARD_COUNT: String(shardCount),
				SHARD_IDS: child.shards.join(","),
			},
			stdio: ["ignore", "pipe", "pipe"],
			// Its own process group: Ctrl-C in a terminal reaches the cluster only, which passes it
			// on once (a second SIGINT would end a bot in the middle of its clean stop).
			detached: true,
		});
		child.process = proc;
		note(30, "bot process started", { shards: child.shards, pid: proc.pid });
		for (const stream of ["stdout", "stderr"] as const) {
			const lines = createInterface({ input: proc[stream] as NodeJS.ReadableStream });
			lines.on("line", (line) => write(tagLine(line, child.shards), stream));
		}
		proc.on("error", (error) => {
			note(50, `bot process could not run: ${error.message}`, { shards: child.shards });
			if (proc.pid !== undefined) return;
			// Never spawned: no "close" follows.
			child.exit = { code: null, signal: null };
			finishIfDone();
		});
		proc.on("close", (code, signal) => {
			child.exit = { code, signal };
			const expected = stopping && code === 0;
			note(expected ? 30 : 50, expected ? "bot process stopped" : "bot process exited; it is not restarted", {
				shards: child.shards,
				code,
				signal,
			});
			finishIfDone();
		});
	};

	const staggerMs = options.staggerMs ?? 5500;
	children.forEach((child, i) => {
		if (i === 0) launch(child);
		else timers.push(setTimeout(() => launch(child), i * staggerMs));
	});

	return {
		children,
		exited,
		async stop(signal = "SIGTERM") {
			if (!stopping) {
				stopping = true;
				for (const timer of timers) clearTimeout(timer);
				for (const child of children) if (child.exit === null) child.process?.kill(signal);
				finishIfDone();
			}
			return exited;
		},
	};
}
