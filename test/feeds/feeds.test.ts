import { describe, expect, it } from "vitest";
import {
	announcement,
	carriesMarker,
	DIGEST_EMBEDS,
	digest,
	FeedBudget,
	type FeedPostPayload,
	type FeedSource,
	type FetchedPage,
	formatInterval,
	nextDailyAt,
	nextDigestTime,
	nonceOf,
	normalizeTimeOfDay,
	parseInterval,
	pollQuery,
	slotOffset,
	slotPassed,
} from "../../src/feeds/index.js";
import { translator } from "../../src/i18n/index.js";
import type { Page, Post } from "../../src/imgpile/index.js";
import type { FeedFrontier } from "../../src/store/index.js";

const t = translator("en-US");
const MIN = 60_000;

describe("schedule", () => {
	it("reads digest intervals as people type them", () => {
		expect(parseInterval("30m")).toBe(30 * MIN);
		expect(parseInterval("2h")).toBe(120 * MIN);
		expect(parseInterval("1d")).toBe(1440 * MIN);
		expect(parseInterval("1h30m")).toBe(90 * MIN);
		expect(parseInterval("90")).toBe(90 * MIN);
		expect(parseInterval("2 hours")).toBe(120 * MIN);
		expect(parseInterval("12小时")).toBe(720 * MIN);
		for (const junk of ["", "soon", "2x", "-1h", "h"]) expect(parseInterval(junk), junk).toBeUndefined();
		expect(formatInterval(90 * MIN)).toBe("1 h 30 min");
		expect(formatInterval(2 * MIN)).toBe("2 min");
		expect(normalizeTimeOfDay("9:05")).toBe("09:05");
		expect(normalizeTimeOfDay("24:00")).toBeUndefined();
	});

	it("daily digests follow the guild's time zone, across a DST change", () => {
		// Paris moves to summer time on 2031-03-30 at 02:00 local.
		const before = Date.parse("2031-03-29T10:00:00Z");
		expect(new Date(nextDailyAt("09:00", "Europe/Paris", before)).toISOString()).toBe("2031-03-30T07:00:00.000Z");
		expect(new Date(nextDailyAt("09:00", "UTC", before)).toISOString()).toBe("2031-03-30T09:00:00.000Z");
		const early = Date.parse("2031-03-28T06:00:00Z");
		expect(new Date(nextDailyAt("09:00", "Europe/Paris", early)).toISOString()).toBe("2031-03-28T08:00:00.000Z");
	});

	it("periodic digests keep their rhythm without catching up missed periods one by one", () => {
		const start = Date.parse("2031-01-01T00:00:00Z");
		const every = { everyMs: 60 * MIN, at: null };
		expect(nextDigestTime(every, "UTC", start)).toBe(start + 60 * MIN);
		// Down for 5 h 10 min: the next one is on the rhythm, once.
		expect(nextDigestTime(every, "UTC", start + 310 * MIN, start)).toBe(start + 360 * MIN);
	});

	it("spreads queries over the interval and makes each due once per period", () => {
		const offsets = Array.from({ length: 20 }, (_, i) => slotOffset(`tag=q${i}|user=|nsfw=0`, MIN));
		expect(new Set(offsets).size).toBe(20);
		expect(Math.max(...offsets) - Math.min(...offsets)).toBeGreaterThan(MIN / 2);
		const offset = slotOffset("tag=cats|user=|nsfw=0", MIN);
		let polls = 0;
		let last: number | null = 0;
		for (let now = 1_000; now <= 10 * MIN; now += 1_000) {
			if (slotPassed(last, now, MIN, offset)) {
				polls++;
				last = now;
			}
		}
		expect(polls).toBe(10);
	});
});

