import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FeedControlApi, type FeedDiscord, type FeedSource } from "../../src/feeds/index.js";
import { createRuntime } from "../../src/feeds/runtime.js";
import { Imgpile } from "../../src/imgpile/index.js";
import { type FeedFilters, queryKeyOf, type Store } from "../../src/store/index.js";
import { memoryLogger, openAt, randomCipher, tempDir } from "../store/helpers.js";

const GUILD = "100000000000000001";
const OTHER_GUILD = "100000000000000002";
const CHANNEL = "200000000000000001";
const ADMIN = "300000000000000001";
const NOW = Date.parse("2031-01-01T10:00:00.000Z");
const CATS: FeedFilters = { tag: "cats", username: null, nsfw: false };

let store: Store;
let cleanup: () => Promise<void>;
let imgpile: Imgpile;
let control: FeedControlApi;

/** Nothing here reaches Discord or imgpile: the control API's own bookkeeping is under test. */
const discord: FeedDiscord = {
	botUserId: () => undefined,
	send: () => Promise.reject(new Error("not in this test")),
	createPost: () => Promise.reject(new Error("not in this test")),
	forumPosts: () => Promise.resolve([]),
	message: () => Promise.reject(new Error("not in this test")),
	crosspost: () => Promise.reject(new Error("not in this test")),
	recentMessages: () => Promise.resolve([]),
	dm: () => Promise.reject(new Error("not in this test")),
	dmChannel: () => Promise.reject(new Error("not in this test")),
	channel: () => undefined,
	channelInfo: () => Promise.resolve(undefined),
	guild: () => undefined,
	edit: () => Promise.reject(new Error("not in this test")),
	delete: () => Promise.reject(new Error("not in this test")),
	renamePost: () => Promise.reject(new Error("not in this test")),
};
const source: FeedSource = {
	authenticated: false,
	first: () => Promise.reject(new Error("not in this test")),
	next: () => Promise.resolve(null),
	close: async () => {},
};

beforeEach(async () => {
	const temp = await tempDir();
	({ store } = await openAt(temp.dir, randomCipher()));
	imgpile = new Imgpile({ apiUrl: "http://127.0.0.1:9/api/v1", uploadUrl: "http://127.0.0.1:9/api/v1/media" });
	control = new FeedControlApi(
		createRuntime({ store, imgpile, discord, source, logger: memoryLogger().logger, now: () => NOW }),
	);
	cleanup = async () => {
		await store.close();
		await imgpile.close();
		await temp.cleanup();
	};
});
afterEach(() => cleanup());

function subscribe(guildId: string, mode: "live" | "digest" = "live", filters = CATS) {
	return control.add({
		guildId,
		channelId: CHANNEL,
		filters,
		mode,
		everyMs: null,
		at: mode === "digest" ? "09:00" : null,
		backfill: 0,
		createdBy: ADMIN,
	});
}

describe("feed control", () => {
	it("adds a digest due at the next time of day in the guild's time zone", async () => {
		await store.guilds.update(GUILD, { timezone: "Asia/Shanghai" });
		const { subscription, timezone } = await subscribe(GUILD, "digest");
		expect(timezone).toBe("Asia/Shanghai");
		// 09:00 in Shanghai is 01:00 UTC; 10:00 UTC has passed it, so tomorrow.
		expect(subscription.nextDigestAt).toBe("2031-01-02T01:00:00.000Z");
		expect((await subscribe(GUILD, "live", { ...CATS, tag: "dogs" })).subscription.nextDigestAt).toBeNull();
	});

	it("knows a guild's subscriptions only in that guild", async () => {
		const { subscription } = await subscribe(GUILD);
		expect((await control.list(GUILD)).map((sub) => sub.id)).toEqual([subscription.id]);
		expect(await control.list(OTHER_GUILD)).toEqual([]);
		expect((await control.find(GUILD, subscription.id))?.id).toBe(subscription.id);
		expect(await control.find(OTHER_GUILD, subscription.id)).toBeUndefined();
	});

	it("removes a subscription with its deliveries, and its query's state once no one uses it", async () => {
		const key = queryKeyOf(CATS);
		const first = (await subscribe(GUILD)).subscription;
		const second = (await subscribe(OTHER_GUILD)).subscription;
		await store.feedState.markSeen(key, [1, 2]);
		await store.outbox.put({ subscriptionId: first.id, postId: 3, payload: { id: 3 } });
		expect(await control.remove(first)).toBe(1);
		expect(await store.subscriptions.get(first.id)).toBeUndefined();
		expect(await store.outbox.pending({ subscriptionId: first.id })).toEqual([]);
		expect(await store.feedState.isSeeded(key)).toBe(true);
		expect(await control.remove(second)).toBe(0);
		expect(await store.feedState.isSeeded(key)).toBe(false);
	});

	it("pauses, and on resume reads a query no one followed meanwhile afresh", async () => {
		const key = queryKeyOf(CATS);
		const { subscription } = await subscribe(GUILD);
		await control.pause(subscription);
		const paused = await control.find(GUILD, subscription.id);
		expect(paused?.paused).toBe(true);
		await store.feedState.markSeen(key, [1]);
		const resumed = await control.resume(paused ?? subscription);
		expect(resumed).toMatchObject({ paused: false, disabledReason: null });
		expect(await store.feedState.isSeeded(key)).toBe(false);
	});
});
