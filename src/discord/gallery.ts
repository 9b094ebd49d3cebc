/** The post gallery: embeds for a page of a post's media, page buttons and a link button. */
import { type APIButtonComponent, type APIEmbed, type APIEmbedField, ButtonStyle, ComponentType } from "discord.js";
import type { Translate } from "../i18n/index.js";
import type { Post } from "../imgpile/index.js";
import type { ButtonRow } from "./buttons.js";
import { customId } from "./custom-id.js";
import { linkButton, postUrl, safeUrl } from "./links.js";
import { mayPreview, mediaPreviewUrl, moderationLabel } from "./moderation.js";
import { embedTimestamp, safeText, truncate } from "./text.js";

/** Media shown per gallery page (one embed each; Discord groups up to 4 images of one url). */
export const GALLERY_PAGE_SIZE = 4;

/** custom_id name of the gallery's page buttons: `post-page:{slug}:{page}[:{key}]`. */
export const POST_PAGE_BUTTON = "post-page";

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
	components: ButtonRow[];
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
	const linkRow: APIButtonComponent[] = open ? [open] : [];

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
		timestamp: embedTimestamp(post.created_at),
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

	const components: ButtonRow[] = [];
	const buttons: APIButtonComponent[] = [];
	if (pages > 1) {
		const pageId = (target: number) =>
			key ? customId(POST_PAGE_BUTTON, post.slug, target, key) : customId(POST_PAGE_BUTTON, post.slug, target);
		buttons.push(
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.prev"),
				custom_id: pageId(page - 1),
				disabled: page <= 1,
			},
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.next"),
				custom_id: pageId(page + 1),
				disabled: page >= pages,
			},
		);
	}
	buttons.push(...linkRow);
	if (buttons.length > 0) components.push({ type: ComponentType.ActionRow, components: buttons });
	return { content: lines.join("\n"), embeds, components };
}
