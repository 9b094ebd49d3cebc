/**
 * imgpile URLs Discord would refuse (a malformed avatar or preview) in replies: the real bot
 * against the emulators, whose Discord validates embed and button URLs as Discord does (400,
 * 50035). The URL is left out; the reply goes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../emulators/discord/index.js";
import { MALFORMED_AVATAR, MALFORMED_URLS } from "../support/urls.js";
import { Harness } from "./harness.js";

let h: Harness;
let slug = "";
const kinds = Object.keys(MALFORMED_URLS) as Array<keyof typeof MALFORMED_URLS>;

beforeAll(async () => {
	h = await Harness.start();
	h.imgpileEmulator.addUser({ username: "mallory", token: "ip-mallory-5e8a1c3f7b20d964", avatar: MALFORMED_AVATAR });
	// One media per kind of malformed preview (the gallery shows four a page).
	const post = h.imgpileEmulator.seedPost({ username: "mallory", mediaCount: kinds.length, title: "Broken links" });
	slug = post.slug;
	(post.media ?? []).forEach((media, index) => {
		const kind = kinds[index] ?? "javascript";
		h.imgpileEmulator.setMediaUrls(media.slug, { lg: MALFORMED_URLS[kind] });
	});
});

afterAll(async () => {
	await h?.close();
});

/** Every URL a message's embeds carry (Discord validates each). */
const embedUrls = (embeds: Json[] | undefined): unknown[] =>
	(embeds ?? []).flatMap((embed) => {
		const e = embed as {
			url?: unknown;
			image?: { url?: unknown };
			thumbnail?: { url?: unknown };
			author?: { icon_url?: unknown };
		};
		return [e.url, e.image?.url, e.thumbnail?.url, e.author?.icon_url].filter((url) => url !== undefined);
	});

describe("malformed imgpile URLs", () => {
	it("/post show of a post with a malformed avatar and previews is delivered, without them", async () => {
		const ix = await h.discord.slash({
			user: h.bob,
			channel: h.general,
			command: "post",
			subcommand: "show",
			options: { post: slug },
		});
		await ix.settled();
		expect(ix.reply?.embeds[0]).toMatchObject({ title: "Broken links", author: { name: "mallory" } });
		expect(embedUrls(ix.reply?.embeds)).toEqual([`https://imgpile.com/p/${slug}`]);
		const paged = await h.discord.clickButton({ user: h.bob, message: ix.reply!, label: "Next" });
		await paged.settled();
		expect(JSON.stringify(ix.reply?.embeds[0]?.footer)).toContain("Page 2 of 2");
		expect(embedUrls(ix.reply?.embeds)).toEqual([`https://imgpile.com/p/${slug}`]);
		h.discord.assertNoViolations();
	});

	it("/profile of that user is delivered, without the avatar and the preview", async () => {
		const ix = await h.discord.slash({
			user: h.bob,
			channel: h.general,
			command: "profile",
			options: { user: "mallory" },
		});
		await ix.settled();
		expect(ix.reply?.embeds.map((embed) => embed.title)).toEqual(["mallory on imgpile", "Broken links"]);
		expect(embedUrls(ix.reply?.embeds)).toEqual([`https://imgpile.com/p/${slug}`]);
		h.discord.assertNoViolations();
	});
});
