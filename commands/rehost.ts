import { type Message, type MessageContextMenuCommandInteraction, PermissionFlagsBits } from "discord.js";
import { messageCommand } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { type Identity, releaseReserved, uploadIdentity } from "../src/bot/identity.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import {
	type Answer,
	collectSources,
	earlierUploads,
	editWithError,
	type Failed,
	type FileResult,
	failureLine,
	fitLines,
	mediaListAnswer,
	ProgressBoard,
	postOrMediaList,
	recordResults,
	refusedUpFront,
	replyAllRefused,
	sendable,
	singleAnswer,
	succeeded,
	transferAll,
	unauthorizedLines,
} from "../src/bot/upload/index.js";
import { channelAllowsNsfw } from "../src/discord/index.js";
import { loggableUrl } from "../src/transfer/index.js";

/** "Rehost to imgpile": a message's attachments and embedded images/videos, to imgpile. */
export const data = messageCommand("Rehost to imgpile", "cmd.rehost.menuName");

function siteOf(url: string): string {
	try {
		return new URL(url).hostname;
	} catch {
		return "?";
	}
}

async function execute(ctx: HandlerContext, interaction: MessageContextMenuCommandInteraction): Promise<void> {
	const message = interaction.targetMessage;
	const sources = collectSources(message);
	if (sources.length === 0) throw new UserError("rehost.nothing");
	const refused = refusedUpFront(ctx, sources);
	// Embed URLs off the Discord CDN are named by their URL, not by a file name, and said to be
	// another site's media (their proxy_url on images-ext-N.discordapp.net does not make them Discord's).
	for (const [index, failure] of refused) {
		const source = sources[index];
		if (!source || message.attachments.has(source.key ?? "")) continue;
		source.name = loggableUrl(source.url);
		if (failure.key === "upload.fail.badHost") {
			refused.set(index, { key: "rehost.fail.external", params: { site: siteOf(source.url) } });
		}
	}
	if (refused.size === sources.length) return replyAllRefused(ctx, "rehost.noneRehosted", sources, refused);
	await ctx.respond.defer({ ephemeral: true });
	const board = new ProgressBoard(
		ctx,
		sources.map((source) => source.name),
	);
	let identity: Identity | undefined;
	try {
		const reused = await earlierUploads(ctx, interaction, sources, refused);
		const fresh = sources.length - refused.size - reused.size;
		identity = fresh > 0 ? await uploadIdentity(ctx, interaction, fresh) : undefined;
		const client = ctx.imgpile.as(identity?.token);
		const results = await transferAll(ctx, sources, client, { refused, reused, board });
		await recordResults(ctx, interaction, identity, results);
		const answer = (publicly: boolean) => answerFor(ctx, interaction, identity, results, refused.size, publicly);
		const mode = interaction.guildId ? (await ctx.store.guilds.get(interaction.guildId)).rehostReply : "ephemeral";
		const built = await answer(mode === "public");
		await board.finish();
		await deliver(ctx, interaction, message, mode === "public", built);
	} catch (error) {
		await editWithError(ctx, board, error);
	} finally {
		// Server-token slots held but not used (a failure before the count) go back.
		await releaseReserved(ctx, identity);
	}
}

