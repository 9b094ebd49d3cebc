/**
 * npm run bench:rehost — "Rehost to imgpile" of a 100 MB video attachment, from the Discord
 * emulator's CDN to the imgpile emulator through the real bot, and in the same run the plain sum
 * of the same two transfers done with curl (download the attachment URL to a file, then
 * `curl -F file=@…` upload). Prints both wall times, their ratio and the bot's peak RSS growth.
 * Also the two curl legs alone, and the overlap limit `max(download, upload)`: no client can
 * rehost faster than its slower leg, so bot / limit says how close the bot is to perfect overlap.
 * Targets: bot ≤ 0.8 × curl's sequential time (the bot overlaps download and upload), peak RSS
 * growth ≤ 64 MB.
 *
 * Setup:
 * - The bot runs as its own process, the build as `npm start` runs it (like bench:interactions).
 *   The imgpile emulator runs in a child process too (scripts/emulator-imgpile.ts), its storage
 *   on tmpfs (/dev/shm) when there is one; every upload is deleted once timed. The Discord
 *   emulator (REST, gateway, CDN) runs in this process: both sides download from the same CDN.
 * - Bot time: from the message command's dispatch to the bot's own "transfer done" log line
 *   (its clock, in the log's `time`): the whole handling (defer, idempotency check, token, slot,
 *   download + upload), but not the throttled progress/answer edits that follow. The time to the
 *   final answer in Discord is printed too.
 * - curl time: `%{time_total}` of the download (to a file on tmpfs) plus that of the upload. The
 *   two are timed apart, each alone (nothing else transfers meanwhile), in the same rounds:
 *   download alone, upload alone, and per round the limit max(download, upload).
 * - Each round posts a new message (a new attachment, so the rehost is not answered from the
 *   store), alternating which side goes first; a full-size warm-up round first; medians compared.
 * - RSS: the bot process's peak during its rehost (VmHWM, reset before each round through
 *   /proc/PID/clear_refs) minus its RSS right before; where that is unavailable, VmRSS sampled
 *   every 10 ms.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { Imgpile } from "../src/imgpile/index.js";
import { type Message, startDiscordEmulator } from "../test/emulators/discord/index.js";
import { mp4Bytes } from "../test/support/images.js";
import { freePort } from "../test/support/process.js";
import { imgpileEmulatorUrls } from "./lib/emulator-process.js";

const SIZE = 100 * 1000 * 1000;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 9));
const WARMUP_ROUNDS = 3;
const SETTLE_MS = 300;
const TOKEN = "bench-rehost-token-0123456789";
const TARGET_RATIO = 0.8;
const TARGET_RSS_MB = 64;
const MB = 1024 * 1024;
const run = promisify(execFile);

function median(values: number[]): number {
	const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
	if (sorted.length === 0) return Number.NaN;
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : "n/a");
const mb = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / MB).toFixed(1)} MB` : "n/a");

// ── Child processes ──────────────────────────────────────────────────────────────────────────

async function startImgpile(storageDir: string): Promise<{ child: ChildProcess; apiUrl: string; uploadUrl: string }> {
	const child = spawn(
		process.execPath,
		[
			"--import",
			"tsx",
			"scripts/emulator-imgpile.ts",
			"--user",
			`bench:${TOKEN}`,
			"--auth-limit",
			"100000",
			"--uploads-per-day",
			"100000",
			"--storage-dir",
			storageDir,
		],
		{ stdio: ["ignore", "pipe", "inherit"] },
	);
	return { child, ...(await imgpileEmulatorUrls(child)) };
}

/** The bot's log lines, parsed (it logs JSON, one object a line). */
const botLog: Array<{ time: number; msg: string; ms?: number; slug?: string }> = [];

