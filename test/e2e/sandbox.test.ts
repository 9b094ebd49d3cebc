/**
 * The offline sandbox (scripts/sandbox.ts) as a user runs it: a child process over a scenario
 * file, and interactively with lines piped on stdin. Its stdout must be JSON lines only.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ApplicationCommandType, ButtonStyle, ComponentType } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandModules } from "../../commands/index.js";
import type { OutputLine } from "../../scripts/sandbox/output.js";
import { parseLine, stripComment, tokenize } from "../../scripts/sandbox/parse.js";
import { REHOST_COMMAND, Runner } from "../../scripts/sandbox/runner.js";
import { SandboxWorld } from "../../scripts/sandbox/world.js";
import type { ChatCommand, CommandModule, MessageCommand } from "../../src/bot/types.js";
import { createLogger, SecretRegistry } from "../../src/logger.js";
import { pngBytes } from "../emulators/imgpile/images.js";
import { IMGPILE_USERS } from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Run {
	code: number | null;
	stderr: string;
	lines: Array<Record<string, unknown> & { kind: string; line?: number }>;
	stdout: string;
}

function runSandbox(args: string[], stdin?: string): Promise<Run> {
	return new Promise((done, fail) => {
		const child = spawn(process.execPath, ["--import", "tsx", "scripts/sandbox.ts", ...args], {
			cwd: ROOT,
			env: { ...process.env, LOG_LEVEL: "warn" },
			stdio: ["pipe", "pipe", "pipe"],
		});
		let stdout = "";
		let stderr = "";
		child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
			stdout += chunk;
		});
		child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
			stderr += chunk;
		});
		const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
		child.on("error", fail);
		child.on("close", (code) => {
			clearTimeout(timer);
			try {
				const lines = stdout
					.split("\n")
					.filter(Boolean)
					.map((line) => JSON.parse(line) as Run["lines"][number]);
				done({ code, stderr, stdout, lines });
			} catch (error) {
				fail(new Error(`stdout is not JSON lines: ${String(error)}\n${stdout}\n--- stderr ---\n${stderr}`));
			}
		});
		child.stdin.end(stdin ?? "");
	});
}

const SCENARIO = `# The sandbox's own test scenario
as alice                         # alice owns the guild
in #general
/imgpile link
modal token=TOKEN_A
/imgpile status
locale zh-CN
/imgpile status
as bob
/imgpile server-token set cap:3  # bob lacks Manage Server
say "look at this" ./cat.png
imgpile bob upload ./cat.png
this is not a line the sandbox knows
/imgpile unlink
`;

/** Bot token shaped text (base64 id . timestamp . hmac), which must never be printed. */
const DISCORD_TOKEN = /[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}/;

let dir: string;
let scripted: Run;
let piped: Run;

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "imgpile-sandbox-test-"));
	await writeFile(join(dir, "cat.png"), pngBytes(8, 6));
	await writeFile(join(dir, "scenario.txt"), SCENARIO);
	[scripted, piped] = await Promise.all([
		runSandbox(["--script", join(dir, "scenario.txt")]),
		runSandbox([], "as carol\n/imgpile status\nbogus line\nlocale zh-CN\n/imgpile status\n"),
	]);
}, 30_000);

afterAll(async () => {
	if (dir) await rm(dir, { recursive: true, force: true });
});

const at = (run: Run, line: number) => run.lines.filter((l) => l.line === line);

