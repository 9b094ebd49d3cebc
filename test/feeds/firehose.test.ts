import { describe, expect, it } from "vitest";
import { groupByPoll, newAmong } from "../../src/feeds/index.js";
import type { Post } from "../../src/imgpile/index.js";
import {
	type FeedFilters,
	type FeedSubscription,
	FIREHOSE_POLL_KEY,
	pollFiltersOf,
	pollKeyOf,
	queryKeyOf,
	SUBSCRIPTION_DEFAULTS,
} from "../../src/store/index.js";

const f = (tag: string | null, username: string | null = null, nsfw = false): FeedFilters => ({ tag, username, nsfw });

function sub(id: string, filters: FeedFilters, state: Partial<FeedSubscription> = {}): FeedSubscription {
	return {
		...SUBSCRIPTION_DEFAULTS,
		id,
		guildId: "100000000000000001",
		channelId: "200000000000000001",
		filters,
		mode: "live",
		everyMs: null,
		at: null,
		backfill: 0,
		createdBy: "300000000000000001",
		createdAt: "2031-01-01T00:00:00.000Z",
		paused: false,
		disabledReason: null,
		lastDeliveryAt: null,
		nextDigestAt: null,
		...state,
	};
}

/** A listed post: only its id and place in the feed matter here. */
const post = (id: number): Post =>
	({ id, created_at: new Date(id * 1000).toISOString(), moderation_status: "approved" }) as Post;

describe("poll keys", () => {
	it("one firehose for every feed without a tag, one poll per tag whatever the user and NSFW filters", () => {
		expect(pollKeyOf(f(null))).toBe(FIREHOSE_POLL_KEY);
		expect(pollKeyOf(f(null, "carol", true))).toBe(FIREHOSE_POLL_KEY);
		expect(pollKeyOf(f("Cats", "bob"))).toBe("tag=cats");
		expect(pollKeyOf(f(" cats ", null, true))).toBe("tag=cats");
		expect(pollKeyOf(f("a|b=c"))).toBe("tag=a%7Cb%3Dc");
		expect(pollKeyOf(f("firehose"))).not.toBe(FIREHOSE_POLL_KEY);
	});

	it("the poll reads NSFW posts too and no user filter; the filter identity stays the full combination", () => {
		expect(pollFiltersOf(f(null, "carol"))).toEqual({ tag: null, username: null, nsfw: true });
		expect(pollFiltersOf(f(" Cats", "carol"))).toEqual({ tag: "cats", username: null, nsfw: true });
		expect(queryKeyOf(f("cats", "carol"))).not.toBe(queryKeyOf(f("cats", "bob", false)));
		// Old per-combination state never collides with a poll's own.
		for (const filters of [f(null), f("cats"), f("firehose", "x", true)]) {
			expect(queryKeyOf(filters)).not.toBe(pollKeyOf(filters));
		}
	});
});

describe("grouping", () => {
	it("groups the active subscriptions by poll: 6 polls for 20 users × 5 tags × NSFW or not", () => {
		const subs: FeedSubscription[] = [];
		const users = [null, ...Array.from({ length: 20 }, (_, i) => `user${i}`)];
		for (const username of users) {
			for (const tag of [null, "t0", "t1", "t2", "t3", "t4"]) {
				for (const nsfw of [false, true]) subs.push(sub(`s${subs.length}`, f(tag, username, nsfw)));
			}
		}
		subs.push(sub("paused", f("only-paused"), { paused: true }));
		subs.push(sub("stopped", f("only-stopped"), { disabledReason: "channel deleted" }));
		const groups = groupByPoll(subs);
		expect([...groups.keys()].sort()).toEqual(["firehose", "tag=t0", "tag=t1", "tag=t2", "tag=t3", "tag=t4"]);
		expect(groups.get("firehose")).toHaveLength(42);
		expect(groups.get("tag=t3")?.map((s) => s.filters.tag)).toEqual(Array(42).fill("t3"));
		expect([...groups.values()].reduce((sum, group) => sum + group.length, 0)).toBe(252);
		// Per combination it was one query each.
		expect(new Set(subs.map((s) => queryKeyOf(s.filters))).size).toBe(254);
	});
});

describe("newAmong", () => {
	it("posts that slid into view below the frontier are stale, not new, so they can be marked seen", () => {
		// 30..21 were read last time (frontier 21); 28 and 29 were deleted, so 20 and 19 slide up; 31 is new.
		const read = [31, 30, 27, 26, 25, 24, 23, 22, 21, 20, 19].map(post);
		const seen = new Set([30, 28, 27, 26, 25, 24, 23, 22, 21, 29]);
		const { fresh, stale } = newAmong(read, seen, { createdAt: new Date(21_000).toISOString(), id: 21 });
		expect(fresh.map((p) => p.id)).toEqual([31]);
		expect(stale.map((p) => p.id)).toEqual([20, 19]);
		// Once marked, the next read (whose frontier is 19) takes neither for new.
		const next = newAmong(read, new Set([...seen, 31, 20, 19]), { createdAt: new Date(19_000).toISOString(), id: 19 });
		expect(next).toEqual({ fresh: [], stale: [] });
	});
});
