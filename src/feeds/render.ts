/**
 * What feed messages look like: the announcement of one post (embed + Upvote, Downvote, Follow
 * author, Open), the digest (top posts by score, up to 10 embeds, then "and N more"), the test
 * announcement, and the notice that a subscription stopped. Pure: payload in, message JSON out.
 * Built from the presentation layer (src/discord); what is feed-specific stays here: the outbox
 * payload, the delivery marker and nonce, and the subscription's filters.
 *
 * Every delivered message carries its outbox key (the "marker") in the embed footer, so that after
 * a crash the delivery worker can tell from the channel's recent messages whether Discord already
 * accepted it (Discord does not return nonces when messages are read). The marker is also the
 * message nonce, enforced: a resend within Discord's few minutes returns the first message.
 */
import {
	type APIActionRowComponent,
	type APIButtonComponent,
	type APIEmbed,
	ComponentType,
	type RESTPostAPIChannelMessageJSONBody,
} from "discord.js";
import {
	embedTimestamp,
	linkButton,
	moderationLabel,
	postButtons,
	postUrl,
	safeText,
	safeUrl,
	truncate,
} from "../discord/index.js";
import type { Translate } from "../i18n/index.js";
import type { FeedFilters, FeedStyle } from "../store/index.js";
import type { FeedPostPayload } from "./payload.js";
import {
	compactAnnouncement,
	compactDigest,
	contentCarriesMarker,
	imageAnnouncement,
	imageDigest,
	previewOf,
	rolePing,
} from "./styles.js";

export { type FeedPostPayload, isPayload, payloadOf } from "./payload.js";

/** Filters as people read them: `#cats by alice (NSFW included)`, or "all new posts". */
export function describeFilters(t: Translate, filters: FeedFilters): string {
	const parts: string[] = [];
	if (filters.tag) parts.push(`#${filters.tag}`);
	if (filters.username) parts.push(t("feed.filter.by", { user: filters.username }));
	if (parts.length === 0) parts.push(t("feed.filter.all"));
	if (filters.nsfw) parts.push(t("feed.filter.nsfw"));
	return parts.join(" ");
}

/** The marker of a live delivery (its outbox key) and of a digest (`d:` + its oldest entry's key). */
export function digestMarker(oldestKey: string): string {
	return `d:${oldestKey}`;
}

/** Discord nonces are at most 25 characters; longer markers live in the footer only. */
export function nonceOf(marker: string): string | undefined {
	return marker.length <= 25 ? marker : undefined;
}

/** `nonce` + `enforce_nonce` for a marker: Discord then answers a repeat with the message it already has. */
export function enforcedNonce(marker: string): Pick<RESTPostAPIChannelMessageJSONBody, "nonce" | "enforce_nonce"> {
	const nonce = nonceOf(marker);
	return nonce ? { nonce, enforce_nonce: true } : {};
}

/**
 * Whether a message (API JSON, as read back from Discord: no nonce there) carries `marker`: in an
 * embed footer (full and image styles), or on the content's subtext marker line (compact).
 */
export function carriesMarker(message: { embeds?: unknown; content?: unknown }, marker: string): boolean {
	const embeds = Array.isArray(message.embeds) ? (message.embeds as Array<{ footer?: { text?: unknown } }>) : [];
	const inFooter = embeds.some((embed) => {
		const text = embed.footer?.text;
		return typeof text === "string" && (text === marker || text.endsWith(` ${marker}`));
	});
	return inFooter || contentCarriesMarker(message.content, marker);
}

function postEmbed(
	t: Translate,
	post: FeedPostPayload,
	channelNsfw: boolean,
	footer: string | undefined,
	compact: boolean,
): APIEmbed {
	const link = postUrl(post.slug);
	const embed: APIEmbed = {
		title: post.title ? safeText(post.title, 256) : t("post.untitled"),
		url: safeUrl(link),
	};
	if (post.username) {
		embed.author = { name: truncate(post.username, 256) };
		const avatar = safeUrl(post.avatar);
		if (avatar) embed.author.icon_url = avatar;
	}
	const preview = previewOf(post, channelNsfw);
	if (compact) {
		embed.description = t("feed.digest.line", { score: post.score, count: post.mediaCount });
		if (preview) embed.thumbnail = { url: preview };
	} else {
		embed.fields = [
			{ name: t("post.field.score"), value: String(post.score), inline: true },
			{
				name: t("post.field.media"),
				value: post.video ? `${post.mediaCount} ▶` : String(post.mediaCount),
				inline: true,
			},
		];
		const label = moderationLabel(t, post.status);
		if (label) embed.fields.push({ name: t("post.field.status"), value: label, inline: true });
		if (preview) embed.image = { url: preview };
		const timestamp = embedTimestamp(post.createdAt);
		if (timestamp) embed.timestamp = timestamp;
	}
	if (footer) embed.footer = { text: truncate(footer, 2048) };
	return embed;
}

/** Upvote, Downvote, Follow author (when the post has a valid username), Open: the buttons of any post message. */
function announcementRow(t: Translate, post: FeedPostPayload): APIActionRowComponent<APIButtonComponent> {
	const buttons = postButtons(t, post);
	const open = linkButton(t("post.button.open"), postUrl(post.slug));
	if (open) buttons.push(open);
	return { type: ComponentType.ActionRow, components: buttons };
}

