/**
 * "Rehost to imgpile" (message context menu) and /imgpile settings rehost-reply end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AttachmentSpec, Interaction, Json, Message } from "../emulators/discord/index.js";
import { mp4Bytes, pngBytes } from "../support/images.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

let h: Harness;

beforeAll(async () => {
	h = await Harness.start();
	await link(h.alice, IMGPILE_USERS.alice);
});

afterAll(async () => {
	await h?.close();
});

async function link(user: typeof h.alice, token: string) {
	expect((await h.link(user, token)).reply?.content).toContain("Linked");
}

const finished = (ix: Interaction) => h.finished(ix);

async function rehost(message: Message, user = h.alice, locale?: string) {
	return finished(await h.discord.messageCommand({ user, message, name: "Rehost to imgpile", locale }));
}

function png(name: string, width: number, height = 6): AttachmentSpec {
	return { filename: name, contentType: "image/png", source: pngBytes(width, height) };
}

function uploadRequests() {
	return h.imgpileEmulator.requests.filter((r) => r.listener === "cdn" && r.method === "POST");
}

function postSlugIn(text: string | undefined): string {
	const slug = text?.match(/https:\/\/imgpile\.com\/p\/([A-Za-z0-9]+)/)?.[1];
	expect(slug, text).toBeTruthy();
	return slug ?? "";
}

/** A CDN URL of an attachment posted elsewhere, as a link to it unfurls into an image embed. */
async function cdnImageUrl(name: string, width: number): Promise<string> {
	const holder = await h.discord.postUserMessage({
		user: h.carol,
		channel: h.general,
		attachments: [png(name, width)],
	});
	const attachment = holder.attachments[0];
	if (!attachment) throw new Error("no attachment");
	return h.discord.attachmentUrl(attachment);
}

const guest = () => h.imgpile.as();

