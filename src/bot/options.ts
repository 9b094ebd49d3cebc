/**
 * Command options as the command files declare them (name and description from
 * `cmd.{command}.option.{key}.*` in every locale), and the ones several commands share.
 */
import {
	type APIApplicationCommandBasicOption,
	ApplicationCommandOptionType,
	type ChatInputCommandInteraction,
} from "discord.js";
import { describe, type MessageKey, named } from "../i18n/index.js";
import { localizeOption } from "./definitions.js";
import { parseUsername, VISIBILITIES } from "./input.js";

/** `{ type, name, description }` of option `key` of `command`, localized, with the rest of its fields. */
export function commandOption(
	command: string,
	type: ApplicationCommandOptionType,
	key: string,
	extra: Partial<APIApplicationCommandBasicOption> | Record<string, unknown> = {},
): APIApplicationCommandBasicOption {
	return {
		type,
		...named(`cmd.${command}.option.${key}.name` as MessageKey),
		...describe(`cmd.${command}.option.${key}.description` as MessageKey),
		...extra,
	} as APIApplicationCommandBasicOption;
}

/** A string option of `command`; `choices` as `[value, label key]`. */
export function stringOption(
	command: string,
	key: string,
	options: { required?: boolean; autocomplete?: boolean; choices?: readonly [string, MessageKey][] } = {},
): APIApplicationCommandBasicOption {
	return commandOption(command, ApplicationCommandOptionType.String, key, {
		...(options.required ? { required: true } : {}),
		...(options.autocomplete ? { autocomplete: true } : {}),
		...(options.choices ? { choices: options.choices.map(([value, label]) => ({ value, ...named(label) })) } : {}),
	});
}

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
