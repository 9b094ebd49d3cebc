import { ImgpileHttpError, ImgpileNotFoundError, ImgpileUnauthorizedError } from "./errors.js";
import { ImgpileHttp, type ImgpileHttpOptions, type RetryPolicy } from "./http.js";
import { multipartBody, type UploadFile } from "./multipart.js";
import type {
	Comment,
	CreateCommentResponse,
	CreatePostResponse,
	DeleteCommentResponse,
	ListedPage,
	ListQuery,
	Media,
	MessageResponse,
	Page,
	PageQuery,
	Post,
	UpdateMediaBody,
	UpdatePostBody,
	UpdatePostResponse,
	UploadResponse,
	UserSummary,
	VoteResponse,
} from "./types.js";
import { IMGPILE_LIMITS } from "./types.js";

/** A post by numeric id or slug: the API takes both (docs/ARCHITECTURE.md, imgpile API decision 1). */
export type PostRef = string | number;

export interface CallOptions {
	signal?: AbortSignal | undefined;
}

export interface UploadOptions extends CallOptions {
	/** Attach the new media to an existing post. */
	postId?: number | undefined;
	/** File bytes handed to the network so far, and the total when known. */
	onProgress?: ((sent: number, total: number | undefined) => void) | undefined;
}

export interface GetPostOptions extends CallOptions {
	mediaPage?: number | undefined;
	perPage?: number | undefined;
	/** Access key of a private post. */
	key?: string | undefined;
}

/**
 * A single-attempt read for a caller that keeps imgpile's limits on its own clock (the feeds):
 * never retried, a 429 left to the caller, and never waiting long on this identity's lane.
 */
export interface SingleAttemptOptions extends CallOptions {
	/** Response timeout (headers, and silence in the body). Default: the transport's. */
	timeoutMs?: number | undefined;
	/** Fail at once with a 429 when imgpile told this identity to wait longer than this. Default 5 s. */
	maxBlockedMs?: number | undefined;
}

export interface PaginateOptions extends CallOptions {
	/** Stop after this many pages (default 10). */
	maxPages?: number | undefined;
}

/**
 * imgpile for one identity: a token, or none for guest (read-only) use.
 * Built by `Imgpile.as(token)`; all identities share one transport and its per-token pacing.
 */
export class ImgpileClient {
	readonly #http: ImgpileHttp;
	readonly #token: string | undefined;

	constructor(http: ImgpileHttp, token: string | undefined) {
		this.#http = http;
		this.#token = token;
	}

	get authenticated(): boolean {
		return this.#token !== undefined;
	}

	// ── Media ────────────────────────────────────────────────────────────────

