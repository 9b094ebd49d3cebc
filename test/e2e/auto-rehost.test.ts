/**
 * Auto-rehost channels end to end: /imgpile settings auto-rehost and auto-rehost-me, members'
 * messages rehosted with one reply, restarts (nothing twice, nothing lost), the server token's
 * cap, and the Message Content intent missing (in the config, or in the developer portal).
 */
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MESSAGE_CONTENT_REFUSED } from "../../src/bot/bot.js";
import { translator } from "../../src/i18n/index.js";
import { type Channel, type Message, startDiscordEmulator } from "../emulators/discord/index.js";
import { startImgpileEmulator } from "../emulators/imgpile/index.js";
import { botEnv } from "../support/bot-env.js";
import { spawnWithOutput } from "../support/process.js";
import {
	GUILD_MESSAGES,
	handled,
	MESSAGE_CONTENT,
	png,
	postImage,
	repliesTo,
	settings,
	settingsCommand,
	startAutoRehostWorld,
	uploads,
} from "./auto-rehost-world.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

describe("auto-rehost channels", () => {
	let h: Harness;
	let gallery: Channel;

	beforeAll(async () => {
		({ h, gallery } = await startAutoRehostWorld());
		expect((await h.link(h.carol, IMGPILE_USERS.carol)).reply?.content).toContain("Linked");
	});

	afterAll(async () => {
		await h?.close();
	});

	it("asks Discord for members' messages only with DISCORD_MESSAGE_CONTENT", () => {
		const [session] = h.discord.gatewaySessions();
		expect((session?.intents ?? 0) & (MESSAGE_CONTENT | GUILD_MESSAGES)).toBe(MESSAGE_CONTENT | GUILD_MESSAGES);
	});

	it("is for managers; a manager turns it on for a channel where the bot can answer", async () => {
		const refused = await settings(h, h.bob, gallery, { enabled: true, channel: gallery });
		expect(refused.reply?.content).toMatch(/Manage Server/);
		const locked = h.guild.createChannel({ name: "locked" });
		locked.setPermissionOverwrite(h.discord.botUser, { deny: ["SendMessages"] });
		const cannot = await settings(h, h.alice, h.general, { enabled: true, channel: locked });
		expect(cannot.reply?.content).toBe(`I cannot answer in <#${locked.id}>: I am missing SendMessages there.`);
		expect((await h.store.guilds.get(h.guild.id)).autoRehost).toEqual({});
		const ix = await settings(h, h.alice, h.general, { enabled: true, channel: gallery });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain(`Auto-rehost is on in <#${gallery.id}>`);
		expect((await h.store.guilds.get(h.guild.id)).autoRehost[gallery.id]).toMatchObject({ serverToken: false });
	});

	let twoFiles: Message;

	it("rehosts a message's two attachments and answers with one reply holding both links, pinging nobody", async () => {
		const before = uploads(h).length;
		const pings = h.discord.pings.length;
		twoFiles = await h.discord.postUserMessage({
			user: h.alice,
			channel: gallery,
			content: "my drawings",
			attachments: [png("one.png", 71), png("two.png", 72)],
		});
		expect(await handled(h, twoFiles)).toEqual([{ trigger: "create", outcome: "replied" }]);
		expect(uploads(h).length).toBe(before + 2);
		const replies = repliesTo(h, twoFiles);
		expect(replies).toHaveLength(1);
		for (const attachment of twoFiles.attachments) {
			const record = await h.store.uploads.byAttachment(attachment.id);
			expect(record?.width).toBe(attachment.filename === "one.png" ? 71 : 72);
			expect(replies[0]?.content).toContain(record?.url);
		}
		expect(replies[0]?.content).toContain(`<@${h.alice.id}>`);
		expect(h.discord.pings.length).toBe(pings);
		h.discord.assertNoViolations();
	});

	it("after a restart, an edit of that message (new text, its own file unfurled) uploads and says nothing more", async () => {
		await h.restartBot();
		const before = uploads(h).length;
		const own = h.discord.attachmentUrl(twoFiles.attachments[0] as never);
		h.discord.editUserMessage(twoFiles, {
			content: "my drawings (edited)",
			embeds: [{ type: "image", url: own, image: { url: own } }],
		});
		expect(await handled(h, twoFiles)).toEqual([{ trigger: "update", outcome: "nothing-new" }]);
		expect(uploads(h).length).toBe(before);
		expect(repliesTo(h, twoFiles)).toHaveLength(1);
	});

	it("an edit that unfurls a new Discord CDN image rehosts only that one", async () => {
		const elsewhere = await postImage(h, h.carol, h.general, "x.png", 73);
		const url = h.discord.attachmentUrl(elsewhere.attachments[0] as never);
		const before = uploads(h).length;
		h.discord.editUserMessage(twoFiles, { embeds: [{ type: "image", url, image: { url } }] });
		expect((await handled(h, twoFiles, 2))[1]).toEqual({ trigger: "update", outcome: "replied" });
		expect(uploads(h).length).toBe(before + 1);
		expect(repliesTo(h, twoFiles)).toHaveLength(2);
	});

	it("ignores bots, and messages without images or videos", async () => {
		const robot = h.discord.createUser({ username: "robot", bot: true });
		h.guild.addMember(robot);
		const fromBot = await postImage(h, robot, gallery, "b.png", 74);
		const text = await h.discord.postUserMessage({ user: h.alice, channel: gallery, content: "just words" });
		const notes = await h.discord.postUserMessage({
			user: h.alice,
			channel: gallery,
			attachments: [{ filename: "notes.txt", contentType: "text/plain", source: Buffer.from("hello") }],
		});
		// Gateway events arrive in order: once a later message is answered, these were seen.
		const later = await postImage(h, h.alice, gallery, "c.png", 75);
		await handled(h, later);
		for (const message of [fromBot, text, notes]) {
			expect(h.bot.autoRehost?.outcomes(message.id)).toEqual([]);
			expect(repliesTo(h, message)).toEqual([]);
		}
		expect(await h.store.uploads.byAttachment(fromBot.attachments[0]?.id ?? "")).toBeUndefined();
	});

	it("a member without a token (server token not allowed) gets nothing uploaded and one hint, once", async () => {
		const before = uploads(h).length;
		const first = await postImage(h, h.bob, gallery, "d.png", 76);
		expect(await handled(h, first)).toEqual([{ trigger: "create", outcome: "no-token" }]);
		const hint = repliesTo(h, first);
		expect(hint).toHaveLength(1);
		expect(hint[0]?.content).toContain("/imgpile link");
		expect(h.discord.pings.filter((p) => p.messageId === hint[0]?.id)).toEqual([]);
		const second = await postImage(h, h.bob, gallery, "e.png", 77);
		expect(await handled(h, second)).toEqual([{ trigger: "create", outcome: "no-token" }]);
		expect(repliesTo(h, second)).toEqual([]);
		expect(uploads(h).length).toBe(before);
	});

	it("with the server token allowed, a member without one uses it within the daily cap, told once when it is reached", async () => {
		expect((await h.setServerToken(h.alice, IMGPILE_USERS.bob, 1)).reply?.content).toBeTruthy();
		const on = await settings(h, h.alice, gallery, { enabled: true, "server-token": true });
		expect(on.reply?.content).toContain("server token");
		const before = uploads(h).length;
		const first = await postImage(h, h.bob, gallery, "f.png", 78);
		expect(await handled(h, first)).toEqual([{ trigger: "create", outcome: "replied" }]);
		expect(await h.store.usage.serverTokenUploads(h.guild.id, h.bob.id)).toBe(1);
		const over = await postImage(h, h.bob, gallery, "g.png", 79);
		expect(await handled(h, over)).toEqual([{ trigger: "create", outcome: "refused" }]);
		expect(repliesTo(h, over)[0]?.content).toContain("allows 1 file a day per member");
		const again = await postImage(h, h.bob, gallery, "h.png", 80);
		expect(await handled(h, again)).toEqual([{ trigger: "create", outcome: "refused" }]);
		expect(repliesTo(h, again)).toEqual([]);
		expect(uploads(h).length).toBe(before + 1);
		expect(await h.store.usage.serverTokenUploads(h.guild.id, h.bob.id)).toBe(1);
	});

	it("a member who opted out is left alone, and can opt back in", async () => {
		const optOut = await settingsCommand(h, {
			user: h.carol,
			channel: gallery,
			subcommand: "auto-rehost-me",
			options: { enabled: false },
		});
		expect(optOut.ephemeral).toBe(true);
		expect(optOut.reply?.content).toContain("no longer be rehosted");
		const before = uploads(h).length;
		const message = await postImage(h, h.carol, gallery, "i.png", 81);
		expect(await handled(h, message)).toEqual([{ trigger: "create", outcome: "opted-out" }]);
		expect(repliesTo(h, message)).toEqual([]);
		expect(uploads(h).length).toBe(before);
	});

	it("a message whose rehost a restart interrupted is finished after it: uploaded once, answered once", async () => {
		h.imgpileEmulator.injectFault({ listener: "cdn", method: "POST", path: /media/, delayMs: 60_000, status: 500 });
		const started = uploads(h).length;
		const message = await postImage(h, h.alice, gallery, "j.png", 82);
		await h.discord.waitFor(() => uploads(h).length > started, { timeoutMs: 10_000, what: "the upload to start" });
		expect(await h.store.autoRehost.pending.all()).toMatchObject([{ messageId: message.id }]);
		await h.restartBot();
		await h.discord.waitFor(() => repliesTo(h, message).length > 0, { timeoutMs: 20_000, what: "the reply" });
		expect(await handled(h, message)).toEqual([{ trigger: "recover", outcome: "replied" }]);
		// The upload cut short never completed on imgpile; the one after the restart did.
		expect(
			uploads(h)
				.slice(started)
				.map((r) => r.status),
		).toEqual([0, 201]);
		expect(await h.store.uploads.byAttachment(message.attachments[0]?.id ?? "")).toMatchObject({ width: 82 });
		expect(await h.store.autoRehost.pending.all()).toEqual([]);
		expect(repliesTo(h, message)).toHaveLength(1);
	});

	it("turned off, a channel is left alone", async () => {
		const off = await settings(h, h.alice, gallery, { enabled: false });
		expect(off.reply?.content).toContain(`Auto-rehost is off in <#${gallery.id}>`);
		const before = uploads(h).length;
		const message = await postImage(h, h.alice, gallery, "k.png", 83);
		expect(await handled(h, message)).toEqual([{ trigger: "create", outcome: "not-enabled" }]);
		expect(uploads(h).length).toBe(before);
		expect(repliesTo(h, message)).toEqual([]);
	});

	it("answers in the server's language (zh-CN)", async () => {
		const guild = h.discord.createGuild({ name: "画廊", owner: h.alice, preferredLocale: "zh-CN" });
		const channel = guild.createChannel({ name: "作品" });
		await h.discord.waitFor(() => h.bot.client.guilds.cache.has(guild.id), { timeoutMs: 5_000, what: "the guild" });
		expect((await h.link(h.alice, IMGPILE_USERS.alice, channel)).reply?.content).toBeTruthy();
		const on = await settingsCommand(h, {
			user: h.alice,
			channel,
			subcommand: "auto-rehost",
			options: { enabled: true },
			locale: "zh-CN",
		});
		expect(on.reply?.content).toContain("已开启自动转存");
		const message = await h.discord.postUserMessage({ user: h.alice, channel, attachments: [png("l.png", 84)] });
		expect(await handled(h, message)).toEqual([{ trigger: "create", outcome: "replied" }]);
		expect(repliesTo(h, message)[0]?.content).toContain("已为");
		h.discord.assertNoViolations();
	});
});

