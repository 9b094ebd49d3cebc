/**
 * The answers of an upload or a rehost: one media (with its Delete and Make post buttons), a
 * post with a gallery, or the media as links; the files that did not make it, with why.
 */
import {
	type ActionRowData,
	type APIEmbed,
	ButtonStyle,
	ComponentType,
	type MessageActionRowComponentData,
} from "discord.js";
import {
	customId,
	linkButton,
	mayPreview,
	mediaPreviewUrl,
	postUrl,
	quoteInput,
	safeText,
	safeUrl,
} from "../../discord/index.js";
import type { Translate } from "../../i18n/index.js";
import type { Media } from "../../imgpile/index.js";
import type { MadePost } from "../posts.js";
import { type Done, type FileFailure, type FileResult, failed, succeeded } from "./files.js";
import { CONTENT_MAX, fitLines, formatBytes } from "./text.js";

/** custom_id names: `upload-delete:{slug}`, `upload-post:{slug}[:{postSlug}]` (button and modal). */
export const UPLOAD_DELETE_BUTTON = "upload-delete";
export const UPLOAD_POST_BUTTON = "upload-post";
export const UPLOAD_POST_MODAL = "upload-post";

const EMBEDS_MAX = 10;

export interface Answer {
	content: string;
	embeds: APIEmbed[];
	components: ActionRowData<MessageActionRowComponentData>[];
}

/** What `respond.edit` and channel messages take, with mentions off. */
export function sendable(answer: Answer) {
	return { ...answer, allowedMentions: { parse: [] as [] } };
}

/** A line naming a file that did not make it, and why. */
export function failureLine(t: Translate, name: string, failure: FileFailure): string {
	return t("upload.line.failed", { name: quoteInput(name, 60), reason: t(failure.key, failure.params) });
}

export function mediaLink(media: Media, spoiler: boolean): string {
	return spoiler ? `||${media.urls.original}||` : `<${media.urls.original}>`;
}

export interface SingleAnswerOptions {
	result: Done;
	/** Whether the channel is age-restricted (NSFW media are previewed only there). */
	nsfwAllowed: boolean;
	/** Lines before the answer (e.g. "rehosted by"), and after it (notes, refused files). */
	before?: string[];
	after?: string[];
	/** The post made from it later with the Make post button. */
	postSlug?: string | undefined;
}

/**
 * One media: an embed with its preview (image; a video's thumbnail, with the link in the content
 * so Discord's player shows it), the direct link, dimensions and size; buttons Open, Delete and
 * Make post (Edit post once a post exists).
 */
export function singleAnswer(t: Translate, options: SingleAnswerOptions): Answer {
	const { media, source, size } = options.result;
	const video = media.type.startsWith("video/");
	const preview = !source.spoiler && mayPreview(media.moderation_status, options.nsfwAllowed);
	const fields = [];
	if (media.width > 0 && media.height > 0) {
		fields.push({ name: t("upload.field.dimensions"), value: `${media.width} × ${media.height}`, inline: true });
	}
	if (size > 0) fields.push({ name: t("upload.field.size"), value: formatBytes(size), inline: true });
	fields.push({ name: t("upload.field.type"), value: media.type || "?", inline: true });
	const embed: APIEmbed = {
		title: safeText(source.name || media.slug, 256),
		url: safeUrl(media.urls.original),
		description: source.spoiler ? `||${media.urls.original}||` : media.urls.original,
		fields,
		footer: { text: media.slug },
	};
	const previewUrl = preview ? safeUrl(mediaPreviewUrl(media)) : undefined;
	if (previewUrl) {
		if (video) embed.thumbnail = { url: previewUrl };
		else embed.image = { url: previewUrl };
	}
	const lines = [...(options.before ?? [])];
	if (video || source.spoiler) lines.push(source.spoiler ? `||${media.urls.original}||` : media.urls.original);
	if (options.postSlug) lines.push(t("upload.postLine", { link: `<${postUrl(options.postSlug)}>` }));
	lines.push(...(options.after ?? []));
	return {
		content: fitLines(lines, CONTENT_MAX),
		embeds: [embed],
		components: [singleButtons(t, media, options.postSlug)],
	};
}

export function singleButtons(
	t: Translate,
	media: Pick<Media, "slug" | "urls">,
	postSlug?: string,
): ActionRowData<MessageActionRowComponentData> {
	const open = linkButton(t("upload.button.open"), media.urls.original);
	return {
		type: ComponentType.ActionRow,
		components: [
			...(open ? [open] : []),
			{
				type: ComponentType.Button,
				style: ButtonStyle.Danger,
				label: t("upload.button.delete"),
				customId: customId(UPLOAD_DELETE_BUTTON, media.slug),
			},
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t(postSlug ? "upload.button.editPost" : "upload.button.makePost"),
				customId: postSlug
					? customId(UPLOAD_POST_BUTTON, media.slug, postSlug)
					: customId(UPLOAD_POST_BUTTON, media.slug),
			},
		],
	};
}

