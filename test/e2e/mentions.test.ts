/**
 * Nothing the bot posts where others see it pings anyone, however hostile the imgpile text
 * (titles, descriptions, usernames with @everyone, <@user>, <@&role>) or the Discord text it
 * quotes: feed announcements (live, digest, /feed test) and public replies (/post show,
 * /profile, /post delete's prompt, /upload, a public rehost reply). The Discord emulator
 * computes mentions as Discord does; here the bot may mention everyone and the role is
 * mentionable, so any parsed mention would notify.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TickReport } from "../../src/feeds/index.js";
import {
	type Channel,
	DEFAULT_BOT_PERMISSIONS,
	type Interaction,
	type OptionValue,
	type Role,
	type User,
} from "../emulators/discord/index.js";
import { pngBytes } from "../support/images.js";
import { Harness, IMGPILE_USERS, imgpileUsers } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-5e2b7c9d1a3f6084";
const HOSTILE_USER = "@everyone";
const INTERVAL = 60_000;
const MENTION_EVERYONE = 1n << 17n;

let now = Date.now();
const clock = () => now;

let h: Harness;
let role: Role;
let hostile = "";

beforeAll(async () => {
	h = await Harness.start({
		imgpile: {
			now: clock,
			users: imgpileUsers(
				{ username: "feedbot", token: FEED_TOKEN },
				{ username: HOSTILE_USER, token: "ip-hostile-0b8d6f4a2c9e1735" },
			),
		},
		discord: { rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } } },
		feeds: { now: clock, intervalMs: INTERVAL, token: FEED_TOKEN, pageSize: 10 },
	});
	role = h.guild.createRole({ name: "artists", mentionable: true });
	h.guild.member(h.bob).addRole(role);
	// A server may well give the bot Mention Everyone: then only allowed_mentions stands in the way.
	h.guild.setBotPermissions(DEFAULT_BOT_PERMISSIONS | MENTION_EVERYONE);
	hostile = `@everyone @here <@${h.bob.id}> <@!${h.carol.id}> <@&${role.id}>`;
	expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
});

afterAll(async () => {
	await h?.close();
});

/** The pings so far, readable in a failure. */
const pings = () => h.discord.pings.map((p) => `${p.target} ${p.id} via ${p.via} in message ${p.messageId}`);

async function run(command: string, options: Record<string, OptionValue>, subcommand?: string, user: User = h.alice) {
	const ix = await h.discord.slash({ user, channel: h.general, command, subcommand, options });
	return h.finished(ix);
}

async function cycle(ms = INTERVAL): Promise<TickReport> {
	now += ms;
	return h.bot.tick();
}

async function channel(name: string): Promise<Channel> {
	const created = h.guild.createChannel({ name });
	await h.discord.waitFor(() => h.bot.client.channels.cache.has(created.id), { what: `#${name} in the bot's cache` });
	return created;
}

function seedHostile(tag: string, username = HOSTILE_USER) {
	return h.imgpileEmulator.seedPost({
		username,
		tags: [tag],
		title: `${hostile} title`,
		description: `${hostile} description [click](https://example.com)`,
	});
}

const botMessages = (ch: Channel) => h.discord.messages(ch).filter((m) => m.author.id === h.discord.botUser.id);

function publicly(ix: Interaction): Interaction {
	expect(ix.ephemeral, ix.describe()).toBe(false);
	return ix;
}

describe("no ping from anything the bot posts", () => {
	it("feed announcements: live, digest and /feed test", async () => {
		const live = await channel("live-feed");
		const digest = await channel("digest-feed");
		const liveId = /Feed `([a-z0-9]+)` added/.exec(
			(await run("feed", { channel: live, tag: "hostile" }, "add")).reply?.content ?? "",
		)?.[1];
		const digestId = /Feed `([a-z0-9]+)` added/.exec(
			(await run("feed", { channel: digest, tag: "hostile", every: "1h" }, "add")).reply?.content ?? "",
		)?.[1];
		expect(liveId && digestId).toBeTruthy();
		await cycle();
		seedHostile("hostile");
		seedHostile("hostile", "alice");
		await cycle();
		expect(botMessages(live)).toHaveLength(2);
		const sub = await h.store.subscriptions.get(digestId ?? "");
		now = Date.parse(sub?.nextDigestAt ?? "") - 1;
		await cycle(1);
		expect(botMessages(digest)).toHaveLength(1);
		await run("feed", { id: liveId ?? "" }, "test");
		expect(botMessages(live)).toHaveLength(3);
		expect(JSON.stringify(botMessages(live).map((m) => m.embeds))).toContain("@everyone");
		expect(pings()).toEqual([]);
		for (const message of [...botMessages(live), ...botMessages(digest)]) {
			expect(message.toAPI()).toMatchObject({ mentions: [], mention_roles: [], mention_everyone: false });
		}
		// Feeds post over raw REST, which gets no client-wide default: each body says it itself,
		// for the day some imgpile text reaches a feed message's content.
		const sends = h.discord.requests.filter(
			(r) =>
				r.route === "POST /channels/{channel_id}/messages" && [live.id, digest.id].some((id) => r.path.includes(id)),
		);
		expect(sends).toHaveLength(4);
		for (const send of sends) expect(send.body).toMatchObject({ allowed_mentions: { parse: [] } });
	});

	it("public replies: /post show, /profile, /post delete's prompt, /upload", async () => {
		const post = seedHostile("shown", "alice");
		publicly(await run("post", { post: post.slug }, "show", h.bob));
		publicly(await run("profile", { user: "alice" }, undefined, h.bob));
		// The prompt quotes the title in its content, where Discord parses mentions.
		const prompt = publicly(await run("post", { post: post.slug }, "delete"));
		expect(prompt.reply?.content).toContain("title");
		const upload = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "upload",
			options: { title: hostile, description: hostile },
			attachments: { file: { filename: "@everyone.png", contentType: "image/png", source: pngBytes(20, 10) } },
		});
		publicly(await h.finished(upload));
		expect(pings()).toEqual([]);
	});

	it("a public rehost reply names the rehoster and quotes file names, pinging neither them nor the author", async () => {
		const set = await h.discord.slash({
			user: h.alice,
			channel: h.general,
			command: "imgpile",
			group: "settings",
			subcommand: "rehost-reply",
			options: { mode: "public" },
		});
		expect((await h.finished(set)).ephemeral).toBe(true);
		const source = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			content: hostile,
			attachments: [{ filename: "@everyone.png", contentType: "image/png", source: pngBytes(21, 10) }],
		});
		// bob's own message pinged (he may mention others); only the bot's are under test.
		const before = h.discord.pings.length;
		const ix = await h.finished(
			await h.discord.messageCommand({ user: h.alice, message: source, name: "Rehost to imgpile" }),
		);
		const reply = botMessages(h.general).find((m) => m.messageReference?.message_id === source.id);
		expect(reply, ix.describe()).toBeTruthy();
		expect(reply?.content).toContain(`<@${h.alice.id}>`);
		expect(pings().slice(before)).toEqual([]);
		h.discord.assertNoViolations();
	});
});