	/**
	 * `POST /media` on the upload host. The file is streamed; it is never retried here once
	 * sent (a duplicate would burn the user's daily quota), so a failure goes to the caller.
	 */
	async uploadMedia(file: UploadFile, options: UploadOptions = {}): Promise<Media> {
		const url = this.#http.uploadUrl;
		const fields: Record<string, string> = {};
		if (options.postId !== undefined) fields.post_id = String(options.postId);
		const multipart = multipartBody({
			fields,
			file,
			fileField: "file",
			maxFileBytes: this.#http.maxFileBytes,
			onProgress: options.onProgress,
			request: { method: "POST", path: url.pathname },
		});
		const headers: Record<string, string> = { "content-type": multipart.contentType };
		if (multipart.length !== undefined) headers["content-length"] = String(multipart.length);
		const { body } = await this.#http.send<UploadResponse>({
			method: "POST",
			url,
			token: this.#requireToken(),
			body: multipart.body,
			headers,
			signal: options.signal,
			retry: "never",
		});
		return body.media;
	}

	async listMedia(query: ListQuery = {}, options: CallOptions = {}): Promise<Page<Media>> {
		return this.#get("/media", listParams(query), options);
	}

	async getMedia(slug: string, options: CallOptions = {}): Promise<Media> {
		const { data } = await this.#get<{ data: Media }>(`/media/${seg(slug)}`, {}, options);
		return data;
	}

	async updateMedia(slug: string, body: UpdateMediaBody, options: CallOptions = {}): Promise<MessageResponse> {
		return this.#write("PATCH", `/media/${seg(slug)}`, body, options);
	}

	async deleteMedia(slug: string, options: CallOptions = {}): Promise<MessageResponse> {
		return this.#write("DELETE", `/media/${seg(slug)}`, undefined, options);
	}

	// ── Posts ────────────────────────────────────────────────────────────────

	async listPosts(query: ListQuery = {}, options: CallOptions = {}): Promise<Page<Post>> {
		return this.#get("/posts", listParams(query), options);
	}

	/** `GET /posts` once (see SingleAttemptOptions), with the rate-limit headers. */
	async listPostsOnce(query: ListQuery = {}, options: SingleAttemptOptions = {}): Promise<ListedPage<Post>> {
		return this.#listOnce(this.#http.apiEndpoint("/posts", listParams(query)), options);
	}

	/** The page `links.next` points at, read once (see SingleAttemptOptions); null on the last page. */
	async nextPageOnce<T>(page: Page<T>, options: SingleAttemptOptions = {}): Promise<ListedPage<T> | null> {
		const url = this.#nextUrl(page);
		return url ? this.#listOnce<T>(url, options) : null;
	}

	async getPost(slug: string, options: GetPostOptions = {}): Promise<Post> {
		const { data } = await this.#get<{ data: Post }>(
			`/posts/${seg(slug)}`,
			{ mediaPage: options.mediaPage, perPage: options.perPage, key: options.key },
			options,
		);
		return data;
	}

	async createPost(mediaIds: readonly number[], options: CallOptions = {}): Promise<CreatePostResponse["post"]> {
		const { post } = await this.#write<CreatePostResponse>("POST", "/posts", { media_ids: mediaIds }, options);
		return post;
	}

	async updatePost(slug: string, body: UpdatePostBody, options: CallOptions = {}): Promise<UpdatePostResponse> {
		if (body.title && body.title.length > IMGPILE_LIMITS.maxTitleLength) {
			throw new RangeError(`title is longer than ${IMGPILE_LIMITS.maxTitleLength} characters`);
		}
		return this.#write("PATCH", `/posts/${seg(slug)}`, body, options);
	}

	async deletePost(slug: string, options: CallOptions = {}): Promise<MessageResponse> {
		return this.#write("DELETE", `/posts/${seg(slug)}`, undefined, options);
	}

	// ── Comments ─────────────────────────────────────────────────────────────

	async createComment(
		post: PostRef,
		comment: { content: string; parentId?: number | undefined },
		options: CallOptions = {},
	): Promise<Comment> {
		if (comment.content.length > IMGPILE_LIMITS.maxCommentLength) {
			throw new RangeError(`comment is longer than ${IMGPILE_LIMITS.maxCommentLength} characters`);
		}
		const body: Record<string, unknown> = { content: comment.content };
		if (comment.parentId !== undefined) body.parent_id = comment.parentId;
		const response = await this.#write<CreateCommentResponse>("POST", `/posts/${seg(post)}/comments`, body, options);
		return response.comment;
	}

	async deleteComment(id: number, options: CallOptions = {}): Promise<DeleteCommentResponse> {
		return this.#write("DELETE", `/comments/${seg(id)}`, undefined, options);
	}

	// ── Votes (each call toggles) ────────────────────────────────────────────

	async upvotePost(post: PostRef, options: CallOptions = {}): Promise<VoteResponse> {
		return this.#write("POST", `/posts/${seg(post)}/upvote`, undefined, options);
	}

	async downvotePost(post: PostRef, options: CallOptions = {}): Promise<VoteResponse> {
		return this.#write("POST", `/posts/${seg(post)}/downvote`, undefined, options);
	}

	async upvoteComment(id: number, options: CallOptions = {}): Promise<VoteResponse> {
		return this.#write("POST", `/comments/${seg(id)}/upvote`, undefined, options);
	}

	async downvoteComment(id: number, options: CallOptions = {}): Promise<VoteResponse> {
		return this.#write("POST", `/comments/${seg(id)}/downvote`, undefined, options);
	}

	// ── Users ────────────────────────────────────────────────────────────────

	async userPosts(username: string, query: PageQuery = {}, options: CallOptions = {}): Promise<Page<Post>> {
		return this.#get(`/users/${seg(username)}/posts`, listParams(query), options);
	}
	async userMedia(username: string, query: PageQuery = {}, options: CallOptions = {}): Promise<Page<Media>> {
		return this.#get(`/users/${seg(username)}/media`, listParams(query), options);
	}
	async userComments(username: string, query: PageQuery = {}, options: CallOptions = {}): Promise<Page<Comment>> {
		return this.#get(`/users/${seg(username)}/comments`, listParams(query), options);
	}
	async followers(username: string, query: PageQuery = {}, options: CallOptions = {}): Promise<Page<UserSummary>> {
		return this.#get(`/users/${seg(username)}/followers`, listParams(query), options);
	}
	async following(username: string, query: PageQuery = {}, options: CallOptions = {}): Promise<Page<UserSummary>> {
		return this.#get(`/users/${seg(username)}/following`, listParams(query), options);
	}

	/** `GET /users/{username}/following` once (see SingleAttemptOptions), with the rate-limit headers. */
	async followingOnce(name: string, query: PageQuery, opts: SingleAttemptOptions): Promise<ListedPage<UserSummary>> {
		return this.#listOnce(this.#http.apiEndpoint(`/users/${seg(name)}/following`, listParams(query)), opts);
	}

	async follow(username: string, options: CallOptions = {}): Promise<MessageResponse> {
		return this.#write("POST", `/users/${seg(username)}/follow`, undefined, options);
	}

	async unfollow(username: string, options: CallOptions = {}): Promise<MessageResponse> {
		return this.#write("DELETE", `/users/${seg(username)}/follow`, undefined, options);
	}

	// ── Tokens ───────────────────────────────────────────────────────────────

	/**
	 * Whether imgpile accepts this client's token, with a request that changes nothing: a PATCH
	 * of a media slug that cannot exist (slugs are 7 alphanumerics). 401 → false, 404 → true.
	 */
	async verifyToken(options: CallOptions = {}): Promise<boolean> {
		try {
			await this.#write("PATCH", "/media/token-check", {}, options);
			return true;
		} catch (error) {
			if (error instanceof ImgpileUnauthorizedError) return false;
			if (error instanceof ImgpileNotFoundError) return true;
			throw error;
		}
	}

	// ── Pagination ───────────────────────────────────────────────────────────

	/** The page after `page`, following its `links.next`; null on the last page. */
	async nextPage<T>(page: Page<T>, options: CallOptions = {}): Promise<Page<T> | null> {
		const url = this.#nextUrl(page);
		return url ? this.#fetch<Page<T>>(url, options) : null;
	}

	#nextUrl(page: Page<unknown>): URL | null {
		if (!page.links.next) return null;
		const url = new URL(page.links.next, this.#http.apiUrl);
		if (!this.#http.isApiUrl(url)) {
			throw new Error(`refusing to follow a pagination link off the imgpile API: ${url.origin}`);
		}
		// Keep the filters of the first request even if imgpile's link leaves them out.
		for (const [name, value] of pageOrigins.get(page)?.searchParams ?? []) {
			if (name !== "page" && !url.searchParams.has(name)) url.searchParams.set(name, value);
		}
		return url;
	}

	/**
	 * Every page from the first one, following `links.next` until it is null or `maxPages` is
	 * reached. `first` fetches page one, e.g. `(o) => client.listPosts({ sort: "latest" }, o)`.
	 */
	async *pages<T>(first: (options: CallOptions) => Promise<Page<T>>, options: PaginateOptions = {}) {
		const maxPages = options.maxPages ?? 10;
		let page: Page<T> | null = await first(options);
		for (let count = 1; page; count++) {
			yield page;
			if (count >= maxPages) return;
			page = await this.nextPage(page, options);
		}
	}

	/** Every item across pages (see `pages`). */
	async *items<T>(first: (options: CallOptions) => Promise<Page<T>>, options: PaginateOptions = {}) {
		for await (const page of this.pages(first, options)) yield* page.data;
	}

	// ── Plumbing ─────────────────────────────────────────────────────────────

	async #get<T>(
		path: string,
		query: Record<string, string | number | boolean | undefined>,
		options: CallOptions,
	): Promise<T> {
		return this.#fetch<T>(this.#http.apiEndpoint(path, query), options);
	}

	async #fetch<T>(url: URL, options: CallOptions): Promise<T> {
		const { body } = await this.#http.send<T>({
			method: "GET",
			url,
			token: this.#token,
			signal: options.signal,
			retry: "idempotent",
		});
		if (isPage(body)) pageOrigins.set(body, url);
		return body;
	}

	async #listOnce<T>(url: URL, options: SingleAttemptOptions): Promise<ListedPage<T>> {
		const { status, body, limit, remaining } = await this.#http.send<unknown>({
			method: "GET",
			url,
			token: this.#token,
			signal: options.signal,
			retry: "never",
			timeoutMs: options.timeoutMs,
			ownPacing: { maxBlockedMs: options.maxBlockedMs ?? 5_000 },
		});
		const info = { method: "GET", path: url.pathname };
		if (!isPage(body) || typeof body.links !== "object" || body.links === null) {
			throw new ImgpileHttpError("server", status, { message: "not a page" }, info, true);
		}
		pageOrigins.set(body, url);
		return { page: body as Page<T>, limit, remaining };
	}

	async #write<T>(method: "POST" | "PATCH" | "DELETE", path: string, json: unknown, options: CallOptions): Promise<T> {
		const retry: RetryPolicy = method === "POST" ? "rejected-only" : "idempotent";
		const { body } = await this.#http.send<T>({
			method,
			url: this.#http.apiEndpoint(path),
			token: this.#requireToken(),
			json,
			signal: options.signal,
			retry,
		});
		return body;
	}

	#requireToken(): string {
		if (!this.#token) throw new Error("this imgpile call needs a token; use Imgpile.as(token)");
		return this.#token;
	}
}

