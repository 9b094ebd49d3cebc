/**
 * npm run bench:upload — a 100 MB file from disk to the imgpile emulator, through the client
 * and, side by side in the same run, with `curl -F`. Prints the wall time of both, their ratio,
 * and the client process's peak RSS growth during its uploads. Targets: ratio ≤ 1.15, peak RSS
 * growth ≤ 40 MB.
 *
 * Setup, the same for both sides:
 * - The emulator runs in a child process of its own, its storage on tmpfs (/dev/shm) when there
 *   is one; every upload is deleted again once timed, so storage does not grow.
 * - The client runs in a child process of its own too (this script with --client-worker), as
 *   curl does. It stays up between uploads, warmed up; this process only orchestrates. (When
 *   the client ran in the process that also forked curl, each fork left its memory copy-on-write
 *   and the client paid thousands of page faults per upload that a bot never would.)
 * - Each side gets a small and a full-size warm-up upload, then BENCH_ROUNDS (default 15) timed
 *   rounds, alternating which side goes first; medians are compared.
 * - Times are each side's own: the client's `uploadMedia(await fileFromPath(...))` as measured
 *   in its process, curl's `%{time_total}` (so neither pays for process start-up or IPC).
 * - RSS: the client process's peak (VmHWM, reset after warm-up) minus its RSS at that moment,
 *   after a full GC (in the harness, never in the client's upload path). Where /proc is missing,
 *   RSS is sampled every 5 ms instead.
 * - CPU per upload (user + system, all threads) and minor page faults: the client's from
 *   process.cpuUsage() / resourceUsage(); curl's and the emulator's from /proc (Linux only).
 * - BENCH_PIN=1 (Linux with taskset, 2+ CPUs): the emulator runs on CPU 0, the client and curl
 *   both on CPU 1, so the server competes with neither uploader for a CPU, as in production.
 *   Off by default: the plain figures are the ones the targets are about.
 */
import { type ChildProcess, execFile, execFileSync, fork, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fileFromPath, Imgpile } from "../src/imgpile/index.js";
import { pngBytes } from "../test/support/images.js";
import { imgpileEmulatorUrls } from "./lib/emulator-process.js";

const SIZE = 100 * 1000 * 1000;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 15));
const TOKEN = "bench-token-0123456789";
const WORKER_FLAG = "--client-worker";
const TARGET_RATIO = 1.15;
const TARGET_RSS_MB = 40;
const MB = 1024 * 1024;

// ── The client's process ─────────────────────────────────────────────────────────────────────

type WorkerRequest = { op: "upload"; path: string } | { op: "baseline" } | { op: "peak" };

interface UploadResult {
	ms: number;
	/** CPU time of the uploading process, user + system. */
	cpuMs: number;
	/** Of which in the kernel. */
	sysMs: number;
	/** Minor page faults of the uploading process. */
	faults: number;
	slug: string;
	width: number;
}

async function clientWorker(): Promise<void> {
	const imgpile = new Imgpile({
		apiUrl: process.env.BENCH_API_URL ?? "",
		uploadUrl: process.env.BENCH_UPLOAD_URL ?? "",
	});
	let sampledPeak = 0;
	let sampler: NodeJS.Timeout | undefined;

	async function handle(request: WorkerRequest): Promise<unknown> {
		switch (request.op) {
			case "upload": {
				const faults = process.resourceUsage().minorPageFault;
				const cpu = process.cpuUsage();
				const started = performance.now();
				const media = await imgpile.as(TOKEN).uploadMedia(await fileFromPath(request.path));
				const ms = performance.now() - started;
				const used = process.cpuUsage(cpu);
				const result: UploadResult = {
					ms,
					cpuMs: (used.user + used.system) / 1000,
					sysMs: used.system / 1000,
					faults: process.resourceUsage().minorPageFault - faults,
					slug: media.slug,
					width: media.width,
				};
				return result;
			}
			case "baseline": {
				// Harness only: a settled heap to measure from (this makes the growth larger, not smaller).
				global.gc?.();
				await new Promise((resolve) => setTimeout(resolve, 200));
				const rss = process.memoryUsage.rss();
				if (!resetPeakRss()) {
					sampledPeak = rss;
					sampler = setInterval(() => {
						sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
					}, 5);
				}
				return { rss };
			}
			case "peak":
				if (sampler) clearInterval(sampler);
				return { peak: Math.max(sampledPeak, peakRss() ?? 0, process.memoryUsage.rss()) };
		}
	}

	process.on("message", (request: WorkerRequest) => {
		handle(request).then(
			(result) => process.send?.({ ok: true, result }),
			(error: unknown) => process.send?.({ ok: false, error: error instanceof Error ? error.stack : String(error) }),
		);
	});
	process.on("disconnect", () => {
		void imgpile.close().finally(() => process.exit(0));
	});
}