function startBot(
	cwd: string,
	env: Record<string, string>,
	healthPort: number,
): { child: ChildProcess; healthy: Promise<void> } {
	// BENCH_BOT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the bot.
	const nodeArgs = (process.env.BENCH_BOT_NODE_ARGS ?? "").split(" ").filter(Boolean);
	const child = spawn(process.execPath, [...nodeArgs, "--enable-source-maps", resolve("dist/src/index.js")], {
		cwd,
		env: { PATH: process.env.PATH ?? "", ...env, HEALTH_PORT: String(healthPort), LOG_LEVEL: "info" },
		stdio: ["ignore", "pipe", "inherit"],
	});
	createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
		try {
			const entry = JSON.parse(line) as { time: string | number; msg: string; ms?: number; slug?: string };
			botLog.push({ ...entry, time: typeof entry.time === "number" ? entry.time : Date.parse(entry.time) });
		} catch {
			// not a log line
		}
	});
	const healthy = (async () => {
		for (let i = 0; i < 300; i++) {
			if (child.exitCode !== null) throw new Error(`the bot exited with ${child.exitCode}`);
			const status = await fetch(`http://127.0.0.1:${healthPort}/healthz`).then(
				(r) => r.status,
				() => 0,
			);
			if (status === 200) return;
			await new Promise((r) => setTimeout(r, 100));
		}
		throw new Error("the bot did not become healthy in 30 s");
	})();
	return { child, healthy };
}

// ── RSS of the bot process ───────────────────────────────────────────────────────────────────

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
	try {
		const kb = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1];
		return kb === undefined ? undefined : Number(kb) * 1024;
	} catch {
		return undefined;
	}
}

/** Watches one process's RSS: `start()` before the work, `stop()` after gives the peak growth. */
class RssWatch {
	#baseline = 0;
	#sampled = 0;
	#timer: NodeJS.Timeout | undefined;
	#hwm = false;

	constructor(readonly pid: number) {}

