/**
 * An auto-rehost channel in thread mode: the links go in a thread started from the member's
 * message, and the message gets ✅. Nothing twice across a restart: the reaction is idempotent,
 * the thread Discord already has for the message (160004; its id is the message's) is reused,
 * and links already posted in it are found in its history (a bot message after the last answer
 * recorded) besides the nonce, which Discord honours only for a few minutes.
 */
import {
	DiscordAPIError,
	type Message,
	type MessageCreateOptions,
	PermissionFlagsBits,
	RESTJSONErrorCodes,
	type ThreadChannel,
} from "discord.js";
import type { BotContext } from "./types.js";

type GuildMessage = Message<true>;

const DONE = "✅";

/** Discord refusing a thread here (permissions taken away since, a channel type without threads): the links become a reply. */
const NO_THREAD: readonly (number | string)[] = [
	RESTJSONErrorCodes.MissingPermissions,
	RESTJSONErrorCodes.MissingAccess,
	RESTJSONErrorCodes.CannotExecuteActionOnThisChannelType,
];

/**
 * Posts `payload` in the message's thread (started if need be), then reacts ✅ (first answer);
 * `lastAnswer` is the id of the answer recorded last for this message (links after it are this
 * answer's; it is recorded after the reaction, so an answer recorded means ✅ was put).
 * Undefined when Discord will not have a thread there: the caller replies instead.
 */
export async function postInThread(
	ctx: BotContext,
	message: GuildMessage,
	payload: MessageCreateOptions,
	lastAnswer: string | undefined,
): Promise<Message | undefined> {
	// Permissions taken away since the command: a reply, without a request Discord would refuse.
	const me = message.guild.members.me;
	const perms = me ? message.channel.permissionsFor(me) : null;
	const needed = message.hasThread ? [] : [PermissionFlagsBits.CreatePublicThreads];
	if (perms && !perms.has([...needed, PermissionFlagsBits.SendMessagesInThreads])) {
		ctx.log.warn("auto-rehost may no longer start threads or post in them here; replying instead");
		return undefined;
	}
	const found = await threadOf(ctx, message);
	if (!found) return undefined;
	const sent =
		(found.existed ? await postedBefore(found.thread, lastAnswer || message.id) : undefined) ??
		(await found.thread.send(payload));
	// With the first answer only: a later one (an edit's new files) finds ✅ there already.
	if (
		!lastAnswer &&
		(!perms || perms.has([PermissionFlagsBits.AddReactions, PermissionFlagsBits.ReadMessageHistory]))
	) {
		try {
			await message.react(DONE);
		} catch (error) {
			ctx.log.warn({ err: error }, "auto-rehost could not react to the message");
		}
	}
	return sent;
}

async function threadOf(
	ctx: BotContext,
	message: GuildMessage,
): Promise<{ thread: ThreadChannel; existed: boolean } | undefined> {
	// A message read again (after a restart) says it has one; discord.js then refuses to ask Discord.
	if (!message.hasThread) {
		try {
			const thread = await message.startThread({ name: ctx.t("autoRehost.threadName") });
			return { thread, existed: false };
		} catch (error) {
			if (!(error instanceof DiscordAPIError)) throw error;
			if (NO_THREAD.includes(error.code)) {
				ctx.log.warn({ err: error }, "auto-rehost could not start a thread; replying instead");
				return undefined;
			}
			if (error.code !== RESTJSONErrorCodes.ThreadAlreadyCreatedForMessage) throw error;
		}
	}
	// Started before a restart (or by a member): a thread from a message has the message's id.
	const thread = message.thread ?? (await message.client.channels.fetch(message.id));
	if (!thread?.isThread()) throw new Error(`the thread of message ${message.id} is not a thread`);
	return { thread, existed: true };
}

/** The bot's message in `thread` after `after`, if a run before a restart posted it already. */
async function postedBefore(thread: ThreadChannel, after: string): Promise<Message | undefined> {
	const page = await thread.messages.fetch({ after, limit: 50 });
	return page.find((m) => m.author.id === thread.client.user.id);
}
