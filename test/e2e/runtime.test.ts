/**
 * The bot runtime end to end: the real bot (discord.js Client, router, store on disk, imgpile
 * client) against the Discord and imgpile emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandModules } from "../../commands/index.js";
import type { CommandModule } from "../../src/bot/types.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

/** A command that fails unexpectedly, to see the central catch at work. */
const boom: CommandModule = {
	command: {
		data: { name: "boom", description: "Fails on purpose" },
		execute: async () => {
			throw new Error(`database on fire, token ${IMGPILE_USERS.alice}`);
		},
	},
};

let h: Harness;

beforeAll(async () => {
	h = await Harness.start({ modules: [...commandModules, boom] });
});

afterAll(async () => {
	await h?.close();
});

async function link(user = h.alice, token: string = IMGPILE_USERS.alice, channel = h.general) {
	const opened = await h.discord.slash({ user, channel, command: "imgpile", subcommand: "link" });
	await opened.settled();
	expect(opened.modal?.custom_id).toBe("imgpile-link");
	const submitted = await h.discord.submitModal({ user, from: opened, fields: { token } });
	await submitted.settled();
	return submitted;
}

describe("runtime", () => {
	it("logs in, receives READY and registers a command set that is valid per Discord's spec", async () => {
		expect(h.bot.ready).toBe(true);
		expect(h.bot.client.guilds.cache.get(h.guild.id)?.channels.cache.size).toBeGreaterThanOrEqual(2);
		const registered = h.discord.registeredCommands();
		expect(registered.map((c) => c.name).sort()).toEqual([
			"Rehost to imgpile",
			"boom",
			"comment",
			"feed",
			"follow",
			"followers",
			"following",
			"imgpile",
			"media",
			"notify",
			"post",
			"profile",
			"unfollow",
			"upload",
			"vote",
		]);
		const imgpile = registered.find((c) => c.name === "imgpile") as Record<string, unknown>;
		expect(imgpile.description_localizations).toMatchObject({ "zh-CN": expect.any(String) });
		h.discord.assertNoViolations();
	});

	it("does not register again after a restart when nothing changed", async () => {
		const commandRequests = (method: string) =>
			h.discord.requests.filter(
				(r) => r.method === method && r.route?.endsWith("/applications/{application_id}/commands"),
			);
		// Two starts over the same emulator (the harness's and this one): one bulk overwrite in all.
		await h.restartBot();
		expect(commandRequests("PUT")).toHaveLength(1);
		expect(commandRequests("GET").map((r) => r.query.with_localizations)).toEqual(["true", "true"]);
		const ix = await h.discord.slash({ user: h.carol, channel: h.general, command: "imgpile", subcommand: "status" });
		await ix.settled();
		expect(ix.reply?.content).toContain("Not linked");
	});

	it("registers again when only an option's localization differs from what Discord has", async () => {
		const puts = () => h.discord.requests.filter((r) => r.route === "PUT /applications/{application_id}/commands");
		const before = puts().length;
		const upload = [...h.discord.commands.values()].find((c) => c.json.name === "upload");
		const option = (upload?.json.options as Array<Record<string, unknown>> | undefined)?.[0];
		expect(option?.description_localizations).toMatchObject({ "zh-CN": expect.any(String) });
		if (option) option.description_localizations = { "zh-CN": "过时的说明" };
		await h.restartBot();
		expect(puts()).toHaveLength(before + 1);
		await h.restartBot();
		expect(puts()).toHaveLength(before + 1);
	});
});

