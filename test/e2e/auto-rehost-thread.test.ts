/**
 * Auto-rehost channels in thread mode (`reply:thread`): ✅ on the member's message and the links
 * in a thread started from it, nothing else in the channel; once across a crash; refused at the
 * command where the bot cannot react or start threads; a reply where no thread can start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { translator } from "../../src/i18n/index.js";
import type { Channel, Message } from "../emulators/discord/index.js";
import * as world from "./auto-rehost-world.js";
import type { Harness } from "./harness.js";

describe("auto-rehost in thread mode", () => {
	let h: Harness;
	let gallery: Channel;

	beforeAll(async () => {
		({ h, gallery } = await world.startAutoRehostWorld());
	});

	afterAll(async () => {
		await h?.close();
	});

	/** The bot's messages in `channel` (since `message`). */
	function botMessages(channel: Channel, since?: Message): Message[] {
		return h.discord
			.messages(channel)
			.filter((m) => m.author.id === h.discord.botUser.id && (!since || BigInt(m.id) > BigInt(since.id)));
	}

	/** The thread started from `message` and the bot's messages in it. */
	function threadOf(message: Message) {
		const thread = h.discord.threadOf(message);
		return { thread, posts: thread ? botMessages(thread) : [] };
	}

	function reactedDone(message: Message): boolean {
		return message.reactions.some((r) => r.key === "✅" && r.users.includes(h.discord.botUser.id));
	}

	it("is refused where the bot cannot react or start threads, naming what it lacks, in the manager's language", async () => {
		const plain = h.guild.createChannel({ name: "plain" });
		plain.setPermissionOverwrite(h.discord.botUser, { deny: ["AddReactions", "CreatePublicThreads"] });
		expect((await world.settings(h, h.alice, h.general, { enabled: true, channel: plain })).reply?.content).toContain(
			"Auto-rehost is on",
		);
		expect((await world.settings(h, h.alice, h.general, { enabled: false, channel: plain })).reply?.content).toContain(
			"Auto-rehost is off",
		);
		const refused = await world.settings(h, h.alice, h.general, { enabled: true, channel: plain, reply: "thread" });
		expect(refused.reply?.content).toBe(
			`I cannot answer in <#${plain.id}>: I am missing AddReactions, CreatePublicThreads there.`,
		);
		const zh = await world.settingsCommand(h, {
			user: h.alice,
			channel: h.general,
			subcommand: "auto-rehost",
			options: { enabled: true, channel: plain, reply: "thread" },
			locale: "zh-CN",
		});
		expect(zh.reply?.content).toBe(
			translator("zh-CN")("autoRehost.botMissing", {
				channel: `<#${plain.id}>`,
				permissions: "AddReactions, CreatePublicThreads",
			}),
		);
		expect((await h.store.guilds.get(h.guild.id)).autoRehost).toEqual({});
	});

	it("a member's image gets ✅ and a thread holding the links; nothing else in the channel", async () => {
		const on = await world.settings(h, h.alice, h.general, { enabled: true, channel: gallery, reply: "thread" });
		expect(on.reply?.content).toContain("post the links in a thread");
		expect((await h.store.guilds.get(h.guild.id)).autoRehost[gallery.id]).toMatchObject({ reply: "thread" });
		const before = world.uploads(h).length;
		const message = await world.postImage(h, h.alice, gallery, "t1.png", 91);
		expect(await world.handled(h, message)).toEqual([{ trigger: "create", outcome: "replied" }]);
		const { thread, posts } = threadOf(message);
		expect(thread?.id).toBe(message.id);
		expect(thread?.name).toBe("imgpile links");
		expect(posts).toHaveLength(1);
		const record = await h.store.uploads.byAttachment(message.attachments[0]?.id ?? "");
		expect(posts[0]?.content).toContain(record?.url);
		expect(reactedDone(message)).toBe(true);
		expect(botMessages(gallery, message)).toEqual([]);
		expect(world.uploads(h).length).toBe(before + 1);
		// Starting the thread edits the message (HAS_THREAD): no file changed, no second run.
		expect(h.bot.autoRehost?.outcomes(message.id)).toHaveLength(1);
		h.discord.assertNoViolations();
	});

	it("an edit that unfurls a new Discord CDN image adds its links in the same thread", async () => {
		// A channel of its own: discord.js sends a bucket's second request before it knows the
		// bucket (a 429 on Discord, one per process), and the reaction bucket is one per 250 ms.
		const sketches = h.guild.createChannel({ name: "sketches" });
		await world.settings(h, h.alice, h.general, { enabled: true, channel: sketches, reply: "thread" });
		const message = await world.postImage(h, h.alice, sketches, "t6.png", 96);
		expect(await world.handled(h, message)).toEqual([{ trigger: "create", outcome: "replied" }]);
		const elsewhere = await world.postImage(h, h.carol, h.general, "t7.png", 97);
		const url = h.discord.attachmentUrl(elsewhere.attachments[0] as never);
		h.discord.editUserMessage(message, { embeds: [{ type: "image", url, image: { url } }] });
		expect((await world.handled(h, message, 2))[1]).toEqual({ trigger: "update", outcome: "replied" });
		const { thread, posts } = threadOf(message);
		expect(thread?.id).toBe(message.id);
		expect(posts).toHaveLength(2);
		expect(posts[1]?.content).toContain((await h.store.uploads.byAttachment(elsewhere.attachments[0]?.id ?? ""))?.url);
		expect(botMessages(sketches, message)).toEqual([]);
		h.discord.assertNoViolations();
	});

	it("a member without a token still gets the one-time hint as a reply, and no thread", async () => {
		const message = await world.postImage(h, h.bob, gallery, "t2.png", 92);
		expect(await world.handled(h, message)).toEqual([{ trigger: "create", outcome: "no-token" }]);
		expect(world.repliesTo(h, message)).toHaveLength(1);
		expect(threadOf(message).thread).toBeNull();
		expect(reactedDone(message)).toBe(false);
	});

	it("after a crash between the thread and its links, the next start posts the links once, in that thread", async () => {
		await h.stopBot();
		const message = await world.postImage(h, h.alice, gallery, "t3.png", 93);
		// What the bot had done before the crash: the thread, as it starts it (over Discord's API).
		await startThreadAsBot(h, message);
		await h.startBot();
		await h.bot.autoRehost?.recovered;
		expect(h.bot.autoRehost?.outcomes(message.id)).toEqual([{ trigger: "backlog", outcome: "replied" }]);
		const { thread, posts } = threadOf(message);
		expect(thread?.id).toBe(message.id);
		expect(posts).toHaveLength(1);
		expect(posts[0]?.content).toContain((await h.store.uploads.byAttachment(message.attachments[0]?.id ?? ""))?.url);
		expect(reactedDone(message)).toBe(true);
		expect(botMessages(gallery, message)).toEqual([]);
		h.discord.assertNoViolations();
	});

	it("links a crash left unrecorded (past Discord's nonce window) are found in the thread, not posted again", async () => {
		// A channel of its own: a restarted bot cannot know the reaction bucket (one per 250 ms) of the last test.
		const studio = h.guild.createChannel({ name: "studio" });
		expect(
			(await world.settings(h, h.alice, h.general, { enabled: true, channel: studio, reply: "thread" })).reply?.content,
		).toContain("in a thread");
		await h.stopBot();
		const message = await world.postImage(h, h.alice, studio, "t4.png", 94);
		await startThreadAsBot(h, message);
		// The links message itself, without a nonce: only the thread's history can tell.
		await asBot(h, "POST", `/channels/${message.id}/messages`, { content: "📌 links posted before the crash" });
		await h.startBot();
		await h.bot.autoRehost?.recovered;
		expect(h.bot.autoRehost?.outcomes(message.id)).toEqual([{ trigger: "backlog", outcome: "replied" }]);
		expect(threadOf(message).posts).toHaveLength(1);
		expect(reactedDone(message)).toBe(true);
		expect(await h.store.autoRehost.replied(message.id)).toMatchObject({ replyId: threadOf(message).posts[0]?.id });
		h.discord.assertNoViolations();
	});

	it("with thread permissions taken away since, the links are a reply, and Discord is asked nothing it would refuse", async () => {
		const corner = h.guild.createChannel({ name: "corner" });
		await world.settings(h, h.alice, h.general, { enabled: true, channel: corner, reply: "thread" });
		expect((await h.store.guilds.get(h.guild.id)).autoRehost[corner.id]).toMatchObject({ reply: "thread" });
		corner.setPermissionOverwrite(h.discord.botUser, { deny: ["CreatePublicThreads", "AddReactions"] });
		const message = await world.postImage(h, h.alice, corner, "t8.png", 98);
		expect(await world.handled(h, message)).toEqual([{ trigger: "create", outcome: "replied" }]);
		expect(world.repliesTo(h, message)).toHaveLength(1);
		expect(threadOf(message).thread).toBeNull();
		expect(reactedDone(message)).toBe(false);
		h.discord.assertNoViolations();
	});

	it("in a thread, thread mode falls back to a reply, and the command says so", async () => {
		const talk = h.guild.createChannel({ name: "talk" });
		const topic = talk.createThread({ name: "show your work", owner: h.alice });
		const on = await world.settings(h, h.alice, h.general, { enabled: true, channel: topic, reply: "thread" });
		expect(on.reply?.content).toContain("where no thread can be started from a message: there I reply");
		const message = await world.postImage(h, h.alice, topic, "t5.png", 95);
		expect(await world.handled(h, message)).toEqual([{ trigger: "create", outcome: "replied" }]);
		expect(world.repliesTo(h, message)).toHaveLength(1);
		expect(threadOf(message).thread).toBeNull();
		h.discord.assertNoViolations();
	});
});

/** A REST call with the bot's token, as the bot (before a crash) would have made it. */
async function asBot(h: Harness, method: string, path: string, body: unknown): Promise<unknown> {
	const response = await fetch(`${h.discord.restUrl}/v10${path}`, {
		method,
		headers: { authorization: `Bot ${h.discord.botToken}`, "content-type": "application/json" },
		body: JSON.stringify(body),
	});
	expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
	return response.json();
}

function startThreadAsBot(h: Harness, message: Message): Promise<unknown> {
	return asBot(h, "POST", `/channels/${message.channel.id}/messages/${message.id}/threads`, {
		name: "imgpile links",
	});
}
