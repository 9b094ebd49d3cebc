import {
	ApplicationCommandOptionType,
	ApplicationCommandType,
	ApplicationIntegrationType,
	type ChatInputCommandInteraction,
	InteractionContextType,
	PermissionFlagsBits,
	type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import { UserError } from "../src/bot/errors.js";
import type { CommandModule, HandlerContext } from "../src/bot/types.js";
import { describe, named } from "../src/i18n/index.js";
import type { RehostReply } from "../src/store/index.js";

/** `/imgpile-settings [rehost-reply:<public|ephemeral>]`: server settings (Manage Server); no option shows them. */
export const data = {
	type: ApplicationCommandType.ChatInput,
	...named("cmd.settings.name"),
	...describe("cmd.settings.description"),
	contexts: [InteractionContextType.Guild],
	integration_types: [ApplicationIntegrationType.GuildInstall],
	default_member_permissions: String(PermissionFlagsBits.ManageGuild),
	options: [
		{
			type: ApplicationCommandOptionType.String,
			...named("cmd.settings.option.rehost-reply.name"),
			...describe("cmd.settings.option.rehost-reply.description"),
			choices: [
				{ value: "ephemeral", ...named("cmd.settings.choice.ephemeral") },
				{ value: "public", ...named("cmd.settings.choice.public") },
			],
		},
	],
} satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void> {
	if (!interaction.inGuild()) throw new UserError("error.guildOnly");
	// default_member_permissions can be overridden by the server: check again.
	if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
		throw new UserError("error.missingPermission", { permission: ctx.t("perm.manageGuild") });
	}
	const choice = interaction.options.getString("rehost-reply");
	if (choice === null) {
		const settings = await ctx.store.guilds.get(interaction.guildId);
		await ctx.respond.reply({
			content: ctx.t("settings.current", { mode: ctx.t(`settings.mode.${settings.rehostReply}`) }),
			ephemeral: true,
		});
		return;
	}
	if (choice !== "public" && choice !== "ephemeral") throw new UserError("error.unknownAction");
	const mode: RehostReply = choice;
	await ctx.store.guilds.update(interaction.guildId, { rehostReply: mode });
	ctx.log.info({ rehostReply: mode }, "rehost reply mode changed");
	await ctx.respond.reply({ content: ctx.t(`settings.rehostReply.${mode}`), ephemeral: true });
}

export default {
	command: { data, execute },
} satisfies CommandModule;