/** Linux: restart the VmHWM (peak RSS) counter at the current RSS. */
function resetPeakRss(): boolean {
	try {
		writeFileSync("/proc/self/clear_refs", "5");
		return peakRss() !== undefined;
	} catch {
		return false;
	}
}

function peakRss(): number | undefined {
	try {
		const kb = readFileSync("/proc/self/status", "utf8").match(/^VmHWM:\s+(\d+) kB/m)?.[1];
		return kb === undefined ? undefined : Number(kb) * 1024;
	} catch {
		return undefined;
	}
}

// ── The orchestrator ─────────────────────────────────────────────────────────────────────────

const PIN = process.env.BENCH_PIN === "1" && availableParallelism() >= 2 && hasTaskset();
/** The command prefix that runs a program on one CPU (BENCH_PIN=1), or nothing. */
const onCpu = (cpu: number): string[] => (PIN ? ["taskset", "-c", String(cpu)] : []);

function hasTaskset(): boolean {
	try {
		execFileSync("taskset", ["-V"], { stdio: "ignore" });
		return true;
	} catch {
		return false;
	}
}

async function startEmulator(storageDir: string): Promise<{ child: ChildProcess; apiUrl: string; uploadUrl: string }> {
	const [command = process.execPath, ...args] = [
		...onCpu(0),
		process.execPath,
		"--import",
		"tsx",
		"scripts/emulator-imgpile.ts",
		"--api-port",
		"0",
		"--cdn-port",
		"0",
		"--user",
		`bench:${TOKEN}`,
		"--auth-limit",
		"100000",
		"--uploads-per-day",
		"100000",
		"--storage-dir",
		storageDir,
	];
	const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
	return { child, ...(await imgpileEmulatorUrls(child)) };
}

function startClientWorker(apiUrl: string, uploadUrl: string): ChildProcess {
	const [execPath = process.execPath, ...prefix] = [...onCpu(1), process.execPath];
	return fork(fileURLToPath(import.meta.url), [WORKER_FLAG], {
		execPath,
		execArgv: [...prefix, "--import", "tsx", "--expose-gc"],
		env: { ...process.env, BENCH_API_URL: apiUrl, BENCH_UPLOAD_URL: uploadUrl },
		stdio: ["ignore", "inherit", "inherit", "ipc"],
	});
}

function ask<T>(worker: ChildProcess, request: WorkerRequest): Promise<T> {
	return new Promise((resolve, reject) => {
		const onExit = () => reject(new Error("the client worker exited"));
		worker.once("exit", onExit);
		worker.once("message", (reply: { ok: boolean; result?: unknown; error?: string }) => {
			worker.off("exit", onExit);
			if (reply.ok) resolve(reply.result as T);
			else reject(new Error(`client worker: ${reply.error}`));
		});
		worker.send(request);
	});
}

async function writeTestFile(path: string): Promise<void> {
	const out = createWriteStream(path);
	const head = pngBytes(1920, 1080);
	out.write(head);
	const block = Buffer.alloc(1024 * 1024, 0x5a);
	let left = SIZE - head.byteLength;
	while (left > 0) {
		const chunk = left >= block.byteLength ? block : block.subarray(0, left);
		left -= chunk.byteLength;
		if (!out.write(chunk)) await once(out, "drain");
	}
	out.end();
	await finished(out);
}

interface ProcStat {
	/** user + system, ms */
	cpuMs: number;
	sysMs: number;
	faults: number;
}

