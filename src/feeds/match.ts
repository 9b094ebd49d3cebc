/**
 * Which posts a subscription's filters let through, decided by the bot from what a listing
 * carries (`user.username`, `moderation_status`; a post's tags only when the post itself was
 * read: listings carry none). The same rules imgpile applies to `?username=`, `?nsfw=1` and
 * `?tag=`, so one broad query can serve many filters and `/feed why` can say which rule held a
 * post back.
 */
import type { Post } from "../imgpile/index.js";
import type { FeedFilters } from "../store/index.js";

/** The filter that keeps a post out: its author, its NSFW status, or its tags. */
export type FilterRule = "user" | "nsfw" | "tag";

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * The first rule that keeps `post` out of `filters`, or null when it passes. The tag rule is
 * checked only when `post.tags` is present (undefined: not known, e.g. read from a listing).
 */
export function filteredBy(
	filters: FeedFilters,
	post: Pick<Post, "user" | "moderation_status" | "tags">,
): FilterRule | null {
	if (filters.username !== null && !(post.user && same(post.user.username, filters.username))) return "user";
	if (!filters.nsfw && post.moderation_status === "nsfw") return "nsfw";
	if (filters.tag !== null && post.tags !== undefined && !post.tags.some((tag) => same(tag, filters.tag as string))) {
		return "tag";
	}
	return null;
}
