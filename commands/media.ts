import { ApplicationCommandOptionType, type ButtonInteraction, type ChatInputCommandInteraction } from "discord.js";
import { chatCommand, optionsOf } from "../src/bot/definitions.js";
import { UserError } from "../src/bot/errors.js";
import { confirmedSlug, deleteCancelled } from "../src/bot/guards.js";
import { personalClient, personalIdentity } from "../src/bot/identity.js";
import { checkTitle, parseMediaRef } from "../src/bot/input.js";
import { naming, recentMediaAutocomplete } from "../src/bot/readers.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { boldText, confirmRow } from "../src/discord/index.js";
import type { UpdateMediaBody } from "../src/imgpile/index.js";

/** `/media`: edit, delete (media the user uploaded to imgpile). */
export const data = chatCommand("media", {
	options: [
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "edit",
			options: [
				{ type: ApplicationCommandOptionType.String, name: "media", required: true, autocomplete: true },
				{ type: ApplicationCommandOptionType.String, name: "title" },
				{ type: ApplicationCommandOptionType.String, name: "description" },
			],
		},
		{
			type: ApplicationCommandOptionType.Subcommand,
			name: "delete",
			options: [{ type: ApplicationCommandOptionType.String, name: "media", required: true, autocomplete: true }],
		},
	],
});

export const MEDIA_DELETE_BUTTON = "media-delete";
export const MEDIA_DELETE_CANCEL_BUTTON = "media-delete-cancel";

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	switch (optionsOf(data, interaction).getSubcommand(true)) {
		case "edit":
			return edit(ctx, interaction);
		case "delete":
			return askDelete(ctx, interaction);
	}
	throw new UserError("error.unknownAction");
}

async function edit(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const options = optionsOf(data, interaction);
	const slug = parseMediaRef(options.getString("media", true));
	const body: UpdateMediaBody = {};
	const title = options.getString("title");
	if (title !== null) body.title = checkTitle(title);
	const description = options.getString("description");
	if (description !== null) body.description = description;
	if (Object.keys(body).length === 0) throw new UserError("input.nothingToChange");
	const identity = await personalIdentity(ctx, interaction);
	await naming(ctx.t("what.media", { slug }), () => ctx.imgpile.as(identity.token).updateMedia(slug, body));
	await ctx.respond.reply({ content: ctx.t("media.updated", { slug }), ephemeral: true });
}

async function askDelete(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	const slug = parseMediaRef(optionsOf(data, interaction).getString("media", true));
	const client = await personalClient(ctx, interaction);
	const media = await naming(ctx.t("what.media", { slug }), () => client.getMedia(slug));
	await ctx.respond.reply({
		content: ctx.t("media.delete.confirm", { title: boldText(media.title || media.slug), slug }),
		components: confirmRow(ctx.t, MEDIA_DELETE_BUTTON, MEDIA_DELETE_CANCEL_BUTTON, slug, interaction.user.id),
		allowedMentions: { parse: [] },
	});
}

/** `media-delete:{slug}:{userId}`: only the user who asked may confirm; the delete runs as them. */
async function deleteConfirmed(ctx: HandlerContext, interaction: ButtonInteraction, args: string[]): Promise<void> {
	const slug = confirmedSlug(interaction, args);
	const identity = await personalIdentity(ctx, interaction);
	await naming(ctx.t("what.media", { slug }), () => ctx.imgpile.as(identity.token).deleteMedia(slug));
	await ctx.store.uploads.forget(slug);
	ctx.log.info({ slug }, "media deleted");
	await ctx.respond.update({ content: ctx.t("media.delete.done", { slug }), embeds: [], components: [] });
}

export default {
	command: {
		data,
		execute,
		autocomplete: (ctx, interaction) => recentMediaAutocomplete(ctx, interaction, false),
	},
	buttons: {
		[MEDIA_DELETE_BUTTON]: deleteConfirmed,
		[MEDIA_DELETE_CANCEL_BUTTON]: deleteCancelled,
	},
} satisfies CommandModule;
