/** Command options and choices several commands share. */
import { ApplicationCommandOptionType, type ChatInputCommandInteraction } from "discord.js";
import { named } from "../i18n/index.js";
import { localizeOption } from "./definitions.js";
import { parseUsername, VISIBILITIES } from "./input.js";

/** The visibility choices of /post and /upload, labelled from `cmd.post.choice.{value}`. */
export const visibilityChoices = VISIBILITIES.map((value) => ({
	value,
	...named(`cmd.post.choice.${value}` as const),
}));

/** The imgpile username option of /follow, /unfollow, /followers, /following, /profile and /comment list. */
export const userOption = localizeOption("social", {
	type: ApplicationCommandOptionType.String,
	name: "user",
	required: true,
});

/** The username given in `userOption`, checked. */
export function usernameFrom(interaction: ChatInputCommandInteraction): string {
	return parseUsername(interaction.options.getString(userOption.name, true));
}
