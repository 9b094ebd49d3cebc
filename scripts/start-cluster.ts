/**
 * `npm run start:cluster -- N [SHARD_COUNT]`: N bot processes on this machine, sharing SHARD_COUNT
 * gateway shards (default N, one each), as `npm start` runs one (built once by `prestart:cluster`).
 * Logs are the children's, tagged with their shards. SIGINT/SIGTERM stop them all; a process that
 * dies is logged and not restarted, and the cluster exits 1 once none is left.
 *
 * The children read .env like `npm start`; HEALTH_PORT, when set, is the first child's port and
 * the others take the next ones.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startCluster } from "./lib/cluster.js";

const usage = "usage: npm run start:cluster -- <processes> [shard count]";
const [processes, shardCount, ...rest] = process.argv.slice(2);
const count = Number(processes);
const shards = shardCount === undefined ? count : Number(shardCount);
if (rest.length > 0 || !/^[1-9]\d*$/.test(processes ?? "") || !/^[1-9]\d*$/.test(String(shards)) || shards < count) {
	console.error(`${usage}\n  (whole numbers; at least one shard per process)`);
	process.exit(2);
}

if (existsSync(".env")) process.loadEnvFile(".env");
const healthPort = process.env.HEALTH_PORT?.trim() ? Number(process.env.HEALTH_PORT) : undefined;
const entry = fileURLToPath(new URL("../src/index.js", import.meta.url));

const cluster = startCluster({
	count,
	shardCount: shards,
	command: [process.execPath, "--enable-source-maps", entry],
	env: process.env,
	childEnv: (index) => (healthPort === undefined ? {} : { HEALTH_PORT: String(healthPort + index) }),
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void cluster.stop(signal));
process.exitCode = await cluster.exited;
