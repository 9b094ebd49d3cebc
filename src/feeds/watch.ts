/** Live sync's index of followed posts: how an entry starts (see src/store/announcements.ts). */
import type { WatchEntry, WatchIndex } from "../store/index.js";
import type { FeedPostPayload } from "./render.js";

export /** The index's entry of the post, added if new. */
function entryOf(index: WatchIndex, payload: FeedPostPayload, now: number): WatchEntry {
	const known = index.posts[payload.id];
	if (known) return known;
	const entry: WatchEntry = {
		slug: payload.slug,
		createdAt: Date.parse(payload.createdAt) || now,
		announcedAt: null,
		syncedAt: now,
		subs: [],
		gates: {},
		username: payload.username,
		status: payload.status,
	};
	index.posts[payload.id] = entry;
	return entry;
}
