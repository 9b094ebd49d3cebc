import { describe, expect, it } from "vitest";
import { withVoteScore } from "../../src/discord/index.js";

describe("withVoteScore", () => {
	const rows = [
		{ type: 1, components: [{ type: 2, style: 5, label: "Open", url: "https://imgpile.com/p/abc1234" }] },
		{
			type: 1,
			components: [
				{ type: 2, style: 2, label: "▲ 3", custom_id: "vote:post:7:up" },
				{ type: 2, style: 2, label: "▼", custom_id: "vote:post:7:down" },
			],
		},
	];

	it("changes only the ▲ label of that post", () => {
		const { components, changed } = withVoteScore(rows, "post", 7, 5);
		expect(changed).toBe(true);
		expect(components).toEqual([
			rows[0],
			{ type: 1, components: [{ ...rows[1]?.components[0], label: "▲ 5" }, rows[1]?.components[1]] },
		]);
		expect(withVoteScore(rows, "post", 7, 3).changed).toBe(false);
		expect(withVoteScore(rows, "post", 8, 5).changed).toBe(false);
	});
});
