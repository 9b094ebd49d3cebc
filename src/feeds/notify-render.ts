/**
 * The DM of one notification batch (issue 13, personal notifications): a header, one line per
 * post (at most 10) saying why it was sent, "and N more", and one preview image. Pure: the
 * batch's posts in, message JSON out.
 *
 * Newest first: a DM is read at a glance when it arrives, so the freshest posts lead, and what
 * "and N more" leaves out are the oldest of the batch.
 *
 * NSFW posts (the post's or its first media's status) are listed only with the user's `nsfw`
 * setting on, marked, and never previewed: no embed, and every link is `<…>` so that Discord
 * unfurls none. The delivery marker is on the last subtext line like the compact feed style
 * (`carriesMarker` finds it after a crash), and the nonce is enforced like any delivery's.
 */
import type { APIEmbed, RESTPostAPIChannelMessageJSONBody } from "discord.js";
import { mayAnnounce, postUrl, safeText, safeUrl, truncate } from "../discord/index.js";
import type { Translate } from "../i18n/index.js";
import type { NotifyReason } from "./notify-watchers.js";
import type { FeedPostPayload } from "./payload.js";
import { enforcedNonce } from "./render.js";
import { markerLine, oneLine, previewOf } from "./styles.js";

export interface NotifyItem {
	post: FeedPostPayload;
	reason: NotifyReason;
}

/** Posts listed in one DM at most; the rest are counted. */
export const NOTIFY_BATCH_LINES = 10;
const CONTENT_MAX = 2000;
const TITLE_MAX = 200;
/** Below this a title says too little: list fewer posts instead. */
const TITLE_MIN = 24;
const NAME_MAX = 64;

/** A post whose status or first media is NSFW. */
export function isNsfwPost(post: FeedPostPayload): boolean {
	return post.status === "nsfw" || post.previewStatus === "nsfw";
}

/** Whether a post may be sent to a user: approved, or NSFW with their `nsfw` setting on. */
export function mayNotify(post: FeedPostPayload, nsfw: boolean): boolean {
	return mayAnnounce(post.status, nsfw) && (nsfw || !isNsfwPost(post));
}

/** Newest first; equal times by id, so a batch renders the same after a crash. */
function newestFirst(a: FeedPostPayload, b: FeedPostPayload): number {
	return Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id;
}

type Entry = { post: FeedPostPayload; follow: string | undefined; tags: string[] };

/** One entry per post (a post both followed and tagged says both), those the user may get, newest first. */
function entriesOf(items: readonly NotifyItem[], nsfw: boolean): Entry[] {
	const byId = new Map<number, Entry>();
	for (const { post, reason } of items) {
		if (!mayNotify(post, nsfw)) continue;
		const entry = byId.get(post.id) ?? { post, follow: undefined, tags: [] };
		entry.follow ??= reason.follow;
		if (reason.tag && !entry.tags.includes(reason.tag)) entry.tags.push(reason.tag);
		byId.set(post.id, entry);
	}
	return [...byId.values()].sort((a, b) => newestFirst(a.post, b.post));
}

function sameName(a: string | null | undefined, b: string | undefined): boolean {
	return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

/** The linked title (`titleMax` code points at most, "Post by alice" when untitled). */
function linkedTitle(t: Translate, post: FeedPostPayload, titleMax: number): string {
	// A zero budget measures the line without its title (a fallback name is no title: it stays whole).
	const title = post.title?.trim()
		? titleMax > 0
			? oneLine(post.title, titleMax)
			: ""
		: post.username
			? t("feed.forum.untitledBy", { user: oneLine(post.username, NAME_MAX) })
			: t("post.untitled");
	return `**[${title}](<${postUrl(post.slug)}>)**`;
}

/**
 * `• **[Title](<link>)** · by alice · #cats · 🔞 NSFW`: the author is left out where the title
 * or "you follow alice" names them already.
 */
function line(t: Translate, entry: Entry, titleMax: number): string {
	const { post, follow, tags } = entry;
	const parts = [linkedTitle(t, post, titleMax)];
	const untitled = !post.title?.trim();
	if (post.username && !untitled && !sameName(post.username, follow)) {
		parts.push(t("feed.filter.by", { user: oneLine(post.username, NAME_MAX) }));
	}
	if (follow) parts.push(t("notify.batch.follow", { user: oneLine(follow, NAME_MAX) }));
	for (const tag of tags) parts.push(t("notify.batch.tag", { tag: oneLine(tag, NAME_MAX) }));
	if (isNsfwPost(post)) parts.push(t("notify.batch.nsfw"));
	return `• ${parts.join(" · ")}`;
}

/**
 * The listed lines and how many are left out, within Discord's 2000 characters: up to 10 posts
 * with titles cut evenly to fit; fewer posts when even short titles would not.
 */
function fitLines(t: Translate, entries: readonly Entry[], frame: number): { lines: string[]; more: number } {
	for (let shown = Math.min(NOTIFY_BATCH_LINES, entries.length); shown > 0; shown--) {
		const listed = entries.slice(0, shown);
		const more = entries.length - shown;
		const moreLine = more > 0 ? t("feed.digest.moreCount", { count: more }).length + 1 : 0;
		// What the lines take besides their titles (an empty title is still linked).
		const fixed = listed.reduce((sum, entry) => sum + line(t, entry, 0).length + 1, 0);
		const titleMax = Math.min(TITLE_MAX, Math.floor((CONTENT_MAX - frame - moreLine - fixed) / shown));
		if (titleMax < TITLE_MIN && shown > 1) continue;
		const lines = listed.map((entry) => line(t, entry, Math.max(titleMax, 1)));
		const used = lines.reduce((sum, text) => sum + text.length + 1, frame + moreLine);
		if (used <= CONTENT_MAX) return { lines, more };
	}
	return { lines: [], more: entries.length };
}

/** The preview: the first listed post that is not NSFW, approved, with an image Discord takes. */
function previewEmbed(t: Translate, entries: readonly Entry[]): APIEmbed | undefined {
	for (const { post } of entries) {
		if (isNsfwPost(post) || post.status !== "approved" || post.previewStatus !== "approved") continue;
		const image = previewOf(post, false);
		if (!image) continue;
		const embed: APIEmbed = {
			title: post.title?.trim() ? safeText(post.title, 256) : t("post.untitled"),
			image: { url: image },
		};
		const url = safeUrl(postUrl(post.slug));
		if (url) embed.url = url;
		// Embed author names render no Markdown: shown as they are.
		if (post.username) embed.author = { name: truncate(post.username, 256) };
		return embed;
	}
	return undefined;
}

/**
 * The DM of one batch, `marker` its delivery's stable key; null when none of `items` may be sent
 * to this user (every one NSFW with `nsfw` off, or not approved): nothing to send.
 */
export function notificationBatch(
	t: Translate,
	items: readonly NotifyItem[],
	options: { nsfw: boolean; marker: string },
): RESTPostAPIChannelMessageJSONBody | null {
	const entries = entriesOf(items, options.nsfw);
	if (entries.length === 0) return null;
	const head = t("notify.batch.header", { count: entries.length });
	const tail = markerLine(t("notify.batch.footer"), options.marker);
	const { lines, more } = fitLines(t, entries, head.length + 1 + tail.length);
	const preview = previewEmbed(t, entries.slice(0, lines.length));
	if (more > 0) lines.push(t("feed.digest.moreCount", { count: more }));
	return {
		content: [head, ...lines, tail].join("\n"),
		...(preview ? { embeds: [preview] } : {}),
		allowed_mentions: { parse: [] },
		...enforcedNonce(options.marker),
	};
}