/** A process's CPU time and minor faults from /proc, or those of this process's waited-for children. */
function procStat(pid: number | "self", children = false): ProcStat | undefined {
	try {
		const f = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ").map(Number);
		const [faults, user, system] = children ? [f[8], f[13], f[14]] : [f[7], f[11], f[12]];
		if (faults === undefined || user === undefined || system === undefined) return undefined;
		// USER_HZ is 100 on Linux.
		return { cpuMs: (user + system) * 10, sysMs: system * 10, faults };
	} catch {
		return undefined;
	}
}

function statDelta(before: ProcStat | undefined, after: ProcStat | undefined): ProcStat {
	if (!before || !after) return { cpuMs: Number.NaN, sysMs: Number.NaN, faults: Number.NaN };
	return { cpuMs: after.cpuMs - before.cpuMs, sysMs: after.sysMs - before.sysMs, faults: after.faults - before.faults };
}

async function curlUpload(uploadUrl: string, path: string): Promise<UploadResult> {
	const [command = "curl", ...prefix] = [...onCpu(1), "curl"];
	const before = procStat("self", true);
	const { stdout } = await promisify(execFile)(
		command,
		[
			...prefix,
			"-sS",
			"--fail-with-body",
			"-H",
			`Authorization: Bearer ${TOKEN}`,
			"-F",
			`file=@${path}`,
			"-w",
			"\n%{time_total}",
			uploadUrl,
		],
		{ maxBuffer: 1024 * 1024 },
	);
	const used = statDelta(before, procStat("self", true));
	const cut = stdout.lastIndexOf("\n");
	const seconds = Number(stdout.slice(cut + 1));
	let media: { slug?: string; width?: number } | undefined;
	try {
		media = (JSON.parse(stdout.slice(0, cut)) as { media?: { slug?: string; width?: number } }).media;
	} catch {
		// reported below
	}
	if (!media?.slug || !Number.isFinite(seconds)) throw new Error(`curl upload failed: ${stdout.slice(0, 200)}`);
	return { ms: seconds * 1000, ...used, slug: media.slug, width: media.width ?? 0 };
}

