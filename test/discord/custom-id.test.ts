import { describe, expect, it } from "vitest";
import { customId, parseCustomId } from "../../src/discord/index.js";

describe("custom_id", () => {
	it("round-trips name and arguments", () => {
		const id = customId("vote", "post", 42, "up");
		expect(id).toBe("vote:post:42:up");
		expect(parseCustomId(id)).toEqual({ name: "vote", args: ["post", "42", "up"] });
		expect(parseCustomId("imgpile-link")).toEqual({ name: "imgpile-link", args: [] });
	});

	it("refuses what would not route back", () => {
		expect(() => customId("Vote")).toThrow(RangeError);
		expect(() => customId("vote", "a:b")).toThrow(RangeError);
		expect(() => customId("page", "x".repeat(100))).toThrow(/100/);
		expect(parseCustomId("")).toBeUndefined();
		expect(parseCustomId(":x")).toBeUndefined();
		expect(parseCustomId("UPPER:x")).toBeUndefined();
	});
});