async function answerFor(
	ctx: HandlerContext,
	interaction: MessageContextMenuCommandInteraction,
	identity: Identity | undefined,
	results: FileResult[],
	refusedCount: number,
	publicly: boolean,
): Promise<Answer> {
	const message = interaction.targetMessage;
	const nsfwAllowed = channelAllowsNsfw(interaction.channel);
	const spoilers = results.some((result) => result.source.spoiler);
	const before = publicly ? [ctx.t("rehost.by", { user: `<@${interaction.user.id}>` })] : [];
	const refusedToken = identity ? unauthorizedLines(ctx, identity, results) : [];
	before.push(...refusedToken);
	const done = succeeded(results);
	const uploaded = done.filter((result) => result.kind === "uploaded");
	const several = results.length - refusedCount >= 2;

	if (!several && done.length === 1 && done[0]) {
		const failures = results.filter((result) => result.kind === "failed");
		if (done[0].kind === "reused") before.push(ctx.t("rehost.already"));
		return singleAnswer(ctx.t, {
			result: done[0],
			nsfwAllowed,
			before,
			after: failures.length > 0 ? [ctx.t("upload.failedHeader"), ...failureLines(ctx, failures)] : [],
		});
	}
	// A post only with something new in it: rehosting the same message again gives the same links.
	if (!identity || uploaded.length === 0 || refusedToken.length > 0) {
		if (done.some((result) => result.kind === "reused")) before.push(ctx.t("rehost.already"));
		return mediaListAnswer(ctx.t, { results, nsfwAllowed, before });
	}
	const nsfw = nsfwAllowed || spoilers;
	const { answer, post } = await postOrMediaList(ctx, ctx.imgpile.as(identity.token), {
		results,
		details: nsfw ? { is_nsfw: true } : {},
		showKey: false,
		nsfwAllowed,
		before,
	});
	if (post) ctx.log.info({ post: post.slug, media: done.length, source: message.id }, "message rehosted as a post");
	return answer;
}

function failureLines(ctx: HandlerContext, failures: Failed[]): string[] {
	return failures.map(({ source, failure }) => failureLine(ctx.t, source.name, failure));
}

const PERMISSION_NAMES: [bigint, string][] = [
	[PermissionFlagsBits.ViewChannel, "View Channel"],
	[PermissionFlagsBits.SendMessages, "Send Messages"],
	[PermissionFlagsBits.SendMessagesInThreads, "Send Messages in Threads"],
	[PermissionFlagsBits.ReadMessageHistory, "Read Message History"],
	[PermissionFlagsBits.EmbedLinks, "Embed Links"],
];

/** What the bot lacks to reply to the message in its channel (empty: nothing). */
function missingPermissions(interaction: MessageContextMenuCommandInteraction, answer: Answer): string[] {
	const permissions = interaction.appPermissions;
	if (!permissions) return [];
	const thread = interaction.channel?.isThread() ?? false;
	let needed = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.ReadMessageHistory;
	needed |= thread ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages;
	if (answer.embeds.length > 0) needed |= PermissionFlagsBits.EmbedLinks;
	return PERMISSION_NAMES.filter(([bit]) => (needed & bit) !== 0n && !permissions.has(bit)).map(([, name]) => name);
}

/**
 * Ephemeral by default; with the server's `rehost-reply: public`, a reply to the message in its
 * channel (when the bot may send there; else the answer comes privately with a note why).
 */
async function deliver(
	ctx: HandlerContext,
	interaction: MessageContextMenuCommandInteraction,
	message: Message,
	publicly: boolean,
	built: Answer,
): Promise<void> {
	if (!publicly) {
		await ctx.respond.edit(sendable(built));
		return;
	}
	const missing = missingPermissions(interaction, built);
	let why: string;
	if (missing.length === 0) {
		try {
			const sent = await message.reply({
				...built,
				allowedMentions: { parse: [], repliedUser: false },
				failIfNotExists: false,
			});
			await ctx.respond.edit({
				content: ctx.t("rehost.postedPublicly", { link: sent.url }),
				embeds: [],
				components: [],
				allowedMentions: { parse: [] },
			});
			return;
		} catch (error) {
			ctx.log.warn({ err: error }, "could not reply to the rehosted message in its channel");
			why = ctx.t("rehost.sendFailed");
		}
	} else {
		why = ctx.t("rehost.missingPermissions", { permissions: missing.join(", ") });
	}
	// Privately after all: without the "rehosted by" line meant for the channel.
	const lines = built.content.split("\n").slice(1);
	await ctx.respond.edit(
		sendable({ ...built, content: fitLines([ctx.t("rehost.publicFallback", { why }), ...lines], 2000) }),
	);
}

export default {
	command: { data, execute },
} satisfies CommandModule;