describe("budget", () => {
	it("keeps the feeds inside their share of imgpile's budget and slows down after a 429", () => {
		const budget = new FeedBudget({ perMinute: 30 });
		expect(budget.feedPerMinute).toBe(24);
		let spent = 0;
		while (budget.canSpend(0)) {
			budget.spent(0);
			spent++;
		}
		expect(spent).toBe(24);
		expect(budget.canSpend(MIN)).toBe(true);
		// imgpile says only 2 are left (the bot's other requests used them): hold off for the window.
		budget.observe(MIN, undefined, 2);
		expect(budget.canSpend(MIN + 1)).toBe(false);
		expect(budget.resumeAt(MIN + 1)).toBe(2 * MIN);
		// 50 queries do not fit 24 a minute: the period stretches.
		expect(budget.period(MIN, 50, 0)).toBe(125_000);
		expect(budget.period(MIN, 10, 0)).toBe(MIN);
		budget.rateLimited(3 * MIN, 30_000);
		expect(budget.canSpend(3 * MIN + 29_000)).toBe(false);
		expect(budget.canSpend(3 * MIN + 31_000)).toBe(true);
		expect(budget.period(MIN, 10, 3 * MIN)).toBe(2 * MIN);
		expect(budget.period(MIN, 10, 3 * MIN + 20 * MIN)).toBe(MIN);
	});
});

// ── The poller against a scripted feed ─────────────────────────────────────

function post(id: number, createdAt = id * 1000): Post {
	return {
		id,
		slug: `p${String(id).padStart(6, "0")}`,
		title: `Post ${id}`,
		description: null,
		score: 0,
		view_count: 0,
		media_count: 1,
		moderation_status: "approved",
		isUpvotedByUser: false,
		isDownvotedByUser: false,
		created_at: new Date(createdAt).toISOString(),
		user: { username: "alice", avatar: null },
		first_media: null,
	};
}

/** A feed (newest first) served in pages like imgpile's. */
function source(feed: () => Post[]): FeedSource & { requests: number } {
	const pageOf = (posts: Post[], page: number, limit: number): FetchedPage => {
		const data = posts.slice((page - 1) * limit, page * limit);
		const next = page * limit < posts.length ? `https://x/api/v1/posts?page=${page + 1}&limit=${limit}` : null;
		const result: Page<Post> = {
			data,
			links: { first: null, last: null, prev: null, next },
			meta: { current_page: page, from: null, to: null, per_page: limit, total: posts.length, last_page: 1 },
		};
		return { page: result, limit: 30, remaining: 20 };
	};
	const self = {
		requests: 0,
		authenticated: false,
		async first(_filters: unknown, limit: number) {
			self.requests++;
			return pageOf(feed(), 1, limit);
		},
		async next(page: Page<Post>) {
			if (!page.links.next) return null;
			self.requests++;
			const url = new URL(page.links.next);
			return pageOf(feed(), Number(url.searchParams.get("page")), Number(url.searchParams.get("limit")));
		},
		async close() {},
	};
	return self;
}

async function poll(
	src: FeedSource,
	seen: Set<number>,
	frontier: FeedFrontier | null,
	options: { seeding?: boolean; maxPages?: number } = {},
) {
	return pollQuery({
		source: src,
		filters: { tag: null, username: null, nsfw: false },
		seen,
		frontier,
		seeding: options.seeding ?? false,
		pageSize: 10,
		maxPages: options.maxPages ?? 10,
		mayRequest: () => true,
		onResponse: () => {},
	});
}

const newestFirst = (posts: Post[]) => [...posts].sort((a, b) => b.id - a.id);

