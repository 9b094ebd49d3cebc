/**
 * Wire types of imgpile API v1, as imgpile documents it (its open points: docs/ARCHITECTURE.md,
 * "imgpile API decisions").
 * Both the client (src/imgpile) and the emulator (test/emulators/imgpile) use these,
 * so the two cannot drift apart silently.
 */

export type ModerationStatus = "approved" | "pending" | "nsfw" | "rejected";
export type Visibility = "public" | "hidden" | "private";
export type Sort = "latest" | "random";
export type Period = "day" | "week" | "month" | "year" | "all";

/** Size variants served by the CDN, keyed as in `media.urls`. */
export type MediaSize = "original" | "xs" | "sm" | "md" | "lg" | "xl" | "thumb";

export interface UserSummary {
	username: string;
	avatar: string | null;
}

export interface Media {
	id: number;
	slug: string;
	filename: string;
	title: string | null;
	description: string | null;
	type: string;
	width: number;
	height: number;
	moderation_status: ModerationStatus;
	processed: boolean;
	created_at: string;
	urls: Partial<Record<MediaSize, string>> & { original: string };
	user: UserSummary | null;
}

export interface Post {
	id: number;
	slug: string;
	title: string | null;
	description: string | null;
	score: number;
	view_count: number;
	media_count: number;
	moderation_status: ModerationStatus;
	isUpvotedByUser: boolean;
	isDownvotedByUser: boolean;
	created_at: string;
	user: UserSummary | null;
	/** Tags as the project assumes them (docs/ARCHITECTURE.md, imgpile API decision 3). */
	tags?: string[];
	/** Only in the single-post response. */
	media?: Media[];
	/** Only in feed/list responses. */
	first_media?: Media | null;
	/** Owner only. */
	visibility?: Visibility;
	/** Owner only. */
	access_key?: string | null;
}

export interface Comment {
	id: number;
	content: string;
	user_id: number;
	post_id: number;
	parent_id?: number | null;
	created_at?: string;
	user?: UserSummary | null;
	score?: number;
}

export interface PageLinks {
	first: string | null;
	last: string | null;
	prev: string | null;
	next: string | null;
}

export interface PageMeta {
	current_page: number;
	from: number | null;
	to: number | null;
	per_page: number;
	total: number;
	last_page: number;
}

export interface Page<T> {
	data: T[];
	links: PageLinks;
	meta: PageMeta;
}

/** A page with the rate-limit headers it came with (Retry-After comes as ImgpileRateLimitError.retryAfterMs). */
export interface ListedPage<T> {
	page: Page<T>;
	/** `X-RateLimit-Limit` / `-Remaining` of the response, when present. */
	limit: number | undefined;
	remaining: number | undefined;
}

/** Filters shared by `GET /posts` and `GET /media` (and the user listings' paging). */
export interface ListQuery {
	tag?: string;
	sort?: Sort;
	period?: Period;
	/** 1..250, default 10. */
	limit?: number;
	page?: number;
	username?: string;
	nsfw?: boolean;
}

export interface PageQuery {
	limit?: number;
	page?: number;
	/** User listings honour `?nsfw=1` like the feeds (adult content included). */
	nsfw?: boolean;
}

export interface UploadResponse {
	message: string;
	media: Media;
}

export interface MessageResponse {
	message: string;
}

export interface CreatePostResponse {
	message: string;
	post: { id: number; slug: string };
}

export interface UpdatePostBody {
	title?: string | null;
	description?: string | null;
	visibility?: Visibility;
	is_nsfw?: boolean;
	/** Media slugs in the wanted order. */
	media_order?: string[];
	/** Gaps and decisions, 3. */
	tags?: string[];
}

export interface UpdatePostResponse {
	message: string;
	visibility?: Visibility;
	access_key?: string | null;
}

export interface UpdateMediaBody {
	title?: string | null;
	description?: string | null;
}

export interface CreateCommentResponse {
	success: boolean;
	comment: Comment;
}

export interface DeleteCommentResponse {
	success: boolean;
	message: string;
}

export interface VoteResponse {
	message: string;
	score: number;
}

/** Error bodies: `{ message }` or `{ error }`, 422 adds `errors`. */
export interface ErrorBody {
	message?: string;
	error?: string;
	errors?: Record<string, string[]>;
}

/** Documented limits. */
export const IMGPILE_LIMITS = {
	maxFileBytes: 100 * 1024 * 1024,
	maxPageSize: 250,
	defaultPageSize: 10,
	maxTitleLength: 255,
	maxCommentLength: 500,
	publicRequestsPerMinute: 30,
	authRequestsPerMinute: 120,
	uploadsPerDay: 1000,
} as const;
