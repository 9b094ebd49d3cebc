/**
 * One message of an auto-rehost channel, to imgpile: its new images and videos through the same
 * sources, checks, transfers and records as "Rehost to imgpile" (src/bot/upload/), then one
 * answer with the links that pings nobody (a reply, or a post in a thread: auto-rehost-thread.ts). See AutoRehost (auto-rehost.ts) for when it runs.
 */
import { createHash } from "node:crypto";
import type { Message, MessageCreateOptions } from "discord.js";
import { channelAllowsNsfw } from "../discord/index.js";
import type { AutoRehostChannel } from "../store/index.js";
import { postInThread } from "./auto-rehost-thread.js";
import { UserError, userMessage } from "./errors.js";
import { type Identity, linkedIdentity, releaseReserved, uploadIdentity } from "./identity.js";
import type { BotContext } from "./types.js";
import {
	collectSources,
	earlierUploads,
	type FileResult,
	type FileSource,
	fitLines,
	mediaListAnswer,
	recordResults,
	refusedUpFront,
	sendable,
	transferAll,
	unauthorizedLines,
} from "./upload/index.js";

/**
 * Why the run was started: a new message, an edit (or unfurl) of one, unfinished work after a
 * restart, or a message posted while the bot was not listening (read back from the channel).
 */
export type AutoRehostTrigger = "create" | "update" | "recover" | "backlog";

/** How a run ended (for logs and tests). */
export type AutoRehostOutcome =
	| "replied"
	| "nothing-new"
	| "no-token"
	| "refused"
	| "send-failed"
	| "not-enabled"
	| "opted-out";

type GuildMessage = Message<true>;

const MEDIA_TYPE = /^(?:image|video)\//;

/**
 * The message's images and videos: attachments typed image/* or video/*, and embedded media on
 * Discord's CDN (a link to another site is not a file the member posted). Files over the limit
 * stay in, to be named in the reply.
 */
export function mediaSources(ctx: BotContext, message: Message): FileSource[] {
	const sources = collectSources(message).filter((source) => {
		const attachment = source.key ? message.attachments.get(source.key) : undefined;
		if (attachment) return MEDIA_TYPE.test(attachment.contentType ?? "");
		return true;
	});
	const refused = refusedUpFront(ctx, sources);
	return sources.filter((_, index) => refused.get(index)?.key !== "upload.fail.badHost");
}

/** Transfers cut short by a shutdown: the message stays pending, finished at the next start. */
export class AutoRehostInterrupted extends Error {
	override name = "AutoRehostInterrupted";
	constructor() {
		super("auto-rehost interrupted by a shutdown");
	}
}

/** Files stopped without imgpile refusing the token: the pipeline was closed under them. */
function interrupted(results: readonly FileResult[]): boolean {
	const failures = results.flatMap((result) => (result.kind === "failed" ? [result.failure] : []));
	return failures.some((f) => f.key === "upload.fail.stopped") && !failures.some((f) => f.unauthorized);
}

/** The reply's nonce (Discord keeps at most 25 characters): one per message and set of files. */
function nonceOf(messageId: string, keys: readonly string[]): string {
	return `ar${createHash("sha256")
		.update(`${messageId}:${keys.join(",")}`)
		.digest("base64url")
		.slice(0, 23)}`;
}

/**
 * Rehosts what is new in `message` and replies once. `channel` are the channel's settings. The
 * pending record (written by the caller before this runs) is what a restart finishes.
 */
