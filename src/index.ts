import { Client, Events, GatewayIntentBits } from "discord.js";
import { loadConfig } from "./config.js";
import { Imgpile } from "./imgpile/index.js";
import { createLogger, SecretRegistry } from "./logger.js";
import { loadOrCreateKey, openStore, TokenCipher } from "./store/index.js";

const config = loadConfig();
const secrets = new SecretRegistry();
secrets.add(config.DISCORD_TOKEN);
secrets.add(config.TOKEN_ENCRYPTION_KEY);
const logger = createLogger({ level: config.LOG_LEVEL, secrets });

const key = await loadOrCreateKey({ configured: config.TOKEN_ENCRYPTION_KEY, dataDir: config.DATA_DIR, logger });
const store = await openStore({ url: config.STORE_URL, cipher: new TokenCipher(key), logger });
const imgpile = new Imgpile({
	apiUrl: config.IMGPILE_API_URL,
	uploadUrl: config.IMGPILE_UPLOAD_URL,
	logger: logger.child({ component: "imgpile" }),
});

const client = new Client({
	intents: [GatewayIntentBits.Guilds],
	rest: { api: config.DISCORD_API_URL },
});
client.once(Events.ClientReady, (ready) => {
	logger.info({ user: ready.user.tag, guilds: ready.guilds.cache.size }, "connected to Discord");
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
	if (stopping) return;
	stopping = true;
	logger.info({ signal }, "shutting down");
	await client.destroy();
	await imgpile.close();
	await store.close();
	logger.flush();
	process.exit(0);
}
process.once("SIGINT", () => void shutdown("SIGINT"));
process.once("SIGTERM", () => void shutdown("SIGTERM"));

try {
	await client.login(config.DISCORD_TOKEN);
} catch (error) {
	logger.fatal({ err: error }, "could not log in to Discord: check DISCORD_TOKEN");
	await store.close();
	await imgpile.close();
	logger.flush();
	process.exit(1);
}
