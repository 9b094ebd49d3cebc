/**
 * What the auto-rehost e2e tests share: posting images as members, the uploads imgpile got, the
 * bot's replies, waiting for a message to be handled, and `/imgpile settings` commands.
 */

import { expect } from "vitest";
import type { AttachmentSpec, Channel, Message, User } from "../emulators/discord/index.js";
import { pngBytes } from "../support/images.js";
import { Harness, type HarnessOptions, IMGPILE_USERS } from "./harness.js";

export const MESSAGE_CONTENT = 1 << 15;
export const GUILD_MESSAGES = 1 << 9;

export function png(name: string, width: number): AttachmentSpec {
	return { filename: name, contentType: "image/png", source: pngBytes(width, 6) };
}

/** `user` posts one PNG (`width` px wide, to tell the uploads apart) in `channel`. */
export function postImage(h: Harness, user: User, channel: Channel, name: string, width: number): Promise<Message> {
	return h.discord.postUserMessage({ user, channel, attachments: [png(name, width)] });
}

export function uploads(h: Harness) {
	return h.imgpileEmulator.requests.filter((r) => r.listener === "cdn" && r.method === "POST");
}

/** The bot's replies to `message`, in its channel. */
export function repliesTo(h: Harness, message: Message): Message[] {
	return h.discord
		.messages(message.channel)
		.filter((m) => m.author.id === h.discord.botUser.id && m.messageReference?.message_id === message.id);
}

/** Waits until the bot has handled `message` (`count` runs: the create, then edits). */
export async function handled(h: Harness, message: Message, count = 1) {
	await h.discord.waitFor(() => (h.bot.autoRehost?.outcomes(message.id).length ?? 0) >= count, {
		timeoutMs: 20_000,
		what: `auto-rehost of message ${message.id}`,
	});
	return h.bot.autoRehost?.outcomes(message.id) ?? [];
}

/** `/imgpile settings <subcommand>`, answered. */
export async function settingsCommand(
	h: Harness,
	input: {
		user: User;
		channel: Channel;
		subcommand: string;
		options: Record<string, boolean | string | Channel>;
		locale?: string;
	},
) {
	return h.finished(await h.discord.slash({ ...input, command: "imgpile", group: "settings" }));
}

export async function settings(
	h: Harness,
	user: User,
	channel: Channel,
	options: Record<string, boolean | string | Channel>,
) {
	return settingsCommand(h, { user, channel, subcommand: "auto-rehost", options });
}

/**
 * The bot reading members' messages (DISCORD_MESSAGE_CONTENT, the intent on in the portal), a
 * `gallery` channel, and alice (who manages the server) with her imgpile token linked.
 */
export async function startAutoRehostWorld(options: HarnessOptions = {}): Promise<{ h: Harness; gallery: Channel }> {
	const h = await Harness.start({
		...options,
		messageContent: true,
		discord: { ...options.discord, privilegedIntents: { messageContent: true } },
	});
	const gallery = h.guild.createChannel({ name: "gallery" });
	expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
	return { h, gallery };
}
