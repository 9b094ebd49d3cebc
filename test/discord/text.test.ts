/**
 * Untrusted text in Markdown: escaping (masked links, mentions, headings, lists, quotes, emphasis)
 * and cutting to Discord's limits in code points without splitting an emoji or an escape.
 */
import { describe, expect, it } from "vitest";
import { charLength, escapeText, safeText, truncate } from "../../src/discord/index.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Markdown that would still act: a backslash before a character is the only way it is shown as typed. */
function active(text: string): string[] {
	const unescaped = (pattern: RegExp) =>
		[...text.matchAll(pattern)].filter((m) => {
			let slashes = 0;
			for (let i = (m.index ?? 0) - 1; i >= 0 && text[i] === "\\"; i--) slashes++;
			return slashes % 2 === 0;
		});
	return [
		...unescaped(/\[/g),
		...unescaped(/@(everyone|here)/g),
		...unescaped(/<[@#/:at]/g),
		...unescaped(/(?<=^|\n)[ \t]*(#|-#|>|- |\* |\d+\.)/g),
		...unescaped(/\*|_|~~|\|\||`/g),
	].map((m) => m[0]);
}

describe("escapeText", () => {
	it.each([
		["masked links, several on a line", "[free nitro](https://evil.example) and [more](<https://x.example>)"],
		["mentions", "@everyone @here <@123456789012345678> <@!1> <@&987654321098765432> <#1> </cmd:1> <t:1:R> <:e:1>"],
		["headings and subtext", "# Big\n## Bigger\n### Biggest\n-# small print\n  # indented"],
		["lists and quotes", "- one\n* two\n1. three\n> quoted\n>>> block"],
		["emphasis, code and spoilers", "**bold** *it* __u__ ~~s~~ ||spoiler|| `code` ```block```"],
	])("%s stay as typed", (_, text) => {
		const escaped = escapeText(text);
		expect(active(text).length).toBeGreaterThan(0);
		expect(active(escaped)).toEqual([]);
		// Shown as typed: removing the escapes gives the text back.
		expect(escaped.replace(/\\(.)/gs, "$1")).toBe(text);
	});

	it("leaves plain text and bare links alone", () => {
		expect(escapeText("Harbour at dawn, 2024")).toBe("Harbour at dawn, 2024");
		expect(escapeText("https://imgpile.com/p/abc1234")).toBe("https://imgpile.com/p/abc1234");
	});
});

describe("truncate and safeText", () => {
	it("count code points as Discord does and never split a surrogate pair", () => {
		const title = "🔥".repeat(300);
		const cut = truncate(title, 256);
		expect(charLength(cut)).toBe(256);
		expect(cut.endsWith("🔥…")).toBe(true);
		expect(LONE_SURROGATE.test(cut)).toBe(false);
		expect(truncate("🔥".repeat(256), 256)).toBe("🔥".repeat(256));
		expect(truncate("short", 256)).toBe("short");
	});

	it("escape first, then cut within the limit, without a dangling escape before the ellipsis", () => {
		for (let n = 250; n < 262; n++) {
			const text = `${"a".repeat(n - 250)}${"[@".repeat(200)}`;
			const out = safeText(text, 256);
			expect(charLength(out)).toBeLessThanOrEqual(256);
			expect(out.endsWith("…")).toBe(true);
			expect(out).not.toMatch(/(^|[^\\])(\\\\)*\\…$/);
			expect(active(out.slice(0, -1))).toEqual([]);
		}
		const hostile = `[x](https://evil.example) @everyone ${"🔥".repeat(300)}`;
		const title = safeText(hostile, 256);
		expect(charLength(title)).toBe(256);
		expect(LONE_SURROGATE.test(title)).toBe(false);
		expect(title.startsWith("\\[x\\](https://evil.example) \\@everyone 🔥")).toBe(true);
	});
});
