/**
 * Secrets never leave the process: not in log lines when Discord refuses a reply that carries one
 * (the ShareX file), not as interaction tokens in logged URLs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
