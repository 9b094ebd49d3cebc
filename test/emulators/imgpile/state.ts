/**
 * The emulator's data model: users, media, posts, comments, votes, follows, and how each
 * record is shown on the wire (using the shared wire types in src/imgpile/types.ts).
 */
import { randomInt } from "node:crypto";
import { rmSync } from "node:fs";
import type {
	Comment,
	Media,
	MediaSize,
	ModerationStatus,
	Period,
	Post,
	UserSummary,
	Visibility,
} from "../../../src/imgpile/types.js";
import type { MediaKind } from "../../../src/media/sniff.js";

export interface UserRec {
	id: number;
	username: string;
	avatar: string | null;
}

export interface MediaRec {
	id: number;
	slug: string;
	ext: string;
	mime: string;
	kind: MediaKind;
	width: number;
	height: number;
	size: number;
	sha256: string;
	title: string | null;
	description: string | null;
	moderation: ModerationStatus;
	processed: boolean;
	createdAt: number;
	userId: number | null;
	postId: number | null;
	/** Absolute path of the stored original. */
	file: string;
	/** URLs answered instead of the CDN's (`setMediaUrls`: e.g. malformed ones, as imgpile might send). */
	urlOverrides?: Partial<Media["urls"]>;
}

export type Vote = 1 | -1;

export interface PostRec {
	id: number;
	slug: string;
	title: string | null;
	description: string | null;
	userId: number | null;
	mediaIds: number[];
	visibility: Visibility;
	accessKey: string | null;
	moderation: ModerationStatus;
	createdAt: number;
	viewCount: number;
	tags: string[];
	votes: Map<number, Vote>;
}

export interface CommentRec {
	id: number;
	postId: number;
	userId: number;
	parentId: number | null;
	content: string;
	createdAt: number;
	votes: Map<number, Vote>;
}

export interface FollowRec {
	seq: number;
	followerId: number;
	followeeId: number;
	createdAt: number;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomString(alphabet: string, length: number): string {
	let s = "";
	for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
	return s;
}

export const VARIANT_SIZES = ["xs", "sm", "md", "lg", "xl"] as const;
export type VariantSize = (typeof VARIANT_SIZES)[number];

const DAY_MS = 86_400_000;
export const PERIOD_MS: Record<Period, number> = {
	day: DAY_MS,
	week: 7 * DAY_MS,
	month: 30 * DAY_MS,
	year: 365 * DAY_MS,
	all: Number.POSITIVE_INFINITY,
};

/** Whether content with this status appears in public listings. */
export function moderationListed(status: ModerationStatus, nsfw: boolean): boolean {
	return status === "approved" || (nsfw && status === "nsfw");
}

export function voteScore(votes: Map<number, Vote>): number {
	let score = 0;
	for (const v of votes.values()) score += v;
	return score;
}

export class EmulatorState {
	readonly usersById = new Map<number, UserRec>();
	readonly usersByName = new Map<string, UserRec>();
	readonly tokens = new Map<string, UserRec>();
	readonly media = new Map<number, MediaRec>();
	readonly mediaBySlug = new Map<string, MediaRec>();
	readonly posts = new Map<number, PostRec>();
	readonly postsBySlug = new Map<string, PostRec>();
	readonly comments = new Map<number, CommentRec>();
	follows: FollowRec[] = [];
	readonly banned = new Set<string>();
	/** Set once the CDN listener is bound. */
	cdnUrl = "";
	private readonly seq = { user: 0, media: 0, post: 0, comment: 0, follow: 0 };

	constructor(readonly now: () => number) {}

	// ----- users -------------------------------------------------------------------------

	/** Adds a user, or another token (and a new avatar, if given) for an existing one. */
	addUser(u: { username: string; token: string; avatar?: string | null }): UserRec {
		if (!u.username || !u.token) throw new Error("addUser: username and token are required");
		let user = this.usersByName.get(u.username);
		if (!user) {
			user = { id: ++this.seq.user, username: u.username, avatar: u.avatar ?? null };
			this.usersById.set(user.id, user);
			this.usersByName.set(user.username, user);
		} else if (u.avatar !== undefined) {
			user.avatar = u.avatar;
		}
		this.tokens.set(u.token, user);
		return user;
	}

