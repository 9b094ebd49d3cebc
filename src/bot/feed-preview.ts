/**
 * `/feed preview [feed] [channel] [tag] [user] [nsfw] [style]`: the latest post a feed (or the
 * filters about to be given to `/feed add`) would announce, rendered as a delivery renders it,
 * shown to the asker alone. Nothing is posted in the feed's channel.
 */
import { ApplicationCommandOptionType, ChannelType, type RESTPostAPIChannelMessageJSONBody } from "discord.js";
import { channelAllowsNsfw } from "../discord/index.js";
import { announcement, describeFilters, type FeedControl, type FeedPostPayload } from "../feeds/index.js";
import type { Translate } from "../i18n/index.js";
import type { FeedFilters, FeedStyle } from "../store/index.js";
import { UserError } from "./errors.js";
import { FILTER_OPTIONS, STYLE_OPTION } from "./feed-input.js";
import { feedNamed } from "./feed-why.js";
import type { HandlerContext } from "./types.js";

/** The `/feed preview` subcommand's definition (in `/feed`'s options; texts from the `cmd.feed.*` keys). */
export const previewSubcommand = {
	type: ApplicationCommandOptionType.Subcommand,
	name: "preview",
	options: [
		{ type: ApplicationCommandOptionType.String, name: "feed", autocomplete: true },
		{
			type: ApplicationCommandOptionType.Channel,
			name: "channel",
			channel_types: [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.GuildForum],
		},
		...FILTER_OPTIONS,
		STYLE_OPTION,
	],
} as const;

const STYLES: readonly string[] = ["full", "compact", "image"] satisfies FeedStyle[];

export interface FeedPreviewInput {
	/** The `feed` option: its filters, style and channel, unless given here. */
	feedId: string | null;
	/** The tag, user and NSFW options when any was given (they replace the feed's filters). */
	filters: FeedFilters | null;
	/** The `style` option as given (checked here). */
	style: string | null;
	/** The `channel` option: where the feed would post (its NSFW setting decides what may be shown). */
	channelId: string | null;
	/** Where the command was run: the preview is seen there (ephemeral, but on screen in that channel). */
	here: { id: string; channel: unknown };
	/** The server's channel as the gateway cache has it, if known. */
	channel(channelId: string): unknown;
}

export async function feedPreview(
	ctx: HandlerContext,
	control: FeedControl,
	guildId: string,
	input: FeedPreviewInput,
): Promise<void> {
	const sub = input.feedId === null ? undefined : await feedNamed(control, guildId, input.feedId);
	const filters = input.filters ?? sub?.filters ?? { tag: null, username: null, nsfw: false };
	if (input.style !== null && !STYLES.includes(input.style)) throw new UserError("error.unknownAction");
	const style = (input.style as FeedStyle | null) ?? sub?.style ?? "full";
	const channelId = input.channelId ?? sub?.channelId ?? input.here.id;
	const targetNsfw =
		channelId === input.here.id ? channelAllowsNsfw(input.here.channel) : channelAllowsNsfw(input.channel(channelId));
	if (filters.nsfw && !targetNsfw) throw new UserError("feed.add.nsfwChannel", { channel: `<#${channelId}>` });
	await ctx.respond.defer({ ephemeral: true });
	// The post the feed would announce there; shown here only as this channel allows.
	const post = await control.latest(filters, targetNsfw);
	if (!post) {
		await ctx.respond.reply({
			content: ctx.t("feed.preview.nothing", { filters: describeFilters(ctx.t, filters) }),
			ephemeral: true,
			allowedMentions: { parse: [] },
		});
		return;
	}
	const shownNsfw = targetNsfw && channelAllowsNsfw(input.here.channel);
	const body = previewBody(ctx.t, post, { channelNsfw: shownNsfw, style });
	const lines = [ctx.t("feed.preview.intro", { filters: describeFilters(ctx.t, filters), channel: `<#${channelId}>` })];
	if (post.status === "nsfw" && !shownNsfw) lines.push(ctx.t("feed.preview.nsfwHidden"));
	if (body.content) lines.push(body.content);
	await ctx.respond.reply({
		content: lines.join("\n"),
		embeds: body.embeds ?? [],
		components: body.components ?? [],
		ephemeral: true,
		allowedMentions: { parse: [] },
	});
}

/**
 * The announcement a delivery would send, as a reply: same renderer, a "preview" marker in the
 * footer, no nonce (a reply has none). Its buttons are the announcement's: they act for whoever
 * clicks, as they do on announcements.
 */
function previewBody(
	t: Translate,
	post: FeedPostPayload,
	options: { channelNsfw: boolean; style: FeedStyle },
): RESTPostAPIChannelMessageJSONBody {
	// The options object carries `style`: the renderer honours it once it knows styles (the
	// rendering work of issue #12); until then every preview is the full announcement.
	const renderOptions = { channelNsfw: options.channelNsfw, marker: t("feed.preview.marker"), style: options.style };
	const { nonce: _nonce, enforce_nonce: _enforce, ...body } = announcement(t, post, renderOptions);
	return body;
}
