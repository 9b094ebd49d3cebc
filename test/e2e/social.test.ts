/**
 * /vote, /follow, /unfollow, /followers, /following, /comment and /profile end to end: the real
 * bot against the Discord and imgpile emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json, Message, OptionValue, User } from "../emulators/discord/index.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

let h: Harness;
let dave: User;

beforeAll(async () => {
	// Generous public (guest) budget: list pages are read as guests by unlinked users.
	h = await Harness.start({ imgpile: { limits: { publicPerMinute: 10_000 } } });
	await link(h.alice, IMGPILE_USERS.alice);
	await link(h.bob, IMGPILE_USERS.bob);
	await link(h.carol, IMGPILE_USERS.carol);
	dave = h.discord.createUser({ username: "dave" });
	h.guild.addMember(dave);
});

afterAll(async () => {
	await h?.close();
});

async function link(user: User, token: string) {
	expect((await h.link(user, token)).reply?.content).toContain("Linked");
}

interface RunOptions {
	user?: User;
	channel?: typeof h.general;
	locale?: string;
	subcommand?: string;
}

async function run(command: string, options: Record<string, OptionValue>, extra: RunOptions = {}) {
	const ix = await h.discord.slash({
		user: extra.user ?? h.alice,
		channel: extra.channel ?? h.general,
		command,
		subcommand: extra.subcommand,
		options,
		locale: extra.locale,
	});
	await ix.settled();
	return ix;
}

const vote = (target: string, direction: "up" | "down", extra: RunOptions = {}) =>
	run("vote", { target, direction }, { subcommand: "post", ...extra });

async function click(message: Message, label: string, user: User = h.alice) {
	const ix = await h.discord.clickButton({ user, message, label });
	await ix.settled();
	return ix;
}

function buttons(message: Message | undefined): Json[] {
	return (message?.components ?? []).flatMap((row) => (row.components as Json[] | undefined) ?? []);
}

function description(message: Message | undefined, index = 0): string {
	return String(message?.embeds[index]?.description ?? "");
}

function footer(message: Message | undefined, index = 0): string {
	return String((message?.embeds[index]?.footer as Json | undefined)?.text ?? "");
}

const guest = () => h.imgpile.as();
const writesTo = (path: RegExp) =>
	h.imgpileEmulator.requests.filter((r) => r.method !== "GET" && r.listener === "api" && path.test(r.path));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const NEEDS_LINK = "Link your imgpile account first: run `/imgpile link`.";

describe("/vote", () => {
	it("upvotes, removes the vote on a second upvote, and switches to a downvote, as the voter", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "carol", title: "Votes" });
		const first = await vote(post.slug, "up");
		expect(first.ephemeral).toBe(true);
		expect(first.reply?.content).toBe(`▲ Upvoted post \`${post.slug}\`. Score: 1.`);

		const again = await vote(post.slug, "up");
		expect(again.reply?.content).toBe(`Vote removed from post \`${post.slug}\`. Score: 0.`);

		await vote(post.slug, "up");
		const down = await vote(`https://imgpile.com/p/${post.slug}`, "down");
		expect(down.reply?.content).toBe(`▼ Switched to downvote on post \`${post.slug}\`. Score: -1.`);

		const votes = writesTo(new RegExp(`/posts/${post.slug}/(up|down)vote$`));
		expect(votes).toHaveLength(4);
		expect(new Set(votes.map((r) => r.username))).toEqual(new Set(["alice"]));
		const read = await h.imgpile.as(IMGPILE_USERS.alice).getPost(post.slug);
		expect(read).toMatchObject({ score: -1, isDownvotedByUser: true, isUpvotedByUser: false });
	});

	it("votes by numeric post id, answering in Chinese for a zh-CN user", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "carol" });
		const ix = await vote(String(post.id), "up", { user: h.bob, locale: "zh-CN" });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toBe(`▲ 已顶 帖子 #${post.id}。得分：1。`);
		const removed = await vote(String(post.id), "up", { user: h.bob });
		expect(removed.reply?.content).toBe(`Vote removed from post #${post.id}. Score: 0.`);
	});

	it("votes on a comment, and removes that vote", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "carol" });
		const comment = await h.imgpile.as(IMGPILE_USERS.carol).createComment(post.slug, { content: "First!" });
		const up = await run("vote", { id: comment.id, direction: "up" }, { subcommand: "comment" });
		expect(up.ephemeral).toBe(true);
		expect(up.reply?.content).toBe(`▲ Upvoted comment #${comment.id}. Score: 1.`);
		const removed = await run("vote", { id: comment.id, direction: "up" }, { subcommand: "comment" });
		expect(removed.reply?.content).toBe(`Vote removed from comment #${comment.id}. Score: 0.`);
		const down = await run("vote", { id: comment.id, direction: "down" }, { subcommand: "comment", user: h.bob });
		expect(down.reply?.content).toBe(`▼ Downvoted comment #${comment.id}. Score: -1.`);

		const unknown = await run("vote", { id: 987654, direction: "up" }, { subcommand: "comment" });
		expect(unknown.reply?.content).toBe("imgpile could not find comment #987654.");
	});

	it("vote buttons: two users click, each is answered privately, the message is edited once with the final score", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "alice", title: "Buttons" });
		const shown = await run("post", { post: post.slug }, { subcommand: "show" });
		const message = shown.reply as Message;
		expect(shown.ephemeral).toBe(false);
		expect(buttons(message).filter((b) => String(b.custom_id ?? "").startsWith("vote:"))).toEqual([
			expect.objectContaining({ label: "▲ 0", custom_id: `vote:post:${post.id}:up` }),
			expect.objectContaining({ label: "▼", custom_id: `vote:post:${post.id}:down` }),
		]);
		expect(buttons(message)).toContainEqual(
			expect.objectContaining({ label: "Follow alice", custom_id: "follow:alice" }),
		);

		const edits = () => h.discord.events.filter((e) => e.kind === "edit" && e.messageId === message.id);
		const bob = await click(message, "▲ 0", h.bob);
		expect(bob.ephemeral).toBe(true);
		expect(bob.reply?.content).toBe(`▲ Upvoted post #${post.id}. Score: 1.`);
		const carol = await click(message, "▲ 0", h.carol);
		expect(carol.ephemeral).toBe(true);
		expect(carol.reply?.content).toBe(`▲ Upvoted post #${post.id}. Score: 2.`);
		expect(edits()).toHaveLength(0);

		await h.discord.waitFor(() => edits().length > 0, { timeoutMs: 5_000, what: "the score refresh" });
		await sleep(2_500);
		expect(edits()).toHaveLength(1);
		expect(
			buttons(message)[buttons(message).findIndex((b) => b.custom_id === `vote:post:${post.id}:up`)],
		).toMatchObject({ label: "▲ 2" });
		// Only the label changed: the gallery is intact.
		expect(message.embeds[0]).toMatchObject({ title: "Buttons" });
		expect(buttons(message)[0]).toMatchObject({ label: "Open on imgpile" });
		expect((await guest().getPost(post.slug)).score).toBe(2);
		expect(h.logs.filter((line) => line.includes("refresh"))).toEqual([]);

		// The Follow button follows the post's author as the clicker.
		const followed = await click(message, "Follow alice", h.bob);
		expect(followed.ephemeral).toBe(true);
		expect(followed.reply?.content).toBe("You now follow **alice** on imgpile.");
		const followers = await guest().followers("alice");
		expect(followers.data.map((u) => u.username)).toContain("bob");
	});

	it("refuses an unknown post, a link to another host, and a user without a linked token", async () => {
		const unknown = await vote("zzzzzzz", "up");
		expect(unknown.ephemeral).toBe(true);
		expect(unknown.reply?.content).toBe("imgpile could not find post `zzzzzzz`.");
		const unknownId = await vote("999999", "down");
		expect(unknownId.reply?.content).toBe("imgpile could not find post #999999.");

		const before = h.imgpileEmulator.requests.length;
		const other = await vote("https://example.com/p/abc1234", "up");
		expect(other.ephemeral).toBe(true);
		expect(other.reply?.content).toContain("`example.com`, not imgpile");

		const post = h.imgpileEmulator.seedPost({ username: "carol" });
		const unlinked = await vote(post.slug, "up", { user: dave });
		expect(unlinked.ephemeral).toBe(true);
		expect(unlinked.reply?.content).toBe(NEEDS_LINK);
		expect(h.imgpileEmulator.requests.length).toBe(before);

		const shown = await run("post", { post: post.slug }, { subcommand: "show" });
		const button = await click(shown.reply as Message, "▲ 0", dave);
		expect(button.ephemeral).toBe(true);
		expect(button.reply?.content).toBe(NEEDS_LINK);
		expect((await guest().getPost(post.slug)).score).toBe(0);
	});
});

describe("/follow, /unfollow, /followers, /following", () => {
	it("follows and unfollows as the user", async () => {
		const follow = await run("follow", { user: "carol" });
		expect(follow.ephemeral).toBe(true);
		expect(follow.reply?.content).toBe("You now follow **carol** on imgpile.");
		expect((await guest().following("alice")).data.map((u) => u.username)).toContain("carol");

		const unfollow = await run("unfollow", { user: "@carol" });
		expect(unfollow.ephemeral).toBe(true);
		expect(unfollow.reply?.content).toBe("You no longer follow **carol** on imgpile.");
		expect((await guest().following("alice")).data.map((u) => u.username)).not.toContain("carol");
		expect(writesTo(/\/users\/carol\/follow$/).map((r) => r.username)).toEqual(["alice", "alice"]);
	});

	it("lists followers over three pages with buttons that still work after a restart", async () => {
		for (let i = 1; i <= 23; i++) {
			const username = `fan${String(i).padStart(2, "0")}`;
			const token = `ip-${username}-0123456789abcdef`;
			h.imgpileEmulator.addUser({ username, token });
			await h.imgpile.as(token).follow("carol");
		}
		const list = await run("followers", { user: "carol" }, { user: dave });
		expect(list.ephemeral).toBe(false);
		const message = list.reply as Message;
		expect(message.embeds[0]).toMatchObject({ title: "Followers of carol" });
		expect(description(message).split("\n")).toHaveLength(10);
		expect(description(message)).toMatch(/^1\. fan23\n2\. fan22\n/);
		expect(footer(message)).toBe("Page 1 of 3 · 23 in all");
		expect(buttons(message)).toEqual([
			expect.objectContaining({ label: "Previous", custom_id: "followers:carol:0", disabled: true }),
			expect.objectContaining({ label: "Next", custom_id: "followers:carol:2", disabled: false }),
		]);

		const second = await click(message, "Next", h.bob);
		expect(second.callback?.type).toBe(7);
		expect(footer(message)).toBe("Page 2 of 3 · 23 in all");
		expect(description(message)).toMatch(/^11\. fan13\n/);
		await click(message, "Next", h.bob);
		expect(footer(message)).toBe("Page 3 of 3 · 23 in all");
		expect(description(message)).toBe("21. fan03\n22. fan02\n23. fan01");
		expect(buttons(message)[1]).toMatchObject({ custom_id: "followers:carol:4", disabled: true });
		await click(message, "Previous");
		expect(footer(message)).toBe("Page 2 of 3 · 23 in all");

		await h.restartBot();
		const afterRestart = await click(message, "Next", dave);
		expect(afterRestart.callback?.type).toBe(7);
		expect(footer(message)).toBe("Page 3 of 3 · 23 in all");
		await click(message, "Previous", dave);
		await click(message, "Previous", dave);
		expect(footer(message)).toBe("Page 1 of 3 · 23 in all");
		expect(buttons(message)[0]).toMatchObject({ disabled: true });

		const following = await run("following", { user: "fan01" });
		expect(following.reply?.embeds[0]).toMatchObject({ title: "Followed by fan01", description: "1. carol" });
		expect(footer(following.reply)).toBe("Page 1 of 1 · 1 in all");
		h.imgpileEmulator.addUser({ username: "solo", token: "ip-solo-0123456789abcdef" });
		const nobody = await run("following", { user: "solo" }, { locale: "zh-CN" });
		expect(nobody.reply?.embeds[0]).toMatchObject({ title: "solo 关注的人", description: "solo 还没有关注任何人。" });
	});

	it("names an unknown user, refuses a malformed one, and needs a linked token to follow", async () => {
		const unknown = await run("follow", { user: "nobody" });
		expect(unknown.ephemeral).toBe(true);
		expect(unknown.reply?.content).toBe("imgpile could not find user `nobody`.");
		const list = await run("followers", { user: "nobody" });
		expect(list.ephemeral).toBe(true);
		expect(list.reply?.content).toBe("imgpile could not find user `nobody`.");
		const zh = await run("followers", { user: "nobody" }, { locale: "zh-CN" });
		expect(zh.reply?.content).toBe("imgpile 找不到 用户 `nobody`。");

		const before = h.imgpileEmulator.requests.length;
		const malformed = await run("profile", { user: "no such user!" });
		expect(malformed.ephemeral).toBe(true);
		expect(malformed.reply?.content).toContain("is not an imgpile username");
		const unlinked = await run("follow", { user: "carol" }, { user: dave });
		expect(unlinked.reply?.content).toBe(NEEDS_LINK);
		const unlinkedUnfollow = await run("unfollow", { user: "carol" }, { user: dave });
		expect(unlinkedUnfollow.reply?.content).toBe(NEEDS_LINK);
		expect(h.imgpileEmulator.requests.length).toBe(before);

		const self = await run("follow", { user: "alice" });
		expect(self.reply?.content).toContain("You cannot follow yourself.");
	});
});

describe("/profile", () => {
	it("shows a user's recent posts and media a page at a time, previewing NSFW only in age-restricted channels", async () => {
		h.imgpileEmulator.addUser({ username: "dana", token: "ip-dana-0123456789abcdef" });
		for (let i = 1; i <= 5; i++) h.imgpileEmulator.seedPost({ username: "dana", title: `Walk ${i}` });
		h.imgpileEmulator.seedPost({ username: "dana", title: "Spicy", isNsfw: true });
		h.imgpileEmulator.seedPost({ username: "dana", title: "Secret", visibility: "private" });

		const ix = await run("profile", { user: "dana" }, { user: h.bob });
		expect(ix.ephemeral).toBe(false);
		const message = ix.reply as Message;
		expect(message.embeds[0]).toMatchObject({
			title: "dana on imgpile",
			fields: expect.arrayContaining([
				{ name: "Posts", value: "5", inline: true },
				{ name: "Media", value: "5", inline: true },
			]),
		});
		expect(JSON.stringify(message.embeds[0])).toContain("Recent media");
		expect(message.embeds.slice(1).map((e) => e.title)).toEqual(["Walk 5", "Walk 4", "Walk 3", "Walk 2"]);
		expect(message.embeds[1]).toMatchObject({
			url: expect.stringMatching(/^https:\/\/imgpile\.com\/p\//),
			thumbnail: { url: expect.stringContaining("/f/") },
		});
		const text = JSON.stringify(message.embeds);
		expect(text).not.toContain("Spicy");
		expect(text).not.toContain("Secret");
		expect(footer(message)).toBe("Page 1 of 2");
		expect(buttons(message)[1]).toMatchObject({ custom_id: "profile:dana:2" });

		const next = await click(message, "Next", h.carol);
		expect(next.callback?.type).toBe(7);
		expect(message.embeds.slice(1).map((e) => e.title)).toEqual(["Walk 1"]);
		expect(footer(message)).toBe("Page 2 of 2");

		const nsfw = await run("profile", { user: "dana" }, { user: h.bob, channel: h.nsfw });
		const spicy = nsfw.reply?.embeds.find((e) => e.title === "Spicy");
		expect(spicy).toMatchObject({ thumbnail: { url: expect.stringContaining("/f/") } });
		expect(JSON.stringify(spicy)).toContain("NSFW");
		expect(nsfw.reply?.embeds[0]).toMatchObject({
			fields: expect.arrayContaining([{ name: "Posts", value: "6", inline: true }]),
		});
	});

	it("names an unknown user", async () => {
		const ix = await run("profile", { user: "ghost" });
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toBe("imgpile could not find user `ghost`.");
	});
});

describe("/comment", () => {
	it("adds a comment, a reply to it, and deletes it for its author only", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "carol", title: "Talk" });
		const added = await run("comment", { post: post.slug, content: "Lovely light" }, { subcommand: "add" });
		expect(added.ephemeral).toBe(true);
		const id = Number(added.reply?.content.match(/#(\d+)/)?.[1]);
		expect(added.reply?.content).toBe(`💬 Comment #${id} added to post \`${post.slug}\`.`);

		const reply = await run(
			"comment",
			{ post: `https://imgpile.com/p/${post.slug}`, content: "Thanks!", "reply-to": id },
			{ subcommand: "add", user: h.carol },
		);
		const replyId = Number(reply.reply?.content.match(/Reply #(\d+)/)?.[1]);
		expect(reply.reply?.content).toBe(`💬 Reply #${replyId} to comment #${id} added to post \`${post.slug}\`.`);
		const carols = await guest().userComments("carol");
		expect(carols.data.find((c) => c.id === replyId)).toMatchObject({ content: "Thanks!", parent_id: id });

		const byId = await run("comment", { post: String(post.id), content: "By id" }, { subcommand: "add" });
		expect(byId.reply?.content).toMatch(new RegExp(`^💬 Comment #\\d+ added to post #${post.id}\\.$`));

		const stranger = await run("comment", { id }, { subcommand: "delete", user: h.bob });
		expect(stranger.ephemeral).toBe(true);
		expect(stranger.reply?.content).toBe("imgpile says only the owner can do that.");
		expect((await guest().userComments("alice")).data.map((c) => c.id)).toContain(id);

		const deleted = await run("comment", { id }, { subcommand: "delete" });
		expect(deleted.ephemeral).toBe(true);
		expect(deleted.reply?.content).toBe(`Comment #${id} was deleted.`);
		expect((await guest().userComments("alice")).data.map((c) => c.id)).not.toContain(id);
		const again = await run("comment", { id }, { subcommand: "delete" });
		expect(again.reply?.content).toBe(`imgpile could not find comment #${id}.`);
	});

	it("refuses a comment over 500 characters before sending it, saying how long it is", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "carol" });
		const before = writesTo(/\/comments$/).length;
		const long = await run("comment", { post: post.slug, content: "x".repeat(501) }, { subcommand: "add" });
		expect(long.ephemeral).toBe(true);
		expect(long.reply?.content).toBe(
			"The comment is 501 characters long; imgpile allows at most 500. Nothing was sent.",
		);
		const zh = await run(
			"comment",
			{ post: post.slug, content: "好".repeat(600) },
			{ subcommand: "add", locale: "zh-CN" },
		);
		expect(zh.reply?.content).toBe("评论长 600 个字符，imgpile 最多允许 500 个。未发送任何内容。");
		expect(writesTo(/\/comments$/).length).toBe(before);

		const exact = await run("comment", { post: post.slug, content: "y".repeat(500) }, { subcommand: "add" });
		expect(exact.reply?.content).toContain("added to post");
	});

	it("refuses unknown posts, other hosts, a reply to a comment elsewhere, and users without a token", async () => {
		const unknown = await run("comment", { post: "zzzzzzz", content: "Hi" }, { subcommand: "add" });
		expect(unknown.reply?.content).toBe("imgpile could not find post `zzzzzzz`.");
		const other = await run("comment", { post: "https://example.org/p/abc1234", content: "Hi" }, { subcommand: "add" });
		expect(other.reply?.content).toContain("`example.org`, not imgpile");

		const first = h.imgpileEmulator.seedPost({ username: "carol" });
		const second = h.imgpileEmulator.seedPost({ username: "carol" });
		const elsewhere = await h.imgpile.as(IMGPILE_USERS.carol).createComment(first.slug, { content: "Here" });
		const wrong = await run(
			"comment",
			{ post: second.slug, content: "Hi", "reply-to": elsewhere.id },
			{ subcommand: "add" },
		);
		expect(wrong.reply?.content).toBe("imgpile refused this: The selected parent id is invalid.");

		const unlinked = await run("comment", { post: first.slug, content: "Hi" }, { subcommand: "add", user: dave });
		expect(unlinked.reply?.content).toBe(NEEDS_LINK);
	});

	it("lists a user's comments a page at a time", async () => {
		h.imgpileEmulator.addUser({ username: "erin", token: "ip-erin-0123456789abcdef" });
		const post = h.imgpileEmulator.seedPost({ username: "carol", title: "Chatty" });
		const erin = h.imgpile.as("ip-erin-0123456789abcdef");
		for (let i = 1; i <= 12; i++) await erin.createComment(post.slug, { content: `Note ${i}` });

		const ix = await run("comment", { user: "erin" }, { subcommand: "list", user: h.bob });
		expect(ix.ephemeral).toBe(false);
		const message = ix.reply as Message;
		expect(message.embeds[0]).toMatchObject({ title: "Comments by erin" });
		expect(description(message)).toContain("> Note 12");
		expect(description(message)).toContain(`on post #${post.id}`);
		expect(description(message)).not.toContain("> Note 2\n");
		expect(footer(message)).toBe("Page 1 of 2 · 12 in all");
		await click(message, "Next", h.carol);
		expect(description(message)).toContain("> Note 1");
		expect(description(message)).toContain("> Note 2");
		expect(footer(message)).toBe("Page 2 of 2 · 12 in all");

		const none = await run("comment", { user: "dana" }, { subcommand: "list" });
		expect(description(none.reply)).toBe("dana has no public comments yet.");
	});
});

describe("rate limits", () => {
	it("tells the user imgpile is busy while the client waits out a 429, then answers", async () => {
		const post = h.imgpileEmulator.seedPost({ username: "carol" });
		h.imgpileEmulator.injectFault({
			method: "POST",
			path: new RegExp(`/posts/${post.slug}/upvote$`),
			status: 429,
			headers: { "Retry-After": "4" },
		});
		const ix = await vote(post.slug, "up", { user: h.bob });
		expect(ix.callback?.type).toBe(5);
		expect(ix.ephemeral).toBe(true);
		expect(ix.reply?.content).toBe("⏳ imgpile is busy, retrying…");
		await h.discord.waitFor(() => ix.reply?.content.startsWith("▲"), { timeoutMs: 10_000, what: "the vote answer" });
		expect(ix.reply?.content).toBe(`▲ Upvoted post \`${post.slug}\`. Score: 1.`);
		const attempts = writesTo(new RegExp(`/posts/${post.slug}/upvote$`));
		expect(attempts.map((r) => r.status)).toEqual([429, 200]);
	});
});

describe("hygiene", () => {
	it("leaks no token and breaks no Discord rule", () => {
		const text = h.publicText();
		for (const token of [...Object.values(IMGPILE_USERS), h.discord.botToken]) expect(text).not.toContain(token);
		h.discord.assertNoViolations();
	});
});
