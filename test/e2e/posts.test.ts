/**
 * /post and /media end to end: the real bot against the Discord and imgpile emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json, Message } from "../emulators/discord/index.js";
import { pngBytes } from "../support/images.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

let h: Harness;

beforeAll(async () => {
	h = await Harness.start();
	await link(h.alice, IMGPILE_USERS.alice);
	await link(h.bob, IMGPILE_USERS.bob);
});

afterAll(async () => {
	await h?.close();
});

async function link(user = h.alice, token: string = IMGPILE_USERS.alice) {
	expect((await h.link(user, token)).reply?.content).toContain("Linked");
}

/** Uploads a tiny PNG as an imgpile user with the real client. */
async function upload(token: string, width: number, filename: string) {
	const bytes = pngBytes(width, 6);
	return h.imgpile.as(token).uploadMedia({
		stream: (async function* () {
			yield bytes;
		})(),
		filename,
		contentType: "image/png",
		size: bytes.length,
	});
}

/** Runs `/post <subcommand>` (or another command) and waits for the answer. */
async function run(
	subcommand: string,
	options: Record<string, string | boolean>,
	extra: { user?: typeof h.alice; channel?: typeof h.general; command?: string; locale?: string } = {},
) {
	const ix = await h.discord.slash({
		user: extra.user ?? h.alice,
		channel: extra.channel ?? h.general,
		command: extra.command ?? "post",
		subcommand,
		options,
		locale: extra.locale,
	});
	await ix.settled();
	return ix;
}

function buttons(message: Message | undefined): Json[] {
	return (message?.components ?? []).flatMap((row) => (row.components as Json[] | undefined) ?? []);
}

function imgpileWrites(): number {
	return h.imgpileEmulator.requests.filter((r) => r.method !== "GET").length;
}

const guest = () => h.imgpile.as();
const asAlice = () => h.imgpile.as(IMGPILE_USERS.alice);

