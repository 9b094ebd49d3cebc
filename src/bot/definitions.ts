/**
 * Command definitions: the command files write literal names (`name: "direction"`), which is what
 * Discord sends back and handlers read; texts come from the locale files at registration, keyed by
 * the path (`cmd.vote.name`, `cmd.vote.post.description`, `cmd.vote.option.direction.name`). The
 * en-US name of each key equals its literal (test/bot/definitions.test.ts), so a translation edit
 * cannot rename an option under a handler. `optionsOf` reads options by names typed from the
 * definition: a misspelt name is a type error.
 */
import {
	type APIApplicationCommandOptionChoice,
	ApplicationCommandOptionType,
	ApplicationCommandType,
	ApplicationIntegrationType,
	type Attachment,
	type ChatInputCommandInteraction,
	InteractionContextType,
	type RESTPostAPIChatInputApplicationCommandsJSONBody,
	type RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from "discord.js";
import { describe, type Locale, localizations, type MessageKey } from "../i18n/index.js";

/** An option, subcommand or group as a command file writes it; texts are added by `localizeOption`. */
export interface OptionDefinition {
	readonly type: ApplicationCommandOptionType;
	readonly name: string;
	readonly options?: readonly OptionDefinition[];
	readonly choices?: readonly APIApplicationCommandOptionChoice[];
	readonly [field: string]: unknown;
}

/** The header fields a command may set besides its options; the rest are the same for all. */
interface ChatDefinition {
	readonly contexts?: readonly InteractionContextType[];
	/** Default: guild installs only. A command that also works as a user app adds UserInstall. */
	readonly integration_types?: readonly ApplicationIntegrationType[];
	readonly default_member_permissions?: string;
	readonly options?: readonly OptionDefinition[];
}

/** What `localizeOption` adds to an option (a type alias: an interface would not fit `OptionDefinition`). */
type Texts = {
	readonly name_localizations: Partial<Record<Locale, string>>;
	readonly description: string;
	readonly description_localizations: Partial<Record<Locale, string>>;
};

declare const definition: unique symbol;

/** Registered JSON that remembers (in its type only) the definition it was built from. */
export type ChatCommandData<D extends ChatDefinition = ChatDefinition> =
	RESTPostAPIChatInputApplicationCommandsJSONBody & { readonly [definition]?: D };

const GUILD_AND_DM = [InteractionContextType.Guild, InteractionContextType.BotDM];

function isNested(option: OptionDefinition): boolean {
	return (
		option.type === ApplicationCommandOptionType.Subcommand ||
		option.type === ApplicationCommandOptionType.SubcommandGroup
	);
}

/**
 * The key of an option's texts: `cmd.{command}.{group}.{sub}` for subcommands and groups,
 * `cmd.{command}.option.{name}` for options (shared by the command's subcommands).
 */
export function optionKey(command: string, path: readonly string[], option: OptionDefinition): string {
	return isNested(option) ? ["cmd", command, ...path, option.name].join(".") : `cmd.${command}.option.${option.name}`;
}

/**
 * An option with its localized texts (and those of its sub-options). One that has a description
 * already was localized where it is shared (`userOption`) and is kept as it is.
 */
export function localizeOption<const O extends OptionDefinition>(
	command: string,
	option: O,
	path: readonly string[] = [],
): O & Texts {
	if ("description" in option) return option as O & Texts;
	const key = optionKey(command, path, option);
	const inner = isNested(option) ? [...path, option.name] : path;
	const { type, name, ...rest } = option;
	return {
		type,
		name,
		name_localizations: localizations(`${key}.name` as MessageKey),
		...describe(`${key}.description` as MessageKey),
		...rest,
		...(option.options ? { options: option.options.map((sub) => localizeOption(command, sub, inner)) } : {}),
	} as unknown as O & Texts;
}

/** A slash command: guild-installed, in servers and DMs unless `contexts` / `integration_types` say otherwise. */
export function chatCommand<const N extends string, const D extends ChatDefinition>(
	name: N,
	definition: D,
): ChatCommandData<D> & { readonly name: N } {
	return {
		type: ApplicationCommandType.ChatInput,
		name,
		name_localizations: localizations(`cmd.${name}.name` as MessageKey),
		...describe(`cmd.${name}.description` as MessageKey),
		contexts: GUILD_AND_DM,
		integration_types: [ApplicationIntegrationType.GuildInstall],
		...definition,
		...(definition.options ? { options: definition.options.map((option) => localizeOption(name, option)) } : {}),
	} as unknown as ChatCommandData<D> & { readonly name: N };
}

/** A message context-menu command: its literal name is what Discord shows in en-US and routes by. */
export function messageCommand(name: string, key: MessageKey): RESTPostAPIContextMenuApplicationCommandsJSONBody {
	return {
		type: ApplicationCommandType.Message,
		name,
		name_localizations: localizations(key),
		contexts: GUILD_AND_DM,
		integration_types: [ApplicationIntegrationType.GuildInstall],
	};
}

// ── typed option reads ──────────────────────────────────────────────────────

/** The options a handler can read: subcommands and groups opened up. */
type Leaves<O> = O extends {
	readonly type: ApplicationCommandOptionType.Subcommand | ApplicationCommandOptionType.SubcommandGroup;
}
	? O extends { readonly options: readonly (infer Inner)[] }
		? Leaves<Inner>
		: never
	: O;
type Leaf<D> = D extends { readonly options: readonly (infer O)[] } ? Leaves<O> : never;
type NameOf<D, T extends ApplicationCommandOptionType> =
	Extract<Leaf<D>, { readonly type: T }> extends { readonly name: infer N } ? N : never;
type SubcommandOf<O> = O extends {
	readonly type: ApplicationCommandOptionType.SubcommandGroup;
	readonly options: readonly (infer Inner)[];
}
	? SubcommandOf<Inner>
	: O extends { readonly type: ApplicationCommandOptionType.Subcommand; readonly name: infer N }
		? N
		: never;
type GroupOf<O> = O extends { readonly type: ApplicationCommandOptionType.SubcommandGroup; readonly name: infer N }
	? N
	: never;
type TopOf<D> = D extends { readonly options: readonly (infer O)[] } ? O : never;

type Resolver = ChatInputCommandInteraction["options"];

/** `interaction.options`, with the names (and so the value types) its definition declares. */
export interface OptionsOf<D> {
	getSubcommand(required?: true): SubcommandOf<TopOf<D>>;
	getSubcommandGroup(required: false): GroupOf<TopOf<D>> | null;
	getString(name: NameOf<D, ApplicationCommandOptionType.String>, required: true): string;
	getString(name: NameOf<D, ApplicationCommandOptionType.String>, required?: boolean): string | null;
	getInteger(name: NameOf<D, ApplicationCommandOptionType.Integer>, required: true): number;
	getInteger(name: NameOf<D, ApplicationCommandOptionType.Integer>, required?: boolean): number | null;
	getBoolean(name: NameOf<D, ApplicationCommandOptionType.Boolean>, required: true): boolean;
	getBoolean(name: NameOf<D, ApplicationCommandOptionType.Boolean>, required?: boolean): boolean | null;
	getAttachment(name: NameOf<D, ApplicationCommandOptionType.Attachment>, required: true): Attachment;
	getAttachment(name: NameOf<D, ApplicationCommandOptionType.Attachment>, required?: boolean): Attachment | null;
	getChannel(
		name: NameOf<D, ApplicationCommandOptionType.Channel>,
		required: true,
	): NonNullable<ReturnType<Resolver["getChannel"]>>;
	getChannel(
		name: NameOf<D, ApplicationCommandOptionType.Channel>,
		required?: boolean,
	): ReturnType<Resolver["getChannel"]>;
	getRole(name: NameOf<D, ApplicationCommandOptionType.Role>, required?: boolean): ReturnType<Resolver["getRole"]>;
}

/** The options of `interaction`, read by the names `data` declares (the same resolver, typed). */
export function optionsOf<D extends ChatDefinition>(
	_data: ChatCommandData<D>,
	interaction: ChatInputCommandInteraction,
): OptionsOf<D> {
	return interaction.options as unknown as OptionsOf<D>;
}
