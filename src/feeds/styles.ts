/**
 * The lighter looks of feed messages (`style`): compact (one line with the link, no preview) and
 * image (the image alone, a small caption), for announcements and digests; the role ping every
 * style carries; and the names of forum posts. Pure, like render.ts (which adds the full style).
 *
 * Every style carries its delivery marker where a read of the channel finds it again after a
 * crash (Discord never returns nonces): in an embed footer (full, image), or in a last subtext
 * line `-# … · <marker>` of the content (compact, which has no embed).
 */
import type { APIEmbed, RESTPostAPIChannelMessageJSONBody } from "discord.js";
import { mayPreview, postUrl, safeText, safeUrl, truncate } from "../discord/index.js";
import type { Translate } from "../i18n/index.js";
import type { FeedPostPayload } from "./payload.js";

/** Discord's limit on a thread (forum post) name. */
const POST_NAME_MAX = 100;
const CONTENT_MAX = 2000;

/** The preview image a post may show here (never rejected media, NSFW only where allowed), if Discord takes its URL. */
export function previewOf(post: FeedPostPayload, channelNsfw: boolean): string | undefined {
	return mayPreview(post.status, channelNsfw) && mayPreview(post.previewStatus, channelNsfw)
		? safeUrl(post.preview)
		: undefined;
}

/**
 * The ping of `roleId` (content prefix) and the `allowed_mentions` that lets it, and nothing else,
 * ping: untrusted text in the message can never ping anyone.
 */
export function rolePing(roleId: string | null | undefined): {
	prefix: string;
	allowed_mentions: NonNullable<RESTPostAPIChannelMessageJSONBody["allowed_mentions"]>;
} {
	return roleId
		? { prefix: `<@&${roleId}> `, allowed_mentions: { parse: [], roles: [roleId] } }
		: { prefix: "", allowed_mentions: { parse: [] } };
}

/** A subtext line carrying the marker: what recovery looks for in a message without embeds. */
export function markerLine(footer: string, marker: string): string {
	return `-# ${footer} · ${marker}`;
}

/** Whether a message's content carries `marker` on its subtext marker line. */
export function contentCarriesMarker(content: unknown, marker: string): boolean {
	if (typeof content !== "string") return false;
	return content.split("\n").some((line) => line.startsWith("-# ") && line.endsWith(` · ${marker}`));
}

