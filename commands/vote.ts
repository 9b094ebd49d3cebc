import { ApplicationCommandOptionType, type ButtonInteraction, type ChatInputCommandInteraction } from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { personalClient } from "../src/bot/identity.js";
import { parsePostRef } from "../src/bot/input.js";
import { naming } from "../src/bot/readers.js";
import { runAction, scheduleVoteRefresh, VOTE_OUTCOME_KEYS, voteOutcome } from "../src/bot/social.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { VOTE_BUTTON, type VoteDirection, type VoteKind } from "../src/discord/index.js";
import { named } from "../src/i18n/index.js";
import type { ImgpileClient, VoteResponse } from "../src/imgpile/index.js";

const directionOption = {
	type: ApplicationCommandOptionType.String,
	name: "direction",
	required: true,
	choices: [
		{ value: "up", ...named("cmd.vote.choice.up") },
		{ value: "down", ...named("cmd.vote.choice.down") },
	],
} as const;

/** `/vote post` and `/vote comment`: personal votes, with the voter's own token. */
export const data = chatCommand("vote", {
	options: [
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "post",
			options: [{ type: ApplicationCommandOptionType.String, name: "target", required: true }, directionOption],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "comment",
			options: [
				{ type: ApplicationCommandOptionType.Integer, name: "id", required: true, min_value: 1 },
				directionOption,
			],
		},
	],
});

function directionOf(value: string | undefined | null): VoteDirection {
	if (value === "up" || value === "down") return value;
	throw new UserError("error.unknownAction");
}

function cast(client: ImgpileClient, kind: VoteKind, target: string | number, direction: VoteDirection) {
	if (kind === "comment") {
		return direction === "up" ? client.upvoteComment(Number(target)) : client.downvoteComment(Number(target));
	}
	return direction === "up" ? client.upvotePost(target) : client.downvotePost(target);
}

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const direction = directionOf(optionsOf(data, interaction).getString("direction", true));
	switch (optionsOf(data, interaction).getSubcommand(true)) {
		case "post":
			return votePost(ctx, interaction, direction);
		case "comment":
			return voteComment(ctx, interaction, direction);
	}
	throw new UserError("error.unknownAction");
}

async function votePost(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction,
	direction: VoteDirection,
): Promise<void> {
	const ref = parsePostRef(optionsOf(data, interaction).getString("target", true), { allowId: true });
	const client = await personalClient(ctx, interaction);
	await runAction(ctx, async () => {
		if (ref.kind === "id") {
			const what = ctx.t("what.postId", { id: ref.id });
			const response = await naming(what, () => cast(client, "post", ref.id, direction));
			return describeVote(ctx, what, direction, undefined, response);
		}
		const what = ctx.t("what.post", { slug: ref.slug });
		// The voter's current vote, to say what the toggle did.
		const post = await naming(what, () => client.getPost(ref.slug, { key: ref.key, perPage: 1 }));
		const prior = post.isUpvotedByUser ? "up" : post.isDownvotedByUser ? "down" : "none";
		const response = await naming(what, () => cast(client, "post", ref.slug, direction));
		return describeVote(ctx, what, direction, prior, response);
	});
}

async function voteComment(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction,
	direction: VoteDirection,
): Promise<void> {
	const id = optionsOf(data, interaction).getInteger("id", true);
	if (id < 1) throw new UserError("error.unknownAction");
	const client = await personalClient(ctx, interaction);
	await runAction(ctx, async () => {
		const what = ctx.t("what.comment", { id });
		const response = await naming(what, () => cast(client, "comment", id, direction));
		return describeVote(ctx, what, direction, undefined, response);
	});
}

function describeVote(
	ctx: HandlerContext,
	what: string,
	direction: VoteDirection,
	prior: VoteDirection | "none" | undefined,
	response: VoteResponse,
): string {
	const outcome = voteOutcome(direction, prior, response.message ?? "");
	return ctx.t(VOTE_OUTCOME_KEYS[outcome], { what, score: response.score });
}

/** `vote:{post|comment}:{id}:{up|down}`: votes as the clicker, answers privately, refreshes the shown score. */
async function voteButton(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const [kindText, idText = "", directionText] = args;
	const id = Number(idText);
	if ((kindText !== "post" && kindText !== "comment") || !/^\d{1,15}$/.test(idText) || id < 1) {
		throw new UserError("error.unknownAction");
	}
	const kind: VoteKind = kindText;
	const direction = directionOf(directionText);
	const client = await personalClient(ctx, interaction);
	await runAction(ctx, async () => {
		const what = ctx.t(kind === "post" ? "what.postId" : "what.comment", { id });
		const response = await naming(what, () => cast(client, kind, id, direction));
		scheduleVoteRefresh(ctx, interaction, kind, id, response.score);
		return describeVote(ctx, what, direction, undefined, response);
	});
}

export default {
	command: { data, execute },
	buttons: { [VOTE_BUTTON]: voteButton },
} satisfies CommandModule;