describe("/post create, edit, tag", () => {
	let slug = "";

	it("creates a post from two uploaded media, with title and tags, suggesting recent uploads", async () => {
		const first = await upload(IMGPILE_USERS.alice, 10, "beach.png");
		const second = await upload(IMGPILE_USERS.alice, 11, "sunset.png");
		for (const media of [first, second]) {
			await h.store.uploads.record({
				mediaId: media.id,
				slug: media.slug,
				url: media.urls.original,
				type: media.type,
				width: media.width,
				height: media.height,
				size: 100,
				filename: media.slug === first.slug ? "beach.png" : "sunset.png",
				userId: h.alice.id,
				guildId: h.guild.id,
				attachmentKey: null,
			});
		}
		const choices = await h.discord.autocomplete({
			user: h.alice,
			channel: h.general,
			command: "post",
			subcommand: "create",
			focused: "media",
			options: { media: `${first.slug}, sun` },
		});
		expect(choices).toEqual([
			{ name: expect.stringContaining(`sunset.png (${second.slug})`), value: `${first.slug} ${second.slug}` },
		]);

		const ix = await run("create", {
			media: `${first.slug}, ${second.slug}`,
			title: "Seaside",
			tags: "sky, #Sea",
		});
		expect(ix.ephemeral).toBe(true);
		expect(ix.callback?.type).toBe(5);
		const match = ix.reply?.content.match(/https:\/\/imgpile\.com\/p\/([A-Za-z0-9]+)/);
		expect(match, ix.describe()).toBeTruthy();
		slug = match?.[1] ?? "";
		const post = await guest().getPost(slug);
		expect(post).toMatchObject({ title: "Seaside", media_count: 2, tags: ["sky", "sea"] });
		expect(post.media?.map((m) => m.slug)).toEqual([first.slug, second.slug]);
	});

	it("edits the title and makes the post private: the link with its key only in an ephemeral reply", async () => {
		const ix = await run("edit", {
			post: `https://imgpile.com/p/${slug}`,
			title: "Seaside at dusk",
			visibility: "private",
		});
		expect(ix.ephemeral).toBe(true);
		const post = await asAlice().getPost(slug);
		expect(post.title).toBe("Seaside at dusk");
		expect(post.visibility).toBe("private");
		const key = post.access_key ?? "";
		expect(key).not.toBe("");
		expect(ix.reply?.content).toContain(`https://imgpile.com/p/${slug}?key=${key}`);
		expect(h.publicText()).not.toContain(key);
	});

	it("adds tags to the current ones", async () => {
		const ix = await run("tag", { post: slug, tags: "beach golden-hour" });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("#sky #sea #beach #golden-hour");
		expect((await asAlice().getPost(slug)).tags).toEqual(["sky", "sea", "beach", "golden-hour"]);
	});

	it("says plainly that tagging was refused when imgpile answers 422 on tags", async () => {
		h.imgpileEmulator.injectFault({
			method: "PATCH",
			path: /\/posts\//,
			status: 422,
			body: { message: "Tags are not supported.", errors: { tags: ["Tags are not supported."] } },
		});
		const ix = await run("tag", { post: slug, tags: "nope", mode: "replace" });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("refused the tags");
		expect(ix.reply?.content).toContain("Tagging was not done");
		expect((await asAlice().getPost(slug)).tags).toEqual(["sky", "sea", "beach", "golden-hour"]);
	});

	it("creates the post anyway when imgpile refuses only its tags, and says so", async () => {
		const media = await upload(IMGPILE_USERS.alice, 15, "tree.png");
		h.imgpileEmulator.injectFault({
			method: "PATCH",
			path: /\/posts\//,
			status: 422,
			body: { message: "Tags are not supported.", errors: { tags: ["Tags are not supported."] } },
		});
		const ix = await run("create", { media: media.slug, title: "Tree", tags: "oak" });
		expect(ix.reply?.content).toContain("Post created");
		expect(ix.reply?.content).toContain("refused the tags");
		const created = ix.reply?.content.match(/\/p\/([A-Za-z0-9]+)/)?.[1] ?? "";
		expect(await guest().getPost(created)).toMatchObject({ title: "Tree", tags: [] });
	});

	it("refuses a title over 255 characters before sending anything", async () => {
		const writes = imgpileWrites();
		const ix = await run("edit", { post: slug, title: "x".repeat(256) });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toContain("256 characters");
		expect(ix.reply?.content).toContain("at most 255");
		expect(imgpileWrites()).toBe(writes);
		expect((await asAlice().getPost(slug)).title).toBe("Seaside at dusk");
	});

	it("trims the title as /upload and its form do: spaces around it are not part of it", async () => {
		const title = "y".repeat(255);
		const ix = await run("edit", { post: slug, title: `  ${title}  ` });
		expect(ix.reply?.content).toContain(`Post \`${slug}\` updated`);
		expect((await asAlice().getPost(slug)).title).toBe(title);
		await run("edit", { post: slug, title: "Seaside at dusk" });
		expect((await asAlice().getPost(slug)).title).toBe("Seaside at dusk");
	});

	it("names the unknown media, refuses someone else's media, and creates nothing", async () => {
		const bobs = await upload(IMGPILE_USERS.bob, 12, "bob.png");
		const posts = () => h.imgpileEmulator.requests.filter((r) => r.method === "POST" && r.path.endsWith("/posts"));
		const before = posts().length;
		const unknown = await run("create", { media: "nope123" });
		expect(unknown.ephemeral).toBe(true);
		expect(unknown.reply?.content).toBe("imgpile could not find media `nope123`.");
		expect(posts().length).toBe(before);

		const foreign = await run("create", { media: bobs.slug, title: "Not mine" });
		expect(foreign.ephemeral).toBe(true);
		expect(foreign.reply?.content).toContain("only the owner");
		expect(posts().filter((r) => r.status === 201).length).toBe(before);
	});
});

