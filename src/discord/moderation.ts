/** Moderation and the NSFW rule: what may be shown, previewed or announced where. */
import type { Translate } from "../i18n/index.js";
import type { Media, ModerationStatus, Post } from "../imgpile/index.js";

/** A label for flagged content (`pending`, `nsfw`, `rejected`); none for `approved`. */
export function moderationLabel(t: Translate, status: ModerationStatus): string | undefined {
	switch (status) {
		case "pending":
			return t("moderation.pending");
		case "nsfw":
			return t("moderation.nsfw");
		case "rejected":
			return t("moderation.rejected");
		default:
			return undefined;
	}
}

/**
 * Whether a post may be shown where others see it: `visibility` (sent to the owner only) is
 * `public` or absent, and it is not `rejected` (which only its owner can read).
 */
export function isPublic(post: Pick<Post, "visibility" | "moderation_status">): boolean {
	return (post.visibility === undefined || post.visibility === "public") && post.moderation_status !== "rejected";
}

/** Whether a channel is age-restricted (threads follow their parent; DMs are not). */
export function channelAllowsNsfw(channel: unknown): boolean {
	if (typeof channel !== "object" || channel === null) return false;
	const c = channel as { nsfw?: unknown; parent?: { nsfw?: unknown } | null; isThread?: () => boolean };
	if (typeof c.isThread === "function" && c.isThread()) return c.parent?.nsfw === true;
	return c.nsfw === true;
}

/**
 * Whether a media (or post) may be previewed as an image here: never `rejected`, and `nsfw`
 * only in age-restricted channels.
 */
export function mayPreview(status: ModerationStatus, nsfwAllowed: boolean): boolean {
	if (status === "rejected") return false;
	return status !== "nsfw" || nsfwAllowed;
}

/** Only approved posts, and NSFW ones in age-restricted channels, are ever announced by a feed. */
export function mayAnnounce(status: ModerationStatus, channelNsfw: boolean): boolean {
	return status === "approved" || (status === "nsfw" && channelNsfw);
}

/** The image to preview a media with: a large variant for images, the thumbnail for videos. */
export function mediaPreviewUrl(media: Media): string | undefined {
	if (media.type.startsWith("video/")) return media.urls.thumb;
	if (!media.type.startsWith("image/")) return undefined;
	return media.urls.lg ?? media.urls.xl ?? media.urls.original;
}
