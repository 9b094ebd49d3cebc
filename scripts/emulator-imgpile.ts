/**
 * Runs the imgpile emulator on loopback until SIGINT/SIGTERM.
 *
 *   npm run emulator:imgpile -- --api-port 4001 --cdn-port 4002 \
 *     --user alice:TOKEN_A --user bob:TOKEN_B [--banned-sha256 HEX]... \
 *     [--public-limit N] [--auth-limit N] [--uploads-per-day N] [--max-file-bytes N] [--storage-dir DIR]
 *
 * Uploaded files go to --storage-dir (created if missing, left in place on exit); without it,
 * to a fresh temporary directory that is removed on exit.
 */
import { parseArgs } from "node:util";
import { startImgpileEmulator } from "../test/emulators/imgpile/index.js";

function usage(message: string): never {
	console.error(`emulator-imgpile: ${message}`);
	console.error(
		"usage: emulator-imgpile [--api-port N] [--cdn-port N] [--user NAME:TOKEN]... [--banned-sha256 HEX]... " +
			"[--public-limit N] [--auth-limit N] [--uploads-per-day N] [--max-file-bytes N] [--storage-dir DIR]",
	);
	process.exit(2);
}

function intOption(name: string, value: string | undefined, min: number): number | undefined {
	if (value === undefined) return undefined;
	if (!/^\d+$/.test(value) || Number(value) < min) usage(`--${name} must be an integer >= ${min}, got "${value}"`);
	return Number(value);
}

function parse() {
	try {
		return parseArgs({
			options: {
				"api-port": { type: "string" },
				"cdn-port": { type: "string" },
				user: { type: "string", multiple: true },
				"banned-sha256": { type: "string", multiple: true },
				"public-limit": { type: "string" },
				"auth-limit": { type: "string" },
				"uploads-per-day": { type: "string" },
				"max-file-bytes": { type: "string" },
				"storage-dir": { type: "string" },
			},
			strict: true,
			allowPositionals: false,
		});
	} catch (err) {
		return usage(err instanceof Error ? err.message : String(err));
	}
}
const { values } = parse();

const users = (values.user ?? []).map((spec) => {
	const i = spec.indexOf(":");
	if (i <= 0 || i === spec.length - 1) usage(`--user must be NAME:TOKEN, got "${spec}"`);
	return { username: spec.slice(0, i), token: spec.slice(i + 1) };
});
for (const hex of values["banned-sha256"] ?? []) {
	if (!/^[0-9a-fA-F]{64}$/.test(hex)) usage(`--banned-sha256 must be 64 hex digits, got "${hex}"`);
}

const apiPort = intOption("api-port", values["api-port"], 0);
const cdnPort = intOption("cdn-port", values["cdn-port"], 0);
if (apiPort !== undefined && apiPort > 65535) usage("--api-port must be <= 65535");
if (cdnPort !== undefined && cdnPort > 65535) usage("--cdn-port must be <= 65535");
if (values["storage-dir"] === "") usage("--storage-dir must not be empty");

const emu = await startImgpileEmulator({
	host: "127.0.0.1",
	apiPort,
	cdnPort,
	users,
	bannedSha256: values["banned-sha256"],
	storageDir: values["storage-dir"],
	limits: {
		publicPerMinute: intOption("public-limit", values["public-limit"], 1),
		authPerMinute: intOption("auth-limit", values["auth-limit"], 1),
		uploadsPerDay: intOption("uploads-per-day", values["uploads-per-day"], 1),
		maxFileBytes: intOption("max-file-bytes", values["max-file-bytes"], 1),
	},
});

console.log(`imgpile API  ${emu.apiUrl}`);
console.log(`imgpile CDN  ${emu.cdnUrl} (uploads: ${emu.uploadUrl})`);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
	if (stopping) return;
	stopping = true;
	emu.close().then(
		() => process.exit(0),
		(err: unknown) => {
			console.error(`emulator-imgpile: error while stopping on ${signal}`, err);
			process.exit(1);
		},
	);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
