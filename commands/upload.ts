import {
	ApplicationCommandOptionType,
	type Attachment,
	type ButtonInteraction,
	type ChatInputCommandInteraction,
	ComponentType,
	type ModalSubmitInteraction,
	TextInputStyle,
} from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { requireUploader } from "../src/bot/guards.js";
import { asUploader, type Identity, releaseReserved, uploadIdentity } from "../src/bot/identity.js";
import { parsePostDetails, SLUG } from "../src/bot/input.js";
import { visibilityChoices } from "../src/bot/options.js";
import { makePost, patchWithTags } from "../src/bot/posts.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import {
	type Answer,
	attachmentSource,
	editWithError,
	type FileFailure,
	type FileResult,
	type FileSource,
	fitLines,
	mediaListAnswer,
	ProgressBoard,
	postOrMediaList,
	recordResults,
	refusedUpFront,
	replyAllRefused,
	sendable,
	singleAnswer,
	singleButtons,
	succeeded,
	transferAll,
	UPLOAD_DELETE_BUTTON,
	UPLOAD_POST_BUTTON,
	UPLOAD_POST_MODAL,
	unauthorizedLines,
} from "../src/bot/upload/index.js";
import { channelAllowsNsfw, customId, postUrl } from "../src/discord/index.js";
import { DEFAULT_LOCALE, LOCALES, type Locale, type MessageKey, t as translate } from "../src/i18n/index.js";
import { ImgpileNotFoundError, type UpdatePostBody } from "../src/imgpile/index.js";

/** Attachment options: `file`, then `file2` … `file10`. */
export const MAX_FILES = 10;

/** `fileN` with its localized names ("文件2") and texts, from keys with a `{n}` placeholder. */
function moreFileOption(n: number) {
	const localized = (key: MessageKey) => {
		const out: Partial<Record<Locale, string>> = {};
		for (const locale of Object.keys(LOCALES) as Locale[]) {
			if (locale !== DEFAULT_LOCALE) out[locale] = translate(locale, key, { n });
		}
		return out;
	};
	return {
		type: ApplicationCommandOptionType.Attachment,
		name: `file${n}`,
		name_localizations: localized("cmd.upload.option.fileN.nameTemplate"),
		description: translate(DEFAULT_LOCALE, "cmd.upload.option.fileN.description", { n }),
		description_localizations: localized("cmd.upload.option.fileN.description"),
	} as const;
}

const MORE_FILES = Array.from({ length: MAX_FILES - 1 }, (_, i) => moreFileOption(i + 2));
const FILE_OPTIONS = ["file", ...MORE_FILES.map((option) => option.name)] as const;

/** `/upload`: one to ten files to imgpile; several (or a title, tags, `post`) make a post. */
export const data = chatCommand("upload", {
	options: [
		{ type: ApplicationCommandOptionType.Attachment, name: "file", required: true },
		{ type: ApplicationCommandOptionType.String, name: "title", max_length: 255 },
		{ type: ApplicationCommandOptionType.String, name: "description", max_length: 4000 },
		{ type: ApplicationCommandOptionType.String, name: "tags", max_length: 500 },
		{ type: ApplicationCommandOptionType.String, name: "visibility", choices: visibilityChoices },
		{ type: ApplicationCommandOptionType.Boolean, name: "nsfw" },
		{ type: ApplicationCommandOptionType.Boolean, name: "post" },
		...MORE_FILES,
	],
});

interface PostRequest {
	/** Whether the files go into a post (several files, or title/description/tags/visibility/nsfw/post). */
	asPost: boolean;
	details: UpdatePostBody;
}

function postRequest(interaction: ChatInputCommandInteraction, files: number): PostRequest {
	const options = optionsOf(data, interaction);
	const nsfw = options.getBoolean("nsfw");
	const details = parsePostDetails({
		title: options.getString("title"),
		description: options.getString("description"),
		tags: options.getString("tags"),
		visibility: options.getString("visibility"),
		nsfw,
	});
	const forced = options.getBoolean("post") === true;
	const asPost = files > 1 || forced || Object.keys(details).some((key) => key !== "is_nsfw") || nsfw === true;
	return { asPost, details };
}

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const attachments = FILE_OPTIONS.map((name) => optionsOf(data, interaction).getAttachment(name)).filter(
		(attachment): attachment is Attachment => attachment !== null,
	);
	if (attachments.length === 0) throw new UserError("upload.noFiles");
	const sources = attachments.map(attachmentSource);
	const request = postRequest(interaction, sources.length);

	const refused = refusedUpFront(ctx, sources);
	if (refused.size === sources.length) return replyAllRefused(ctx, "upload.noneUploaded", sources, refused);
	const identity = await uploadIdentity(ctx, interaction, sources.length - refused.size);
	try {
		await uploadWith(ctx, interaction, identity, sources, refused, request);
	} finally {
		// Whatever ended the upload early: the server-token slots it held but did not use go back.
		await releaseReserved(ctx, identity);
	}
}

async function uploadWith(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction,
	identity: Identity,
	sources: FileSource[],
	refused: Map<number, FileFailure>,
	request: PostRequest,
): Promise<void> {
	// A private post's link carries its key: the whole answer is for the uploader only.
	const ephemeral = request.details.visibility === "private";
	await ctx.respond.defer({ ephemeral });

	const board = new ProgressBoard(
		ctx,
		sources.map((source) => source.name),
	);
	let answer: Answer;
	try {
		const results = await transferAll(ctx, sources, ctx.imgpile.as(identity.token), { refused, board });
		await recordResults(ctx, interaction, identity, results);
		answer = await answerFor(ctx, interaction, identity, request, results, ephemeral);
	} catch (error) {
		return editWithError(ctx, board, error);
	}
	await board.finish();
	await ctx.respond.edit(sendable(answer));
}

