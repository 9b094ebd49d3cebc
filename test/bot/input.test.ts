import { describe, expect, it } from "vitest";
import { parsePostDetails } from "../../src/bot/input.js";

describe("parsePostDetails", () => {
	it("trims title and description, a blank one is not given, and tags are parsed", () => {
		expect(
			parsePostDetails({ title: "  Seaside  ", description: "\n at dusk \n", tags: "#sky, sea #Sky", nsfw: false }),
		).toEqual({ title: "Seaside", description: "at dusk", tags: ["sky", "sea"], is_nsfw: false });
		expect(parsePostDetails({ title: "   ", description: "", tags: " , ", visibility: null, nsfw: null })).toEqual({});
	});

	it("counts the title's length after trimming, and refuses what imgpile would", () => {
		expect(parsePostDetails({ title: ` ${"y".repeat(255)} ` }).title).toHaveLength(255);
		expect(() => parsePostDetails({ title: "y".repeat(256) })).toThrow("input.titleTooLong");
		expect(() => parsePostDetails({ visibility: "secret" })).toThrow("input.badVisibility");
		expect(parsePostDetails({ visibility: "private" })).toEqual({ visibility: "private" });
	});
});
