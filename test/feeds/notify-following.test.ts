/**
 * Reading whom an imgpile user follows (personal notifications): every page up to the cap, the
 * feeds' budget spent per page and respected, usernames lowercased; and `feeds.notify` storing
 * it and counting what waits. Against the imgpile emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeedBudget, type FeedDiscord } from "../../src/feeds/index.js";
import { NotifyControlApi } from "../../src/feeds/notify-control.js";
import {
	FOLLOWING_MAX_PAGES,
	FOLLOWING_PAGE_SIZE,
	FollowingBudgetError,
	readFollowing,
} from "../../src/feeds/notify-following.js";
import { createRuntime } from "../../src/feeds/runtime.js";
import { Imgpile, ImgpileNotFoundError, ImgpileRateLimitError } from "../../src/imgpile/index.js";
import { NOTIFY_DEFAULT_EVERY_MS } from "../../src/store/index.js";
import { type ImgpileEmulator, startImgpileEmulator } from "../emulators/imgpile/index.js";
import { memoryLogger, openAt, randomCipher, tempDir } from "../store/helpers.js";

const NOW = Date.parse("2031-01-01T10:00:00.000Z");
/** The cap with small pages: 3 pages of 10. */
const SMALL = { pageSize: 10, maxPages: 3 };
const FAN_FOLLOWS = SMALL.pageSize * SMALL.maxPages + 5;

let emu: ImgpileEmulator;
let imgpile: Imgpile;

/** The owner of `token` follows each of `followees`, through imgpile's API (unpaced: setup only), one by one. */
async function follows(token: string, followees: string[]): Promise<void> {
	for (const name of followees) {
		const response = await fetch(`${emu.apiUrl}/users/${name}/follow`, {
			method: "POST",
			headers: { authorization: `Bearer ${token}` },
		});
		if (!response.ok) throw new Error(`follow ${name}: ${response.status}`);
	}
}

function runtime(perMinute = 1_000) {
	return { imgpile, token: undefined, budget: new FeedBudget({ perMinute, share: 1, reserve: 0 }) };
}

function followingRequests(username: string) {
	return emu.requests.filter((r) => r.path === `/api/v1/users/${username}/following`);
}

