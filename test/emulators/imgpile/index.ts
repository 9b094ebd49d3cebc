/**
 * imgpile emulator: a loopback HTTP server pair that behaves as imgpile's API documentation says.
 *
 *   const emu = await startImgpileEmulator({ users: [{ username: "alice", token: "T" }] });
 *   emu.apiUrl    // http://127.0.0.1:P1/api/v1
 *   emu.uploadUrl // http://127.0.0.1:P2/api/v1/media
 *   emu.cdnUrl    // http://127.0.0.1:P2   (files at /f/{filename}.{ext})
 *
 * Modules: emulator.ts (listeners, dispatch, control API), api.ts (API routes), cdn.ts (files
 * and upload route), upload.ts (multipart streaming + validation), state.ts (model and wire
 * shapes), pagination.ts, ratelimit.ts, faults.ts, router.ts (404/405), http.ts (plumbing),
 * images.ts (tiny images built in code).
 *
 * Decisions where the reference is silent (the project's imgpile API decisions in docs/ARCHITECTURE.md apply too):
 *
 * Routing and errors
 * - Unknown routes and unknown slug/id/user: 404 {"message":"Not found."}. A known path with
 *   another method: 405 with Laravel's message ("The POST method is not supported for route
 *   api/v1/media. Supported methods: GET, HEAD.") and an `Allow` header; HEAD is served by GET
 *   routes. Trailing slashes are ignored. Order: rate limit -> 404/405 -> 401 -> 404 (record)
 *   -> 403 (owner) -> 422 (validation). Bodies are read first, so malformed JSON (400
 *   {"message":"Malformed JSON."}) wins over 404/403. Unexpected errors: 500 {"message":"Server Error"}.
 * - Request input: JSON (or urlencoded form) bodies; strings are trimmed and "" becomes null
 *   (Laravel's TrimStrings/ConvertEmptyStringsToNull). Validation answers Laravel's shape
 *   `{message, errors}`; with several failures the message is the first plus
 *   " (and N more error(s))". Attribute names in messages have "_" replaced by " "
 *   ("The media ids field is required.", "The is nsfw field must be true or false.").
 * - JSON bodies over 1 MiB: 413 {"message":"Payload too large."}.
 *
 * Auth and rate limits
 * - Every non-GET/HEAD needs a valid Bearer token (401). On GET a valid token identifies the
 *   viewer; an invalid one is ignored (guest).
 * - Fixed one-minute windows on `now`: per user (authPerMinute) when the token is valid, else per
 *   client IP (publicPerMinute). Every request on the API listener and the upload route counts,
 *   including ones answered 401/404/405/422. Refused requests (429) do not count. Every response
 *   of a counted request carries X-RateLimit-Limit/-Remaining; 429 adds Retry-After (whole
 *   seconds to the window end, >= 1) and X-RateLimit-Reset (epoch seconds).
 * - CDN file downloads (`/f/...`) are static: not rate limited and without X-RateLimit headers.
 * - Upload quota: uploadsPerDay stored files per user per fixed UTC day (on `now`); checked
 *   before the body is read, 429 {"message":"Too Many Attempts."} with Retry-After to the day end.
 *   Only stored uploads count. resetRateLimits() clears both minute and day counters.
 *
 * Uploads
 * - Order: quota 429 -> 422 (file required / not a file / type by sniffed bytes / size, then
 *   post_id integer/exists; all failures listed together) -> 403 (post_id not the caller's)
 *   -> 451 (banned SHA-256; nothing stored) -> 201. A `file` sent as a text field: 422 "The file
 *   field must be a file."; a non-multipart or broken multipart body counts as "no file".
 *   Only the first `file` part is used; others are drained.
 * - New media: moderation = defaultModeration, processed = true, width/height from the header
 *   (0 for videos or unreadable headers). `urls`: images have original + xs/sm/md/lg/xl (same
 *   bytes), videos original + thumb (a fixed 160x90 JPEG). While `processed` is false (see
 *   setProcessed) `urls` has only `original` and the CDN answers 404 for variants/thumb.
 * - Slugs are 7 random alphanumerics with at least one letter (never all digits, so `{post}`
 *   resolves unambiguously: digits = id, else slug). Ids are per-kind incrementing integers.
 *
 * Visibility and listings
 * - Public feeds (`/posts`, `/media`) and user listings (`/users/{u}/posts|media|comments`)
 *   apply the same rules, whoever asks (the owner too): only posts with visibility `public` and
 *   status `approved` (`nsfw` too with ?nsfw=1; `pending`/`rejected` never). Media listings
 *   show a media when its own status qualifies and, if it belongs to a post, the post is listed
 *   too; media not in any post are listed. Comment listings show comments on listed posts.
 * - `?username=` of an unknown user gives an empty page (not 404); `/users/{unknown}/...` is 404.
 * - `?tag=` is matched case-insensitively against post tags (media match through their post).
 * - Periods: day 24 h, week 7 d, month 30 d, year 365 d, all; relative to `now`.
 * - `page` that is not an integer >= 1 means 1 (Laravel); pages past the end are empty
 *   (from/to null) with prev pointing back. `limit` is validated (integer, 1..250).
 * - `sort` and `period` with unknown values: 422 "The selected sort is invalid." etc.
 * - `GET /posts/{slug}`: slug only (not id). Hidden: anyone with the slug. Private: owner, or
 *   `?key=` equal to the access key, else 404. Rejected: owner only, else 404. Pending: readable.
 *   Each successful read increments view_count (the response shows the new count). `perPage`
 *   is capped at 250; invalid mediaPage/perPage fall back to 1/10.
 * - `GET /media/{slug}`: readable by anyone unless rejected (then owner only); media of private
 *   posts are readable by slug (their CDN links are public anyway).
 * - Comments and votes on a post the caller may not read (private without `?key=`, rejected)
 *   answer 404.
 *
 * Mutations
 * - `PATCH /posts`: only sent fields change. Setting `private` on a non-private post makes a new
 *   10-character access key (re-setting `private` keeps it); `public`/`hidden` clear it.
 *   `is_nsfw` only moves approved <-> nsfw. `media_order` must list exactly the post's media
 *   slugs once each (else 422 "The selected media order is invalid."). `tags: null` clears;
 *   tags are trimmed, lowercased, de-duplicated, empty ones dropped; > 50 chars or > 20 tags: 422.
 *   The response always carries the current `visibility` and `access_key`.
 * - `POST /posts`: duplicate media ids are used once; media already in another post move to the
 *   new one. New posts: public, no title, moderation = defaultModeration.
 * - `DELETE /posts/{slug}`: the post and its comments go; its media stay (detached, on the CDN).
 *   `DELETE /media/{slug}`: removed from its post, file deleted (CDN 404).
 * - `DELETE /comments/{id}`: comment author only; replies to it are deleted too.
 * - Votes may be cast on one's own content. Follow is idempotent; unfollowing a user one does
 *   not follow is 200 too; following oneself: 422 {"message":"You cannot follow yourself."}.
 * - followers/following are newest first, `{username, avatar}`.
 *
 * Control API
 * - Faults are checked first, before rate limiting, and do not use up rate budget; an injected
 *   status response still carries the caller's current X-RateLimit headers (fault headers win).
 *   Without `body`, an injected status answers a generic JSON message. A reset (or a request cut
 *   off by the client) is recorded with status 0.
 * - `requests` records every request on both listeners when it arrives; `status` and
 *   `bodyBytes` fill in as it is handled. Records also carry the request headers.
 * - `seedPost` media are real PNGs (8x6, 9x7, ...) stored like uploads; the returned post is the
 *   owner's single-post view with all its media.
 */