/** One line, Markdown-safe: a title or name from imgpile without its line breaks. */
export function oneLine(text: string, max: number): string {
	// A URL in untrusted text would be linked and unfurled (a preview of any site, NSFW or not, in
	// any channel): a word joiner (invisible) breaks its `://`.
	const unlinked = text.replace(/([a-z][a-z\d+.-]*):\/\//gi, "$1:\u2060//");
	return safeText(unlinked.replace(/\s+/g, " ").trim(), max);
}

function titleOf(t: Translate, post: FeedPostPayload, max: number): string {
	return post.title?.trim() ? oneLine(post.title, max) : t("post.untitled");
}

/** `**[Title](<link>)** · by alice · ▲ 5`: a post in one line, its link unfurled into no preview. */
export function compactLine(t: Translate, post: FeedPostPayload): string {
	const parts = [`**[${titleOf(t, post, 200)}](<${postUrl(post.slug)}>)**`];
	if (post.username) parts.push(t("feed.filter.by", { user: oneLine(post.username, 64) }));
	parts.push(`▲ ${post.score}`);
	return parts.join(" · ");
}

/** Compact: one line with the link (and the role ping), the marker in a subtext line below. */
export function compactAnnouncement(
	t: Translate,
	post: FeedPostPayload,
	options: { marker: string; mentionRoleId?: string | null },
): RESTPostAPIChannelMessageJSONBody {
	const ping = rolePing(options.mentionRoleId);
	return {
		content: `${ping.prefix}${compactLine(t, post)}\n${markerLine(t("feed.footer"), options.marker)}`,
		allowed_mentions: ping.allowed_mentions,
	};
}

/** The image of a post with a small caption (title, author) in the footer, the marker at its end. */
function imageEmbed(t: Translate, post: FeedPostPayload, image: string | undefined, footer: string): APIEmbed {
	const caption = [titleOf(t, post, 200)];
	if (post.username) caption.push(t("feed.filter.by", { user: post.username }));
	const embed: APIEmbed = {
		url: safeUrl(postUrl(post.slug)),
		footer: { text: truncate(`${caption.join(" ")}${footer}`, 2048) },
	};
	if (image) embed.image = { url: image };
	else embed.title = titleOf(t, post, 256);
	return embed;
}

/** Image: the image alone with a small caption; a post without a preview it may show falls back to compact. */
export function imageAnnouncement(
	t: Translate,
	post: FeedPostPayload,
	options: { channelNsfw: boolean; marker: string; mentionRoleId?: string | null },
): RESTPostAPIChannelMessageJSONBody {
	const image = previewOf(post, options.channelNsfw);
	if (!image) return compactAnnouncement(t, post, options);
	const ping = rolePing(options.mentionRoleId);
	return {
		...(ping.prefix ? { content: ping.prefix.trim() } : {}),
		embeds: [imageEmbed(t, post, image, ` · ${t("feed.footer")} · ${options.marker}`)],
		allowed_mentions: ping.allowed_mentions,
	};
}

/** A compact digest: the header, one line per post (as many as fit), "and N more", the marker line. */
export function compactDigest(
	t: Translate,
	ranked: readonly FeedPostPayload[],
	options: { header: string; marker: string; mentionRoleId?: string | null },
): RESTPostAPIChannelMessageJSONBody {
	const ping = rolePing(options.mentionRoleId);
	const head = `${ping.prefix}${options.header}`;
	const tail = markerLine(t("feed.digest.footer"), options.marker);
	const lines: string[] = [];
	let used = head.length + tail.length + 2;
	for (const [index, post] of ranked.entries()) {
		const line = `• ${compactLine(t, post)}`;
		const left = ranked.length - index;
		// Room for this line and, if posts remain after it, for "and N more".
		const reserve = left > 1 ? t("feed.digest.moreCount", { count: left - 1 }).length + 1 : 0;
		if (used + line.length + 1 + reserve > CONTENT_MAX) {
			lines.push(t("feed.digest.moreCount", { count: left }));
			break;
		}
		lines.push(line);
		used += line.length + 1;
	}
	return { content: [head, ...lines, tail].join("\n"), allowed_mentions: ping.allowed_mentions };
}

/** An image digest: one image per post (at most `embeds`), each with its small caption; the marker in the last footer. */
export function imageDigest(
	t: Translate,
	top: readonly FeedPostPayload[],
	options: { content: string; channelNsfw: boolean; marker: string; mentionRoleId?: string | null },
): RESTPostAPIChannelMessageJSONBody {
	const ping = rolePing(options.mentionRoleId);
	const embeds = top.map((post, index) =>
		imageEmbed(
			t,
			post,
			previewOf(post, options.channelNsfw),
			index === top.length - 1 ? ` · ${t("feed.digest.footer")} · ${options.marker}` : ` · ▲ ${post.score}`,
		),
	);
	return {
		content: truncate(`${ping.prefix}${options.content}`, CONTENT_MAX),
		embeds,
		allowed_mentions: ping.allowed_mentions,
	};
}

/** A forum post's name: the post's title in one line (names render no Markdown), else a localized fallback. */
export function forumPostName(t: Translate, post: FeedPostPayload): string {
	const title = post.title?.replace(/\s+/g, " ").trim();
	if (title) return truncate(title, POST_NAME_MAX);
	const name = post.username
		? t("feed.forum.untitledBy", { user: post.username.replace(/\s+/g, " ").trim() })
		: t("post.untitled");
	return truncate(name, POST_NAME_MAX);
}

/** A digest's forum post name: how many posts, for which filters. */
export function digestPostName(t: Translate, count: number, filters: string): string {
	return truncate(t("feed.forum.digestName", { count, filters }).replace(/\s+/g, " ").trim(), POST_NAME_MAX);
}
