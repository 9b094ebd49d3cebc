/**
 * `/comment add|delete` (personal: the user's own token) and `/comment list user:<username>` (a
 * user's public comments, 10 a page, Prev/Next buttons `comments:{username}:{page}`). imgpile
 * has no per-post comment listing, so a post's comments are not shown.
 */
import {
	type APIEmbed,
	ApplicationCommandOptionType,
	type ButtonInteraction,
	type ChatInputCommandInteraction,
	escapeMarkdown,
} from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { personalClient, readerFor } from "../src/bot/identity.js";
import { listButtonArgs, parsePostRef } from "../src/bot/input.js";
import { usernameFrom, userOption } from "../src/bot/options.js";
import { naming } from "../src/bot/readers.js";
import { LIST_PAGE_SIZE, readPage, runAction } from "../src/bot/social.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { COMMENTS_BUTTON, pageFooter, pageRow, safeText, truncate } from "../src/discord/index.js";
import { type Comment, IMGPILE_LIMITS, type Page } from "../src/imgpile/index.js";

export const data = chatCommand("comment", {
	options: [
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "add",
			options: [
				{ type: ApplicationCommandOptionType.String, name: "post", required: true },
				// No max_length: a longer comment gets the bot's message, with its length.
				{ type: ApplicationCommandOptionType.String, name: "content", required: true },
				{ type: ApplicationCommandOptionType.Integer, name: "reply-to", min_value: 1 },
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "delete",
			options: [{ type: ApplicationCommandOptionType.Integer, name: "id", min_value: 1, required: true }],
		},
		{ type: ApplicationCommandOptionType.Subcommand, name: "list", options: [userOption] },
	],
});

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	switch (optionsOf(data, interaction).getSubcommand(true)) {
		case "add":
			return add(ctx, interaction);
		case "delete":
			return remove(ctx, interaction);
		case "list": {
			const username = usernameFrom(interaction);
			await ctx.respond.reply(await listMessage(ctx, interaction, username, 1));
			return;
		}
	}
	throw new UserError("error.unknownAction");
}

/** The comment as it will be sent, refused before anything is sent when empty or too long. */
export function checkComment(content: string): string {
	const text = content.trim();
	if (text === "") throw new UserError("comment.empty");
	// UTF-16 units: what Discord counts, and never less than imgpile's count of characters.
	if (text.length > IMGPILE_LIMITS.maxCommentLength) {
		throw new UserError("comment.tooLong", { length: text.length, max: IMGPILE_LIMITS.maxCommentLength });
	}
	return text;
}

async function add(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const ref = parsePostRef(options.getString("post", true), { allowId: true });
	const content = checkComment(options.getString("content", true));
	const parentId = options.getInteger("reply-to") ?? undefined;
	if (parentId !== undefined && parentId < 1) throw new UserError("error.unknownAction");
	const client = await personalClient(ctx, interaction);
	const target = ref.kind === "id" ? ref.id : ref.slug;
	const what = ref.kind === "id" ? ctx.t("what.postId", { id: ref.id }) : ctx.t("what.post", { slug: ref.slug });
	await runAction(ctx, async () => {
		const comment = await naming(what, () => client.createComment(target, { content, parentId }));
		ctx.log.info({ commentId: comment.id }, "comment added");
		return parentId === undefined
			? ctx.t("comment.added", { id: comment.id, what })
			: ctx.t("comment.replied", { id: comment.id, parent: parentId, what });
	});
}

async function remove(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const id = optionsOf(data, interaction).getInteger("id", true);
	if (id < 1) throw new UserError("error.unknownAction");
	const client = await personalClient(ctx, interaction);
	await runAction(ctx, async () => {
		await naming(ctx.t("what.comment", { id }), () => client.deleteComment(id));
		ctx.log.info({ commentId: id }, "comment deleted");
		return ctx.t("comment.deleted", { id });
	});
}

// ── list ────────────────────────────────────────────────────────────────────

function commentLine(ctx: HandlerContext, comment: Comment): string {
	const head = [ctx.t("comments.line", { id: comment.id, post: comment.post_id })];
	if (typeof comment.score === "number") head.push(`▲ ${comment.score}`);
	if (comment.parent_id) head.push(ctx.t("comments.replyTo", { parent: comment.parent_id }));
	const timestamp = comment.created_at ? Date.parse(comment.created_at) : Number.NaN;
	if (!Number.isNaN(timestamp)) head.push(`<t:${Math.floor(timestamp / 1000)}:R>`);
	return `${head.join(" · ")}\n> ${safeText(comment.content.replace(/\s+/g, " "), 300)}`;
}

async function listMessage(
	ctx: HandlerContext,
	who: { guildId: string | null; user: { id: string } },
	username: string,
	page: number,
) {
	const client = await readerFor(ctx, who);
	const found = await naming(ctx.t("what.user", { username }), () =>
		readPage((n): Promise<Page<Comment>> => client.userComments(username, { page: n, limit: LIST_PAGE_SIZE }), page),
	);
	const lines = found.data.map((comment) => commentLine(ctx, comment));
	const embed: APIEmbed = {
		title: truncate(ctx.t("comments.title", { username }), 256),
		description: truncate(
			lines.length > 0 ? lines.join("\n\n") : ctx.t("comments.empty", { username: escapeMarkdown(username) }),
			4096,
		),
		footer: { text: pageFooter(ctx.t, found) },
	};
	return {
		embeds: [embed],
		components: [
			pageRow(
				ctx.t,
				COMMENTS_BUTTON,
				username,
				found.meta.current_page,
				found.links.prev !== null,
				found.links.next !== null,
			),
		],
		allowedMentions: { parse: [] },
	};
}

/** `comments:{username}:{page}`: another page, in place; anyone may turn it. */
async function pageButton(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const { username, page } = listButtonArgs(args);
	await ctx.respond.update({ content: "", ...(await listMessage(ctx, interaction, username, page)) });
}

export default {
	command: { data, execute },
	buttons: { [COMMENTS_BUTTON]: pageButton },
} satisfies CommandModule;
