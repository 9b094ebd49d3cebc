/**
 * `/profile user:<username>`: a user's recent public posts and media (public endpoints, read as a
 * guest whoever asks), a page at
 * a time with Prev/Next buttons `profile:{username}:{page}`. NSFW content is asked for (`?nsfw=1`)
 * and previewed only in age-restricted channels; elsewhere imgpile's listings leave it out, and
 * anything flagged that still shows up is not previewed.
 */
import { type APIEmbed, type ButtonInteraction, type ChatInputCommandInteraction, escapeMarkdown } from "discord.js";
import { chatCommand } from "../src/bot/definitions.js";
import { listButtonArgs } from "../src/bot/input.js";
import { usernameFrom, userOption } from "../src/bot/options.js";
import { naming } from "../src/bot/readers.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import {
	channelAllowsNsfw,
	mayPreview,
	mediaPreviewUrl,
	moderationLabel,
	PROFILE_BUTTON,
	pageRow,
	postUrl,
	safeText,
	safeUrl,
	truncate,
} from "../src/discord/index.js";
import type { Media, Page, Post } from "../src/imgpile/index.js";

/** Posts (one embed each) and media (one line each) per profile page. */
export const PROFILE_POSTS_PER_PAGE = 4;
export const PROFILE_MEDIA_PER_PAGE = 5;

export const data = chatCommand("profile", { options: [userOption] });

async function profileMessage(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction | ButtonInteraction,
	username: string,
	page: number,
) {
	const nsfwAllowed = channelAllowsNsfw(interaction.channel);
	// A message others see: read as a guest, so the caller's own token (on their own profile)
	// cannot bring in hidden or private posts, their media, or counts including them.
	const client = ctx.imgpile.as();
	const what = ctx.t("what.user", { username });
	const read = (n: number): Promise<[Page<Post>, Page<Media>]> =>
		naming(what, () =>
			Promise.all([
				client.userPosts(username, { page: n, limit: PROFILE_POSTS_PER_PAGE, nsfw: nsfwAllowed }),
				client.userMedia(username, { page: n, limit: PROFILE_MEDIA_PER_PAGE, nsfw: nsfwAllowed }),
			]),
		);
	let [posts, media] = await read(page);
	let pages = Math.max(1, posts.meta.last_page, media.meta.last_page);
	// Past the end (the profile shrank since the buttons were made): the last page instead.
	if (page > pages) {
		[posts, media] = await read(pages);
		pages = Math.max(1, posts.meta.last_page, media.meta.last_page);
	}
	const current = Math.min(page, pages);
	const author = posts.data.find((post) => post.user?.username === username)?.user ?? media.data[0]?.user;

	let hidden = 0;
	const mediaLines = media.data.map((item) => {
		const label = moderationLabel(ctx.t, item.moderation_status);
		const name = safeText(item.title || item.slug, 60);
		if (!mayPreview(item.moderation_status, nsfwAllowed)) {
			hidden++;
			return `• ${name}${label ? ` · ${label}` : ""}`;
		}
		const size = item.width > 0 ? ` · ${item.width}×${item.height}` : "";
		return `• [${name}](${item.urls.original}) · ${item.type}${size}${label ? ` · ${label}` : ""}`;
	});

	const header: APIEmbed = {
		title: truncate(ctx.t("profile.title", { username }), 256),
		fields: [
			{ name: ctx.t("profile.field.posts"), value: String(posts.meta.total), inline: true },
			{ name: ctx.t("profile.field.media"), value: String(media.meta.total), inline: true },
		],
		footer: { text: ctx.t("post.page", { page: current, pages }) },
	};
	const avatar = safeUrl(author?.avatar);
	if (avatar) header.thumbnail = { url: avatar };
	if (mediaLines.length > 0) {
		header.fields?.push({ name: ctx.t("profile.recentMedia"), value: truncate(mediaLines.join("\n"), 1024) });
	}
	if (posts.meta.total === 0 && media.meta.total === 0) {
		header.description = ctx.t("profile.empty", { username: escapeMarkdown(username) });
	} else if (posts.data.length === 0) {
		header.description = ctx.t("profile.noPosts");
	}

	const embeds: APIEmbed[] = [header];
	for (const post of posts.data) {
		const link = postUrl(post.slug);
		const label = moderationLabel(ctx.t, post.moderation_status);
		const lines = [ctx.t("profile.postLine", { score: post.score, count: post.media_count })];
		if (label) lines.push(label);
		const embed: APIEmbed = {
			title: post.title ? safeText(post.title, 256) : ctx.t("post.untitled"),
			url: safeUrl(link),
			description: lines.join("\n"),
			footer: { text: post.slug },
		};
		const first = post.first_media;
		const preview =
			first && mayPreview(post.moderation_status, nsfwAllowed) && mayPreview(first.moderation_status, nsfwAllowed)
				? safeUrl(mediaPreviewUrl(first))
				: undefined;
		if (preview) embed.thumbnail = { url: preview };
		else if (first && !mayPreview(post.moderation_status, nsfwAllowed)) hidden++;
		embeds.push(embed);
	}

	return {
		content: hidden > 0 ? ctx.t("nsfw.mediaHidden", { count: hidden }) : "",
		embeds,
		components: [pageRow(ctx.t, PROFILE_BUTTON, username, current, current > 1, current < pages)],
		allowedMentions: { parse: [] },
	};
}

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const username = usernameFrom(interaction);
	await ctx.respond.reply(await profileMessage(ctx, interaction, username, 1));
}

/** `profile:{username}:{page}`: another page, in place; anyone may turn it. */
async function pageButton(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const { username, page } = listButtonArgs(args);
	await ctx.respond.update(await profileMessage(ctx, interaction, username, page));
}

export default {
	command: { data, execute },
	buttons: { [PROFILE_BUTTON]: pageButton },
} satisfies CommandModule;
