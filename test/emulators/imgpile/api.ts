/** Routes of the API listener (`/api/v1/...`), as imgpile documents them. */
import type {
	CreateCommentResponse,
	CreatePostResponse,
	DeleteCommentResponse,
	MessageResponse,
	ModerationStatus,
	Period,
	Sort,
	UpdatePostResponse,
	UserSummary,
	VoteResponse,
} from "../../../src/imgpile/types.js";
import { IMGPILE_LIMITS } from "../../../src/imgpile/types.js";
import type { Core } from "./core.js";
import {
	type Ctx,
	charLength,
	forbidden,
	HttpError,
	normalizeInput,
	notFound,
	parseBool,
	parseInteger,
	queryFlag,
	readInput,
	sendJson,
	unauthenticated,
	ValidationErrors,
} from "./http.js";
import { type PageParams, paginate, readPageParams } from "./pagination.js";
import { Router } from "./router.js";
import {
	type CommentRec,
	type MediaRec,
	moderationListed,
	PERIOD_MS,
	type PostRec,
	type UserRec,
	type Vote,
	voteScore,
} from "./state.js";

export const API_PREFIX = "/api/v1";

const SORTS: readonly Sort[] = ["latest", "random"];
const PERIODS: readonly Period[] = ["day", "week", "month", "year", "all"];
const VISIBILITIES = ["public", "hidden", "private"] as const;
export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 50;

interface FeedQuery {
	page: PageParams;
	tag: string | null;
	username: string | null;
	sort: Sort;
	period: Period;
	nsfw: boolean;
}

function readFeedQuery(query: URLSearchParams): FeedQuery {
	const errors = new ValidationErrors();
	const page = readPageParams(query, errors);
	const sort = query.get("sort") || "latest";
	if (!SORTS.includes(sort as Sort)) errors.add("sort", "The selected sort is invalid.");
	const period = query.get("period") || "all";
	if (!PERIODS.includes(period as Period)) errors.add("period", "The selected period is invalid.");
	errors.throwIfAny();
	const tag = query.get("tag")?.trim().toLowerCase() || null;
	const username = query.get("username")?.trim() || null;
	return { page, tag, username, sort: sort as Sort, period: period as Period, nsfw: queryFlag(query.get("nsfw")) };
}

function readPageOnly(query: URLSearchParams): PageParams {
	const errors = new ValidationErrors();
	const page = readPageParams(query, errors);
	errors.throwIfAny();
	return page;
}

/** `latest`: created_at desc, then id desc. `random`: a fresh shuffle per request. */
function sortFeed<T extends { createdAt: number; id: number }>(items: T[], sort: Sort): T[] {
	if (sort === "random") {
		for (let i = items.length - 1; i > 0; i--) {
			const j = Math.floor(Math.random() * (i + 1));
			[items[i], items[j]] = [items[j] as T, items[i] as T];
		}
		return items;
	}
	return items.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
}

function inPeriod(createdAt: number, period: Period, now: number): boolean {
	return createdAt >= now - PERIOD_MS[period];
}

/** Lowercased, trimmed, de-duplicated tags (empty ones dropped). */
export function normalizeTags(tags: readonly string[]): string[] {
	return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter((t) => t !== ""))];
}

function requireUser(ctx: Ctx): UserRec {
	if (!ctx.user) throw unauthenticated();
	return ctx.user;
}

function toggleVote(votes: Map<number, Vote>, userId: number, dir: Vote): "added" | "removed" {
	if (votes.get(userId) === dir) {
		votes.delete(userId);
		return "removed";
	}
	votes.set(userId, dir);
	return "added";
}

function voteMessage(kind: "Post" | "Comment", dir: Vote, outcome: "added" | "removed"): string {
	if (outcome === "removed") return dir === 1 ? "Upvote removed" : "Downvote removed";
	return `${kind} ${dir === 1 ? "upvoted" : "downvoted"} successfully`;
}

/** Validates an optional nullable string field (`title`, `description`); undefined = not sent. */
function optionalString(
	input: Record<string, unknown>,
	field: string,
	errors: ValidationErrors,
	max?: number,
): string | null | undefined {
	if (!(field in input)) return undefined;
	const v = normalizeInput(input[field]);
	if (v === null || v === undefined) return null;
	const label = field.replaceAll("_", " ");
	if (typeof v !== "string") {
		errors.add(field, `The ${label} field must be a string.`);
		return undefined;
	}
	if (max !== undefined && charLength(v) > max) {
		errors.add(field, `The ${label} field must not be greater than ${max} characters.`);
		return undefined;
	}
	return v;
}

