/**
 * Secrets never leave the process: not in log lines when Discord refuses a reply that carries one
 * (the ShareX file), not as interaction tokens in logged URLs, not after a restart (tokens read
 * back are scrubbed like newly linked ones); and a wrong TOKEN_ENCRYPTION_KEY is said plainly.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Interaction, SlashInput, User } from "../emulators/discord/index.js";
import { pngBytes } from "../support/images.js";
import { secretFormsIn } from "../support/secrets.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

const CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback";

let h: Harness;

beforeAll(async () => {
	h = await Harness.start();
	expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
});

afterAll(async () => {
	await h?.close();
});

async function run(
	user: User,
	command: string,
	extra: Partial<Omit<SlashInput, "user" | "command">> = {},
): Promise<Interaction> {
	const ix = await h.discord.slash({ user, channel: h.general, command, ...extra });
	return h.finished(ix);
}

const upload = (user: User, locale?: string) =>
	h.discord
		.slash({
			user,
			channel: h.general,
			command: "upload",
			attachments: { file: { filename: "cat.png", contentType: "image/png", source: pngBytes(40, 30) } },
			locale,
		})
		.then((ix) => h.finished(ix));

const parsedLogs = (from: number) => h.logs.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);

/** Every interaction token the emulator issued that shows up in a log line. */
function leakedInteractionTokens(logs: string): string[] {
	return [...h.discord.interactions.values()].map((ix) => ix.token).filter((token) => logs.includes(token));
}

describe("a ShareX reply Discord refuses", () => {
	it.each([
		{ what: "a 500 (after @discordjs/rest's retries)", status: 500, code: 0, times: 4 },
		{ what: "403 Missing Permissions (50013)", status: 403, code: 50013, times: 1 },
	])("on $what, logs the failure but not the token in any form, nor the interaction token", async (failure) => {
		const from = h.logs.length;
		h.discord.failNext({ route: CALLBACK, ...failure });
		const ix = await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "sharex" });
		await h.finished(ix);

		// The user hears about it; the failure, with its request URL, was logged.
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.attachments ?? []).toHaveLength(0);
		const logs = h.logs.slice(from).join("\n");
		const failed = h.logs
			.slice(from)
			.map((line) => JSON.parse(line))
			.find((line) => line.msg === "interaction failed");
		expect(failed?.err?.url).toContain(`/interactions/${ix.id}/[redacted]/callback`);
		expect(failed?.err?.requestBody).toBe("[omitted]");

		expect(secretFormsIn(logs, IMGPILE_USERS.alice)).toEqual([]);
		expect(leakedInteractionTokens(h.logs.join("\n"))).toEqual([]);
	});
});

describe("a token read back after a restart", () => {
	it("is scrubbed from the logs like a newly linked one", async () => {
		await h.restartBot(); // a fresh process: its secret registry knows no imgpile token yet
		const from = h.logs.length;
		// imgpile echoing the token in an error message, as a server in debug mode may: logged with the failure.
		const message = `Server Error: token ${IMGPILE_USERS.alice} rejected`;
		h.imgpileEmulator.injectFault({
			listener: "cdn",
			method: "POST",
			path: "/api/v1/media",
			status: 500,
			body: { message },
			times: 3,
		});
		const ix = await upload(h.alice);
		h.imgpileEmulator.clearFaults();

		expect(ix.reply?.content).toContain("imgpile");
		const failed = parsedLogs(from).find((line) => line.msg === "transfer failed");
		expect(failed?.err).toContain("Server Error: token [redacted] rejected");
		expect(secretFormsIn(h.logs.slice(from).join("\n"), IMGPILE_USERS.alice)).toEqual([]);
	});
});

describe("a wrong TOKEN_ENCRYPTION_KEY", () => {
	const UNREADABLE = "Your imgpile link can't be read any more. Run `/imgpile link` again.";
	const SERVER_UNREADABLE = "This server's shared imgpile token can't be read any more";
	const unreadableLines = (from: number) => parsedLogs(from).filter((line) => "unreadableLinks" in line);
	let from = 0;

	beforeAll(async () => {
		// carol links in DMs; alice sets bob's token as the server token; bob has no link of his own.
		expect((await h.link(h.carol, IMGPILE_USERS.carol, h.discord.dmChannel(h.carol))).reply?.content).toContain(
			"Linked",
		);
		const opened = await run(h.alice, "imgpile", { group: "server-token", subcommand: "set", options: { cap: 5 } });
		const submitted = await h.discord.submitModal({
			user: h.alice,
			from: opened,
			fields: { token: IMGPILE_USERS.bob },
		});
		expect((await submitted.settled()).reply?.content).toContain("saved");
		expect(unreadableLines(0)).toEqual([]); // every start so far could read them all

		from = h.logs.length;
		await h.restartBot({ encryptionKey: randomBytes(32) });
	});

	it("is counted once at start, by kind of token", () => {
		expect(unreadableLines(from)).toEqual([
			expect.objectContaining({ level: "warn", unreadableLinks: 2, unreadableServerLinks: 1 }),
		]);
	});

	it("makes /imgpile status say the link can't be read instead of linked", async () => {
		const status = await run(h.alice, "imgpile", { subcommand: "status" });
		expect(status.ephemeral).toBe(true);
		expect(status.reply?.content).toContain(UNREADABLE);
		expect(status.reply?.content).not.toContain("Linked");
		const dm = await run(h.carol, "imgpile", { subcommand: "status", channel: h.discord.dmChannel(h.carol) });
		expect(dm.reply?.content).toContain(UNREADABLE);
		const member = await run(h.bob, "imgpile", { subcommand: "status" });
		expect(member.reply?.content).toContain(SERVER_UNREADABLE);
	});

	it("answers every action that needs the token with the same message, in the user's language", async () => {
		const follow = await run(h.alice, "follow", { options: { user: "bob" } });
		expect(follow.ephemeral).toBe(true);
		expect(follow.reply?.content).toBe(UNREADABLE);
		expect((await run(h.carol, "follow", { options: { user: "bob" }, locale: "zh-CN" })).reply?.content).toBe(
			"已无法读取你关联的 imgpile 令牌。请重新运行 `/imgpile link`。",
		);
		expect((await upload(h.alice)).reply?.content).toBe(UNREADABLE);
		const sharex = await run(h.alice, "imgpile", { subcommand: "sharex" });
		expect(sharex.reply?.content).toBe(UNREADABLE);
		expect(sharex.reply?.attachments ?? []).toHaveLength(0);
		// bob has no link of his own: the server token is the one that cannot be read.
		const serverUpload = await upload(h.bob);
		expect(serverUpload.reply?.content).toContain(SERVER_UNREADABLE);
		expect((await upload(h.bob, "zh-CN")).reply?.content).toContain("已无法读取此服务器的共享 imgpile 令牌");
	});

	it("is mended by linking again", async () => {
		expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
		expect((await run(h.alice, "follow", { options: { user: "bob" } })).reply?.content).toContain(
			"You now follow **bob**",
		);
	});
});