function median(values: number[]): number {
	const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
	if (sorted.length === 0) return Number.NaN;
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const ms = (value: number): string => (Number.isNaN(value) ? "n/a" : `${value.toFixed(0)} ms`);
const count = (value: number): string => (Number.isNaN(value) ? "n/a" : Math.round(value).toLocaleString("en-US"));

class Side {
	readonly runs: UploadResult[] = [];
	readonly emulatorCpu: number[] = [];
	median(key: "ms" | "cpuMs" | "sysMs" | "faults"): number {
		return median(this.runs.map((run) => run[key]));
	}
	times(): string {
		return this.runs.map((run) => run.ms.toFixed(0)).join(", ");
	}
	/** e.g. "215 ms (kernel 139 ms, 7,137 page faults)" */
	cpu(): string {
		return `${ms(this.median("cpuMs"))} (kernel ${ms(this.median("sysMs"))}, ${count(this.median("faults"))} page faults)`;
	}
}

async function main(): Promise<void> {
	const loadBefore = loadavg()[0] ?? 0;
	const dir = await mkdtemp(join(tmpdir(), "imgpile-bench-"));
	const storageDir = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "imgpile-bench-storage-"));
	const file = join(dir, "upload.png");
	const small = join(dir, "small.png");
	const emulator = await startEmulator(storageDir);
	const emulatorPid = emulator.child.pid ?? 0;
	const worker = startClientWorker(emulator.apiUrl, emulator.uploadUrl);
	const api = new Imgpile({ apiUrl: emulator.apiUrl, uploadUrl: emulator.uploadUrl });
	try {
		await writeTestFile(file);
		await writeFile(small, pngBytes(10, 10));

		const client = new Side();
		const curl = new Side();
		const runClient = (path: string) => ask<UploadResult>(worker, { op: "upload", path });
		const runCurl = (path: string) => curlUpload(emulator.uploadUrl, path);
		const timed = async (side: Side, run: (path: string) => Promise<UploadResult>) => {
			const before = procStat(emulatorPid);
			const result = await run(file);
			const emulatorUsed = statDelta(before, procStat(emulatorPid));
			if (result.width !== 1920) throw new Error("the emulator did not read the upload right");
			side.runs.push(result);
			side.emulatorCpu.push(emulatorUsed.cpuMs);
			await api.as(TOKEN).deleteMedia(result.slug);
		};

		// Warm up both paths (connection, JIT, heap, page cache) with a small and a full-size file.
		for (const path of [small, file]) {
			await api.as(TOKEN).deleteMedia((await runClient(path)).slug);
			await api.as(TOKEN).deleteMedia((await runCurl(path)).slug);
		}
		const { rss: baseline } = await ask<{ rss: number }>(worker, { op: "baseline" });

		for (let round = 0; round < ROUNDS; round++) {
			if (round % 2 === 0) {
				await timed(client, runClient);
				await timed(curl, runCurl);
			} else {
				await timed(curl, runCurl);
				await timed(client, runClient);
			}
		}
		const { peak } = await ask<{ peak: number }>(worker, { op: "peak" });

		const clientMs = client.median("ms");
		const curlMs = curl.median("ms");
		const ratio = clientMs / curlMs;
		const growthMb = (peak - baseline) / MB;
		const cpus = availableParallelism();
		const extraCpu = client.median("cpuMs") - curl.median("cpuMs");
		console.log(
			`bench:upload — ${SIZE / 1e6} MB from disk to the imgpile emulator, ${ROUNDS} rounds (alternating), medians; ` +
				`${cpus} CPUs${PIN ? "; pinned: emulator on CPU 0, client and curl on CPU 1" : ""}`,
		);
		console.log(`  client (undici, streamed multipart): ${ms(clientMs).padStart(7)}  [${client.times()}]`);
		console.log(`  curl -F:                             ${ms(curlMs).padStart(7)}  [${curl.times()}]`);
		console.log(
			`  ratio client/curl: ${ratio.toFixed(3)}  (target ≤ ${TARGET_RATIO}) ${ratio <= TARGET_RATIO ? "OK" : "OVER"}`,
		);
		console.log(
			`  client peak RSS growth: ${growthMb.toFixed(1)} MB over ${(baseline / MB).toFixed(0)} MB after warm-up  ` +
				`(target ≤ ${TARGET_RSS_MB} MB) ${growthMb <= TARGET_RSS_MB ? "OK" : "OVER"}`,
		);
		console.log(
			`  CPU per upload: client ${client.cpu()}, curl ${curl.cpu()}; ` +
				`emulator ${ms(median(client.emulatorCpu))} serving the client, ${ms(median(curl.emulatorCpu))} serving curl`,
		);
		console.log(
			`  machine: load average ${loadBefore.toFixed(1)} before the run, ${loadavg()[0]?.toFixed(1)} after, on ${cpus} CPUs`,
		);
		if (ratio > TARGET_RATIO) {
			const busy = Math.max(loadBefore, loadavg()[0] ?? 0) > cpus ? " and with the other work on this machine," : "";
			console.log(
				`  why the ratio may be over: the client used ${ms(extraCpu)} more CPU per upload than curl; ` +
					`on ${cpus} CPUs shared with the emulator, which bounds both uploads,${busy} that becomes wall time` +
					`${PIN ? "" : " (BENCH_PIN=1 runs the emulator on a CPU of its own)"}`,
			);
		}
		if (growthMb > TARGET_RSS_MB) {
			console.log(
				"  why the RSS may be over: buffers already sent but not yet collected (V8 frees external memory in batches)",
			);
		}
	} finally {
		worker.disconnect();
		await api.close();
		emulator.child.kill("SIGINT");
		await Promise.all([
			worker.exitCode === null ? once(worker, "exit") : undefined,
			emulator.child.exitCode === null ? once(emulator.child, "exit") : undefined,
		]);
		await rm(dir, { recursive: true, force: true });
		await rm(storageDir, { recursive: true, force: true });
	}
}

if (process.argv.includes(WORKER_FLAG)) await clientWorker();
else await main();