describe("/post show", () => {
	it("shows a public post as a gallery with page buttons anyone can use", async () => {
		const seeded = h.imgpileEmulator.seedPost({ username: "alice", mediaCount: 6, title: "Six", tags: ["cats"] });
		const ix = await run("show", { post: seeded.slug });
		expect(ix.ephemeral).toBe(false);
		const reply = ix.reply;
		expect(reply?.embeds).toHaveLength(4);
		expect(reply?.embeds[0]).toMatchObject({
			title: "Six",
			url: `https://imgpile.com/p/${seeded.slug}`,
			author: { name: "alice" },
			image: { url: expect.stringContaining("/f/") },
		});
		expect(JSON.stringify(reply?.embeds[0])).toContain("#cats");
		expect(JSON.stringify(reply?.embeds[0]?.footer)).toContain("Page 1 of 2");
		const [prev, next] = buttons(reply);
		expect(prev).toMatchObject({ disabled: true });
		expect(next).toMatchObject({ custom_id: `post-page:${seeded.slug}:2` });

		const paged = await h.discord.clickButton({ user: h.bob, message: reply as Message, label: "Next" });
		await paged.settled();
		expect(paged.callback?.type).toBe(7);
		expect(reply?.embeds).toHaveLength(2);
		expect(JSON.stringify(reply?.embeds[0]?.footer)).toContain("Page 2 of 2");
		expect(buttons(reply)[1]).toMatchObject({ disabled: true });
	});

	it("shows a private post only to the asker, with the key in its buttons then", async () => {
		const seeded = h.imgpileEmulator.seedPost({ username: "alice", mediaCount: 5, visibility: "private" });
		const key = seeded.access_key ?? "";
		const ix = await run("show", { post: `imgpile.com/p/${seeded.slug}?key=${key}` }, { user: h.carol });
		expect(ix.ephemeral).toBe(true);
		expect(buttons(ix.reply)[1]).toMatchObject({ custom_id: `post-page:${seeded.slug}:2:${key}` });
		const paged = await h.discord.clickButton({ user: h.carol, message: ix.reply as Message, label: "Next" });
		await paged.settled();
		expect(ix.reply?.embeds).toHaveLength(1);

		const without = await run("show", { post: seeded.slug }, { user: h.carol });
		expect(without.reply?.content).toBe(`imgpile could not find post \`${seeded.slug}\`.`);
		expect(h.publicText()).not.toContain(key);
	});

	it("never previews an NSFW post outside an age-restricted channel, and does in #nsfw-art", async () => {
		const seeded = h.imgpileEmulator.seedPost({ username: "alice", mediaCount: 2, title: "Spicy", isNsfw: true });
		const sfw = await run("show", { post: seeded.slug }, { user: h.bob });
		expect(sfw.ephemeral).toBe(false);
		expect(sfw.reply?.content).toContain("NSFW");
		expect(sfw.reply?.content).toContain(`<https://imgpile.com/p/${seeded.slug}>`);
		expect(JSON.stringify(sfw.reply?.embeds)).not.toContain("/f/");

		const nsfw = await run("show", { post: seeded.slug }, { user: h.bob, channel: h.nsfw });
		expect(nsfw.reply?.embeds).toHaveLength(2);
		expect(nsfw.reply?.embeds[0]).toMatchObject({ image: { url: expect.stringContaining("/f/") } });
		expect(JSON.stringify(nsfw.reply?.embeds[0])).toContain("NSFW");
	});

	it("labels a post awaiting moderation", async () => {
		const seeded = h.imgpileEmulator.seedPost({ username: "bob", moderation: "pending" });
		const ix = await run("show", { post: seeded.slug });
		expect(JSON.stringify(ix.reply?.embeds[0])).toContain("Awaiting moderation");
	});

	it("names an unknown post, in Chinese for a zh-CN user", async () => {
		const en = await run("show", { post: "zzzzzzz" });
		expect(en.ephemeral).toBe(true);
		expect(en.reply?.content).toBe("imgpile could not find post `zzzzzzz`.");
		const zh = await run("show", { post: "zzzzzzz" }, { locale: "zh-CN" });
		expect(zh.reply?.content).toBe("imgpile 找不到 帖子 `zzzzzzz`。");
	});

	it("refuses a link to another host and a numeric id, without asking imgpile", async () => {
		const before = h.imgpileEmulator.requests.length;
		const other = await run("show", { post: "https://example.com/p/abc1234" });
		expect(other.ephemeral).toBe(true);
		expect(other.reply?.content).toContain("`example.com`, not imgpile");
		const numeric = await run("show", { post: "12345" });
		expect(numeric.reply?.content).toContain("numeric post id");
		expect(h.imgpileEmulator.requests.length).toBe(before);
	});
});