describe("sandbox --script", () => {
	it("prints the world first: imgpile URLs and the users' tokens, never the bot token", () => {
		const [first] = scripted.lines;
		expect(first).toMatchObject({
			kind: "sandbox",
			imgpile: { api: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/), upload: expect.any(String) },
			users: Object.entries(IMGPILE_USERS).map(([name, token]) => ({ name, token })),
		});
		expect(scripted.stdout).not.toMatch(DISCORD_TOKEN);
		expect(scripted.stderr).not.toMatch(DISCORD_TOKEN);
	});

	it("links through the modal with the TOKEN_A placeholder, privately", () => {
		expect(at(scripted, 4)).toEqual([expect.objectContaining({ kind: "modal", channel: "#general", user: "alice" })]);
		expect(at(scripted, 4)[0]?.modal).toMatchObject({ custom_id: "imgpile-link" });
		expect((at(scripted, 4)[0]?.modal as { fields?: unknown[] } | undefined)?.fields).toEqual([
			expect.objectContaining({ custom_id: "token" }),
		]);
		const linked = at(scripted, 5).find((l) => String(l.content).startsWith("Linked"));
		expect(linked).toMatchObject({ ephemeral: true, user: "alice", channel: "#general" });
		expect(linked?.content).toContain(IMGPILE_USERS.alice.slice(-4));
		expect(linked?.content).not.toContain(IMGPILE_USERS.alice);
	});

	it("answers /imgpile status, in Chinese after `locale zh-CN`", () => {
		expect(at(scripted, 6)).toEqual([
			expect.objectContaining({
				kind: "reply",
				content: expect.stringContaining("Linked in this server"),
				ephemeral: true,
				embeds: [],
				components: [],
				attachments: [],
			}),
		]);
		expect(at(scripted, 8)[0]?.content).toContain("已在此服务器关联");
	});

	it("refuses server-token set to bob, with no modal", () => {
		const lines = at(scripted, 10);
		expect(lines.map((l) => l.kind)).toEqual(["reply"]);
		expect(lines[0]).toMatchObject({ user: "bob", ephemeral: true, content: expect.stringContaining("Manage Server") });
	});

	it("posts a user message with a file (the bot does not react) and uploads straight to imgpile as bob", () => {
		expect(at(scripted, 11)).toEqual([]);
		const [uploaded] = at(scripted, 12);
		expect(uploaded).toMatchObject({ kind: "imgpile", user: "bob", action: "upload" });
		const media = uploaded?.media as { slug: string; urls: { original: string } };
		expect(media.slug).toMatch(/^[A-Za-z0-9]{7}$/);
		expect(media.urls.original).toMatch(new RegExp(`/f/${media.slug}\\.png$`));
	});

	it("reports an unknown line with its number, runs the rest, and exits non-zero", () => {
		const errors = scripted.lines.filter((l) => l.kind === "error");
		expect(errors).toEqual([expect.objectContaining({ line: 13, message: expect.stringContaining("line 13") })]);
		expect(at(scripted, 14)[0]?.content).toContain("no imgpile token linked");
		expect(scripted.code).toBe(1);
		const numbers = scripted.lines.slice(1).map((l) => l.line ?? 0);
		expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
	});
});

describe("sandbox interactive, lines piped on stdin", () => {
	it("runs each line as it comes, keeps going after an unknown one, and exits 0 at the end of input", () => {
		expect(piped.lines[0]?.kind).toBe("sandbox");
		expect(at(piped, 2)[0]).toMatchObject({
			kind: "reply",
			user: "carol",
			content: expect.stringContaining("Not linked"),
		});
		expect(at(piped, 3)).toEqual([expect.objectContaining({ kind: "error", line: 3 })]);
		expect(at(piped, 5)[0]?.content).toContain("未关联");
		expect(piped.code).toBe(0);
	});
});