describe("auto-rehost without the Message Content intent", () => {
	it("with DISCORD_MESSAGE_CONTENT off, asks for no message intent and the command says exactly what to do", async () => {
		const h = await Harness.start();
		try {
			const [session] = h.discord.gatewaySessions();
			expect((session?.intents ?? 0) & (MESSAGE_CONTENT | GUILD_MESSAGES)).toBe(0);
			for (const subcommand of ["auto-rehost", "auto-rehost-me"]) {
				const ix = await settingsCommand(h, {
					user: h.alice,
					channel: h.general,
					subcommand,
					options: { enabled: true },
				});
				expect(ix.ephemeral).toBe(true);
				expect(ix.reply?.content).toBe(translator("en-US")("autoRehost.needsIntent"));
			}
			expect(translator("en-US")("autoRehost.needsIntent")).toContain("DISCORD_MESSAGE_CONTENT=true");
			expect(await h.store.guilds.get(h.guild.id)).toMatchObject({ autoRehost: {} });
		} finally {
			await h.close();
		}
	});

	it("with DISCORD_MESSAGE_CONTENT=true but the intent off in the portal, the process stops with one fatal line saying how to fix it", async () => {
		const discord = await startDiscordEmulator();
		const imgpile = await startImgpileEmulator();
		const dir = await mkdtemp(join(tmpdir(), "imgpile-intent-"));
		const { child, output } = spawnWithOutput(resolve("node_modules/.bin/tsx"), [resolve("src/index.ts")], {
			cwd: dir,
			env: botEnv({ discord, imgpile, dir }, { DISCORD_MESSAGE_CONTENT: "true" }),
		});
		try {
			const [code] = await once(child, "exit");
			expect(code).toBe(1);
			const fatal = output()
				.split("\n")
				.filter((line) => line.includes('"level":"fatal"'));
			expect(fatal, output()).toHaveLength(1);
			expect(JSON.parse(fatal[0] ?? "{}").msg).toBe(MESSAGE_CONTENT_REFUSED);
			expect(MESSAGE_CONTENT_REFUSED).toContain("Message Content Intent");
			expect(discord.gatewaySessions()).toEqual([]);
		} finally {
			if (child.exitCode === null) child.kill("SIGKILL");
			await discord.close();
			await imgpile.close();
			await rm(dir, { recursive: true, force: true });
		}
	}, 30_000);
});