describe("/post delete", () => {
	it("refuses a stranger, at the command and at the button, then deletes for the owner", async () => {
		const seeded = h.imgpileEmulator.seedPost({ username: "alice", title: "Doomed" });

		const bobAsks = await run("delete", { post: seeded.slug }, { user: h.bob });
		expect(bobAsks.ephemeral).toBe(true);
		expect(bobAsks.reply?.content).toContain("not yours");

		const ask = await run("delete", { post: seeded.slug });
		const prompt = ask.reply as Message;
		expect(prompt.content).toContain("**Doomed**");
		expect(buttons(prompt).map((b) => b.custom_id)).toEqual([
			`post-delete:${seeded.slug}:${h.alice.id}`,
			`post-delete-cancel:${seeded.slug}:${h.alice.id}`,
		]);

		const bobPresses = await h.discord.clickButton({ user: h.bob, message: prompt, label: "Delete" });
		await bobPresses.settled();
		expect(bobPresses.ephemeral).toBe(true);
		expect(bobPresses.reply?.content).toContain("Only the person who asked");
		expect((await guest().getPost(seeded.slug)).title).toBe("Doomed");

		const confirmed = await h.discord.clickButton({ user: h.alice, message: prompt, label: "Delete" });
		await confirmed.settled();
		expect(prompt.content).toBe(`Post \`${seeded.slug}\` was deleted.`);
		expect(prompt.components).toEqual([]);
		await expect(guest().getPost(seeded.slug)).rejects.toMatchObject({ kind: "not_found" });
	});

	it("cancels without deleting", async () => {
		const seeded = h.imgpileEmulator.seedPost({ username: "alice", title: "Kept" });
		const ask = await run("delete", { post: seeded.slug });
		const cancel = await h.discord.clickButton({ user: h.alice, message: ask.reply as Message, label: "Cancel" });
		await cancel.settled();
		expect(ask.reply?.content).toContain("nothing was deleted");
		expect((await guest().getPost(seeded.slug)).title).toBe("Kept");
	});
});

describe("/media edit and delete", () => {
	it("edits a media's title and description", async () => {
		const media = await upload(IMGPILE_USERS.alice, 13, "cat.png");
		const ix = await run("edit", { media: media.slug, title: "Cat", description: "A cat" }, { command: "media" });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toBe(`Media \`${media.slug}\` updated.`);
		expect(await guest().getMedia(media.slug)).toMatchObject({ title: "Cat", description: "A cat" });

		const nothing = await run("edit", { media: media.slug }, { command: "media" });
		expect(nothing.reply?.content).toContain("at least one thing");
	});

	it("deletes a media after the owner confirms, and forgets it", async () => {
		const media = await upload(IMGPILE_USERS.alice, 14, "dog.png");
		await h.store.uploads.record({
			mediaId: media.id,
			slug: media.slug,
			url: media.urls.original,
			type: media.type,
			width: media.width,
			height: media.height,
			size: 100,
			filename: "dog.png",
			userId: h.alice.id,
			guildId: h.guild.id,
			attachmentKey: null,
		});
		const ask = await run("delete", { media: media.slug }, { command: "media" });
		const prompt = ask.reply as Message;
		expect(buttons(prompt)[0]).toMatchObject({ custom_id: `media-delete:${media.slug}:${h.alice.id}` });
		const confirmed = await h.discord.clickButton({ user: h.alice, message: prompt, label: "Delete" });
		await confirmed.settled();
		expect(prompt.content).toBe(`Media \`${media.slug}\` was deleted.`);
		await expect(guest().getMedia(media.slug)).rejects.toMatchObject({ kind: "not_found" });
		expect(await h.store.uploads.get(media.slug)).toBeUndefined();

		const again = await run("delete", { media: media.slug }, { command: "media" });
		expect(again.reply?.content).toBe(`imgpile could not find media \`${media.slug}\`.`);
	});
});

describe("hygiene", () => {
	it("leaks no token and breaks no Discord rule", () => {
		const text = h.publicText();
		for (const token of [...Object.values(IMGPILE_USERS), h.discord.botToken]) expect(text).not.toContain(token);
		h.discord.assertNoViolations();
	});
});