/** The shared imgpile transport; `as(token)` gives a client for one identity. */
export class Imgpile {
	readonly http: ImgpileHttp;

	constructor(options: ImgpileHttpOptions) {
		this.http = new ImgpileHttp(options);
	}

	/** A client acting as the owner of `token`; no token = guest, read-only. */
	as(token?: string): ImgpileClient {
		return new ImgpileClient(this.http, token || undefined);
	}

	close(): Promise<void> {
		return this.http.close();
	}
}

/** The URL each page was read from, so that following its links keeps the same filters. */
const pageOrigins = new WeakMap<object, URL>();

function isPage(body: unknown): body is Page<unknown> {
	return typeof body === "object" && body !== null && "links" in body && "data" in body && Array.isArray(body.data);
}

function seg(value: string | number): string {
	const text = String(value);
	if (text === "" || text === "." || text === "..") throw new RangeError(`not a valid imgpile path segment: "${text}"`);
	return encodeURIComponent(text);
}

function listParams(query: ListQuery): Record<string, string | number | boolean | undefined> {
	if (query.limit !== undefined && (query.limit < 1 || query.limit > IMGPILE_LIMITS.maxPageSize)) {
		throw new RangeError(`limit must be between 1 and ${IMGPILE_LIMITS.maxPageSize}`);
	}
	return {
		tag: query.tag,
		sort: query.sort,
		period: query.period,
		limit: query.limit,
		page: query.page,
		username: query.username,
		nsfw: query.nsfw,
	};
}
