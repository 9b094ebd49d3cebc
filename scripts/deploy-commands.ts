/**
 * npm run deploy-commands [-- --guild ID]: registers the bot's commands with Discord now, the
 * same way the bot does at startup (only when they differ from what Discord has). Globally, or
 * in one guild (DISCORD_DEV_GUILD_ID or --guild) for instant updates while developing.
 */
import { parseArgs } from "node:util";
import { REST } from "@discordjs/rest";
import { type APIApplication, Routes } from "discord.js";
import { commandModules } from "../commands/index.js";
import { syncCommands } from "../src/bot/sync.js";
import { loadConfig } from "../src/config.js";
import { createLogger, SecretRegistry } from "../src/logger.js";

const { values } = parseArgs({ options: { guild: { type: "string" } } });
const config = loadConfig();
const secrets = new SecretRegistry();
secrets.add(config.DISCORD_TOKEN);
const logger = createLogger({ level: config.LOG_LEVEL, secrets, name: "deploy-commands" });

const rest = new REST({ api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
try {
	const application = (await rest.get(Routes.currentApplication())) as APIApplication;
	const result = await syncCommands({
		rest,
		applicationId: application.id,
		guildId: values.guild ?? config.DISCORD_DEV_GUILD_ID,
		commands: commandModules.map((module) => module.command.data),
		logger,
	});
	logger.flush();
	console.log(`commands ${result} (${(values.guild ?? config.DISCORD_DEV_GUILD_ID) ? "guild" : "global"})`);
} catch (error) {
	logger.fatal({ err: error }, "could not register commands");
	logger.flush();
	process.exitCode = 1;
}