describe("Rehost to imgpile", () => {
	let source: Message;
	let firstSlug = "";

	it("rehosts two attachments and an embedded image as one post, privately by default", async () => {
		const embedded = await cdnImageUrl("embedded.png", 53);
		source = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			content: "look at these",
			attachments: [png("one.png", 51), png("two.png", 52)],
			embeds: [{ type: "image", url: embedded, image: { url: embedded } }],
		});
		const before = uploadRequests().length;
		const ix = await rehost(source);
		expect(ix.ephemeral).toBe(true);
		firstSlug = postSlugIn(ix.reply?.content);
		const post = await guest().getPost(firstSlug);
		expect(post.media?.map((m) => m.width)).toEqual([51, 52, 53]);
		expect(post.moderation_status).toBe("approved");
		expect(uploadRequests().length).toBe(before + 3);
		expect(ix.reply?.embeds.length).toBe(3);
		h.discord.assertNoViolations();
	});

	it("rehosting the same message again gives the earlier links without uploading again", async () => {
		const before = uploadRequests().length;
		const ix = await rehost(source);
		expect(uploadRequests().length).toBe(before);
		expect(ix.reply?.content).toContain("Rehosted before");
		const post = await guest().getPost(firstSlug);
		for (const media of post.media ?? []) expect(ix.reply?.content).toContain(media.urls.original);
		expect(await guest().getPost(firstSlug)).toMatchObject({ media_count: 3 });
	});

	it("uploads again a file whose earlier copy was deleted on imgpile", async () => {
		const post = await guest().getPost(firstSlug);
		const gone = post.media?.[0];
		if (!gone) throw new Error("no media");
		await h.imgpile.as(IMGPILE_USERS.alice).deleteMedia(gone.slug);
		const before = uploadRequests().length;
		const ix = await rehost(source);
		expect(uploadRequests().length).toBe(before + 1);
		expect(await h.store.uploads.get(gone.slug)).toBeUndefined();
		const slug = postSlugIn(ix.reply?.content);
		expect((await guest().getPost(slug)).media_count).toBe(3);
	});

	it("refuses an embedded image off the Discord CDN, naming it, and rehosts the rest", async () => {
		const message = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			attachments: [png("local.png", 61)],
			embeds: [
				{ type: "image", url: "https://example.com/cat.png?x=1", image: { url: "https://example.com/cat.png?x=1" } },
			],
		});
		// As on Discord, the embed's media come with a proxy_url on images-ext-N.discordapp.net.
		expect(String((message.embeds[0]?.image as Json | undefined)?.proxy_url)).toMatch(
			/^https:\/\/images-ext-\d\.discordapp\.net\/external\/[\w-]+\/%3Fx%3D1\/https\/example\.com\/cat\.png$/,
		);
		const cdnBefore = h.discord.cdnRequests.length;
		const ix = await rehost(message);
		const content = ix.reply?.content ?? "";
		expect(content).toContain(
			"❌ `https://example.com/cat.png` — Media of another website (example.com), not a file on Discord's CDN: I can only rehost files uploaded to Discord.",
		);
		expect((ix.reply?.embeds[0] as Json | undefined)?.title).toBe("local.png");
		expect(h.discord.cdnRequests.length).toBe(cdnBefore + 1);

		const onlyExternal = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			embeds: [{ type: "rich", thumbnail: { url: "https://tenor.example/x.gif" } }],
		});
		const refused = await rehost(onlyExternal);
		expect(refused.ephemeral).toBe(true);
		expect(refused.reply?.content).toContain("Nothing was rehosted");
		expect(refused.reply?.content).toContain("https://tenor.example/x.gif");
		expect(refused.reply?.content).toContain("Media of another website (tenor.example)");
		const zh = await rehost(onlyExternal, h.alice, "zh-CN");
		expect(zh.reply?.content).toContain("这是其他网站（tenor.example）的媒体，不是 Discord CDN 上的文件");
	});

	it("takes files without content_type (sniffed), spoilers by flag, and embeds on the media proxy host", async () => {
		const onCdn = await cdnImageUrl("proxied.png", 93);
		const proxied = h.discord.proxyUrlFor(onCdn);
		expect(new URL(proxied).host).not.toBe(new URL(onCdn).host);
		const message = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			attachments: [
				{ filename: "untyped.png", contentType: null, source: pngBytes(91, 6) },
				{ filename: "flagged.png", contentType: "image/png", spoilerFlag: true, source: pngBytes(92, 6) },
			],
			embeds: [{ type: "image", url: proxied, thumbnail: { url: proxied } }],
		});
		const api = message.toAPI().attachments as Json[];
		expect(api[0]?.content_type).toBeUndefined();
		expect(api[1]).toMatchObject({ filename: "flagged.png", flags: 1 << 3 });
		const mediaBefore = h.discord.cdnRequests.filter((r) => r.host === "media").length;
		const ix = await rehost(message);
		const post = await h.imgpile.as(IMGPILE_USERS.alice).getPost(postSlugIn(ix.reply?.content));
		expect(post.media_count).toBe(3);
		expect(post.media?.find((m) => m.width === 91)?.type).toBe("image/png");
		const flagged = post.media?.find((m) => m.width === 92);
		expect(ix.reply?.content).toContain(`||${flagged?.urls.original}||`);
		expect(JSON.stringify(ix.reply?.embeds)).not.toContain(flagged?.slug);
		expect(post.media?.some((m) => m.width === 93)).toBe(true);
		expect(h.discord.cdnRequests.filter((r) => r.host === "media").length).toBe(mediaBefore + 1);
	});

	it("keeps spoilers spoilered and makes the post NSFW", async () => {
		const message = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			attachments: [png("SPOILER_hidden.png", 71), png("plain.png", 72)],
		});
		const ix = await rehost(message);
		const slug = postSlugIn(ix.reply?.content);
		const post = await h.imgpile.as(IMGPILE_USERS.alice).getPost(slug);
		expect(post.moderation_status).toBe("nsfw");
		const spoiled = post.media?.find((m) => m.width === 71);
		expect(ix.reply?.content).toContain(`||${spoiled?.urls.original}||`);
		expect(JSON.stringify(ix.reply?.embeds)).not.toContain(spoiled?.slug);
	});

	it("makes a post from an age-restricted channel NSFW", async () => {
		const message = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.nsfw,
			attachments: [png("n1.png", 81), png("n2.png", 82)],
		});
		const ix = await rehost(message);
		const post = await h.imgpile.as(IMGPILE_USERS.alice).getPost(postSlugIn(ix.reply?.content));
		expect(post.moderation_status).toBe("nsfw");
	});

	it("rehosts a single video as just the media, answering in Chinese for a zh-CN user", async () => {
		const message = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			attachments: [{ filename: "movie.mp4", contentType: "video/mp4", source: mp4Bytes(5_000) }],
		});
		const ix = await rehost(message, h.alice, "zh-CN");
		const embed = ix.reply?.embeds[0] as Json | undefined;
		expect(embed?.title).toBe("movie.mp4");
		const media = await guest().getMedia(String((embed?.footer as Json | undefined)?.text));
		expect(ix.reply?.content).toContain(media.urls.original);
		expect(JSON.stringify(ix.reply?.components)).toContain("创建帖子");
	});

	it("says so when the message has nothing to rehost", async () => {
		const message = await h.discord.postUserMessage({ user: h.bob, channel: h.general, content: "just words" });
		const ix = await rehost(message);
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("no attachments, images or videos");
	});
});