/** How a subscription wants its messages: the style (default full) and the role it pings (none). */
export interface LookOptions {
	style?: FeedStyle;
	mentionRoleId?: string | null;
}

/** The live announcement of one post in the subscription's style; `marker` is the delivery's outbox key. */
export function announcement(
	t: Translate,
	post: FeedPostPayload,
	options: { channelNsfw: boolean; marker: string } & LookOptions,
): RESTPostAPIChannelMessageJSONBody {
	const nonce = enforcedNonce(options.marker);
	if (options.style === "compact") return { ...compactAnnouncement(t, post, options), ...nonce };
	if (options.style === "image") return { ...imageAnnouncement(t, post, options), ...nonce };
	const ping = rolePing(options.mentionRoleId);
	const body: RESTPostAPIChannelMessageJSONBody = {
		...(ping.prefix ? { content: ping.prefix.trim() } : {}),
		embeds: [postEmbed(t, post, options.channelNsfw, `${t("feed.footer")} · ${options.marker}`, false)],
		components: [announcementRow(t, post)],
		allowed_mentions: ping.allowed_mentions,
		...nonce,
	};
	return body;
}

/** `/feed test`: the latest matching post, said to be a test (no marker: it is not a delivery). */
export function testAnnouncement(
	t: Translate,
	post: FeedPostPayload,
	options: { channelNsfw: boolean; subscriptionId: string },
): RESTPostAPIChannelMessageJSONBody {
	return {
		content: t("feed.test.content", { id: options.subscriptionId }),
		embeds: [postEmbed(t, post, options.channelNsfw, t("feed.test.footer"), false)],
		components: [announcementRow(t, post)],
		allowed_mentions: { parse: [] },
	};
}

/** Most votes first; equal scores newest first. */
export function byScore(a: FeedPostPayload, b: FeedPostPayload): number {
	return b.score - a.score || Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id;
}

export const DIGEST_EMBEDS = 10;
export const DIGEST_MORE_LINKS = 10;

/**
 * One digest message: top posts by score as up to 10 embeds (full: compact embeds; image: the
 * images), then "and N more" with links; compact: one line per post, no embeds.
 */
export function digest(
	t: Translate,
	posts: readonly FeedPostPayload[],
	options: { channelNsfw: boolean; marker: string; filters: FeedFilters; subscriptionId: string } & LookOptions,
): RESTPostAPIChannelMessageJSONBody {
	const ranked = [...posts].sort(byScore);
	const top = ranked.slice(0, DIGEST_EMBEDS);
	const rest = ranked.slice(DIGEST_EMBEDS);
	const header = t("feed.digest.header", {
		count: posts.length,
		filters: describeFilters(t, options.filters),
		id: options.subscriptionId,
	});
	const nonce = enforcedNonce(options.marker);
	if (options.style === "compact") return { ...compactDigest(t, ranked, { ...options, header }), ...nonce };
	const lines = [header];
	if (rest.length > 0) {
		const links = rest
			.slice(0, DIGEST_MORE_LINKS)
			.map((post) => `<${postUrl(post.slug)}>`)
			.join(" ");
		lines.push(
			t("feed.digest.more", { count: rest.length, links: rest.length > DIGEST_MORE_LINKS ? `${links} …` : links }),
		);
	}
	if (options.style === "image") {
		return { ...imageDigest(t, top, { ...options, content: lines.join("\n") }), ...nonce };
	}
	const ping = rolePing(options.mentionRoleId);
	const embeds = top.map((post, index) =>
		postEmbed(
			t,
			post,
			options.channelNsfw,
			index === top.length - 1 ? `${t("feed.digest.footer")} · ${options.marker}` : undefined,
			true,
		),
	);
	const body: RESTPostAPIChannelMessageJSONBody = {
		content: truncate(`${ping.prefix}${lines.join("\n")}`, 2000),
		embeds,
		allowed_mentions: ping.allowed_mentions,
		...nonce,
	};
	return body;
}

export type DisableReason = "channel_deleted" | "missing_access" | "missing_permissions" | "thread_locked";

/** Why a subscription stopped, in words. */
export function reasonText(t: Translate, reason: string): string {
	switch (reason) {
		case "channel_deleted":
			return t("feed.reason.channelDeleted");
		case "missing_access":
			return t("feed.reason.missingAccess");
		case "missing_permissions":
			return t("feed.reason.missingPermissions");
		case "thread_locked":
			return t("feed.reason.threadLocked");
		default:
			return reason;
	}
}

/** Told once, to the guild's system channel or by DM to whoever added the subscription. */
export function disabledNotice(
	t: Translate,
	options: { subscriptionId: string; channelId: string; reason: string; guildName: string; filters: FeedFilters },
): RESTPostAPIChannelMessageJSONBody {
	return {
		content: t("feed.disabled.notice", {
			id: options.subscriptionId,
			channel: `<#${options.channelId}>`,
			guild: options.guildName,
			filters: describeFilters(t, options.filters),
			reason: reasonText(t, options.reason),
		}),
		allowed_mentions: { parse: [] },
	};
}