describe("/imgpile link, unlink, status", () => {
	it("links a good token after checking it with imgpile, privately, and keeps it encrypted", async () => {
		const submitted = await link();
		expect(submitted.ephemeral).toBe(true);
		expect(submitted.reply?.content).toContain(IMGPILE_USERS.alice.slice(-4));
		expect(submitted.reply?.content).not.toContain(IMGPILE_USERS.alice);
		const stored = await h.store.tokens.get({ guildId: h.guild.id, userId: h.alice.id });
		expect(stored?.token).toBe(IMGPILE_USERS.alice);

		const status = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "imgpile",
			subcommand: "status",
		});
		await status.settled();
		expect(status.ephemeral).toBe(true);
		expect(status.reply?.content).toMatch(/Linked in this server .*`b36`|Linked in this server/);
		expect(status.reply?.content).toContain(IMGPILE_USERS.alice.slice(-4));
		expect(status.reply?.content).toContain("Uploads through the bot today: 0");
	});

	it("refuses a bad token and stores nothing", async () => {
		const submitted = await link(h.bob, "ip-not-a-real-token-000");
		expect(submitted.ephemeral).toBe(true);
		expect(submitted.reply?.content).toContain("did not accept");
		expect(await h.store.tokens.info({ guildId: h.guild.id, userId: h.bob.id })).toBeUndefined();
	});

	it("unlinks, and says so when there was nothing to unlink", async () => {
		await link(h.carol, IMGPILE_USERS.carol);
		const first = await h.discord.slash({
			user: h.carol,
			channel: h.general,
			command: "imgpile",
			subcommand: "unlink",
		});
		await first.settled();
		expect(first.reply?.content).toContain("removed");
		const second = await h.discord.slash({
			user: h.carol,
			channel: h.general,
			command: "imgpile",
			subcommand: "unlink",
		});
		await second.settled();
		expect(second.reply?.content).toContain("no imgpile token linked");
		expect(await h.store.tokens.info({ guildId: h.guild.id, userId: h.carol.id })).toBeUndefined();
	});

	it("still answers when imgpile takes 5 s: the modal is deferred at once, then the reply edited", async () => {
		h.imgpileEmulator.injectFault({ method: "PATCH", path: /\/api\/v1\/media\//, delayMs: 5_000 });
		const submitted = await link(h.carol, IMGPILE_USERS.carol);
		expect(submitted.callback?.type).toBe(5);
		expect(submitted.callback?.latencyMs).toBeLessThan(1_000);
		expect(submitted.reply?.content).toContain("Linked");
		h.discord.assertNoViolations();
	}, 20_000);

	it("a token linked in DMs is the user's fallback in every server", async () => {
		const dm = h.discord.dmChannel(h.bob);
		const submitted = await link(h.bob, IMGPILE_USERS.bob, dm);
		expect(submitted.reply?.content).toContain("every server");
		expect((await h.store.tokens.info({ guildId: null, userId: h.bob.id }))?.scope).toBe("user");
		const status = await h.discord.slash({ user: h.bob, channel: h.general, command: "imgpile", subcommand: "status" });
		await status.settled();
		expect(status.reply?.content).toContain("Linked through DMs");
		const unlinked = await h.discord.slash({ user: h.bob, channel: dm, command: "imgpile", subcommand: "unlink" });
		await unlinked.settled();
		expect(unlinked.reply?.content).toContain("removed");
	});

	it("answers a zh-CN user in Chinese", async () => {
		const ix = await h.discord.slash({
			user: h.bob,
			channel: h.general,
			command: "imgpile",
			subcommand: "status",
			locale: "zh-CN",
		});
		await ix.settled();
		expect(ix.reply?.content).toContain("未关联");
		expect(ix.reply?.content).toContain("今日通过机器人上传");
	});

	it("gives a ShareX file built for the user's own token, privately", async () => {
		const ix = await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "sharex" });
		await ix.settled();
		expect(ix.ephemeral).toBe(true);
		const file = ix.reply?.attachments[0];
		expect(file?.filename).toBe("imgpile.sxcu");
		const sxcu = JSON.parse((await h.discord.readAttachment(file as never)).toString("utf8"));
		expect(sxcu).toMatchObject({
			RequestURL: h.imgpileEmulator.uploadUrl,
			Headers: { Authorization: `Bearer ${IMGPILE_USERS.alice}` },
			FileFormName: "file",
			URL: "{json:media.urls.original}",
		});
		expect(sxcu.ErrorMessage).toBeTruthy();

		const unlinked = await h.discord.slash({
			user: h.bob,
			channel: h.general,
			command: "imgpile",
			subcommand: "sharex",
		});
		await unlinked.settled();
		expect(unlinked.reply?.content).toContain("/imgpile link");
	});
});

describe("/imgpile server-token", () => {
	it("is refused to a member without Manage Server, changing nothing", async () => {
		const ix = await h.discord.slash({
			user: h.bob,
			channel: h.general,
			command: "imgpile",
			group: "server-token",
			subcommand: "set",
		});
		await ix.settled();
		expect(ix.modal).toBeFalsy();
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("Manage Server");
		expect((await h.store.guilds.get(h.guild.id)).serverToken).toBeNull();
	});

	it("is set by the owner through a private form, with a cap members then see", async () => {
		const opened = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "imgpile",
			group: "server-token",
			subcommand: "set",
			options: { cap: 7 },
		});
		await opened.settled();
		expect(opened.modal?.custom_id).toBe("imgpile-server-token:7");
		const submitted = await h.discord.submitModal({
			user: h.alice,
			from: opened,
			fields: { token: IMGPILE_USERS.bob },
		});
		await submitted.settled();
		expect(submitted.reply?.content).toContain("7 files a day");
		expect(await h.store.guilds.getServerToken(h.guild.id)).toBe(IMGPILE_USERS.bob);

		const status = await h.discord.slash({ user: h.bob, channel: h.general, command: "imgpile", subcommand: "status" });
		await status.settled();
		expect(status.reply?.content).toContain("7 more files today");

		const cleared = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "imgpile",
			group: "server-token",
			subcommand: "clear",
		});
		await cleared.settled();
		expect(cleared.reply?.content).toContain("removed");
		expect(await h.store.guilds.getServerToken(h.guild.id)).toBeUndefined();
	});
});

describe("resilience", () => {
	it("shows an error id for an unexpected failure and logs it with that id", async () => {
		const ix = await h.discord.slash({ user: h.carol, channel: h.general, command: "boom" });
		await ix.settled();
		expect(ix.ephemeral).toBe(true);
		const id = ix.reply?.content.match(/`([0-9a-f]{8})`/)?.[1];
		expect(id).toBeTruthy();
		expect(h.logs.some((line) => line.includes(`"errorId":"${id}"`) && line.includes("database on fire"))).toBe(true);
	});

	it("resumes after the gateway drops, and keeps answering", async () => {
		const resumed = h.discord.nextDispatch("RESUMED", { timeoutMs: 10_000 });
		h.discord.dropGateway({ resumable: true });
		await resumed;
		const ix = await h.discord.slash({ user: h.carol, channel: h.general, command: "imgpile", subcommand: "status" });
		await ix.settled();
		expect(ix.reply?.content).toBeTruthy();
	});

	it("never lets a token reach a log line or a message others can see", () => {
		const text = h.publicText();
		for (const token of [...Object.values(IMGPILE_USERS), "ip-not-a-real-token-000", h.discord.botToken]) {
			expect(text).not.toContain(token);
		}
		h.discord.assertNoViolations();
	});
});
