/**
 * What imgpile things look like in Discord, shared by the commands that show them: post links,
 * post and media references typed by users, moderation labels, the NSFW rule, and the post
 * gallery (embeds + media pagination buttons).
 */
import {
	type ActionRowData,
	type APIButtonComponentWithURL,
	type APIEmbed,
	type APIEmbedField,
	type AutocompleteInteraction,
	type ButtonInteraction,
	ButtonStyle,
	ComponentType,
	escapeMarkdown,
	type MessageActionRowComponentData,
} from "discord.js";
import type { Translate } from "../i18n/index.js";
import {
	IMGPILE_LIMITS,
	type ImgpileClient,
	ImgpileNotFoundError,
	type Media,
	type ModerationStatus,
	type Post,
} from "../imgpile/index.js";
import { customId } from "./custom-id.js";
import { UserError } from "./errors.js";
import type { HandlerContext } from "./types.js";

/** imgpile's public site (post pages). A later change may make it configurable. */
export const IMGPILE_WEB_URL = "https://imgpile.com";

/** Media shown per gallery page (one embed each; Discord groups up to 4 images of one url). */
export const GALLERY_PAGE_SIZE = 4;

/** custom_id name of the gallery's page buttons: `post-page:{slug}:{page}[:{key}]`. */
export const POST_PAGE_BUTTON = "post-page";

/** A post's public page; `key` (a private post's access key) adds `?key=`. */
export function postUrl(slug: string, key?: string | null): string {
	const url = `${IMGPILE_WEB_URL}/p/${encodeURIComponent(slug)}`;
	return key ? `${url}?key=${encodeURIComponent(key)}` : url;
}

/** Discord's limits on a URL in an embed, and on a link button's. */
export const EMBED_URL_MAX = 2048;
export const BUTTON_URL_MAX = 512;

/**
 * `value` when Discord takes it as an embed or button URL: a string, http(s) with `//` and a host,
 * no whitespace or control characters, at most `max` long. Anything else (from imgpile: a
 * malformed avatar or preview) is left out, so the message goes without it instead of being
 * refused whole with 50035.
 */