beforeAll(async () => {
	const names = Array.from({ length: 230 }, (_, i) => `Artist${i}`);
	emu = await startImgpileEmulator({
		users: [
			{ username: "Reader", token: "t-reader" },
			{ username: "fan", token: "t-fan" },
			{ username: "loner", token: "t-loner" },
			...names.map((username, i) => ({ username, token: `t-artist-${i}` })),
		],
		limits: { authPerMinute: 100_000, publicPerMinute: 100_000 },
	});
	imgpile = new Imgpile({ apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
	await follows("t-reader", names);
	await follows("t-fan", names.slice(0, FAN_FOLLOWS));
}, 30_000);

afterAll(async () => {
	await imgpile?.close();
	await emu?.close();
});

describe("readFollowing", () => {
	it("reads every page, newest follow first, lowercased, as a guest spending one budget slot per page", async () => {
		const rt = runtime();
		const before = followingRequests("Reader").length;
		const list = await readFollowing(rt, "Reader", NOW);
		expect(list.usernames).toHaveLength(230);
		expect(list.usernames[0]).toBe("artist229");
		expect(list.usernames.at(-1)).toBe("artist0");
		expect(list.capped).toBe(false);
		expect(list.requests).toBe(3);
		const made = followingRequests("Reader").slice(before);
		expect(made).toHaveLength(3);
		expect(made.every((r) => r.username === null && r.headers.authorization === undefined)).toBe(true);
		expect(made.map((r) => r.query)).toEqual([
			{ limit: String(FOLLOWING_PAGE_SIZE) },
			{ limit: String(FOLLOWING_PAGE_SIZE), page: "2" },
			{ limit: String(FOLLOWING_PAGE_SIZE), page: "3" },
		]);
		// Three of the feeds' requests this minute are gone.
		const budget = new FeedBudget({ perMinute: 3, share: 1, reserve: 0 });
		await readFollowing({ ...rt, budget }, "Reader", NOW);
		expect(budget.canSpend(NOW)).toBe(false);
	});

	it("reads an empty list in one request", async () => {
		expect(await readFollowing(runtime(), "loner", NOW)).toEqual({ usernames: [], capped: false, requests: 1 });
	});

	it("stops at the page cap and says so", async () => {
		expect(FOLLOWING_PAGE_SIZE * FOLLOWING_MAX_PAGES).toBe(1_000);
		const list = await readFollowing(runtime(), "fan", NOW, SMALL);
		expect(list.requests).toBe(SMALL.maxPages);
		expect(list.capped).toBe(true);
		expect(list.usernames).toHaveLength(SMALL.pageSize * SMALL.maxPages);
		// Exactly the cap is not capped.
		expect((await readFollowing(runtime(), "fan", NOW, { pageSize: 7, maxPages: 5 })).capped).toBe(false);
		// Newest first: the five followed first are the ones left out.
		expect(list.usernames).not.toContain("artist0");
		expect(list.usernames).toContain(`artist${FAN_FOLLOWS - 1}`);
	});

	it("refuses without a request when the budget has no room, and mid-way without a partial list", async () => {
		const full = new FeedBudget({ perMinute: 2, share: 1, reserve: 0 });
		full.spent(NOW - 1_000);
		full.spent(NOW - 500);
		const before = emu.requests.length;
		const refused = await readFollowing({ ...runtime(), budget: full }, "Reader", NOW).catch((error) => error);
		expect(refused).toBeInstanceOf(FollowingBudgetError);
		expect((refused as FollowingBudgetError).resumeAt).toBe(NOW - 1_000 + 60_000);
		expect(emu.requests.length).toBe(before);

		const two = new FeedBudget({ perMinute: 2, share: 1, reserve: 0 });
		await expect(readFollowing({ ...runtime(), budget: two }, "Reader", NOW)).rejects.toBeInstanceOf(
			FollowingBudgetError,
		);
		expect(emu.requests.length).toBe(before + 2);
	});

	it("an unknown username is imgpile's 404; a 429 pauses the feeds' budget", async () => {
		await expect(readFollowing(runtime(), "nobody-here", NOW)).rejects.toBeInstanceOf(ImgpileNotFoundError);
		emu.injectFault({ path: "/api/v1/users/Reader/following", status: 429, headers: { "retry-after": "30" } });
		const rt = runtime();
		await expect(readFollowing(rt, "Reader", NOW)).rejects.toBeInstanceOf(ImgpileRateLimitError);
		expect(rt.budget.pausedUntil).toBe(NOW + 30_000);
		expect(rt.budget.canSpend(NOW + 1_000)).toBe(false);
	});

	it("the leader's background refresh takes only the background share: polls keep their room", async () => {
		// 10 a minute for the feeds, 20% of it (2) for background reads.
		const rt = { imgpile, token: undefined, budget: new FeedBudget({ perMinute: 10, share: 1, reserve: 0 }) };
		const before = followingRequests("loner").length;
		await readFollowing(rt, "loner", NOW, { background: true });
		await readFollowing(rt, "loner", NOW, { background: true });
		await expect(readFollowing(rt, "loner", NOW, { background: true })).rejects.toBeInstanceOf(FollowingBudgetError);
		expect(followingRequests("loner").length - before).toBe(2);
		// What is left is the polls' (and `/notify follows`' own read, which is not background).
		expect(rt.budget.canSpend(NOW)).toBe(true);
		await readFollowing(rt, "loner", NOW);
		expect(followingRequests("loner").length - before).toBe(3);
	});
});

describe("feeds.notify", () => {
	it("stores the list read on the profile and marks the scheduler dirty; a 404 stores nothing", async () => {
		const temp = await tempDir();
		const { store } = await openAt(temp.dir, randomCipher());
		// Nothing here reaches Discord.
		const rt = createRuntime({
			store,
			imgpile,
			discord: {} as FeedDiscord,
			logger: memoryLogger().logger,
			now: () => NOW,
		});
		const notify = new NotifyControlApi(rt);
		try {
			rt.dirty = false;
			expect(await notify.refreshFollowing("7", "fan")).toEqual({ count: FAN_FOLLOWS, capped: false });
			expect(rt.dirty).toBe(true);
			expect(await store.notify.get("7")).toMatchObject({
				username: "fan",
				followingAt: new Date(NOW).toISOString(),
				following: expect.arrayContaining(["artist0", `artist${FAN_FOLLOWS - 1}`]),
			});
			await expect(notify.refreshFollowing("8", "nobody-here")).rejects.toBeInstanceOf(ImgpileNotFoundError);
			expect(await store.notify.get("8")).toBeUndefined();

			// Waiting: pending entries only (one Discord already accepted is being finished, not waiting).
			expect(await notify.status("7")).toMatchObject({ waiting: 0, nextBatchAt: null });
			for (const postId of [1, 2, 3]) await store.notifyOutbox.put({ subscriptionId: "7", postId, payload: null });
			await store.notifyOutbox.recordSent("7:1", "900000000000000001");
			await store.notify.update("7", (p) => ({ ...p, lastBatchAt: new Date(NOW - 60_000).toISOString() }));
			expect(await notify.status("7")).toMatchObject({
				waiting: 2,
				nextBatchAt: NOW - 60_000 + NOTIFY_DEFAULT_EVERY_MS,
			});
		} finally {
			await store.close();
			await temp.cleanup();
		}
	});
});
