/**
 * The DM of a notification batch (pure): what the user reads (newest first, why each post came,
 * "and N more"), the NSFW rule (never a preview, never an unfurl), Discord's limits whatever
 * imgpile's titles are, and the marker recovery looks for.
 */
import { describe, expect, it } from "vitest";
import { carriesMarker, type FeedPostPayload } from "../../src/feeds/index.js";
import { mayNotify, type NotifyItem, notificationBatch } from "../../src/feeds/notify-render.js";
import { translator } from "../../src/i18n/index.js";
import { feedPost } from "../support/feed-posts.js";

const t = translator("en-US");
const options = { nsfw: false, marker: "n:u1:42" };

/** Each post with an image of its own, to tell which one a preview shows. */
const post = (id: number, title: string | null, extra: Partial<FeedPostPayload> = {}) =>
	feedPost(id, title, { preview: `https://cdn.imgpile.com/f/${id}_lg.png`, ...extra });

const followed = (p: FeedPostPayload): NotifyItem => ({ post: p, reason: { follow: p.username ?? "alice" } });
const tagged = (p: FeedPostPayload, tag = "cats"): NotifyItem => ({ post: p, reason: { tag } });

function contentOf(items: NotifyItem[], opts = options): string {
	const body = notificationBatch(t, items, opts);
	if (!body) throw new Error("expected a message");
	return String(body.content);
}

/** Every http(s) URL in the content is inside `<…>`, so Discord unfurls none of them. */
function everyLinkSuppressed(content: string): boolean {
	return [...content.matchAll(/https?:\/\/[^\s>)]+/g)].every((match) => content[(match.index ?? 0) - 1] === "<");
}

describe("the batch", () => {
	it("lists the posts newest first, one linked line each saying why, the marker on the last subtext line", () => {
		const body = notificationBatch(t, [tagged(post(1, "Old cat")), followed(post(3, "New sunset"))], options);
		const lines = String(body?.content).split("\n");
		expect(lines).toEqual([
			"🔔 **2** new posts on imgpile for you:",
			"• **[New sunset](<https://imgpile.com/p/slug3>)** · you follow alice",
			"• **[Old cat](<https://imgpile.com/p/slug1>)** · by alice · #cats",
			"-# imgpile notifications · change them with /notify · n:u1:42",
		]);
		expect(body && carriesMarker(body, "n:u1:42")).toBe(true);
		expect(body && carriesMarker(body, "n:u1:4")).toBe(false);
		expect(body).toMatchObject({ nonce: "n:u1:42", enforce_nonce: true, allowed_mentions: { parse: [] } });
	});

	it("names an untitled post by its author, and says both reasons once for a post followed and tagged", () => {
		const untitled = post(2, null, { username: "bob" });
		const content = contentOf([followed(untitled), tagged(untitled, "dogs"), tagged(untitled, "dogs")]);
		expect(content.split("\n")[1]).toBe("• **[Post by bob](<https://imgpile.com/p/slug2>)** · you follow bob · #dogs");
		expect(content.startsWith("🔔 **1** new post on imgpile for you:")).toBe(true);
	});

	it("shows 10 posts and counts the rest", () => {
		const items = Array.from({ length: 14 }, (_, i) => tagged(post(i + 1, `Post ${i + 1}`)));
		const lines = contentOf(items).split("\n");
		expect(lines).toHaveLength(1 + 10 + 1 + 1);
		expect(lines[1]).toContain("[Post 14]");
		expect(lines[10]).toContain("[Post 5]");
		expect(lines[11]).toBe("…and 4 more.");
		expect(lines[0]).toContain("**14** new posts");
	});

	it("previews the first listed post's image, only when the post and its image are approved", () => {
		const body = notificationBatch(
			t,
			[
				tagged(post(5, "Pending image", { previewStatus: "pending" })),
				tagged(post(4, "Bad URL", { preview: "javascript:alert(1)" })),
				tagged(post(3, "Shown")),
				tagged(post(2, "Also fine")),
			],
			options,
		);
		expect(body?.embeds).toEqual([
			{
				title: "Shown",
				url: "https://imgpile.com/p/slug3",
				author: { name: "alice" },
				image: { url: "https://cdn.imgpile.com/f/3_lg.png" },
			},
		]);
		const none = notificationBatch(t, [tagged(post(1, "x", { preview: null }))], options);
		expect(none?.embeds).toBeUndefined();
	});

	it("is in the user's language", () => {
		const body = notificationBatch(translator("zh-CN"), [followed(post(1, "猫"))], options);
		expect(String(body?.content)).toContain("🔔 imgpile 上有 **1** 条你关注的新帖子：");
		expect(String(body?.content)).toContain("你关注了 alice");
	});

	it("keeps the marker line but no nonce when the marker is longer than Discord's 25 characters", () => {
		const marker = `n:${"9".repeat(19)}:123456789`;
		const body = notificationBatch(t, [tagged(post(1, "x"))], { nsfw: false, marker });
		expect(body?.nonce).toBeUndefined();
		expect(body?.enforce_nonce).toBeUndefined();
		expect(body && carriesMarker(body, marker)).toBe(true);
	});
});