	userSummary(userId: number | null): UserSummary | null {
		const u = userId === null ? undefined : this.usersById.get(userId);
		return u ? { username: u.username, avatar: u.avatar } : null;
	}

	// ----- ids -------------------------------------------------------------------------

	/** 7 random alphanumerics with at least one letter (so a slug never looks like an id). */
	newSlug(): string {
		for (;;) {
			const slug = randomString(ALNUM, 7);
			if (/^\d+$/.test(slug)) continue;
			if (this.mediaBySlug.has(slug) || this.postsBySlug.has(slug)) continue;
			return slug;
		}
	}

	newAccessKey(): string {
		return randomString(LOWER_ALNUM, 10);
	}

	// ----- media -------------------------------------------------------------------------

	addMedia(m: Omit<MediaRec, "id">): MediaRec {
		const rec: MediaRec = { ...m, id: ++this.seq.media };
		this.media.set(rec.id, rec);
		this.mediaBySlug.set(rec.slug, rec);
		if (rec.postId !== null) this.posts.get(rec.postId)?.mediaIds.push(rec.id);
		return rec;
	}

	findMedia(slugOrId: string | number): MediaRec | undefined {
		if (typeof slugOrId === "number") return this.media.get(slugOrId);
		return this.mediaBySlug.get(slugOrId);
	}

	/** Removes a media record, detaches it from its post and deletes its file. */
	deleteMedia(m: MediaRec): void {
		this.detachMedia(m);
		this.media.delete(m.id);
		this.mediaBySlug.delete(m.slug);
		rmSync(m.file, { force: true });
	}

	detachMedia(m: MediaRec): void {
		if (m.postId === null) return;
		const post = this.posts.get(m.postId);
		if (post) post.mediaIds = post.mediaIds.filter((id) => id !== m.id);
		m.postId = null;
	}

	attachMedia(m: MediaRec, post: PostRec): void {
		if (m.postId === post.id) return;
		this.detachMedia(m);
		m.postId = post.id;
		post.mediaIds.push(m.id);
	}

	mediaUrls(m: MediaRec): Media["urls"] {
		const base = `${this.cdnUrl}/f/${m.slug}`;
		const urls: Media["urls"] = { original: `${base}.${m.ext}` };
		if (m.processed) {
			if (m.kind === "image") {
				for (const size of VARIANT_SIZES) urls[size satisfies MediaSize] = `${base}_${size}.${m.ext}`;
			} else {
				urls.thumb = `${base}_thumb.jpg`;
			}
		}
		return { ...urls, ...m.urlOverrides };
	}

	serializeMedia(m: MediaRec): Media {
		return {
			id: m.id,
			slug: m.slug,
			filename: m.slug,
			title: m.title,
			description: m.description,
			type: m.mime,
			width: m.width,
			height: m.height,
			moderation_status: m.moderation,
			processed: m.processed,
			created_at: new Date(m.createdAt).toISOString(),
			urls: this.mediaUrls(m),
			user: this.userSummary(m.userId),
		};
	}

	/** Public media listings: the media's own status, and its post's (if any) visibility and status. */
	mediaListed(m: MediaRec, nsfw: boolean): boolean {
		if (!moderationListed(m.moderation, nsfw)) return false;
		if (m.postId === null) return true;
		const post = this.posts.get(m.postId);
		return post !== undefined && this.postListed(post, nsfw);
	}

	// ----- posts -------------------------------------------------------------------------

	addPost(p: Omit<PostRec, "id" | "slug" | "votes" | "viewCount">): PostRec {
		const rec: PostRec = { ...p, id: ++this.seq.post, slug: this.newSlug(), viewCount: 0, votes: new Map() };
		this.posts.set(rec.id, rec);
		this.postsBySlug.set(rec.slug, rec);
		return rec;
	}

	findPost(slugOrId: string | number): PostRec | undefined {
		if (typeof slugOrId === "number") return this.posts.get(slugOrId);
		return this.postsBySlug.get(slugOrId);
	}

