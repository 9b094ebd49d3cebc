/** How an upload or a rehost ends, where both end the same way. */
import type { MessageKey } from "../../i18n/index.js";
import type { ImgpileClient, UpdatePostBody } from "../../imgpile/index.js";
import { userMessage } from "../errors.js";
import { type MadePost, makePost } from "../posts.js";
import type { HandlerContext } from "../types.js";
import { type Answer, failureLine, mediaListAnswer, postAnswer } from "./answers.js";
import { type FileFailure, type FileResult, type FileSource, succeeded } from "./files.js";
import type { ProgressBoard } from "./progress.js";
import { CONTENT_MAX, fitLines } from "./text.js";

/** Every file was refused before any request: `header`, then each file and why, for the user alone. */
export async function replyAllRefused(
	ctx: HandlerContext,
	header: MessageKey,
	sources: readonly FileSource[],
	refused: ReadonlyMap<number, FileFailure>,
): Promise<void> {
	const lines = [ctx.t(header)];
	for (const [index, failure] of refused) lines.push(failureLine(ctx.t, sources[index]?.name ?? "?", failure));
	await ctx.respond.reply({ content: fitLines(lines, CONTENT_MAX), ephemeral: true, allowedMentions: { parse: [] } });
}

/**
 * The upload stopped on an error the user may read: once the progress board is done, its
 * message becomes that error. Anything else is for the central catch (rethrown).
 */
export async function editWithError(ctx: HandlerContext, board: ProgressBoard, error: unknown): Promise<void> {
	await board.finish();
	const text = userMessage(ctx.t, error);
	if (text === undefined) throw error;
	await ctx.respond.edit({ content: text, embeds: [], components: [], allowedMentions: { parse: [] } });
}

export interface PostOrListOptions {
	results: readonly FileResult[];
	details: UpdatePostBody;
	/** Show the private key: only in an answer nobody else sees. */
	showKey: boolean;
	nsfwAllowed: boolean;
	before?: string[];
}

/**
 * A post of the files that made it, with `details`, as the answer; when imgpile refuses it, the
 * media as links with why (an unexpected error is rethrown). `post` is the post made, if any.
 */
export async function postOrMediaList(
	ctx: HandlerContext,
	client: ImgpileClient,
	options: PostOrListOptions,
): Promise<{ answer: Answer; post?: MadePost }> {
	const { results, details, nsfwAllowed } = options;
	const before = options.before ?? [];
	try {
		const post = await makePost(
			ctx,
			client,
			succeeded(results).map((result) => result.media.id),
			details,
		);
		const answer = postAnswer(ctx.t, {
			post,
			showKey: options.showKey,
			title: details.title,
			results,
			nsfwAllowed,
			nsfwPost: details.is_nsfw === true,
			before,
		});
		return { answer, post };
	} catch (error) {
		const text = userMessage(ctx.t, error);
		if (text === undefined) throw error;
		const answer = mediaListAnswer(ctx.t, {
			results,
			nsfwAllowed,
			before: [...before, ctx.t("upload.postFailed", { details: text })],
		});
		return { answer };
	}
}