export interface PostAnswerOptions {
	post: MadePost;
	/** Show the private key: only in an answer nobody else sees. */
	showKey: boolean;
	title?: string | null | undefined;
	results: readonly FileResult[];
	nsfwAllowed: boolean;
	/** The post is marked NSFW: no previews outside age-restricted channels. */
	nsfwPost: boolean;
	before?: string[];
	after?: string[];
}

/** A post: its link, then the files that did not make it (and the ones that did, as links), and a gallery. */
export function postAnswer(t: Translate, options: PostAnswerOptions): Answer {
	const { post } = options;
	const key = options.showKey ? post.key : undefined;
	const link = postUrl(post.slug, key);
	const done = succeeded(options.results);
	const lines = [...(options.before ?? [])];
	lines.push(key ? t("post.created.private", { link: `<${link}>` }) : t("post.created", { link: `<${link}>` }));
	lines.push(...post.notes);
	// The media are listed when something failed (nothing hidden), or to show spoilers as `||link||`.
	const listMedia = failed(options.results).length > 0 || done.some((result) => result.source.spoiler);
	lines.push(...resultLines(t, options.results, listMedia));
	lines.push(...(options.after ?? []));
	const open = linkButton(t("post.button.open"), link);
	const embeds = gallery(t, done, {
		url: link,
		title: options.title || t("upload.gallery.title", { count: done.length }),
		nsfwAllowed: options.nsfwAllowed,
		hideAll: options.nsfwPost && !options.nsfwAllowed,
	});
	return {
		content: fitLines(lines, CONTENT_MAX),
		embeds,
		components: open ? [{ type: ComponentType.ActionRow, components: [open] }] : [],
	};
}

/** No post (nothing new to make one of, or it failed): the media as links, a gallery, the failures. */
export function mediaListAnswer(
	t: Translate,
	options: { results: readonly FileResult[]; nsfwAllowed: boolean; before?: string[]; after?: string[] },
): Answer {
	const done = succeeded(options.results);
	const lines = [...(options.before ?? [])];
	lines.push(...resultLines(t, options.results, true));
	if (done.length === 0) lines.push(t("upload.noneUploaded"));
	lines.push(...(options.after ?? []));
	const first = done[0];
	const embeds = first
		? gallery(t, done, {
				url: first.media.urls.original,
				title: t("upload.gallery.media", { count: done.length }),
				nsfwAllowed: options.nsfwAllowed,
				hideAll: false,
			})
		: [];
	return { content: fitLines(lines, CONTENT_MAX), embeds, components: [] };
}

/** The failed files with their reasons, then (when `withLinks`) the uploaded ones with their links. */
function resultLines(t: Translate, results: readonly FileResult[], withLinks: boolean): string[] {
	const lines: string[] = [];
	const failures = failed(results);
	if (failures.length > 0) {
		lines.push(t("upload.failedHeader"));
		for (const { source, failure } of failures) lines.push(failureLine(t, source.name, failure));
	}
	const done = succeeded(results);
	if (withLinks && done.length > 0) {
		lines.push(t("upload.uploadedHeader"));
		for (const { source, media, kind } of done) {
			lines.push(
				t(kind === "reused" ? "upload.line.reused" : "upload.line.uploaded", {
					name: quoteInput(source.name, 60),
					link: mediaLink(media, source.spoiler),
				}),
			);
		}
	}
	return lines;
}

/** Up to ten embeds sharing one url (Discord shows them as a gallery); spoilers and hidden NSFW left out. */
function gallery(
	t: Translate,
	done: readonly Done[],
	options: { url: string; title: string; nsfwAllowed: boolean; hideAll: boolean },
): APIEmbed[] {
	const embeds: APIEmbed[] = [];
	const url = safeUrl(options.url);
	let hidden = 0;
	for (const { media, source } of done) {
		if (options.hideAll || source.spoiler || !mayPreview(media.moderation_status, options.nsfwAllowed)) {
			hidden++;
			continue;
		}
		// Nothing to show (no preview, or one Discord would refuse) is not "hidden".
		const preview = safeUrl(mediaPreviewUrl(media));
		if (preview && embeds.length < EMBEDS_MAX) embeds.push({ url, image: { url: preview } });
	}
	const first = embeds[0] ?? { url };
	first.title = safeText(options.title, 256);
	if (hidden > 0) first.footer = { text: t("upload.gallery.hidden", { count: hidden }) };
	if (embeds.length === 0) embeds.push(first);
	else embeds[0] = first;
	return embeds;
}
