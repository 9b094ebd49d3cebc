/**
 * `/follow`, `/unfollow` (personal: the user's own token) and `/followers`, `/following` (public
 * lists, 10 a page as imgpile pages them, with Prev/Next buttons `{followers|following}:{username}:{page}`).
 */
import { type APIEmbed, type ButtonInteraction, type ChatInputCommandInteraction, escapeMarkdown } from "discord.js";
import { chatCommand } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { personalClient, readerFor } from "../src/bot/identity.js";
import { listButtonArgs } from "../src/bot/input.js";
import { usernameFrom, userOption } from "../src/bot/options.js";
import { naming } from "../src/bot/readers.js";
import { LIST_PAGE_SIZE, readPage, runAction } from "../src/bot/social.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import {
	boldName,
	escapeText,
	FOLLOW_BUTTON,
	FOLLOWERS_BUTTON,
	FOLLOWING_BUTTON,
	pageFooter,
	pageRow,
	truncate,
	USERNAME,
} from "../src/discord/index.js";
import type { Page, UserSummary } from "../src/imgpile/index.js";

function command(name: "follow" | "unfollow" | "followers" | "following") {
	return chatCommand(name, { options: [userOption] });
}

// ── follow, unfollow ────────────────────────────────────────────────────────

async function follow(
	ctx: HandlerContext,
	interaction: ChatInputCommandInteraction | ButtonInteraction,
	username: string,
) {
	const client = await personalClient(ctx, interaction);
	await runAction(ctx, async () => {
		await naming(ctx.t("what.user", { username }), () => client.follow(username));
		return ctx.t("follow.done", { username: boldName(username) });
	});
}

async function unfollow(ctx: HandlerContext, interaction: ChatInputCommandInteraction, username: string) {
	const client = await personalClient(ctx, interaction);
	await runAction(ctx, async () => {
		await naming(ctx.t("what.user", { username }), () => client.unfollow(username));
		return ctx.t("unfollow.done", { username: boldName(username) });
	});
}

/** `follow:{username}`: follows as the clicker. */
async function followButton(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const [username = ""] = args;
	if (!USERNAME.test(username)) throw new UserError("error.unknownAction");
	await follow(ctx, interaction, username);
}

// ── followers, following ────────────────────────────────────────────────────

type Which = "followers" | "following";

const LIST_BUTTON: Record<Which, string> = { followers: FOLLOWERS_BUTTON, following: FOLLOWING_BUTTON };

async function listMessage(
	ctx: HandlerContext,
	who: { guildId: string | null; user: { id: string } },
	which: Which,
	username: string,
	page: number,
) {
	const client = await readerFor(ctx, who);
	const read = (n: number): Promise<Page<UserSummary>> =>
		which === "followers"
			? client.followers(username, { page: n, limit: LIST_PAGE_SIZE })
			: client.following(username, { page: n, limit: LIST_PAGE_SIZE });
	const found = await naming(ctx.t("what.user", { username }), () => readPage(read, page));
	const first = found.meta.from ?? 1;
	const lines = found.data.map((user, index) => `${first + index}. ${escapeText(user.username)}`);
	const embed: APIEmbed = {
		title: truncate(ctx.t(which === "followers" ? "followers.title" : "following.title", { username }), 256),
		description: lines.length > 0 ? lines.join("\n") : ctx.t(`${which}.empty`, { username: escapeMarkdown(username) }),
		footer: { text: pageFooter(ctx.t, found) },
	};
	const current = found.meta.current_page;
	return {
		embeds: [embed],
		components: [
			pageRow(ctx.t, LIST_BUTTON[which], username, current, found.links.prev !== null, found.links.next !== null),
		],
		allowedMentions: { parse: [] },
	};
}

function listButton(which: Which) {
	return async (ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> => {
		const { username, page } = listButtonArgs(args);
		await ctx.respond.update({ content: "", ...(await listMessage(ctx, interaction, which, username, page)) });
	};
}

function listCommand(which: Which) {
	return async (ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> => {
		const username = usernameFrom(interaction);
		await ctx.respond.reply(await listMessage(ctx, interaction, which, username, 1));
	};
}

// ── modules ─────────────────────────────────────────────────────────────────

export const followCommand = {
	command: {
		data: command("follow"),
		execute: (ctx: HandlerContext, interaction: ChatInputCommandInteraction) =>
			follow(ctx, interaction, usernameFrom(interaction)),
	},
	buttons: { [FOLLOW_BUTTON]: followButton },
} satisfies CommandModule;

export const unfollowCommand = {
	command: {
		data: command("unfollow"),
		execute: (ctx: HandlerContext, interaction: ChatInputCommandInteraction) =>
			unfollow(ctx, interaction, usernameFrom(interaction)),
	},
} satisfies CommandModule;

export const followersCommand = {
	command: { data: command("followers"), execute: listCommand("followers") },
	buttons: { [FOLLOWERS_BUTTON]: listButton("followers") },
} satisfies CommandModule;

export const followingCommand = {
	command: { data: command("following"), execute: listCommand("following") },
	buttons: { [FOLLOWING_BUTTON]: listButton("following") },
} satisfies CommandModule;
