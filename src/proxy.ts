/**
 * The REST proxy's process (`npm run rest-proxy`; `node dist/src/proxy.js` in the image): one for
 * all bot processes of a token, which then use DISCORD_API_URL=http://<proxy>:<PROXY_PORT>/api.
 * It lives in src, not scripts, because the image builds and ships src only.
 */
import { loadProxyConfig } from "./config.js";
import { createLogger, SecretRegistry } from "./logger.js";
import { startRestProxy } from "./proxy/server.js";

const config = loadProxyConfig();
const secrets = new SecretRegistry();
secrets.add(config.DISCORD_TOKEN);
const logger = createLogger({ level: config.LOG_LEVEL, secrets, name: "imgpile-rest-proxy" });

const proxy = await startRestProxy({
	discordApiUrl: config.DISCORD_API_URL,
	token: config.DISCORD_TOKEN,
	port: config.PROXY_PORT,
	logger,
});
logger.info({ port: proxy.port, upstream: config.DISCORD_API_URL }, "rest proxy ready");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
	if (stopping) return;
	stopping = true;
	logger.info({ signal }, "shutting down");
	await proxy.close();
	logger.info("stopped");
	logger.flush();
	process.exit(0);
}
process.once("SIGINT", () => void shutdown("SIGINT"));
process.once("SIGTERM", () => void shutdown("SIGTERM"));