	/** Gaps and decisions, 1: `{post}` in paths is a numeric id or a slug. */
	resolvePostParam(param: string): PostRec | undefined {
		if (/^\d+$/.test(param)) return this.posts.get(Number(param));
		return this.postsBySlug.get(param);
	}

	/** Deletes a post and its comments; its media stay (detached, still on the CDN). */
	deletePost(p: PostRec): void {
		for (const id of p.mediaIds) {
			const m = this.media.get(id);
			if (m) m.postId = null;
		}
		this.posts.delete(p.id);
		this.postsBySlug.delete(p.slug);
		for (const c of [...this.comments.values()]) if (c.postId === p.id) this.comments.delete(c.id);
	}

	postMedia(p: PostRec): MediaRec[] {
		const out: MediaRec[] = [];
		for (const id of p.mediaIds) {
			const m = this.media.get(id);
			if (m) out.push(m);
		}
		return out;
	}

	postListed(p: PostRec, nsfw: boolean): boolean {
		return p.visibility === "public" && moderationListed(p.moderation, nsfw);
	}

	/** Reading one post: the owner always; others not when rejected, and private needs the key. */
	canViewPost(p: PostRec, viewer: UserRec | null, key: string | null): boolean {
		if (viewer && p.userId === viewer.id) return true;
		if (p.moderation === "rejected") return false;
		if (p.visibility === "private") return p.accessKey !== null && key === p.accessKey;
		return true;
	}

	serializePost(
		p: PostRec,
		viewer: UserRec | null,
		shape: { kind: "list" } | { kind: "single"; mediaPage: number; perPage: number },
	): Post {
		const media = this.postMedia(p);
		const vote = viewer ? p.votes.get(viewer.id) : undefined;
		const out: Post = {
			id: p.id,
			slug: p.slug,
			title: p.title,
			description: p.description,
			score: voteScore(p.votes),
			view_count: p.viewCount,
			media_count: media.length,
			moderation_status: p.moderation,
			isUpvotedByUser: vote === 1,
			isDownvotedByUser: vote === -1,
			created_at: new Date(p.createdAt).toISOString(),
			user: this.userSummary(p.userId),
			tags: [...p.tags],
		};
		if (shape.kind === "list") {
			const first = media[0];
			out.first_media = first ? this.serializeMedia(first) : null;
		} else {
			const start = (shape.mediaPage - 1) * shape.perPage;
			out.media = media.slice(start, start + shape.perPage).map((m) => this.serializeMedia(m));
		}
		if (viewer && p.userId === viewer.id) {
			out.visibility = p.visibility;
			out.access_key = p.accessKey;
		}
		return out;
	}

	// ----- comments ------------------------------------------------------------------------

	addComment(c: Omit<CommentRec, "id" | "votes">): CommentRec {
		const rec: CommentRec = { ...c, id: ++this.seq.comment, votes: new Map() };
		this.comments.set(rec.id, rec);
		return rec;
	}

	/** Deletes a comment and, recursively, the replies to it. */
	deleteComment(c: CommentRec): void {
		this.comments.delete(c.id);
		for (const child of [...this.comments.values()]) if (child.parentId === c.id) this.deleteComment(child);
	}

	serializeComment(c: CommentRec, withScore: boolean): Comment {
		const out: Comment = {
			id: c.id,
			content: c.content,
			user_id: c.userId,
			post_id: c.postId,
			parent_id: c.parentId,
			created_at: new Date(c.createdAt).toISOString(),
			user: this.userSummary(c.userId),
		};
		if (withScore) out.score = voteScore(c.votes);
		return out;
	}

	// ----- follows -------------------------------------------------------------------------

	follow(follower: UserRec, followee: UserRec): void {
		if (this.follows.some((f) => f.followerId === follower.id && f.followeeId === followee.id)) return;
		this.follows.push({
			seq: ++this.seq.follow,
			followerId: follower.id,
			followeeId: followee.id,
			createdAt: this.now(),
		});
	}

	unfollow(follower: UserRec, followee: UserRec): void {
		this.follows = this.follows.filter((f) => !(f.followerId === follower.id && f.followeeId === followee.id));
	}
}
