/**
 * Whether the bot can deliver a feed to a channel the way the subscription asks: the channel
 * kind, the bot's permissions there, the NSFW rule, and (later) forum, thread, crosspost and
 * role-mention rules. Used by `/feed add`, `/feed edit` and `/feed resume`: every refusal is a
 * UserError naming what is wrong.
 */
import { ChannelType, type ChatInputCommandInteraction, type GuildBasedChannel, PermissionFlagsBits } from "discord.js";
import { channelAllowsNsfw } from "../discord/index.js";
import type { MessageKey } from "../i18n/index.js";
import type { FeedSubscription } from "../store/index.js";
import { UserError } from "./errors.js";

/** What of a subscription decides where and how it may post. */
export type DestinationOptions = Pick<FeedSubscription, "filters" | "mentionRoleId" | "publish">;

const NEEDED: [bigint, string][] = [
	[PermissionFlagsBits.ViewChannel, "View Channel"],
	[PermissionFlagsBits.SendMessages, "Send Messages"],
	[PermissionFlagsBits.EmbedLinks, "Embed Links"],
	// To check after a restart whether a delivery reached the channel (so nothing is posted twice).
	[PermissionFlagsBits.ReadMessageHistory, "Read Message History"],
];

/** Channel kinds feeds cannot post in yet (a later release adds threads and forum posts). */
const NOT_YET: Partial<Record<ChannelType, MessageKey>> = {
	[ChannelType.GuildForum]: "feed.add.forumNotYet",
	[ChannelType.PublicThread]: "feed.add.threadNotYet",
	[ChannelType.PrivateThread]: "feed.add.threadNotYet",
	[ChannelType.AnnouncementThread]: "feed.add.threadNotYet",
};

/** The channel as the gateway cache has it (else as Discord says), undefined when it is gone. */
export async function findChannel(
	interaction: ChatInputCommandInteraction,
	channelId: string,
): Promise<GuildBasedChannel | undefined> {
	const guild = interaction.guild;
	return (
		guild?.channels.cache.get(channelId) ?? (await guild?.channels.fetch(channelId).catch(() => null)) ?? undefined
	);
}

/**
 * Checks that the bot can deliver to `channelId` as `options` ask; throws the UserError that says
 * why not. `channel` is the channel if it was already looked up. Returns the channel.
 */
export async function checkDestination(
	interaction: ChatInputCommandInteraction,
	channelId: string,
	options: DestinationOptions,
	found?: GuildBasedChannel,
): Promise<GuildBasedChannel> {
	const channel = found ?? (await findChannel(interaction, channelId));
	const mention = { channel: `<#${channelId}>` };
	const notYet = channel ? NOT_YET[channel.type] : undefined;
	if (notYet) throw new UserError(notYet, mention);
	if (!channel?.isTextBased()) throw new UserError("feed.add.notText", mention);
	const missing = missingPermissions(interaction, channel);
	if (missing.length > 0) {
		throw new UserError("feed.add.missingPermissions", { ...mention, permissions: missing.join(", ") });
	}
	if (options.filters.nsfw && !channelAllowsNsfw(channel)) throw new UserError("feed.add.nsfwChannel", mention);
	return channel;
}

/** What the bot lacks in `channel` (English names, as Discord shows them). */
function missingPermissions(interaction: ChatInputCommandInteraction, channel: GuildBasedChannel): string[] {
	const me = interaction.client.user;
	const permissions = channel.permissionsFor(me);
	if (!permissions) return NEEDED.map(([, name]) => name);
	return NEEDED.filter(([bit]) => !permissions.has(bit)).map(([, name]) => name);
}
