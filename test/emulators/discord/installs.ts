/**
 * Installation contexts: who authorised an interaction (`authorizing_integration_owners`: "0" the
 * guild install, "1" the user install) and where it runs (`context`: 0 a guild, 1 the bot's DM, 2
 * a private channel the bot is not in). The driver's `via: "user"` runs a command through the
 * user's install of the app, refused (thrown) where Discord's client would not offer it.
 */

import { P } from "./permissions.js";
import type { CommandRec } from "./rest.js";
import type { Channel, User, World } from "./state.js";

/** How a test user reaches the app: through the guild's install (default) or their own (user app). */
export type InstallVia = "guild" | "user";

export interface Invocation {
	/** 0 guild, 1 the bot's DM, 2 a private channel (group DM, DM between users). */
	context: 0 | 1 | 2;
	owners: Record<string, string>;
}

/**
 * What the app may do in answers where its bot is not (private channels): interaction responses
 * always have Attach Files and Embed Links (discord-api-docs#5316), nothing else.
 */
export const RESPONSE_ONLY_PERMISSIONS = P.AttachFiles | P.EmbedLinks;

export function contextOf(channel: Channel): 0 | 1 | 2 {
	if (channel.guild) return 0;
	return channel.botIsIn ? 1 : 2;
}

/** The installation owners Discord reports when none is inherited (the guild path, as before). */
export function defaultOwners(user: User, channel: Channel): Record<string, string> {
	return channel.guild ? { "0": channel.guild.id } : { "1": user.id };
}

const cmdName = (cmd: CommandRec) => `/${String(cmd.json.name)}`;

/**
 * A command run through `user`'s install of the app: the app must allow user installs, the user
 * must have installed it, the command must be global with integration type 1 and list the context
 * (contexts default to all three). Owners: "1" the user, plus "0" the guild when the bot is in it.
 */
export function userInvocation(
	world: World,
	userInstallEnabled: boolean,
	cmd: CommandRec | null,
	user: User,
	channel: Channel,
): Invocation {
	if (!userInstallEnabled) throw new Error("The app does not support user installs (installation.user: false)");
	if (!world.userInstalls.has(user.id))
		throw new Error(`${user.username} has not installed the app (discord.installUserApp(user))`);
	const context = contextOf(channel);
	if (cmd) {
		if (cmd.guildId) throw new Error(`${cmdName(cmd)} is a guild command: only the guild install runs it`);
		const types = Array.isArray(cmd.json.integration_types) ? (cmd.json.integration_types as number[]) : [0];
		if (!types.includes(1))
			throw new Error(`${cmdName(cmd)} is not available to user installs (integration_types ${JSON.stringify(types)})`);
		const contexts = Array.isArray(cmd.json.contexts) ? (cmd.json.contexts as number[]) : [0, 1, 2];
		if (!contexts.includes(context))
			throw new Error(`${cmdName(cmd)} is not available in context ${context} (contexts ${JSON.stringify(contexts)})`);
	}
	if (channel.guild) {
		if (!channel.guild.members.has(user.id))
			throw new Error(`${user.username} is not a member of ${channel.guild.name}`);
		if ((channel.permissionsFor(user.id) & P.ViewChannel) === 0n)
			throw new Error(`${user.username} cannot see #${channel.name}`);
		// The bot is a member of every guild of the world: both installs authorise the interaction.
		return { context, owners: { "0": channel.guild.id, "1": user.id } };
	}
	if (context === 1 && channel.recipient?.id !== user.id)
		throw new Error(`${user.username} is not in the bot's DM with ${channel.recipient?.username}`);
	if (context === 2 && !channel.privateRecipients?.some((u) => u.id === user.id))
		throw new Error(`${user.username} is not in private channel ${channel.id}`);
	return { context, owners: { "1": user.id } };
}