export function safeUrl(value: unknown, max = EMBED_URL_MAX): string | undefined {
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
	if (typeof value !== "string" || value.length > max || /[\s\u0000-\u001f\u007f]/.test(value)) return undefined;
	if (!/^https?:\/\/[^/?#]/i.test(value)) return undefined;
	try {
		return new URL(value).hostname === "" ? undefined : value;
	} catch {
		return undefined;
	}
}

/** A link button to `url`, or none when Discord would refuse the URL. */
export function linkButton(label: string, url: string): APIButtonComponentWithURL | undefined {
	const safe = safeUrl(url, BUTTON_URL_MAX);
	return safe ? { type: ComponentType.Button, style: ButtonStyle.Link, label, url: safe } : undefined;
}

// ── References typed by users ───────────────────────────────────────────────

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

/** Length as imgpile counts it (code points), for the 255-character title limit. */
export function charLength(text: string): number {
	let n = 0;
	for (const _ of text) n++;
	return n;
}

/** User input echoed back in a message: inline-code safe, and short. */
export function quoteInput(text: string, max = 60): string {
	const clean = text.replace(/[`\n\r]/g, "'");
	return charLength(clean) > max ? `${[...clean].slice(0, max - 1).join("")}…` : clean;
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

function isImgpileHost(url: URL): boolean {
	const site = new URL(IMGPILE_WEB_URL).hostname;
	const host = url.hostname.toLowerCase();
	return host === site || host === `www.${site}` || host === `cdn.${site}`;
}

// ── Moderation and the NSFW rule ────────────────────────────────────────────

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

/** The image to preview a media with: a large variant for images, the thumbnail for videos. */
export function mediaPreviewUrl(media: Media): string | undefined {
	if (media.type.startsWith("video/")) return media.urls.thumb;
	if (!media.type.startsWith("image/")) return undefined;
	return media.urls.lg ?? media.urls.xl ?? media.urls.original;
}

// ── The post gallery ────────────────────────────────────────────────────────

export interface GalleryOptions {
	/** The post as read with `mediaPage = page`, `perPage = GALLERY_PAGE_SIZE`. */
	post: Post;
	page: number;
	/** Whether the channel is age-restricted. */
	nsfwAllowed: boolean;
	/**
	 * The access key, for private posts shown ephemerally only: it goes into the link and the
	 * page buttons' custom_id. Never pass it for a message others can see.
	 */
	key?: string | undefined;
}

export interface GalleryMessage {
	content: string;
	embeds: APIEmbed[];
	components: ActionRowData<MessageActionRowComponentData>[];
}

export function galleryPageCount(post: Post): number {
	return Math.max(1, Math.ceil(post.media_count / GALLERY_PAGE_SIZE));
}

/**
 * A post as a gallery: one embed per media of the page (the first carries title, author, score,
 * media count, tags and moderation label; all share the post url so Discord groups the images),
 * previous/next buttons, and a link button. An NSFW post outside an age-restricted channel is
 * a warning line and the link only (the link wrapped so Discord does not unfurl it).
 */
export function postGallery(t: Translate, options: GalleryOptions): GalleryMessage {
	const { post, nsfwAllowed, key } = options;
	const link = postUrl(post.slug, key);
	const pages = galleryPageCount(post);
	const page = Math.min(Math.max(1, options.page), pages);
	const open = linkButton(t("post.button.open"), link);
	const linkRow: MessageActionRowComponentData[] = open ? [open] : [];

	if (post.moderation_status === "nsfw" && !nsfwAllowed) {
		return {
			content: t("nsfw.postHidden", { link: `<${link}>` }),
			embeds: [],
			components: open ? [{ type: ComponentType.ActionRow, components: linkRow }] : [],
		};
	}

	const fields: APIEmbedField[] = [
		{ name: t("post.field.score"), value: String(post.score), inline: true },
		{ name: t("post.field.media"), value: String(post.media_count), inline: true },
		{ name: t("post.field.views"), value: String(post.view_count), inline: true },
	];
	if (post.tags && post.tags.length > 0) {
		fields.push({ name: t("post.field.tags"), value: safeText(post.tags.map((tag) => `#${tag}`).join(" "), 1024) });
	}
	const label = moderationLabel(t, post.moderation_status);
	if (label) fields.push({ name: t("post.field.status"), value: label });

	const media = (post.media ?? []).slice(0, GALLERY_PAGE_SIZE);
	const lines: string[] = [];
	let hidden = 0;
	const images = media.map((item) => {
		const preview = mayPreview(post.moderation_status, nsfwAllowed) && mayPreview(item.moderation_status, nsfwAllowed);
		if (!preview && item.moderation_status === "nsfw") hidden++;
		return preview ? safeUrl(mediaPreviewUrl(item)) : undefined;
	});
	if (hidden > 0) lines.push(t("nsfw.mediaHidden", { count: hidden }));

	const main: APIEmbed = {
		title: post.title ? safeText(post.title, 256) : t("post.untitled"),
		url: safeUrl(link),
		fields,
		footer: { text: `${t("post.page", { page, pages })} · ${post.slug}` },
		timestamp: validTimestamp(post.created_at),
	};
	if (post.description) main.description = safeText(post.description, 1000);
	if (post.user) {
		main.author = { name: truncate(post.user.username, 256) };
		const avatar = safeUrl(post.user.avatar);
		if (avatar) main.author.icon_url = avatar;
	}
	const first = images[0];
	if (first) main.image = { url: first };
	const embeds: APIEmbed[] = [main];
	for (const image of images.slice(1)) if (image) embeds.push({ url: main.url, image: { url: image } });

	const components: ActionRowData<MessageActionRowComponentData>[] = [];
	const buttons: MessageActionRowComponentData[] = [];
	if (pages > 1) {
		const pageId = (target: number) =>
			key ? customId(POST_PAGE_BUTTON, post.slug, target, key) : customId(POST_PAGE_BUTTON, post.slug, target);
		buttons.push(
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.prev"),
				customId: pageId(page - 1),
				disabled: page <= 1,
			},
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.next"),
				customId: pageId(page + 1),
				disabled: page >= pages,
			},
		);
	}
	buttons.push(...linkRow);
	if (buttons.length > 0) components.push({ type: ComponentType.ActionRow, components: buttons });
	return { content: lines.join("\n"), embeds, components };
}

/** Bold, markdown-escaped user text for message content (titles in prompts). */
export function boldText(text: string, max = 200): string {
	return `**${safeText(text, max)}**`;
}

/**
 * At most `max` code points (as Discord counts its limits), `…` marking a cut; never splits a
 * surrogate pair.
 */
export function truncate(text: string, max: number): string {
	if (text.length <= max) return text;
	const points = [...text];
	return points.length > max ? `${points.slice(0, max - 1).join("")}…` : text;
}

/**
 * Untrusted text (from imgpile or users) for anything Discord renders as Markdown: shown as
 * typed, never formatting, linking or mentioning. discord.js' escapeMarkdown covers emphasis,
 * code, spoilers and, when asked, `#`-headings and lists; on top of it: every bracket (its
 * masked-link escape handles one link per line only), subtext `-# `, quotes and headings at any
 * indent, and mentions (`@everyone`, `@here`, `<@id>`, `<@&id>`, `<#id>`, `</cmd:id>`, `<t:…>`).
 */
export function escapeText(text: string): string {
	return escapeMarkdown(text, { heading: true, bulletedList: true, numberedList: true })
		.replace(/[[\]]/g, "\\$&")
		.replace(/^([ \t]*)(-#|>|#)/gm, "$1\\$2")
		.replace(/[<@]/g, "\\$&");
}

/** `escapeText`, then at most `max` code points; a cut never leaves a dangling `\\` escaping the `…`. */
export function safeText(text: string, max: number): string {
	const escaped = escapeText(text);
	if (escaped.length <= max) return escaped;
	const points = [...escaped];
	if (points.length <= max) return escaped;
	const kept = points.slice(0, max - 1);
	let slashes = 0;
	while (slashes < kept.length && kept[kept.length - 1 - slashes] === "\\") slashes++;
	if (slashes % 2 === 1) kept.pop();
	return `${kept.join("")}…`;
}

function validTimestamp(value: string): string | undefined {
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

// ── Autocomplete from the user's recent uploads ─────────────────────────────

export interface RecentMedia {
	slug: string;
	filename: string;
}

/**
 * Autocomplete choices from recent uploads: `filename (slug)`. With `multiple`, the text typed so
 * far is a list: the finished items are kept and the last one is completed.
 */
export function recentMediaChoices(
	recent: readonly RecentMedia[],
	typed: string,
	options: { multiple?: boolean } = {},
): { name: string; value: string }[] {
	const items = options.multiple ? splitList(typed) : [typed.trim()];
	const endsWithSeparator = options.multiple && /[\s,，、]$/u.test(typed);
	const done = endsWithSeparator ? items : items.slice(0, -1);
	const partial = (endsWithSeparator ? "" : (items.at(-1) ?? "")).toLowerCase();
	const chosen = new Set(done);
	const prefix = done.join(" ");
	const choices: { name: string; value: string }[] = [];
	for (const record of recent) {
		if (chosen.has(record.slug)) continue;
		const label = `${record.filename} (${record.slug})`;
		if (partial && !label.toLowerCase().includes(partial)) continue;
		const value = prefix ? `${prefix} ${record.slug}` : record.slug;
		if (value.length > 100) continue;
		const name = prefix ? `${truncate(prefix, 40)} + ${label}` : label;
		choices.push({ name: truncate(name, 100), value });
		if (choices.length === 25) break;
	}
	return choices;
}

// ── Handler helpers shared by the post and media commands ───────────────────

/** A title within imgpile's limit, else refused before anything is sent. */
export function checkTitle(title: string): string {
	const length = charLength(title);
	if (length > IMGPILE_LIMITS.maxTitleLength) {
		throw new UserError("input.titleTooLong", { length, max: IMGPILE_LIMITS.maxTitleLength });
	}
	return title;
}

/** The confirm and cancel buttons of a deletion, bound to the user who asked. */
export function confirmRow(
	t: Translate,
	confirmName: string,
	cancelName: string,
	slug: string,
	userId: string,
): ActionRowData<MessageActionRowComponentData>[] {
	return [
		{
			type: ComponentType.ActionRow,
			components: [
				{
					type: ComponentType.Button,
					style: ButtonStyle.Danger,
					label: t("delete.button.confirm"),
					customId: customId(confirmName, slug, userId),
				},
				{
					type: ComponentType.Button,
					style: ButtonStyle.Secondary,
					label: t("delete.button.cancel"),
					customId: customId(cancelName, slug, userId),
				},
			],
		},
	];
}

/** The slug of a confirm/cancel button, after checking that its presser is the user who asked. */
export function confirmedSlug(interaction: ButtonInteraction, args: string[]): string {
	const [slug = "", requester] = args;
	if (!SLUG.test(slug)) throw new UserError("error.unknownAction");
	if (requester !== undefined && requester !== interaction.user.id) throw new UserError("delete.notYours");
	return slug;
}

/** Runs an imgpile call; a 404 names the thing looked up ("post `abc1234`"). */
export async function naming<T>(what: string, call: () => Promise<T>): Promise<T> {
	try {
		return await call();
	} catch (error) {
		if (error instanceof ImgpileNotFoundError) throw new UserError("imgpile.notFound", { what });
		throw error;
	}
}

/** For reads: the user's own token when linked (owners see their private posts), else a guest. */
export async function readerFor(
	ctx: HandlerContext,
	who: { guildId: string | null; user: { id: string } },
): Promise<ImgpileClient> {
	const linked = await ctx.store.tokens.resolve(who.guildId, who.user.id);
	return ctx.imgpile.as(linked?.token);
}

/** Suggestions from the user's recent uploads for a `media` option. */
export async function recentMediaAutocomplete(
	ctx: HandlerContext,
	interaction: AutocompleteInteraction,
	multiple: boolean,
): Promise<void> {
	const focused = interaction.options.getFocused(true);
	if (focused.name !== "media") {
		await interaction.respond([]);
		return;
	}
	const recent = await ctx.store.uploads.recent(interaction.user.id);
	await interaction.respond(recentMediaChoices(recent, String(focused.value), { multiple }));
}