import type { Media, ModerationStatus, Post, Visibility } from "../../../src/imgpile/types.js";
import { Emulator } from "./emulator.js";
import type { FaultSpec } from "./faults.js";
import type { RecordedRequest } from "./http.js";

export type { FaultSpec } from "./faults.js";
export type { Listener, RecordedRequest } from "./http.js";

export interface ImgpileEmulatorOptions {
	/** Default "127.0.0.1". */
	host?: string;
	/** Default 0 (ephemeral). */
	apiPort?: number;
	/** Default 0 (ephemeral). */
	cdnPort?: number;
	users?: Array<{ username: string; token: string; avatar?: string | null }>;
	/** Defaults = documented: 30, 120, 1000, 100 MiB. */
	limits?: { publicPerMinute?: number; authPerMinute?: number; uploadsPerDay?: number; maxFileBytes?: number };
	/** Hex SHA-256 of files refused with 451 {"error":"This file is not allowed."}. */
	bannedSha256?: string[];
	/** Status of new uploads and posts, default "approved". */
	defaultModeration?: ModerationStatus;
	/** Default: a fresh mkdtemp dir, removed on close(). */
	storageDir?: string;
	/** Clock (ms) for rate-limit windows, created_at, period filters; default Date.now. */
	now?: () => number;
}

export interface SeedPostInput {
	username: string;
	mediaCount?: number;
	title?: string | null;
	description?: string | null;
	tags?: string[];
	visibility?: Visibility;
	isNsfw?: boolean;
	moderation?: ModerationStatus;
	createdAt?: string | Date;
}

export interface ImgpileEmulator {
	/** e.g. http://127.0.0.1:40001/api/v1 (no trailing slash). */
	readonly apiUrl: string;
	/** e.g. http://127.0.0.1:40002/api/v1/media */
	readonly uploadUrl: string;
	/** e.g. http://127.0.0.1:40002 (files at /f/{filename}.{ext}). */
	readonly cdnUrl: string;
	/** Every request on both listeners. */
	readonly requests: RecordedRequest[];
	addUser(u: { username: string; token: string; avatar?: string | null }): void;
	banSha256(hex: string): void;
	setModeration(kind: "post" | "media", slugOrId: string | number, status: ModerationStatus): void;
	setProcessed(mediaSlug: string, processed: boolean): void;
	/**
	 * Answers these URLs for a media instead of its CDN links (the CDN keeps serving the file), to
	 * see the bot cope with what imgpile might send: `{ lg: "javascript:alert(1)" }`. A user's
	 * avatar is set the same way through `addUser`.
	 */
	setMediaUrls(mediaSlug: string, urls: Partial<Media["urls"]>): void;
	/** Create content directly (for feed tests etc.): media are generated tiny PNGs owned by `username`. Returns the full post. */
	seedPost(p: SeedPostInput): Post;
	/** Changes a post as its owner (or imgpile) would: title, description, visibility (a private post gets an access key). */
	editPost(
		slugOrId: string | number,
		change: { title?: string | null; description?: string | null; visibility?: Visibility },
	): void;
	/** Sets a post's score (votes of anonymous voters on top of the users' own). */
	setScore(slugOrId: string | number, score: number): void;
	/** Deletes a post (its media stay), as its owner would. */
	removePost(slugOrId: string | number): void;
	/** Fault injection: the next `times` matching requests fail as described. */
	injectFault(f: FaultSpec): void;
	clearFaults(): void;
	resetRateLimits(): void;
	close(): Promise<void>;
}

export async function startImgpileEmulator(opts: ImgpileEmulatorOptions = {}): Promise<ImgpileEmulator> {
	return Emulator.start(opts);
}
