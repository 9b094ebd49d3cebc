import { createHash } from "node:crypto";
import type { REST } from "@discordjs/rest";
import { type APIApplicationCommand, type RESTPutAPIApplicationCommandsJSONBody, Routes } from "discord.js";
import type { Logger } from "../logger.js";

export interface SyncOptions {
	rest: REST;
	applicationId: string;
	/** Register in this guild only (instant updates while developing); global otherwise. */
	guildId?: string | undefined;
	commands: RESTPutAPIApplicationCommandsJSONBody;
	logger: Logger;
}

/**
 * Registers the command set when it differs from what Discord has: both sides are reduced to the
 * fields we set, then hashed. Returns whether anything was sent.
 */
export async function syncCommands(options: SyncOptions): Promise<"unchanged" | "updated"> {
	const { rest, applicationId, guildId, commands, logger } = options;
	const route = guildId
		? Routes.applicationGuildCommands(applicationId, guildId)
		: Routes.applicationCommands(applicationId);
	// Without `with_localizations`, Discord leaves the localization maps out of what it returns, and
	// every start would see a difference and register again (against the daily creation limit).
	const remote = (await rest.get(route, {
		query: new URLSearchParams({ with_localizations: "true" }),
	})) as APIApplicationCommand[];
	const local = commandsHash(commands);
	if (commandsHash(remote) === local) {
		logger.info({ scope: guildId ? "guild" : "global", hash: local.slice(0, 12) }, "commands up to date");
		return "unchanged";
	}
	await rest.put(route, { body: commands });
	logger.info(
		{ scope: guildId ? "guild" : "global", count: commands.length, hash: local.slice(0, 12) },
		"commands registered",
	);
	return "updated";
}

const COMMAND_KEYS = [
	"type",
	"name",
	"name_localizations",
	"description",
	"description_localizations",
	"options",
	"default_member_permissions",
	"contexts",
	"integration_types",
	"nsfw",
];
const COMMAND_DEFAULTS: Record<string, unknown> = { type: 1, integration_types: [0] };
const OPTION_KEYS = [
	"type",
	"name",
	"name_localizations",
	"description",
	"description_localizations",
	"required",
	"choices",
	"options",
	"channel_types",
	"min_value",
	"max_value",
	"min_length",
	"max_length",
	"autocomplete",
	"value",
];

/** A stable hash of command JSON, blind to what Discord adds (ids, versions) and to unset defaults. */
export function commandsHash(commands: readonly object[]): string {
	const canonical = commands
		.map((command) => canonicalize(command, COMMAND_KEYS))
		.sort(
			(a, b) => String(a.type ?? 1).localeCompare(String(b.type ?? 1)) || String(a.name).localeCompare(String(b.name)),
		);
	return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

function canonicalize(value: object, keys: readonly string[]): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	const record = value as Record<string, unknown>;
	for (const key of keys) {
		let field = record[key];
		// Discord fills these in when a command leaves them out.
		if (keys === COMMAND_KEYS && field === undefined) field = COMMAND_DEFAULTS[key];
		if (key === "default_member_permissions" && field !== undefined && field !== null) field = String(field);
		if (Array.isArray(field)) {
			if (field.length === 0) continue;
			field =
				key === "options" || key === "choices"
					? field.map((item: object) => canonicalize(item, OPTION_KEYS))
					: [...field].sort();
		} else if (field && typeof field === "object") {
			const entries = Object.entries(field).filter(([, v]) => v !== null && v !== undefined);
			if (entries.length === 0) continue;
			field = Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
		}
		// Discord answers `description: ""` for context-menu commands, which send none.
		if (field === undefined || field === null || field === false || field === "") continue;
		out[key] = field;
	}
	return out;
}
