/** Feed post payloads for render tests: `id` orders them by time and score; `extra` overrides any field. */
import type { FeedPostPayload } from "../../src/feeds/index.js";

export function feedPost(id: number, title: string | null, extra: Partial<FeedPostPayload> = {}): FeedPostPayload {
	return {
		v: 1,
		id,
		slug: `slug${id}`,
		title,
		username: "alice",
		avatar: null,
		score: id,
		mediaCount: 1,
		status: "approved",
		createdAt: new Date(id * 1000).toISOString(),
		preview: "https://cdn.imgpile.com/f/x_lg.png",
		previewStatus: "approved",
		video: false,
		...extra,
	};
}
