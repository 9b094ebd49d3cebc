/**
 * Offline sandbox: the real bot against the Discord emulator and an imgpile (the emulator, or an
 * external one), driven by plain-text scenario lines. Prints one JSON line per thing the bot did.
 *
 *   npm run sandbox -- --script scenario.txt          run a scenario, exit 1 if any line failed
 *   npm run sandbox                                   interactive (or lines piped on stdin)
 *   npm run sandbox -- --imgpile-api URL --imgpile-upload URL [--imgpile-user NAME:TOKEN]...
 *   [--log-file PATH] [--timeout MS]
 *
 * stdout carries only JSON lines (first a {"kind":"sandbox",...} line with the imgpile URLs and
 * users' tokens); notes, the prompt and the bot's logs (LOG_LEVEL, default warn) go to stderr.
 * Scenario lines are described in scripts/sandbox/parse.ts (HELP) and in the README.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import pino from "pino";
import { createLogger, SecretRegistry } from "../src/logger.js";
import type { OutputLine } from "./sandbox/output.js";
import { Runner } from "./sandbox/runner.js";
import { type ImgpileUser, SandboxWorld } from "./sandbox/world.js";

const USAGE =
	"usage: sandbox [--script FILE] [--imgpile-api URL --imgpile-upload URL [--imgpile-user NAME:TOKEN]...] " +
	"[--log-file PATH] [--timeout MS]";

function usage(message: string): never {
	console.error(`sandbox: ${message}`);
	console.error(USAGE);
	process.exit(2);
}

function parse() {
	try {
		return parseArgs({
			options: {
				script: { type: "string" },
				"imgpile-api": { type: "string" },
				"imgpile-upload": { type: "string" },
				"imgpile-user": { type: "string", multiple: true },
				"log-file": { type: "string" },
				timeout: { type: "string" },
				help: { type: "boolean", short: "h" },
			},
			strict: true,
			allowPositionals: false,
		}).values;
	} catch (error) {
		return usage(error instanceof Error ? error.message : String(error));
	}
}

const values = parse();
if (values.help) {
	console.error(USAGE);
	process.exit(0);
}
const api = values["imgpile-api"];
const upload = values["imgpile-upload"];
if ((api === undefined) !== (upload === undefined)) usage("--imgpile-api and --imgpile-upload go together");
for (const url of [api, upload]) {
	if (url !== undefined && !URL.canParse(url)) usage(`not a URL: "${url}"`);
}
const imgpileUsers: ImgpileUser[] = (values["imgpile-user"] ?? []).map((spec) => {
	const i = spec.indexOf(":");
	if (i <= 0 || i === spec.length - 1) usage(`--imgpile-user must be NAME:TOKEN, got "${spec}"`);
	return { name: spec.slice(0, i), token: spec.slice(i + 1) };
});
const timeoutMs = values.timeout === undefined ? 15_000 : Number(values.timeout);
if (!Number.isInteger(timeoutMs) || timeoutMs < 100) usage("--timeout must be an integer >= 100 (milliseconds)");
const scriptPath = values.script === undefined ? undefined : resolve(values.script);
const script = scriptPath === undefined ? undefined : await readFile(scriptPath, "utf8").catch(() => undefined);
if (scriptPath !== undefined && script === undefined) usage(`cannot read ${scriptPath}`);

// The bot's logs: never on stdout.
const logFile = values["log-file"] === undefined ? undefined : resolve(values["log-file"]);
const secrets = new SecretRegistry();
const logger = createLogger({
	level: process.env.LOG_LEVEL || (logFile ? "debug" : "warn"),
	destination: pino.destination({ dest: logFile ?? 2, sync: true, mkdir: true }),
	secrets,
});

function emit(line: OutputLine): void {
	process.stdout.write(`${JSON.stringify(line)}\n`);
}

const world = await SandboxWorld.start({
	logger,
	secrets,
	...(api && upload ? { external: { apiUrl: api, uploadUrl: upload } } : {}),
	...(imgpileUsers.length > 0 ? { imgpileUsers } : {}),
}).catch((error: unknown) => {
	console.error("sandbox: could not start:", error instanceof Error ? error.message : error);
	process.exit(1);
});

emit({
	kind: "sandbox",
	imgpile: { api: world.imgpileApiUrl, upload: world.imgpileUploadUrl, emulated: world.imgpileEmulator !== undefined },
	discord: { guild: world.guild.name, channels: world.channelNames(), owner: "alice", members: ["bob", "carol"] },
	users: world.imgpileUsers.map((u) => ({ name: u.name, token: u.token })),
});

if (!world.imgpileEmulator) {
	for (const user of world.imgpileUsers) {
		const ok = await world.direct
			.as(user.token)
			.verifyToken()
			.catch(() => false);
		if (!ok) console.error(`sandbox: the imgpile at ${world.imgpileApiUrl} does not accept ${user.name}'s token`);
	}
}

const interactive = script === undefined;
const tty = interactive && process.stdin.isTTY === true;
const runner = new Runner({
	world,
	emit,
	note: interactive ? (text) => console.error(text) : undefined,
	baseDir: scriptPath ? dirname(scriptPath) : process.cwd(),
	timeoutMs,
});

console.error(
	`sandbox: guild "${world.guild.name}" (${world.channelNames().join(", ")}); alice owns it, bob and carol are members.` +
		` imgpile ${world.imgpileEmulator ? "emulator" : "(external)"} at ${world.imgpileApiUrl}.` +
		` Bot logs: ${logFile ?? "stderr"} (LOG_LEVEL ${logger.level}).`,
);
if (tty) console.error('Acting as alice in #general. Type "help" for the lines you can use, Ctrl-C or "exit" to quit.');

let stopping = false;
let rl: ReturnType<typeof createInterface> | undefined;
const onSignal = () => {
	if (stopping) process.exit(130);
	stopping = true;
	rl?.close();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

if (script !== undefined) {
	const lines = script.split(/\r?\n/);
	for (const [i, text] of lines.entries()) {
		if (stopping) break;
		if ((await runner.run(i + 1, text)) === "exit") break;
	}
} else {
	rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty, prompt: "sandbox> " });
	rl.on("SIGINT", onSignal);
	let lineNo = 0;
	if (tty) rl.prompt();
	for await (const text of rl) {
		lineNo++;
		if ((await runner.run(lineNo, text)) === "exit" || stopping) break;
		if (tty) rl.prompt();
	}
	rl.close();
}

await world.close();
logger.flush();
const code = script !== undefined && runner.errors > 0 ? 1 : 0;
if (script !== undefined && runner.errors > 0) console.error(`sandbox: ${runner.errors} error(s)`);
// Let stdout drain (it may be a pipe) before leaving.
await new Promise<void>((done) => process.stdout.write("", () => done()));
process.exit(code);
