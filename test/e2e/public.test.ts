/**
 * Public messages show only public content: the owner's own token lets imgpile return their
 * hidden and private posts, and no message others see may show them (nor their titles or
 * previews).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message, OptionValue, User } from "../emulators/discord/index.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

let h: Harness;

beforeAll(async () => {
	h = await Harness.start({ imgpile: { limits: { publicPerMinute: 10_000 } } });
	expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
	expect((await h.link(h.bob, IMGPILE_USERS.bob)).reply?.content).toContain("Linked");
});

afterAll(async () => {
	await h?.close();
});

async function run(
	command: string,
	options: Record<string, OptionValue>,
	extra: { user?: User; subcommand?: string } = {},
) {
	const ix = await h.discord.slash({
		user: extra.user ?? h.alice,
		channel: h.general,
		command,
		subcommand: extra.subcommand,
		options,
	});
	await ix.settled();
	return ix;
}

function mediaSlugs(post: { media?: { slug: string }[] }): string[] {
	return (post.media ?? []).map((m) => m.slug);
}

/** Everything a message shows: content, embeds and buttons. */
function shown(message: Message): string {
	return JSON.stringify([message.content, message.embeds, message.components]);
}

const alice = () => h.imgpile.as(IMGPILE_USERS.alice);

describe("public renders of the owner's own content", () => {
	it("/profile on oneself shows only the public post, nothing of the private or hidden ones", async () => {
		const harbour = h.imgpileEmulator.seedPost({ username: "alice", title: "Harbour at dawn" });
		const secret = h.imgpileEmulator.seedPost({ username: "alice", title: "Secret diary", visibility: "private" });
		const unlisted = h.imgpileEmulator.seedPost({ username: "alice", title: "Unlisted draft", visibility: "hidden" });
		// What the emulator gives the owner's token: all three (so the bot must not trust it).
		const own = await alice().userPosts("alice", { limit: 10 });
		expect(own.data.map((p) => p.visibility).sort()).toEqual(["hidden", "private", "public"]);

		const ix = await run("profile", { user: "alice" });
		expect(ix.ephemeral).toBe(false);
		const message = ix.reply as Message;
		expect(message.embeds.slice(1).map((e) => e.title)).toEqual(["Harbour at dawn"]);
		expect(message.embeds[0]).toMatchObject({
			fields: expect.arrayContaining([
				{ name: "Posts", value: "1", inline: true },
				{ name: "Media", value: "1", inline: true },
			]),
		});
		const text = shown(message);
		for (const hiddenPost of [secret, unlisted]) {
			expect(text).not.toContain(hiddenPost.title);
			expect(text).not.toContain(hiddenPost.slug);
			for (const slug of mediaSlugs(hiddenPost)) expect(text).not.toContain(slug);
		}
		expect(text).not.toContain(secret.access_key ?? "no key");
		for (const slug of mediaSlugs(harbour)) expect(text).toContain(slug);
	});

	it("/post show of one's private or hidden post answers the owner alone", async () => {
		const secret = h.imgpileEmulator.seedPost({ username: "alice", title: "Private plans", visibility: "private" });
		const unlisted = h.imgpileEmulator.seedPost({ username: "alice", title: "Hidden sketch", visibility: "hidden" });
		for (const post of [secret, unlisted]) {
			const ix = await run("post", { post: post.slug }, { subcommand: "show" });
			expect(ix.ephemeral).toBe(true);
			expect(ix.reply?.embeds[0]?.title).toBe(post.title);
		}
		const publicText = JSON.stringify(h.discord.events.filter((event) => !event.ephemeral));
		for (const text of ["Private plans", "Hidden sketch", secret.slug, unlisted.slug]) {
			expect(publicText).not.toContain(text);
		}
	});

	it("a shared gallery's page buttons do not show the post once it is no longer public", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "alice", title: "Gone quiet", mediaCount: 6 });
		const ix = await run("post", { post: post.slug }, { subcommand: "show" });
		expect(ix.ephemeral).toBe(false);
		const message = ix.reply as Message;
		const before = JSON.stringify(message.embeds);
		await alice().updatePost(post.slug, { visibility: "hidden", title: "Quietly hidden" });

		const paged = await h.discord.clickButton({ user: h.alice, message, label: "Next" });
		await paged.settled();
		expect(paged.ephemeral).toBe(true);
		expect(paged.reply?.content).toBe(
			`Post \`${post.slug}\` is no longer public, so it is not shown in this message. Run \`/post show\` to see it yourself.`,
		);
		expect(JSON.stringify(message.embeds)).toBe(before);
		expect(shown(message)).not.toContain("Quietly hidden");
	});
});