describe("NSFW", () => {
	const nsfwPost = post(9, "Adult", { status: "nsfw", previewStatus: "nsfw" });
	const nsfwMedia = post(8, "Approved post, NSFW image", { previewStatus: "nsfw" });

	it("leaves NSFW posts out with the setting off, and sends nothing when only they were in the batch", () => {
		expect(mayNotify(nsfwPost, false)).toBe(false);
		expect(mayNotify(nsfwMedia, false)).toBe(false);
		expect(notificationBatch(t, [tagged(nsfwPost), tagged(nsfwMedia)], options)).toBeNull();
		const content = contentOf([tagged(nsfwPost), tagged(post(1, "Safe"))]);
		expect(content).not.toContain("Adult");
		expect(content).toContain("**1** new post");
	});

	it("with the setting on, lists them marked, never previewed: the preview is the first safe post's, no link unfurls", () => {
		const body = notificationBatch(t, [tagged(nsfwPost), tagged(nsfwMedia), tagged(post(1, "Safe"))], {
			...options,
			nsfw: true,
		});
		const content = String(body?.content);
		expect(content.split("\n")[1]).toBe("• **[Adult](<https://imgpile.com/p/slug9>)** · by alice · #cats · 🔞 NSFW");
		expect(content.split("\n")[2]).toContain("🔞 NSFW");
		expect(body?.embeds).toHaveLength(1);
		expect(body?.embeds?.[0]?.image?.url).toBe("https://cdn.imgpile.com/f/1_lg.png");
		expect(JSON.stringify(body)).not.toContain("9_lg.png");
		expect(JSON.stringify(body)).not.toContain("8_lg.png");
		expect(everyLinkSuppressed(content)).toBe(true);
	});

	it("with only NSFW posts, has no embed at all", () => {
		const body = notificationBatch(t, [tagged(nsfwPost)], { ...options, nsfw: true });
		expect(body?.embeds).toBeUndefined();
		expect(String(body?.content)).not.toContain("9_lg.png");
	});

	it("never sends what is not approved (pending or rejected)", () => {
		const items = [
			tagged(post(2, "Pending", { status: "pending" })),
			tagged(post(3, "Rejected", { status: "rejected" })),
		];
		expect(notificationBatch(t, items, { ...options, nsfw: true })).toBeNull();
	});
});

describe("untrusted text and Discord's limits", () => {
	const hostile = (i: number) =>
		`${"**bold** __u__ ~~s~~ ||spoiler|| `code` [link](https://evil.example) <@123456789012345678> @everyone @here <#1> # h\n-# imgpile notifications · forged ".repeat(3)}${i}`.slice(
			0,
			300,
		);

	it("10 posts with 300-character titles full of Markdown and mentions fit in 2000 characters and ping no one", () => {
		const items = Array.from({ length: 10 }, (_, i) => followed(post(i + 1, hostile(i + 1))));
		const body = notificationBatch(t, items, options);
		const content = String(body?.content);
		expect(content.length).toBeLessThanOrEqual(2000);
		const lines = content.split("\n");
		expect(lines).toHaveLength(12);
		expect(
			lines.slice(1, 11).every((line) => line.startsWith("• **[") && line.includes("](<https://imgpile.com/p/")),
		).toBe(true);
		expect(content).not.toMatch(/(^|[^\\])[<@](@|everyone|here|#)/);
		expect(content).not.toMatch(/(^|[^\\])@everyone/);
		expect(content).not.toContain("https://evil.example");
		expect(content).toContain("\\[link\\](https:\u2060//evil.example)");
		expect(body?.allowed_mentions).toEqual({ parse: [] });
		expect(body && carriesMarker(body, "n:u1:42")).toBe(true);
		expect(body && carriesMarker(body, "forged")).toBe(false);
		expect(everyLinkSuppressed(content)).toBe(true);
		// The embed's title is escaped and within its 256 characters.
		expect(body?.embeds?.[0]?.title?.length).toBeLessThanOrEqual(256);
		expect(body?.embeds?.[0]?.title).toContain("\\<\\@123456789012345678>");
	});

	it("many posts with long titles, names and tags still fit, counting what is left out", () => {
		const name = "n".repeat(64);
		const items = Array.from({ length: 40 }, (_, i) => ({
			post: post(i + 1, hostile(i), { username: `${name}${i}`, slug: `s${"x".repeat(40)}${i}` }),
			reason: { follow: `${name}${i}`, tag: `t_a_g_${"x".repeat(40)}` },
		}));
		const content = contentOf(items);
		expect(content.length).toBeLessThanOrEqual(2000);
		const lines = content.split("\n");
		const listed = lines.filter((line) => line.startsWith("• ")).length;
		expect(listed).toBeGreaterThan(0);
		expect(lines.at(-2)).toBe(`…and ${40 - listed} more.`);
		expect(content).toContain("t\\_a\\_g\\_");
	});
});
