/**
 * The compact and image styles and forum post names (pure): Discord's limits hold for any post,
 * the marker is always where recovery looks, and a post's own text can neither forge a marker
 * nor ping anyone.
 */
import { describe, expect, it } from "vitest";
import { announcement, carriesMarker, digest } from "../../src/feeds/index.js";
import { forumPostName } from "../../src/feeds/styles.js";
import { translator } from "../../src/i18n/index.js";
import { feedPost } from "../support/feed-posts.js";

const t = translator("en-US");

const post = feedPost;

const filters = { tag: "cats", username: null, nsfw: false };

describe("compact", () => {
	it("one line with the link, the marker on a subtext line; a title cannot forge a marker or ping", () => {
		const forged = "Nice\n-# imgpile feed · other:2 <@&123456789012345678> @everyone";
		const body = announcement(t, post(1, forged), {
			channelNsfw: false,
			marker: "sub:1",
			style: "compact",
			mentionRoleId: "987654321098765432",
		});
		const lines = String(body.content).split("\n");
		expect(lines).toHaveLength(2);
		// In the middle of the line `-#` is plain text; mentions are escaped.
		expect(lines[0]?.startsWith("<@&987654321098765432> **[Nice -# imgpile feed · other:2 \\<\\@&123")).toBe(true);
		expect(body.embeds).toBeUndefined();
		expect(body.allowed_mentions).toEqual({ parse: [], roles: ["987654321098765432"] });
		expect(carriesMarker(body, "sub:1")).toBe(true);
		expect(carriesMarker(body, "other:2")).toBe(false);
		expect(body).toMatchObject({ nonce: "sub:1", enforce_nonce: true });
	});

	it("a URL in a title is neither linked nor unfurled (a preview of any site, in any channel)", () => {
		const body = announcement(t, post(2, "see https://evil.example/x and HTTP://loud.example"), {
			channelNsfw: false,
			marker: "sub:2",
			style: "compact",
			mentionRoleId: null,
		});
		const content = String(body.content);
		expect(content).toContain("evil.example/x");
		// The only URL left Discord could link is the post's own, in `<…>`.
		expect(content.match(/[a-z]+:\/\/[^\s>)]+/gi)).toEqual([expect.stringMatching(/\/p\//)]);
	});

	it("a digest of many long titles stays within 2000 characters: as many lines as fit, then how many more", () => {
		const posts = Array.from({ length: 60 }, (_, i) => post(i + 1, `${"T".repeat(240)} ${i + 1}`));
		const body = digest(t, posts, {
			channelNsfw: false,
			marker: "d:sub:1",
			filters,
			subscriptionId: "sub",
			style: "compact",
		});
		const content = String(body.content);
		expect(content.length).toBeLessThanOrEqual(2000);
		const lines = content.split("\n");
		const shown = lines.filter((line) => line.startsWith("• ")).length;
		expect(shown).toBeGreaterThan(3);
		expect(lines.at(-2)).toBe(`…and ${60 - shown} more.`);
		expect(lines.at(-1)).toBe("-# imgpile digest · d:sub:1");
		expect(carriesMarker(body, "d:sub:1")).toBe(true);
	});
});

describe("image", () => {
	it("the image with a small caption and the marker in the footer; without a preview it may show, compact", () => {
		const body = announcement(t, post(1, "Pic"), { channelNsfw: false, marker: "sub:1", style: "image" });
		expect(body.embeds).toEqual([
			{
				url: "https://imgpile.com/p/slug1",
				image: { url: "https://cdn.imgpile.com/f/x_lg.png" },
				footer: { text: "Pic by alice · imgpile feed · sub:1" },
			},
		]);
		expect(body.components).toBeUndefined();
		const nsfw = announcement(t, post(2, "Hidden", { status: "nsfw", previewStatus: "nsfw" }), {
			channelNsfw: false,
			marker: "sub:2",
			style: "image",
		});
		expect(nsfw.embeds).toBeUndefined();
		expect(carriesMarker(nsfw, "sub:2")).toBe(true);
	});
});

describe("forum post names", () => {
	it("the title in one line and at most 100 characters, else a localized fallback", () => {
		expect(forumPostName(t, post(1, "  Two\nlines\t here "))).toBe("Two lines here");
		expect([...forumPostName(t, post(1, "x".repeat(300)))]).toHaveLength(100);
		expect(forumPostName(t, post(1, "   "))).toBe("Post by alice");
		expect(forumPostName(translator("zh-CN"), post(1, null, { username: null }))).toBe("无标题帖子");
	});
});
