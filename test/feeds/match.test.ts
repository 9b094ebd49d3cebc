import { describe, expect, it } from "vitest";
import { filteredBy } from "../../src/feeds/index.js";
import type { FeedFilters } from "../../src/store/index.js";

const filters = (patch: Partial<FeedFilters> = {}): FeedFilters => ({
	tag: null,
	username: null,
	nsfw: false,
	...patch,
});
const post = (patch: { username?: string | null; status?: "approved" | "nsfw"; tags?: string[] } = {}) => ({
	user: patch.username === null ? null : { username: patch.username ?? "alice", avatar: null },
	moderation_status: patch.status ?? "approved",
	...(patch.tags ? { tags: patch.tags } : {}),
});

describe("filteredBy", () => {
	it("lets through what the filters allow, with usernames and tags matched regardless of case", () => {
		expect(filteredBy(filters(), post())).toBeNull();
		expect(filteredBy(filters({ username: "Alice" }), post())).toBeNull();
		expect(filteredBy(filters({ tag: "Cats" }), post({ tags: ["dogs", "cats"] }))).toBeNull();
		expect(filteredBy(filters({ nsfw: true }), post({ status: "nsfw" }))).toBeNull();
	});

	it("names the rule that keeps a post out", () => {
		expect(filteredBy(filters({ username: "bob" }), post())).toBe("user");
		expect(filteredBy(filters({ username: "bob" }), post({ username: null }))).toBe("user");
		expect(filteredBy(filters(), post({ status: "nsfw" }))).toBe("nsfw");
		expect(filteredBy(filters({ tag: "cats" }), post({ tags: ["dogs"] }))).toBe("tag");
	});

	it("does not judge the tag rule without the post's tags (a listing carries none)", () => {
		expect(filteredBy(filters({ tag: "cats" }), post())).toBeNull();
	});
});
