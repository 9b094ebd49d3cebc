import { afterEach, describe, expect, it, vi } from "vitest";
import { Coalescer } from "../../src/bot/coalescer.js";
import { parseUsername } from "../../src/bot/input.js";
import { voteOutcome } from "../../src/bot/social.js";

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