describe("pollQuery", () => {
	it("seeds with page one, pages back through a burst until a seen post, and returns the new oldest first", async () => {
		let posts = newestFirst(Array.from({ length: 30 }, (_, i) => post(i + 1)));
		const src = source(() => posts);
		const seeded = await poll(src, new Set(), null, { seeding: true });
		expect(seeded.fresh).toEqual([]);
		expect(seeded.read.map((p) => p.id)).toEqual([30, 29, 28, 27, 26, 25, 24, 23, 22, 21]);
		expect(seeded.frontier).toEqual({ createdAt: new Date(21_000).toISOString(), id: 21 });
		const seen = new Set(seeded.read.map((p) => p.id));

		posts = newestFirst([...posts, ...Array.from({ length: 25 }, (_, i) => post(31 + i))]);
		src.requests = 0;
		const burst = await poll(src, seen, seeded.frontier);
		expect(src.requests).toBe(3);
		expect(burst.fresh.map((p) => p.id)).toEqual(Array.from({ length: 25 }, (_, i) => 31 + i));
	});

	it("announces a post that shows up late above the frontier, never old posts sliding into view", async () => {
		const all = Array.from({ length: 30 }, (_, i) => post(i + 1));
		let visible = newestFirst(all.filter((p) => p.id !== 25));
		const src = source(() => visible);
		const seeded = await poll(src, new Set(), null, { seeding: true });
		const seen = new Set(seeded.read.map((p) => p.id));
		expect(seen.has(25)).toBe(false);
		// 25 is approved now (it was pending); 28 and 29 are deleted, so 19 and 18 slide onto page one.
		visible = newestFirst(all.filter((p) => p.id !== 28 && p.id !== 29));
		const result = await poll(src, seen, seeded.frontier);
		expect(result.fresh.map((p) => p.id)).toEqual([25]);
		// Without a frontier (an older cursor), the deepest seen post bounds what is new.
		expect((await poll(src, seen, null)).fresh.map((p) => p.id)).toEqual([25]);
	});

	it("treats every unseen post as new once the whole feed was read", async () => {
		let visible = [post(2), post(1)];
		const src = source(() => visible);
		const seeded = await poll(src, new Set(), null, { seeding: true });
		expect(seeded.frontier).toBe("end");
		visible = [post(2), post(1), post(0)];
		const result = await poll(src, new Set([1, 2]), "end");
		expect(result.fresh.map((p) => p.id)).toEqual([0]);
	});

	it("stops at the page cap and says so", async () => {
		const posts = newestFirst(Array.from({ length: 60 }, (_, i) => post(i + 1)));
		const src = source(() => posts);
		const result = await poll(src, new Set([1]), null, { maxPages: 3 });
		expect(result).toMatchObject({ capped: true, requests: 3 });
		expect(result.fresh).toHaveLength(30);
	});
});

// ── Rendering ───────────────────────────────────────────────────────────────

function payload(id: number, score: number): FeedPostPayload {
	return {
		v: 1,
		id,
		slug: `s${id}abcd`,
		title: id === 1 ? null : `Title ${id}`,
		username: "bob",
		avatar: null,
		score,
		mediaCount: 2,
		status: "approved",
		createdAt: new Date(id * 1000).toISOString(),
		preview: "https://cdn.imgpile.com/f/x_lg.png",
		previewStatus: "approved",
		video: false,
	};
}

describe("render", () => {
	it("announcements carry their outbox key (footer and enforced nonce) and the vote, follow and open buttons", () => {
		const body = announcement(t, payload(1, 4), { channelNsfw: false, marker: "sub1234567:1" });
		expect(body).toMatchObject({ nonce: "sub1234567:1", enforce_nonce: true });
		expect(body.embeds?.[0]).toMatchObject({ title: "Untitled post", author: { name: "bob" } });
		expect(carriesMarker({ embeds: body.embeds }, "sub1234567:1")).toBe(true);
		expect(carriesMarker({ embeds: body.embeds }, "sub1234567:11")).toBe(false);
		const row = body.components?.[0] as { components: Array<{ custom_id?: string; type: number }> } | undefined;
		expect(row?.components.map((c) => c.custom_id ?? c.type)).toEqual([
			"vote:post:1:up",
			"vote:post:1:down",
			"follow:bob",
			2,
		]);
		expect(nonceOf("x".repeat(26))).toBeUndefined();
	});

	it("digests rank by score, show at most 10 embeds and link the rest", () => {
		const posts = Array.from({ length: 13 }, (_, i) => payload(i + 1, (i * 5) % 7));
		const body = digest(t, posts, {
			channelNsfw: false,
			marker: "d:sub1234567:1",
			filters: { tag: "cats", username: null, nsfw: false },
			subscriptionId: "sub1234567",
		});
		expect(body.embeds).toHaveLength(DIGEST_EMBEDS);
		const scores = body.embeds?.map((embed) => Number(/▲ (-?\d+)/.exec(embed.description ?? "")?.[1]));
		expect(scores).toEqual([...(scores ?? [])].sort((a, b) => b - a));
		expect(body.content).toContain("**13** new posts: #cats");
		expect(body.content).toContain("…and 3 more:");
		expect(carriesMarker({ embeds: body.embeds }, "d:sub1234567:1")).toBe(true);
	});
});