describe("/imgpile settings rehost-reply", () => {
	it("is for members with Manage Server only", async () => {
		const ix = await finished(
			await h.discord.slash({
				user: h.bob,
				channel: h.general,
				command: "imgpile",
				group: "settings",
				subcommand: "rehost-reply",
				options: { mode: "public" },
			}),
		);
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("Manage Server");
		expect((await h.store.guilds.get(h.guild.id)).rehostReply).toBe("ephemeral");
	});

	it("public: the answer is a reply to the message in its channel", async () => {
		const set = await finished(
			await h.discord.slash({
				user: h.alice,
				channel: h.general,
				command: "imgpile",
				group: "settings",
				subcommand: "rehost-reply",
				options: { mode: "public" },
			}),
		);
		expect(set.ephemeral).toBe(true);
		expect((await h.store.guilds.get(h.guild.id)).rehostReply).toBe("public");

		const message = await h.discord.postUserMessage({
			user: h.bob,
			channel: h.general,
			attachments: [png("pub.png", 91)],
		});
		const ix = await rehost(message);
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("I replied to the message");
		const reply = h.discord
			.messages(h.general)
			.find((m) => m.author.id === h.discord.botUser.id && m.messageReference?.message_id === message.id);
		expect(reply, "a public reply to the source message").toBeTruthy();
		expect(reply?.content).toContain(`<@${h.alice.id}>`);
		expect((reply?.embeds[0] as Json | undefined)?.title).toBe("pub.png");
		h.discord.assertNoViolations();
	});

	it("falls back to a private answer, saying why, when the bot cannot send in the channel", async () => {
		const locked = h.guild.createChannel({ name: "read-only" });
		const message = await h.discord.postUserMessage({ user: h.bob, channel: locked, attachments: [png("ro.png", 92)] });
		locked.setPermissionOverwrite(h.discord.botUser, { deny: ["SendMessages"] });
		const ix = await rehost(message);
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("could not reply publicly");
		expect(ix.reply?.content).toContain("Send Messages");
		expect((ix.reply?.embeds[0] as Json | undefined)?.title).toBe("ro.png");
		expect(h.discord.messages(locked).filter((m) => m.author.id === h.discord.botUser.id)).toEqual([]);
		h.discord.assertNoViolations();
	});
});
