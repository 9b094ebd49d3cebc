import { describe, expect, it } from "vitest";
import { linkButton, safeUrl } from "../../src/discord/index.js";
import { MALFORMED_AVATAR, MALFORMED_URLS } from "../support/urls.js";

describe("safeUrl", () => {
	it("keeps what Discord takes in an embed", () => {
		for (const url of [
			"https://cdn.imgpile.com/f/a_lg.png",
			"http://127.0.0.1:4000/f/a.png",
			"https://x.example/ü?q=1#f",
		])
			expect(safeUrl(url)).toBe(url);
	});

	it("leaves out what Discord refuses: other schemes, whitespace, relative, no host, too long, not a string", () => {
		for (const url of [
			...Object.values(MALFORMED_URLS),
			MALFORMED_AVATAR,
			"https://",
			"\thttps://a.example/x",
			null,
			42,
		])
			expect(safeUrl(url)).toBeUndefined();
		expect(safeUrl(`https://a.example/${"x".repeat(2048 - 18)}`)).toHaveLength(2048);
	});

	it("link buttons: at most 512 characters", () => {
		expect(linkButton("Open", `https://a.example/${"x".repeat(494)}`)?.url).toHaveLength(512);
		expect(linkButton("Open", `https://a.example/${"x".repeat(495)}`)).toBeUndefined();
	});
});
