import { afterEach, describe, expect, it, vi } from "vitest";
import { Coalescer, parseUsername, voteOutcome, withVoteScore } from "../../src/bot/social.js";

describe("voteOutcome", () => {
	it("tells from the prior vote when it was read", () => {
		expect(voteOutcome("up", "none", "Post upvoted successfully")).toBe("upvoted");
		expect(voteOutcome("up", "up", "Post upvoted successfully")).toBe("removed");
		expect(voteOutcome("down", "up", "Post downvoted successfully")).toBe("switchedDown");
		expect(voteOutcome("up", "down", "Post upvoted successfully")).toBe("switchedUp");
	});

	it("tells from imgpile's message when the prior vote could not be read", () => {
		expect(voteOutcome("up", undefined, "Post upvoted successfully")).toBe("upvoted");
		expect(voteOutcome("down", undefined, "Downvote removed")).toBe("removed");
		expect(voteOutcome("down", undefined, "Comment downvoted successfully")).toBe("downvoted");
	});
});

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

describe("Coalescer", () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it("runs once per key per interval, the last schedule winning", async () => {
		vi.useFakeTimers();
		const coalescer = new Coalescer(2_000);
		const ran: string[] = [];
		const onError = vi.fn();
		for (const label of ["a", "b", "c"]) {
			coalescer.schedule("m1", async () => void ran.push(label), onError);
		}
		coalescer.schedule("m2", async () => void ran.push("other"), onError);
		await vi.advanceTimersByTimeAsync(1_999);
		expect(ran).toEqual([]);
		await vi.advanceTimersByTimeAsync(1);
		expect(ran).toEqual(["c", "other"]);
		coalescer.schedule(
			"m1",
			async () => {
				throw new Error("boom");
			},
			onError,
		);
		await vi.advanceTimersByTimeAsync(2_000);
		expect(onError).toHaveBeenCalledOnce();
		expect(coalescer.pending).toBe(0);
	});
});

describe("parseUsername", () => {
	it("drops a leading @ and refuses anything that is not a username", () => {
		expect(parseUsername(" @alice ")).toBe("alice");
		expect(() => parseUsername("no such user")).toThrow("social.badUsername");
		expect(() => parseUsername("a:b")).toThrow("social.badUsername");
	});
});