export async function runAutoRehost(
	ctx: BotContext,
	message: GuildMessage,
	channel: AutoRehostChannel,
	trigger: AutoRehostTrigger,
): Promise<AutoRehostOutcome> {
	const { store } = ctx;
	const who = { guildId: message.guildId, user: { id: message.author.id } };
	const earlier = await store.autoRehost.replied(message.id);
	const answered = new Set(earlier?.keys ?? []);
	let sources = mediaSources(ctx, message).filter((source) => !answered.has(source.key ?? source.url));
	if (trigger === "update") {
		// An edit answers only files never rehosted: the ones the first answer covered are done.
		const known = await Promise.all(
			sources.map((source) => (source.key ? store.uploads.byAttachment(source.key) : undefined)),
		);
		sources = sources.filter((_, index) => known[index] === undefined);
	}
	if (sources.length === 0) return "nothing-new";

	const linked = await linkedIdentity(ctx, who);
	if (!linked && !channel.serverToken) {
		await hintOnce(ctx, message, "link", "autoRehost.needsLink");
		return "no-token";
	}
	const refused = refusedUpFront(ctx, sources);
	let identity: Identity | undefined;
	try {
		const reused = await earlierUploads(ctx, who, sources, refused);
		const fresh = sources.length - refused.size - reused.size;
		identity = linked ?? (fresh > 0 ? await uploadIdentity(ctx, who, fresh) : undefined);
		const results = await transferAll(ctx, sources, ctx.imgpile.as(identity?.token), { refused, reused });
		await recordResults(ctx, who, identity, results);
		if (interrupted(results)) throw new AutoRehostInterrupted();
		return await reply(ctx, message, channel, identity, results, earlier?.replyId);
	} catch (error) {
		if (!(error instanceof UserError)) throw error;
		// The server token's cap (or no server token after all): said once a day, not per message.
		const day = new Date(ctx.now()).toISOString().slice(0, 10);
		const topic = error.key === "identity.serverCapReached" ? `cap:${day}` : "link";
		await hintOnce(ctx, message, topic, undefined, userMessage(ctx.t, error));
		return "refused";
	} finally {
		await releaseReserved(ctx, identity);
	}
}

/**
 * The one answer with the links (and the files that failed, with why): a reply, or in thread
 * mode a post in the message's thread (not in a thread or forum post: none can start there).
 */
async function reply(
	ctx: BotContext,
	message: GuildMessage,
	channel: AutoRehostChannel,
	identity: Identity | undefined,
	results: FileResult[],
	lastAnswer: string | undefined,
): Promise<AutoRehostOutcome> {
	const before = [ctx.t("autoRehost.by", { user: `<@${message.author.id}>` })];
	if (identity) before.push(...unauthorizedLines(ctx, identity, results));
	const answer = mediaListAnswer(ctx.t, { results, nsfwAllowed: channelAllowsNsfw(message.channel), before });
	const keys = results.map((result) => result.source.key ?? result.source.url);
	const payload = {
		...sendable(answer),
		allowedMentions: { parse: [], repliedUser: false },
		// A resend after a crash within Discord's nonce window returns the first answer.
		nonce: nonceOf(message.id, keys),
		enforceNonce: true,
	} satisfies MessageCreateOptions;
	try {
		const threaded =
			channel.reply === "thread" && !message.channel.isThread()
				? await postInThread(ctx, message, payload, lastAnswer)
				: undefined;
		const sent =
			threaded ??
			(await message.channel.send({ ...payload, reply: { messageReference: message.id, failIfNotExists: false } }));
		await ctx.store.autoRehost.recordReply(message.id, { replyId: sent.id, keys });
		ctx.log.info(
			{
				reply: sent.id,
				thread: threaded ? sent.channelId : undefined,
				files: results.length,
				uploaded: results.filter((r) => r.kind === "uploaded").length,
			},
			"auto-rehost answered",
		);
		return "replied";
	} catch (error) {
		// The rehost is kept (recorded above); a channel the bot may not write in gets no retry loop.
		ctx.log.warn({ err: error }, "auto-rehost could not reply in the channel");
		await ctx.store.autoRehost.recordReply(message.id, { replyId: "", keys });
		return "send-failed";
	}
}

/**
 * A short reply that pings nobody, at most once per member, server and `topic` (the first
 * time a member without a token posts, once a day for a reached cap).
 */
async function hintOnce(
	ctx: BotContext,
	message: GuildMessage,
	topic: string,
	key: "autoRehost.needsLink" | undefined,
	text?: string,
): Promise<void> {
	if (!(await ctx.store.autoRehost.firstNotice(message.guildId, message.author.id, topic))) return;
	const content = key
		? ctx.t(key, { user: `<@${message.author.id}>` })
		: ctx.t("autoRehost.failed", { reason: text ?? "" });
	try {
		await message.reply({
			content: fitLines([content], 2000),
			allowedMentions: { parse: [], repliedUser: false },
			failIfNotExists: false,
		});
	} catch (error) {
		ctx.log.warn({ err: error }, "auto-rehost could not tell the member");
	}
}