export function buildApiRouter(core: Core): Router {
	const { state } = core;
	const r = new Router(API_PREFIX);
	const listUrl = (path: string) => `${core.apiUrl}${path}`;

	/**
	 * The owner reading their own listing (`/users/{me}/…` with their token) also gets their hidden
	 * and private posts, `visibility` telling which: the documentation marks `visibility` as
	 * owner-only without saying the owner's listings leave them out, so the bot must cope with the
	 * worst case (a public render that trusts the caller's token would leak them).
	 */
	const ownView = (owner: UserRec | null | undefined, viewer: UserRec | null): boolean =>
		owner !== undefined && owner !== null && viewer !== null && owner.id === viewer.id;

	const postFeed = (q: FeedQuery, owner: UserRec | null | undefined, viewer: UserRec | null = null): PostRec[] => {
		const now = core.now();
		const own = ownView(owner, viewer);
		const items = [...state.posts.values()].filter(
			(p) =>
				(own ? moderationListed(p.moderation, q.nsfw) : state.postListed(p, q.nsfw)) &&
				(owner === undefined || (owner !== null && p.userId === owner.id)) &&
				(q.tag === null || p.tags.includes(q.tag)) &&
				inPeriod(p.createdAt, q.period, now),
		);
		return sortFeed(items, q.sort);
	};

	const mediaFeed = (q: FeedQuery, owner: UserRec | null | undefined, viewer: UserRec | null = null): MediaRec[] => {
		const now = core.now();
		const own = ownView(owner, viewer);
		const items = [...state.media.values()].filter((m) => {
			if (!(own ? moderationListed(m.moderation, q.nsfw) : state.mediaListed(m, q.nsfw))) return false;
			if (owner !== undefined && (owner === null || m.userId !== owner.id)) return false;
			if (q.tag !== null) {
				const post = m.postId === null ? undefined : state.posts.get(m.postId);
				if (!post?.tags.includes(q.tag)) return false;
			}
			return inPeriod(m.createdAt, q.period, now);
		});
		return sortFeed(items, q.sort);
	};

	/** `?username=` on the feeds: undefined = no filter, null = unknown user (empty result). */
	const usernameFilter = (q: FeedQuery): UserRec | null | undefined =>
		q.username === null ? undefined : (state.usersByName.get(q.username) ?? null);

	const findUser = (username: string | undefined): UserRec => {
		const u = username === undefined ? undefined : state.usersByName.get(username);
		if (!u) throw notFound();
		return u;
	};

	/** A post addressed by `{post}` (id or slug) that the caller may see; else 404. */
	const visiblePost = (ctx: Ctx, param: string | undefined): PostRec => {
		const p = param === undefined ? undefined : state.resolvePostParam(param);
		if (!p || !state.canViewPost(p, ctx.user, ctx.query.get("key"))) throw notFound();
		return p;
	};

	const ownedPost = (ctx: Ctx, slug: string | undefined): PostRec => {
		const user = requireUser(ctx);
		const p = slug === undefined ? undefined : state.postsBySlug.get(slug);
		if (!p) throw notFound();
		if (p.userId !== user.id) throw forbidden();
		return p;
	};

	const ownedMedia = (ctx: Ctx, slug: string | undefined): MediaRec => {
		const user = requireUser(ctx);
		const m = slug === undefined ? undefined : state.mediaBySlug.get(slug);
		if (!m) throw notFound();
		if (m.userId !== user.id) throw forbidden();
		return m;
	};

	const findComment = (id: string | undefined): CommentRec => {
		const c = id !== undefined && /^\d+$/.test(id) ? state.comments.get(Number(id)) : undefined;
		if (!c) throw notFound();
		return c;
	};

	// ----- media --------------------------------------------------------------------------

	r.add("GET", "/media", (ctx) => {
		const q = readFeedQuery(ctx.query);
		const items = mediaFeed(q, usernameFilter(q));
		sendJson(
			ctx,
			200,
			paginate(items, q.page, listUrl("/media"), ctx.query, (m) => state.serializeMedia(m)),
		);
	});

	r.add("GET", "/media/:slug", (ctx, { slug }) => {
		const m = slug === undefined ? undefined : state.mediaBySlug.get(slug);
		const isOwner = m !== undefined && ctx.user !== null && m.userId === ctx.user.id;
		if (!m || (m.moderation === "rejected" && !isOwner)) throw notFound();
		sendJson(ctx, 200, { data: state.serializeMedia(m) });
	});

	r.add("PATCH", "/media/:slug", async (ctx, { slug }) => {
		const input = await readInput(ctx);
		const m = ownedMedia(ctx, slug);
		const errors = new ValidationErrors();
		const title = optionalString(input, "title", errors, IMGPILE_LIMITS.maxTitleLength);
		const description = optionalString(input, "description", errors);
		errors.throwIfAny();
		if (title !== undefined) m.title = title;
		if (description !== undefined) m.description = description;
		sendJson(ctx, 200, { message: "Media updated successfully" } satisfies MessageResponse);
	});

	r.add("DELETE", "/media/:slug", async (ctx, { slug }) => {
		await readInput(ctx);
		const m = ownedMedia(ctx, slug);
		state.deleteMedia(m);
		sendJson(ctx, 200, { message: "Media deleted successfully." } satisfies MessageResponse);
	});

	// ----- posts --------------------------------------------------------------------------

	r.add("GET", "/posts", (ctx) => {
		const q = readFeedQuery(ctx.query);
		const items = postFeed(q, usernameFilter(q));
		sendJson(
			ctx,
			200,
			paginate(items, q.page, listUrl("/posts"), ctx.query, (p) => state.serializePost(p, ctx.user, { kind: "list" })),
		);
	});

	r.add("GET", "/posts/:slug", (ctx, { slug }) => {
		const p = slug === undefined ? undefined : state.postsBySlug.get(slug);
		if (!p || !state.canViewPost(p, ctx.user, ctx.query.get("key"))) throw notFound();
		const mp = parseInteger(ctx.query.get("mediaPage"));
		const pp = parseInteger(ctx.query.get("perPage"));
		const mediaPage = mp !== undefined && mp >= 1 ? mp : 1;
		const perPage =
			pp !== undefined && pp >= 1 ? Math.min(pp, IMGPILE_LIMITS.maxPageSize) : IMGPILE_LIMITS.defaultPageSize;
		p.viewCount++;
		sendJson(ctx, 200, { data: state.serializePost(p, ctx.user, { kind: "single", mediaPage, perPage }) });
	});

	r.add("POST", "/posts", async (ctx) => {
		const input = await readInput(ctx);
		const user = requireUser(ctx);
		const errors = new ValidationErrors();
		const raw = input.media_ids;
		const ids: number[] = [];
		if (raw === undefined || raw === null || raw === "" || (Array.isArray(raw) && raw.length === 0)) {
			errors.add("media_ids", "The media ids field is required.");
		} else if (!Array.isArray(raw)) {
			errors.add("media_ids", "The media ids field must be an array.");
		} else {
			raw.forEach((v, i) => {
				const id = parseInteger(v);
				if (id === undefined) errors.add(`media_ids.${i}`, `The media ids.${i} field must be an integer.`);
				else if (!state.media.has(id)) errors.add(`media_ids.${i}`, `The selected media ids.${i} is invalid.`);
				else ids.push(id);
			});
		}
		errors.throwIfAny();
		const media = [...new Set(ids)].map((id) => state.media.get(id) as MediaRec);
		if (media.some((m) => m.userId !== user.id)) throw forbidden();
		const post = state.addPost({
			title: null,
			description: null,
			userId: user.id,
			mediaIds: [],
			visibility: "public",
			accessKey: null,
			moderation: core.defaultModeration,
			createdAt: core.now(),
			tags: [],
		});
		for (const m of media) state.attachMedia(m, post);
		const body: CreatePostResponse = { message: "Post created successfully", post: { id: post.id, slug: post.slug } };
		sendJson(ctx, 201, body);
	});

	r.add("PATCH", "/posts/:slug", async (ctx, { slug }) => {
		const input = await readInput(ctx);
		const p = ownedPost(ctx, slug);
		const errors = new ValidationErrors();
		const title = optionalString(input, "title", errors, IMGPILE_LIMITS.maxTitleLength);
		const description = optionalString(input, "description", errors);

		let visibility: (typeof VISIBILITIES)[number] | undefined;
		const rawVis = normalizeInput(input.visibility);
		if (rawVis !== undefined && rawVis !== null) {
			if (VISIBILITIES.includes(rawVis as (typeof VISIBILITIES)[number]))
				visibility = rawVis as (typeof VISIBILITIES)[number];
			else errors.add("visibility", "The selected visibility is invalid.");
		}

		let isNsfw: boolean | undefined;
		if (input.is_nsfw !== undefined && input.is_nsfw !== null) {
			isNsfw = parseBool(input.is_nsfw);
			if (isNsfw === undefined) errors.add("is_nsfw", "The is nsfw field must be true or false.");
		}

		let mediaOrder: MediaRec[] | undefined;
		if (input.media_order !== undefined && input.media_order !== null) {
			const order = input.media_order;
			if (!Array.isArray(order)) {
				errors.add("media_order", "The media order field must be an array.");
			} else {
				const current = state.postMedia(p);
				const bySlug = new Map(current.map((m) => [m.slug, m]));
				const wanted = order.map((s) => (typeof s === "string" ? bySlug.get(s.trim()) : undefined));
				const complete =
					wanted.every((m) => m !== undefined) &&
					new Set(wanted).size === wanted.length &&
					wanted.length === current.length;
				if (complete) mediaOrder = wanted as MediaRec[];
				else errors.add("media_order", "The selected media order is invalid.");
			}
		}

		let tags: string[] | undefined;
		if ("tags" in input) {
			const raw = input.tags;
			if (raw === null) tags = [];
			else if (!Array.isArray(raw)) errors.add("tags", "The tags field must be an array.");
			else {
				let ok = true;
				raw.forEach((t, i) => {
					if (typeof t !== "string") {
						errors.add(`tags.${i}`, `The tags.${i} field must be a string.`);
						ok = false;
					} else if (charLength(t.trim()) > MAX_TAG_LENGTH) {
						errors.add(`tags.${i}`, `The tags.${i} field must not be greater than ${MAX_TAG_LENGTH} characters.`);
						ok = false;
					}
				});
				if (ok) {
					const normalized = normalizeTags(raw as string[]);
					if (normalized.length > MAX_TAGS)
						errors.add("tags", `The tags field must not have more than ${MAX_TAGS} items.`);
					else tags = normalized;
				}
			}
		}
		errors.throwIfAny();

		if (title !== undefined) p.title = title;
		if (description !== undefined) p.description = description;
		if (visibility !== undefined) {
			if (visibility === "private" && p.visibility !== "private") p.accessKey = state.newAccessKey();
			if (visibility !== "private") p.accessKey = null;
			p.visibility = visibility;
		}
		if (isNsfw !== undefined) p.moderation = nsfwModeration(p.moderation, isNsfw);
		if (mediaOrder) p.mediaIds = mediaOrder.map((m) => m.id);
		if (tags) p.tags = tags;
		const body: UpdatePostResponse = {
			message: "Post updated successfully",
			visibility: p.visibility,
			access_key: p.accessKey,
		};
		sendJson(ctx, 200, body);
	});

	r.add("DELETE", "/posts/:slug", async (ctx, { slug }) => {
		await readInput(ctx);
		const p = ownedPost(ctx, slug);
		state.deletePost(p);
		sendJson(ctx, 200, { message: "Post deleted successfully" } satisfies MessageResponse);
	});

	// ----- comments and votes ---------------------------------------------------------------

	r.add("POST", "/posts/:post/comments", async (ctx, { post }) => {
		const input = await readInput(ctx);
		const user = requireUser(ctx);
		const p = visiblePost(ctx, post);
		const errors = new ValidationErrors();
		const content = normalizeInput(input.content);
		if (content === null || content === undefined) errors.add("content", "The content field is required.");
		else if (typeof content !== "string") errors.add("content", "The content field must be a string.");
		else if (charLength(content) > IMGPILE_LIMITS.maxCommentLength)
			errors.add(
				"content",
				`The content field must not be greater than ${IMGPILE_LIMITS.maxCommentLength} characters.`,
			);
		let parentId: number | null = null;
		const rawParent = normalizeInput(input.parent_id);
		if (rawParent !== null && rawParent !== undefined) {
			const id = parseInteger(rawParent);
			if (id === undefined) errors.add("parent_id", "The parent id field must be an integer.");
			else if (state.comments.get(id)?.postId !== p.id) errors.add("parent_id", "The selected parent id is invalid.");
			else parentId = id;
		}
		errors.throwIfAny();
		const c = state.addComment({
			postId: p.id,
			userId: user.id,
			parentId,
			content: content as string,
			createdAt: core.now(),
		});
		const body: CreateCommentResponse = { success: true, comment: state.serializeComment(c, false) };
		sendJson(ctx, 201, body);
	});

	r.add("DELETE", "/comments/:id", async (ctx, { id }) => {
		await readInput(ctx);
		const user = requireUser(ctx);
		const c = findComment(id);
		if (c.userId !== user.id) throw forbidden();
		state.deleteComment(c);
		const body: DeleteCommentResponse = { success: true, message: "Comment deleted successfully" };
		sendJson(ctx, 200, body);
	});

	for (const [action, dir] of [
		["upvote", 1],
		["downvote", -1],
	] as const) {
		r.add("POST", `/posts/:post/${action}`, async (ctx, { post }) => {
			await readInput(ctx);
			const user = requireUser(ctx);
			const p = visiblePost(ctx, post);
			const outcome = toggleVote(p.votes, user.id, dir);
			const body: VoteResponse = { message: voteMessage("Post", dir, outcome), score: voteScore(p.votes) };
			sendJson(ctx, 200, body);
		});
		r.add("POST", `/comments/:id/${action}`, async (ctx, { id }) => {
			await readInput(ctx);
			const user = requireUser(ctx);
			const c = findComment(id);
			const p = state.posts.get(c.postId);
			if (!p || !state.canViewPost(p, user, ctx.query.get("key"))) throw notFound();
			const outcome = toggleVote(c.votes, user.id, dir);
			const body: VoteResponse = { message: voteMessage("Comment", dir, outcome), score: voteScore(c.votes) };
			sendJson(ctx, 200, body);
		});
	}

	// ----- users --------------------------------------------------------------------------

	r.add("GET", "/users/:username/posts", (ctx, { username }) => {
		const u = findUser(username);
		const q = readFeedQuery(ctx.query);
		const url = listUrl(`/users/${encodeURIComponent(u.username)}/posts`);
		sendJson(
			ctx,
			200,
			paginate(postFeed(q, u, ctx.user), q.page, url, ctx.query, (p) =>
				state.serializePost(p, ctx.user, { kind: "list" }),
			),
		);
	});

	r.add("GET", "/users/:username/media", (ctx, { username }) => {
		const u = findUser(username);
		const q = readFeedQuery(ctx.query);
		const url = listUrl(`/users/${encodeURIComponent(u.username)}/media`);
		sendJson(
			ctx,
			200,
			paginate(mediaFeed(q, u, ctx.user), q.page, url, ctx.query, (m) => state.serializeMedia(m)),
		);
	});

	r.add("GET", "/users/:username/comments", (ctx, { username }) => {
		const u = findUser(username);
		const page = readPageOnly(ctx.query);
		const nsfw = queryFlag(ctx.query.get("nsfw"));
		const items = [...state.comments.values()].filter((c) => {
			if (c.userId !== u.id) return false;
			const p = state.posts.get(c.postId);
			return p !== undefined && state.postListed(p, nsfw);
		});
		sortFeed(items, "latest");
		const url = listUrl(`/users/${encodeURIComponent(u.username)}/comments`);
		sendJson(
			ctx,
			200,
			paginate(items, page, url, ctx.query, (c) => state.serializeComment(c, true)),
		);
	});

	for (const which of ["followers", "following"] as const) {
		r.add("GET", `/users/:username/${which}`, (ctx, { username }) => {
			const u = findUser(username);
			const page = readPageOnly(ctx.query);
			const rows = state.follows
				.filter((f) => (which === "followers" ? f.followeeId === u.id : f.followerId === u.id))
				.sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
			const url = listUrl(`/users/${encodeURIComponent(u.username)}/${which}`);
			sendJson(
				ctx,
				200,
				paginate(rows, page, url, ctx.query, (f): UserSummary => {
					const other = state.userSummary(which === "followers" ? f.followerId : f.followeeId);
					return other ?? { username: "", avatar: null };
				}),
			);
		});
	}

	r.add("POST", "/users/:username/follow", async (ctx, { username }) => {
		await readInput(ctx);
		const me = requireUser(ctx);
		const u = findUser(username);
		if (u.id === me.id) throw new HttpError(422, { message: "You cannot follow yourself." });
		state.follow(me, u);
		sendJson(ctx, 200, { message: "User followed." } satisfies MessageResponse);
	});

	r.add("DELETE", "/users/:username/follow", async (ctx, { username }) => {
		await readInput(ctx);
		const me = requireUser(ctx);
		const u = findUser(username);
		state.unfollow(me, u);
		sendJson(ctx, 200, { message: "User unfollowed." } satisfies MessageResponse);
	});

	return r;
}

/** The moderation status after `is_nsfw` (also used when seeding). */
export function nsfwModeration(status: ModerationStatus, isNsfw: boolean): ModerationStatus {
	if (isNsfw && status === "approved") return "nsfw";
	if (!isNsfw && status === "nsfw") return "approved";
	return status;
}
