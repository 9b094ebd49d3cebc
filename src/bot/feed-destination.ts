/**
 * Whether the bot can deliver a feed to a channel the way the subscription asks: the channel
 * kind (text, announcement, forum or media, thread), the bot's permissions there for that kind,
 * the NSFW rule (a thread follows its parent), crossposting (announcement channels only) and the
 * role to ping. Used by `/feed add`, `/feed edit` and `/feed resume`: every refusal is a
 * UserError naming what is wrong.
 */
import {
	ChannelType,
	type ChatInputCommandInteraction,
	type GuildBasedChannel,
	PermissionFlagsBits,
	type PermissionsBitField,
} from "discord.js";
import { channelAllowsNsfw } from "../discord/index.js";
import type { FeedSubscription } from "../store/index.js";
import { UserError } from "./errors.js";

/** What of a subscription decides where and how it may post. */
export type DestinationOptions = Pick<FeedSubscription, "filters" | "mentionRoleId" | "publish">;

type Needed = Array<[bigint, string]>;

const VIEW: [bigint, string] = [PermissionFlagsBits.ViewChannel, "View Channel"];
const EMBED: [bigint, string] = [PermissionFlagsBits.EmbedLinks, "Embed Links"];
// To check after a restart whether a delivery reached the channel (so nothing is posted twice).
const HISTORY: [bigint, string] = [PermissionFlagsBits.ReadMessageHistory, "Read Message History"];
const IN_THREADS: [bigint, string] = [PermissionFlagsBits.SendMessagesInThreads, "Send Messages in Threads"];

/** What the bot needs per kind of destination (English names, as Discord's settings show them). */
const NEEDED = {
	channel: [VIEW, [PermissionFlagsBits.SendMessages, "Send Messages"], EMBED, HISTORY],
	// A post per announcement: "Create Posts" is Send Messages on a forum; its first message is in a thread.
	forum: [VIEW, [PermissionFlagsBits.SendMessages, "Create Posts"], IN_THREADS, EMBED, HISTORY],
	thread: [VIEW, IN_THREADS, EMBED, HISTORY],
} satisfies Record<string, Needed>;

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
	// Media channels are not offered by the channel option, but one's id may still arrive: a forum.
	const forum = channel?.type === ChannelType.GuildForum || channel?.type === ChannelType.GuildMedia;
	if (!channel || (!forum && !channel.isTextBased())) throw new UserError("feed.add.notText", mention);
	const permissions = channel.permissionsFor(interaction.client.user);
	const needed = forum ? NEEDED.forum : channel.isThread() ? NEEDED.thread : NEEDED.channel;
	const missing = needed.filter(([bit]) => !permissions?.has(bit)).map(([, name]) => name);
	if (missing.length > 0) {
		throw new UserError("feed.add.missingPermissions", { ...mention, permissions: missing.join(", ") });
	}
	// Locked: only moderators may post (an archived thread that is not locked reopens with a post).
	if (channel.isThread() && channel.locked && !permissions?.has(PermissionFlagsBits.ManageThreads)) {
		throw new UserError("feed.add.threadLocked", mention);
	}
	if (options.filters.nsfw && !channelAllowsNsfw(channel)) throw new UserError("feed.add.nsfwChannel", mention);
	if (options.publish && channel.type !== ChannelType.GuildAnnouncement) {
		throw new UserError("feed.add.publishNotAnnouncement", mention);
	}
	if (options.mentionRoleId) await checkRole(interaction, options.mentionRoleId, channelId, permissions);
	return channel;
}

/** The role exists, is not @everyone, and the bot's ping of it would reach its members. */
async function checkRole(
	interaction: ChatInputCommandInteraction,
	roleId: string,
	channelId: string,
	permissions: Readonly<PermissionsBitField> | null | undefined,
): Promise<void> {
	const guild = interaction.guild;
	const params = { role: `<@&${roleId}>`, channel: `<#${channelId}>` };
	if (roleId === guild?.id) throw new UserError("feed.add.roleEveryone");
	const role = guild?.roles.cache.get(roleId) ?? (await guild?.roles.fetch(roleId).catch(() => null)) ?? undefined;
	if (!role) throw new UserError("feed.add.roleMissing", params);
	// Discord drops the ping of a role that is not mentionable unless the sender may mention everyone.
	if (!role.mentionable && !permissions?.has(PermissionFlagsBits.MentionEveryone)) {
		throw new UserError("feed.add.roleNotMentionable", params);
	}
}
