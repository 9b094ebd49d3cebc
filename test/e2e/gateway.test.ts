/**
 * The bot on a gateway that behaves like Discord's: told to reconnect (op 7), sessions
 * invalidated (op 9, resumable or not), resumes only on the session's resume_gateway_url, and a
 * guild going away in an outage and coming back. After each, users' commands are answered again.
 */
import { Events } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness } from "./harness.js";

let h: Harness;

beforeAll(async () => {
	h = await Harness.start();
});

afterAll(async () => {
	await h?.close();
});

/** carol runs /imgpile status: answered (she is not linked). */
async function answered(): Promise<void> {
	const ix = await h.discord.slash({ user: h.carol, channel: h.general, command: "imgpile", subcommand: "status" });
	await ix.settled();
	expect(ix.reply?.content).toContain("Not linked");
}

const readies = () => h.discord.gatewayLog.filter((e) => e.direction === "out" && e.t === "READY").length;
const shardResumed = () => new Promise<void>((resolve) => h.bot.client.once(Events.ShardResume, () => resolve()));

describe("gateway", () => {
	it("op 7 Reconnect: resumes on the session's resume_gateway_url and keeps answering", async () => {
		const before = readies();
		const resumed = shardResumed();
		h.discord.requestReconnect();
		await resumed;
		expect(readies()).toBe(before);
		await answered();
		h.discord.assertNoViolations();
	});

	it("op 9 Invalid Session d: true resumes, d: false identifies again; answered after each", async () => {
		const before = readies();
		const resumed = shardResumed();
		h.discord.invalidateSession({ resumable: true });
		await resumed;
		expect(readies()).toBe(before);
		await answered();
		const ready = h.discord.nextDispatch("READY");
		h.discord.invalidateSession({ resumable: false });
		await ready;
		await h.discord.waitFor(() => h.bot.client.isReady() && h.bot.client.ws.status === 0, { what: "the bot ready" });
		expect(readies()).toBe(before + 1);
		await answered();
		h.discord.assertNoViolations();
	});

	it("a guild in an outage and back: the bot answers there again", async () => {
		h.discord.guildUnavailable(h.guild);
		await h.discord.waitFor(() => h.bot.client.guilds.cache.get(h.guild.id)?.available === false);
		h.discord.guildAvailable(h.guild);
		await h.discord.waitFor(() => h.bot.client.guilds.cache.get(h.guild.id)?.available === true);
		await answered();
		h.discord.assertNoViolations();
	});
});