async function answerFor(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction,
	identity: Identity,
	request: PostRequest,
	results: FileResult[],
	ephemeral: boolean,
): Promise<Answer> {
	const nsfwAllowed = channelAllowsNsfw(interaction.channel);
	const before = unauthorizedLines(ctx, identity, results);
	const done = succeeded(results);
	const single = done[0];
	if (before.length > 0 || done.length === 0) return mediaListAnswer(ctx.t, { results, nsfwAllowed, before });
	if (!request.asPost && single && results.length === 1) {
		return singleAnswer(ctx.t, { result: single, nsfwAllowed });
	}
	const client = ctx.imgpile.as(identity.token);
	const { answer } = await postOrMediaList(ctx, client, {
		results,
		details: request.details,
		showKey: ephemeral,
		nsfwAllowed,
	});
	return answer;
}

// ── The buttons of a single upload (also on rehost answers) ────────────────

/** `upload-delete:{slug}`: the uploader deletes the media on imgpile; anyone else is refused. */
async function deletePressed(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const [slug = ""] = args;
	await requireUploader(ctx, interaction, slug);
	try {
		await asUploader(ctx, interaction, (client) => client.deleteMedia(slug));
	} catch (error) {
		// Already gone on imgpile: the outcome the user asked for.
		if (!(error instanceof ImgpileNotFoundError)) throw error;
	}
	await ctx.store.uploads.forget(slug);
	ctx.log.info({ slug }, "upload deleted");
	await ctx.respond.update({
		content: ctx.t("media.delete.done", { slug }),
		embeds: [],
		components: [],
		allowedMentions: { parse: [] },
	});
}

const TITLE_FIELD = "title";
const DESCRIPTION_FIELD = "description";
const TAGS_FIELD = "tags";

/** `upload-post:{slug}[:{postSlug}]`: a form for the post's title, description and tags. */
async function postPressed(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const [slug = "", postSlug] = args;
	await requireUploader(ctx, interaction, slug);
	if (postSlug !== undefined && !SLUG.test(postSlug)) throw new UserError("error.unknownAction");
	const editing = postSlug !== undefined;
	const input = (id: string, label: MessageKey, style: TextInputStyle, maxLength: number) => ({
		type: ComponentType.ActionRow as const,
		components: [
			{
				type: ComponentType.TextInput as const,
				customId: id,
				label: ctx.t(label),
				style,
				required: false,
				maxLength,
				...(editing ? { placeholder: ctx.t("upload.modal.keep") } : {}),
			},
		],
	});
	await ctx.respond.showModal({
		customId: postSlug ? customId(UPLOAD_POST_MODAL, slug, postSlug) : customId(UPLOAD_POST_MODAL, slug),
		title: ctx.t(editing ? "upload.modal.editTitle" : "upload.modal.title"),
		components: [
			input(TITLE_FIELD, "upload.modal.postTitle", TextInputStyle.Short, 255),
			input(DESCRIPTION_FIELD, "upload.modal.description", TextInputStyle.Paragraph, 4000),
			input(TAGS_FIELD, "upload.modal.tags", TextInputStyle.Short, 500),
		],
	});
}

/** The form was sent: make the post from the media (or edit it), and show its link on the message. */
async function postSubmitted(ctx: HandlerContext, interaction: ModalSubmitInteraction, args: string[]): Promise<void> {
	const [slug = "", postSlug] = args;
	const record = await requireUploader(ctx, interaction, slug);
	if (postSlug !== undefined && !SLUG.test(postSlug)) throw new UserError("error.unknownAction");
	const details = parsePostDetails({
		title: interaction.fields.getTextInputValue(TITLE_FIELD),
		description: interaction.fields.getTextInputValue(DESCRIPTION_FIELD),
		tags: interaction.fields.getTextInputValue(TAGS_FIELD),
	});

	const notes: string[] = [];
	let target = postSlug;
	if (target === undefined) {
		const post = await asUploader(ctx, interaction, (client) => makePost(ctx, client, [record.mediaId], details));
		target = post.slug;
		notes.push(...post.notes);
		ctx.log.info({ slug, post: post.slug }, "post made from an upload");
	} else {
		if (Object.keys(details).length === 0) throw new UserError("input.nothingToChange");
		const post = target;
		const patched = await asUploader(ctx, interaction, (client) => patchWithTags(client, post, details));
		if (patched.tagsRefused !== undefined) notes.push(ctx.t("post.tagsRefused", { details: patched.tagsRefused }));
	}
	const line = ctx.t("upload.postLine", { link: `<${postUrl(target)}>` });
	const previous = (interaction.message?.content ?? "").split("\n").filter((text) => text !== "" && text !== line);
	await ctx.respond.update({
		content: fitLines([...previous, line, ...notes], 2000),
		components: [singleButtons(ctx.t, { slug, urls: { original: record.url } }, target)],
		allowedMentions: { parse: [] },
	});
}

export default {
	command: { data, execute },
	buttons: {
		[UPLOAD_DELETE_BUTTON]: deletePressed,
		[UPLOAD_POST_BUTTON]: postPressed,
	},
	modals: {
		[UPLOAD_POST_MODAL]: postSubmitted,
	},
} satisfies CommandModule;
