import { commandModules } from "../commands/index.js";
import { Bot, DisallowedIntentsError } from "./bot/bot.js";
import { loadConfig } from "./config.js";
import { Imgpile } from "./imgpile/index.js";
import { createLogger, SecretRegistry } from "./logger.js";
import { Metrics } from "./metrics.js";
import { loadOrCreateKey, openStore, TokenCipher } from "./store/index.js";
import { TransferPipeline } from "./transfer/index.js";

const config = loadConfig();
const secrets = new SecretRegistry();
secrets.add(config.DISCORD_TOKEN);
secrets.add(config.TOKEN_ENCRYPTION_KEY);
secrets.add(config.IMGPILE_FEED_TOKEN);
const logger = createLogger({ level: config.LOG_LEVEL, secrets });
// One registry for this process's bot: the imgpile client and the transfers count into it too.
// Processes of one bot are told apart on /metrics by `process` (host:pid) and `shards`.
const metrics = new Metrics({ shards: config.SHARD_IDS?.join(",") });

const key = await loadOrCreateKey({ configured: config.TOKEN_ENCRYPTION_KEY, dataDir: config.DATA_DIR, logger });
const store = await openStore({ url: config.STORE_URL, cipher: new TokenCipher(key, secrets), logger });
const imgpile = new Imgpile({
	apiUrl: config.IMGPILE_API_URL,
	uploadUrl: config.IMGPILE_UPLOAD_URL,
	// Several processes on one store share imgpile's per-token and per-IP limits.
	sharedBudget: store.requestBudget,
	logger: logger.child({ component: "imgpile" }),
	metrics,
});
const transfers = new TransferPipeline({
	allowedHosts: config.DISCORD_CDN_HOSTS,
	httpHosts: config.DISCORD_CDN_HTTP_HOSTS,
	maxConcurrent: config.UPLOAD_CONCURRENCY,
	logger: logger.child({ component: "transfer" }),
	metrics,
});
const bot = new Bot({
	token: config.DISCORD_TOKEN,
	discordApiUrl: config.DISCORD_API_URL,
	devGuildId: config.DISCORD_DEV_GUILD_ID,
	shards: config.SHARD_COUNT === undefined ? undefined : { count: config.SHARD_COUNT, ids: config.SHARD_IDS },
	modules: commandModules,
	healthPort: config.HEALTH_PORT,
	messageContent: config.DISCORD_MESSAGE_CONTENT,
	feeds: {
		intervalMs: config.FEED_POLL_INTERVAL * 1000,
		leaseTtlMs: config.FEED_LEASE_TTL * 1000,
		token: config.IMGPILE_FEED_TOKEN,
		budget: { syncShare: config.FEED_SYNC_SHARE },
	},
	services: {
		logger,
		store,
		imgpile,
		secrets,
		imgpileUploadUrl: config.IMGPILE_UPLOAD_URL,
		transfers,
		now: Date.now,
		metrics,
	},
});

let stopping = false;
async function shutdown(signal: string, code = 0): Promise<void> {
	if (stopping) return;
	stopping = true;
	logger.info({ signal }, "shutting down");
	await bot.stop().catch((error: unknown) => logger.error({ err: error }, "error while stopping the bot"));
	await transfers.close();
	await imgpile.close();
	await store.close();
	logger.info("stopped");
	logger.flush();
	process.exit(code);
}
process.once("SIGINT", () => void shutdown("SIGINT"));
process.once("SIGTERM", () => void shutdown("SIGTERM"));

try {
	await bot.start();
} catch (error) {
	// A refused privileged intent was logged by the bot already, as one line saying how to fix it.
	if (!(error instanceof DisallowedIntentsError)) {
		logger.fatal({ err: error }, "could not start: check DISCORD_TOKEN and DISCORD_API_URL");
	}
	await shutdown("startup failure", 1);
}