	start(): void {
		try {
			writeFileSync(`/proc/${this.pid}/clear_refs`, "5");
			this.#hwm = true;
		} catch {
			this.#hwm = false;
		}
		this.#baseline = statusKb(this.pid, "VmRSS") ?? Number.NaN;
		this.#sampled = this.#baseline;
		this.#timer = setInterval(() => {
			this.#sampled = Math.max(this.#sampled, statusKb(this.pid, "VmRSS") ?? 0);
		}, 10);
	}

	/** Peak growth in bytes; and which measure gave it. */
	stop(): { growth: number; how: string } {
		clearInterval(this.#timer);
		const hwm = this.#hwm ? statusKb(this.pid, "VmHWM") : undefined;
		const peak = Math.max(hwm ?? 0, this.#sampled);
		return { growth: peak - this.#baseline, how: hwm !== undefined ? "VmHWM" : "sampled VmRSS" };
	}
}

// ── The two sides ────────────────────────────────────────────────────────────────────────────

/** curl's download, then its upload of the downloaded file: each leg's time, alone. */
async function curlSide(
	url: string,
	file: string,
	uploadUrl: string,
): Promise<{ downloadMs: number; uploadMs: number; slug: string }> {
	const download = await run("curl", ["-sS", "--fail", "-o", file, "-w", "%{time_total}", url]);
	const upload = await run(
		"curl",
		[
			"-sS",
			"--fail-with-body",
			"-H",
			`Authorization: Bearer ${TOKEN}`,
			"-F",
			`file=@${file};type=video/mp4`,
			"-w",
			"\n%{time_total}",
			uploadUrl,
		],
		{ maxBuffer: MB },
	);
	const cut = upload.stdout.lastIndexOf("\n");
	const slug = (JSON.parse(upload.stdout.slice(0, cut)) as { media?: { slug?: string } }).media?.slug;
	if (!slug) throw new Error(`curl upload failed: ${upload.stdout.slice(0, 200)}`);
	return { downloadMs: Number(download.stdout) * 1000, uploadMs: Number(upload.stdout.slice(cut + 1)) * 1000, slug };
}

async function main(): Promise<void> {
	if (!process.env.BENCH_SKIP_BUILD) execFileSync("npm", ["run", "build"], { stdio: "ignore" });
	const shm = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
	const dir = await mkdtemp(join(tmpdir(), "imgpile-bench-rehost-"));
	const storageDir = await mkdtemp(join(shm, "imgpile-bench-rehost-storage-"));
	const downloadFile = join(storageDir, "download.mp4");
	const discord = await startDiscordEmulator({ uploadLimitBytes: 200 * MB });
	const imgpile = await startImgpile(storageDir);
	const healthPort = await freePort();
	const bot = startBot(
		dir,
		{
			DISCORD_TOKEN: discord.botToken,
			DISCORD_API_URL: discord.restUrl,
			DISCORD_CDN_HOSTS: discord.cdnHosts.join(","),
			// Downloads are https only; the emulator's loopback CDN is plain http, opted in by name.
			DISCORD_CDN_HTTP_HOSTS: discord.cdnHosts.join(","),
			IMGPILE_API_URL: imgpile.apiUrl,
			IMGPILE_UPLOAD_URL: imgpile.uploadUrl,
		},
		healthPort,
	);
	const api = new Imgpile({ apiUrl: imgpile.apiUrl, uploadUrl: imgpile.uploadUrl }).as(TOKEN);
	try {
		await bot.healthy;
		const botPid = bot.child.pid ?? 0;
		const guild = discord.createGuild({ name: "Bench" });
		const channel = guild.createChannel({ name: "general" });
		const user = discord.createUser({ username: "rehoster" });
		guild.addMember(user);
		const poster = discord.createUser({ username: "poster" });
		guild.addMember(poster);

		const linking = await discord.slash({ user, channel, command: "imgpile", subcommand: "link" });
		await linking.settled();
		const linked = await discord.submitModal({ user, from: linking, fields: { token: TOKEN } });
		await linked.settled();
		if (!linked.reply?.content.includes("Linked")) throw new Error(`could not link: ${linked.describe()}`);

		const head = mp4Bytes(0);
		const post = (): Promise<Message> =>
			discord.postUserMessage({
				user: poster,
				channel,
				attachments: [
					{ filename: "video.mp4", contentType: "video/mp4", source: { generate: { size: SIZE, headBytes: head } } },
				],
			});

		const rehost = async (watch: boolean) => {
			const message = await post();
			const logFrom = botLog.length;
			const rss = watch ? new RssWatch(botPid) : undefined;
			rss?.start();
			const started = Date.now();
			const ix = await discord.messageCommand({ user, message, name: "Rehost to imgpile" });
			await discord.waitFor(() => (ix.reply?.embeds.length ? ix : undefined), {
				timeoutMs: 60_000,
				what: "the rehost answer",
			});
			const answered = Date.now() - started;
			const memory = rss?.stop();
			const done = await discord.waitFor(() => botLog.slice(logFrom).find((entry) => entry.msg === "transfer done"), {
				timeoutMs: 5_000,
				what: "the bot's transfer log line",
			});
			const slug = String((ix.reply?.embeds[0]?.footer as { text?: string } | undefined)?.text ?? done.slug);
			await api.deleteMedia(slug);
			return { ms: done.time - started, answered, transferMs: done.ms ?? Number.NaN, memory };
		};
		const curl = async () => {
			const message = await post();
			const attachment = message.attachments[0];
			if (!attachment) throw new Error("no attachment");
			const result = await curlSide(discord.attachmentUrl(attachment), downloadFile, imgpile.uploadUrl);
			await rm(downloadFile, { force: true });
			await api.deleteMedia(result.slug);
			return result;
		};

		console.log(
			`bench:rehost — ${SIZE / 1e6} MB video, Discord emulator CDN → imgpile emulator; bot (own process) vs curl download + curl -F; ${ROUNDS} rounds`,
		);
		// Warm-up: both sides (and both emulators) past their first, JIT-cold transfers.
		let cold = Number.NaN;
		for (let i = 0; i < WARMUP_ROUNDS; i++) {
			const first = await rehost(i === 0);
			if (i === 0) cold = first.memory?.growth ?? Number.NaN;
			await curl();
		}

		const botTimes: number[] = [];
		const answerTimes: number[] = [];
		const transferTimes: number[] = [];
		const curlTimes: number[] = [];
		const downloadTimes: number[] = [];
		const uploadTimes: number[] = [];
		const limitTimes: number[] = [];
		const growths: number[] = [];
		let how = "";
		const started = performance.now();
		// Each side starts on quiet processes: the previous transfer's cleanup (file deletes, GC) done.
		const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
		const timeCurl = async () => {
			const { downloadMs, uploadMs } = await curl();
			downloadTimes.push(downloadMs);
			uploadTimes.push(uploadMs);
			curlTimes.push(downloadMs + uploadMs);
			limitTimes.push(Math.max(downloadMs, uploadMs));
		};
		for (let round = 0; round < ROUNDS; round++) {
			const botFirst = round % 2 === 0;
			if (!botFirst) {
				await settle();
				await timeCurl();
			}
			await settle();
			const result = await rehost(true);
			botTimes.push(result.ms);
			answerTimes.push(result.answered);
			transferTimes.push(result.transferMs);
			if (result.memory) {
				growths.push(result.memory.growth);
				how = result.memory.how;
			}
			if (botFirst) {
				await settle();
				await timeCurl();
			}
		}
		// The user-visible time: from the interaction to the bot's answer in Discord.
		const botMs = median(answerTimes);
		const curlMs = median(curlTimes);
		const ratio = botMs / curlMs;
		const limitMs = median(limitTimes);
		const peak = Math.max(...growths);
		const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(", ");
		console.log(`  bot, dispatch → transfer done:       ${ms(median(botTimes)).padStart(8)}  [${list(botTimes)}]`);
		console.log(
			`    of which the transfer (its log):   ${ms(median(transferTimes)).padStart(8)}  [${list(transferTimes)}]`,
		);
		console.log(
			`    dispatch → answer in Discord:      ${ms(median(answerTimes)).padStart(8)}  [${list(answerTimes)}]`,
		);
		console.log(
			`  curl download alone:                 ${ms(median(downloadTimes)).padStart(8)}  [${list(downloadTimes)}]`,
		);
		console.log(
			`  curl -F upload alone:                ${ms(median(uploadTimes)).padStart(8)}  [${list(uploadTimes)}]`,
		);
		console.log(`  curl download + curl -F upload:      ${ms(curlMs).padStart(8)}  [${list(curlTimes)}]`);
		console.log(`  overlap limit max(download, upload): ${ms(limitMs).padStart(8)}  [${list(limitTimes)}]`);
		console.log(
			`  ratio bot (to the answer in Discord) / curl: ${ratio.toFixed(3)} — target ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? "OK" : "OVER"}`,
		);
		console.log(
			`  bot / overlap limit: ${(botMs / limitMs).toFixed(3)} to the answer, ${(median(transferTimes) / limitMs).toFixed(3)} for the transfer alone (1.000 = download and upload fully overlapped)`,
		);
		console.log(
			`  bot peak RSS growth (${how}): median ${mb(median(growths))}, max ${mb(peak)} — target ≤ ${TARGET_RSS_MB} MB: ${peak <= TARGET_RSS_MB * MB ? "OK" : "OVER"}`,
		);
		console.log(
			`  (the bot's first, cold rehost grew its RSS by ${mb(cold)}; ${((performance.now() - started) / 1000).toFixed(1)} s of timed rounds)`,
		);
		discord.assertNoViolations();
	} finally {
		bot.child.kill("SIGTERM");
		await new Promise((r) => (bot.child.exitCode === null ? bot.child.once("exit", r) : r(undefined)));
		imgpile.child.kill("SIGTERM");
		await new Promise((r) => (imgpile.child.exitCode === null ? imgpile.child.once("exit", r) : r(undefined)));
		await discord.close();
		await rm(dir, { recursive: true, force: true });
		await rm(storageDir, { recursive: true, force: true });
	}
}

await main();
