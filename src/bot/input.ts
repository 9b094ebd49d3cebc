import { charLength, isImgpileHost, postUrl, quoteInput, USERNAME } from "../discord/index.js";
import { IMGPILE_LIMITS, type UpdatePostBody, type Visibility } from "../imgpile/index.js";
import { UserError } from "./errors.js";

/** A post as a user named it: by slug (with the key a share link carried), or by numeric id. */
export type PostRefInput = { kind: "slug"; slug: string; key?: string | undefined } | { kind: "id"; id: number };

export const SLUG = /^[A-Za-z0-9]{4,16}$/;
const KEY = /^[A-Za-z0-9_-]{4,40}$/;
const NUMERIC = /^\d{1,15}$/;

/**
 * Parses a post reference: a slug, `https://imgpile.com/p/{slug}` (its `?key=` is kept), or, only
 * when `allowId` (the API takes ids in vote and comment paths), a numeric id. Anything else, and
 * links to other hosts, are refused with a UserError that says why.
 */
export function parsePostRef(input: string, options: { allowId?: boolean } = {}): PostRefInput {
	const text = input.trim();
	if (NUMERIC.test(text)) {
		if (options.allowId) return { kind: "id", id: Number(text) };
		throw new UserError("ref.numericId", { input: quoteInput(text), example: postUrl("abc1234") });
	}
	if (SLUG.test(text)) return { kind: "slug", slug: text };
	const url = asUrl(text);
	if (!url) throw new UserError("ref.notPost", { input: quoteInput(text), example: postUrl("abc1234") });
	if (!isImgpileHost(url))
		throw new UserError("ref.otherHost", { host: quoteInput(url.host), example: postUrl("abc1234") });
	const match = /^\/p\/([A-Za-z0-9]{4,16})\/?$/.exec(url.pathname);
	if (!match?.[1]) throw new UserError("ref.notPost", { input: quoteInput(text), example: postUrl("abc1234") });
	const key = url.searchParams.get("key") ?? undefined;
	if (key !== undefined) assertKey(key);
	return { kind: "slug", slug: match[1], key };
}

/** A post reference where the API needs the slug (GET/PATCH/DELETE /posts/{slug}). */
export function parsePostSlug(input: string): { slug: string; key?: string | undefined } {
	const ref = parsePostRef(input);
	if (ref.kind !== "slug")
		throw new UserError("ref.notPost", { input: quoteInput(input), example: postUrl("abc1234") });
	return { slug: ref.slug, key: ref.key };
}

/** An access key as typed (or carried by a link): letters, digits, `-` and `_`. */
export function assertKey(key: string): string {
	if (!KEY.test(key)) throw new UserError("ref.badKey");
	return key;
}

/** A media reference: its slug, or one of its direct CDN links (`…/f/{slug}[_size].{ext}`). */
export function parseMediaRef(input: string): string {
	const text = input.trim();
	if (SLUG.test(text)) return text;
	const url = asUrl(text);
	if (url && !isImgpileHost(url)) throw new UserError("ref.otherHostMedia", { host: quoteInput(url.host) });
	const match = url ? /^\/f\/([A-Za-z0-9]{4,16})(?:_[a-z]+)?\.[A-Za-z0-9]+$/.exec(url.pathname) : null;
	if (!match?.[1]) throw new UserError("ref.notMedia", { input: quoteInput(text) });
	return match[1];
}

function asUrl(text: string): URL | undefined {
	if (/\s/.test(text) || !/[./]/.test(text)) return undefined;
	try {
		const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
		return url.protocol === "https:" || url.protocol === "http:" ? url : undefined;
	} catch {
		return undefined;
	}
}

/** Items typed as one text, separated by commas and/or whitespace; empty ones dropped. */
export function splitList(input: string | null | undefined): string[] {
	return (input ?? "").split(/[\s,，、]+/u).filter((item) => item !== "");
}

/** Tags as typed: split, `#` stripped, de-duplicated case-insensitively (first spelling kept). */
export function parseTags(input: string | null | undefined): string[] {
	const seen = new Set<string>();
	const tags: string[] = [];
	for (const raw of splitList(input)) {
		const tag = raw.replace(/^#+/, "");
		if (tag === "" || seen.has(tag.toLowerCase())) continue;
		seen.add(tag.toLowerCase());
		tags.push(tag);
	}
	return tags;
}

const TAG = /^[\p{L}\p{N}_.-]{1,50}$/u;

/** One tag as typed, the way feeds and notifications match it: trimmed, `#` stripped, lowercased; else refused. */
export function parseTag(input: string): string {
	const clean = input.trim().replace(/^#+/, "").toLowerCase();
	if (!TAG.test(clean)) throw new UserError("feed.add.badTag", { input: quoteInput(input) });
	return clean;
}

/** An imgpile username as typed (a leading `@` is dropped); anything else is refused before asking imgpile. */
export function parseUsername(input: string): string {
	const text = input.trim().replace(/^@/, "");
	if (!USERNAME.test(text)) throw new UserError("social.badUsername", { input: quoteInput(input.trim()) });
	return text;
}

// ── Post details ────────────────────────────────────────────────────────────

export const VISIBILITIES: readonly Visibility[] = ["public", "hidden", "private"];

/** A title within imgpile's limit, else refused before anything is sent. */
export function checkTitle(title: string): string {
	const length = charLength(title);
	if (length > IMGPILE_LIMITS.maxTitleLength) {
		throw new UserError("input.titleTooLong", { length, max: IMGPILE_LIMITS.maxTitleLength });
	}
	return title;
}

/** Post details as given in options or a form; null or absent means "not given". */
export interface PostDetailsInput {
	title?: string | null;
	description?: string | null;
	tags?: string | null;
	visibility?: string | null;
	nsfw?: boolean | null;
}

/**
 * The post details given, for `POST /posts` or `PATCH /posts/{slug}`: title and description
 * trimmed (blank means not given), tags parsed, visibility checked. Refused before anything is
 * sent when invalid.
 */
export function parsePostDetails(input: PostDetailsInput): UpdatePostBody {
	const details: UpdatePostBody = {};
	const title = input.title?.trim();
	if (title) details.title = checkTitle(title);
	const description = input.description?.trim();
	if (description) details.description = description;
	const tags = parseTags(input.tags);
	if (tags.length > 0) details.tags = tags;
	const visibility = input.visibility;
	if (visibility !== null && visibility !== undefined) {
		if (!VISIBILITIES.includes(visibility as Visibility)) throw new UserError("input.badVisibility");
		details.visibility = visibility as Visibility;
	}
	if (input.nsfw !== null && input.nsfw !== undefined) details.is_nsfw = input.nsfw;
	return details;
}

// ── Button arguments ────────────────────────────────────────────────────────

/** The `{username}` and `{page}` of a list button, checked. */
export function listButtonArgs(args: string[]): { username: string; page: number } {
	const [username = "", pageText = ""] = args;
	const page = Number(pageText);
	if (!USERNAME.test(username) || !Number.isInteger(page) || page < 1) throw new UserError("error.unknownAction");
	return { username, page };
}
