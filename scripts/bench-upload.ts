/**
 * npm run bench:upload — a 100 MB file from disk to the imgpile emulator, through the client
 * and, side by side in the same run, with `curl -F`. Prints the wall time of both, their ratio,
 * and the client process's peak RSS growth during its uploads.
 *
 * The emulator runs in a child process so that its memory does not count as the client's.
 * Targets: ratio ≤ 1.15, peak RSS growth ≤ 40 MB.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { promisify } from "node:util";
import { fileFromPath, Imgpile } from "../src/imgpile/index.js";
import { pngBytes } from "../test/support/images.js";

const SIZE = 100 * 1000 * 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TOKEN = "bench-token-0123456789";

async function startEmulator(): Promise<{ child: ChildProcess; apiUrl: string; uploadUrl: string }> {
	const child = spawn(
		process.execPath,
		[
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
		],
		{ stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, TMPDIR: "/dev/shm" } },
	);
	const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
	let apiUrl = "";
	let cdnUrl = "";
	for await (const line of lines) {
		const url = line.match(/https?:\/\/\S+/)?.[0];
		if (!url) continue;
		if (/api/i.test(line.split("http")[0] ?? "")) apiUrl = url;
		else cdnUrl = url;
		if (apiUrl && cdnUrl) break;
	}
	if (!apiUrl || !cdnUrl) throw new Error("the emulator did not print its URLs");
	return { child, apiUrl, uploadUrl: `${cdnUrl.replace(/\/+$/, "")}/api/v1/media` };
}

async function writeTestFile(path: string): Promise<void> {
	const out = createWriteStream(path);
	out.write(pngBytes(1920, 1080));
	const block = Buffer.alloc(1024 * 1024, 0x5a);
	let left = SIZE - pngBytes(1920, 1080).byteLength;
	while (left > 0) {
		const chunk = left >= block.byteLength ? block : block.subarray(0, left);
		left -= chunk.byteLength;
		if (!out.write(chunk)) await once(out, "drain");
	}
	out.end();
	await finished(out);
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
	const dir = await mkdtemp(join(tmpdir(), "imgpile-bench-"));
	const file = join(dir, "upload.png");
	const emulator = await startEmulator();
	const imgpile = new Imgpile({ apiUrl: emulator.apiUrl, uploadUrl: emulator.uploadUrl });
	try {
		await writeTestFile(file);
		// Warm up both paths (connection, JIT) with a small file.
		const small = join(dir, "small.png");
		const { writeFile } = await import("node:fs/promises");
		await writeFile(small, pngBytes(10, 10));
		await imgpile.as(TOKEN).uploadMedia(await fileFromPath(small));
		await curlUpload(emulator.uploadUrl, small);

		global.gc?.();
		const baseline = process.memoryUsage().rss;
		let peak = baseline;
		const sampler = setInterval(() => {
			peak = Math.max(peak, process.memoryUsage().rss);
		}, 10);

		const clientTimes: number[] = [];
		const curlTimes: number[] = [];
		for (let round = 0; round < ROUNDS; round++) {
			let started = performance.now();
			const media = await imgpile.as(TOKEN).uploadMedia(await fileFromPath(file));
			clientTimes.push(performance.now() - started);
			if (media.width !== 1920) throw new Error("the emulator did not read the upload right");

			started = performance.now();
			await curlUpload(emulator.uploadUrl, file);
			curlTimes.push(performance.now() - started);
		}
		clearInterval(sampler);
		peak = Math.max(peak, process.memoryUsage().rss);

		const client = median(clientTimes);
		const curl = median(curlTimes);
		const ratio = client / curl;
		const growthMb = (peak - baseline) / 1024 / 1024;
		console.log(`bench:upload — ${SIZE / 1e6} MB from disk to the imgpile emulator, ${ROUNDS} rounds, medians`);
		console.log(
			`  client (undici, streamed multipart): ${client.toFixed(0)} ms  [${clientTimes.map((t) => t.toFixed(0)).join(", ")}]`,
		);
		console.log(
			`  curl -F:                             ${curl.toFixed(0)} ms  [${curlTimes.map((t) => t.toFixed(0)).join(", ")}]`,
		);
		console.log(`  ratio client/curl: ${ratio.toFixed(3)}  (target ≤ 1.15) ${ratio <= 1.15 ? "OK" : "OVER"}`);
		console.log(
			`  client peak RSS growth: ${growthMb.toFixed(1)} MB  (target ≤ 40 MB) ${growthMb <= 40 ? "OK" : "OVER"}`,
		);
	} finally {
		await imgpile.close();
		emulator.child.kill("SIGINT");
		await once(emulator.child, "exit");
		await rm(dir, { recursive: true, force: true });
	}
}

async function curlUpload(uploadUrl: string, path: string): Promise<void> {
	const { stdout } = await promisify(execFile)("curl", [
		"-sS",
		"--fail-with-body",
		"-H",
		`Authorization: Bearer ${TOKEN}`,
		"-F",
		`file=@${path}`,
		uploadUrl,
	]);
	if (!stdout.includes('"media"')) throw new Error(`curl upload failed: ${stdout.slice(0, 200)}`);
}

await main();