describe("scenario lines", () => {
	it("tells comments from channels, and keeps quoted words together", () => {
		expect(stripComment("in #general   # act here")).toBe("in #general   ");
		expect(stripComment("# whole line")).toBe("");
		expect(stripComment('say "a # b"')).toBe('say "a # b"');
		expect(tokenize(`say "look here" 'it''s' ./a.png`).map((w) => w.value)).toEqual([
			"say",
			"look here",
			"its",
			"./a.png",
		]);
	});

	it("parses every kind of line", () => {
		const tokens = { TOKEN_A: "tok-a" };
		expect(parseLine('modal token=TOKEN_A title="a b"', tokens)).toEqual({
			kind: "modal",
			fields: { token: "tok-a", title: "a b" },
		});
		expect(parseLine('say "look" ./cat.png')).toEqual({ kind: "say", content: "look", files: ["./cat.png"] });
		expect(parseLine('click "Delete post"')).toEqual({ kind: "click", label: "Delete post" });
		expect(parseLine("imgpile bob post ./a.png ./b.png")).toEqual({
			kind: "imgpile",
			user: "bob",
			op: "post",
			files: ["./a.png", "./b.png"],
		});
		expect(parseLine("/imgpile server-token set cap:7")).toMatchObject({ kind: "slash", command: "imgpile" });
		expect(parseLine("   ")).toBeUndefined();
		expect(() => parseLine("frobnicate")).toThrow(/unknown action/);
		expect(() => parseLine('say "open')).toThrow(/unclosed/);
	});
});

/** Stand-ins for commands the bot does not have yet: a reply with a button, and the rehost message command. */
const demo: ChatCommand = {
	data: { name: "demo", description: "A reply with a button" },
	execute: (ctx) =>
		ctx.respond.reply({
			content: "Demo post",
			components: [
				{
					type: ComponentType.ActionRow,
					components: [
						{ type: ComponentType.Button, style: ButtonStyle.Danger, label: "Delete", customId: "demo-delete:1" },
					],
				},
			],
		}),
};
const rehost: MessageCommand = {
	data: { type: ApplicationCommandType.Message, name: REHOST_COMMAND },
	execute: (ctx, interaction) =>
		ctx.respond.reply({ content: `Rehosting ${interaction.targetMessage.attachments.size} file(s)`, ephemeral: true }),
};
const standIns: CommandModule[] = [
	{ command: demo, buttons: { "demo-delete": (ctx) => ctx.respond.update({ content: "Deleted", components: [] }) } },
	{ command: rehost },
];

describe("click, rehost and tick (in process, with stand-in commands and a tick hook)", () => {
	let world: SandboxWorld;
	let ticks = 0;
	const out: OutputLine[] = [];

	beforeAll(async () => {
		world = await SandboxWorld.start({
			logger: createLogger({ level: "silent" }),
			secrets: new SecretRegistry(),
			// A stand-in replaces the bot's own command of the same name.
			modules: [
				...commandModules.filter((m) => !standIns.some((s) => s.command.data.name === m.command.data.name)),
				...standIns,
			],
			tick: async () => {
				ticks++;
			},
		});
	});

	afterAll(async () => {
		await world?.close();
	});

	it("clicks a button by label, rehosts the last user message and ticks the scheduler hook", async () => {
		const runner = new Runner({ world, emit: (line) => out.push(line), baseDir: dir });
		const lines = ["/demo", 'click "Delete"', 'say "hello" ./cat.png', "rehost", "tick", 'click "Delete"'];
		for (const [i, text] of lines.entries()) await runner.run(i + 1, text);
		const of = (line: number) => out.filter((l) => l.line === line);
		expect(of(1)[0]).toMatchObject({
			kind: "reply",
			content: "Demo post",
			ephemeral: false,
			components: [[{ type: 2, label: "Delete", custom_id: "demo-delete:1", style: 4 }]],
		});
		expect(of(2)).toEqual([expect.objectContaining({ kind: "update", content: "Deleted", components: [] })]);
		expect(of(4)).toEqual([
			expect.objectContaining({ kind: "reply", content: "Rehosting 1 file(s)", ephemeral: true }),
		]);
		expect(of(5)).toEqual([]);
		expect(ticks).toBe(1);
		expect(of(6)).toEqual([expect.objectContaining({ kind: "error", message: expect.stringContaining("no button") })]);
		expect(runner.errors).toBe(1);
		world.discord.assertNoViolations();
	});
});
