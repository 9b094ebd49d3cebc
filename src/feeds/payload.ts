/** A post as the outbox keeps it, read from imgpile's post (small: one copy per subscription). */
import { mediaPreviewUrl } from "../discord/index.js";
import type { ModerationStatus, Post } from "../imgpile/index.js";

export interface FeedPostPayload {
	v: 1;
	id: number;
	slug: string;
	title: string | null;
	username: string | null;
	avatar: string | null;
	score: number;
	mediaCount: number;
	status: ModerationStatus;
	createdAt: string;
	/** Preview image (an image variant, or a video's thumbnail), and the first media's own status. */
	preview: string | null;
	previewStatus: ModerationStatus;
	video: boolean;
}

export function payloadOf(post: Post): FeedPostPayload {
	const media = post.first_media ?? post.media?.[0] ?? null;
	return {
		v: 1,
		id: post.id,
		slug: post.slug,
		title: post.title,
		username: post.user?.username ?? null,
		avatar: post.user?.avatar ?? null,
		score: post.score,
		mediaCount: post.media_count,
		status: post.moderation_status,
		createdAt: post.created_at,
		preview: media ? (mediaPreviewUrl(media) ?? null) : null,
		previewStatus: media?.moderation_status ?? post.moderation_status,
		video: media?.type.startsWith("video/") ?? false,
	};
}

export function isPayload(value: unknown): value is FeedPostPayload {
	if (typeof value !== "object" || value === null) return false;
	const p = value as Partial<FeedPostPayload>;
	return p.v === 1 && typeof p.id === "number" && typeof p.slug === "string" && typeof p.status === "string";
}
