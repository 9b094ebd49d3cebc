import { existsSync } from "node:fs";
import { z } from "zod";

/**
 * The only reader of process.env. Every variable the bot knows is declared here, validated
 * at startup, and documented in README.md and .env.example.
 */

const httpUrl = z
	.url({ protocol: /^https?$/, error: "must be an http(s) URL" })
	.transform((value) => value.replace(/\/+$/, ""));

/** `0,1`, `0-3`, `0,2-3` -> sorted distinct ids; a backwards range is an issue. */
function shardIds(value: string, ctx: z.core.$RefinementCtx<string>): number[] {
	const ids = new Set<number>();
	for (const part of value.split(",")) {
		const [from, to = from] = part.split("-").map(Number) as [number, number?];
		if (to < from) {
			ctx.addIssue({ code: "custom", message: `has a range that runs backwards (${part})` });
			return [];
		}
		for (let id = from; id <= to; id++) ids.add(id);
	}
	return [...ids].sort((a, b) => a - b);
}

const configSchema = z.object({
	DISCORD_TOKEN: z
		.string({ error: "is required: put your bot token in .env (see .env.example)" })
		.regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, "does not look like a Discord bot token (three dot-separated parts)"),
	DISCORD_API_URL: httpUrl.default("https://discord.com/api"),
	DISCORD_DEV_GUILD_ID: z
		.string()
		.regex(/^\d{17,20}$/, "must be a guild id (a snowflake of 17 to 20 digits)")
		.optional(),
	SHARD_COUNT: z
		.string()
		.regex(
			/^(?:auto|[1-9]\d{0,5})$/,
			"must be a whole number of shards (1 or more), or auto for Discord's recommendation",
		)
		.transform((value) => (value === "auto" ? value : Number(value)))
		.optional(),
	SHARD_IDS: z
		.string()
		.regex(/^\d{1,6}(?:-\d{1,6})?(?:,\d{1,6}(?:-\d{1,6})?)*$/, "must list shard ids like 0,1 or 0-3 or 0,2-3")
		.transform(shardIds)
		.optional(),
	// Privileged: requested (GuildMessages + MessageContent) only when set, for auto-rehost channels.
	DISCORD_MESSAGE_CONTENT: z
		.enum(["true", "false"], { error: "must be true or false" })
		.default("false")
		.transform((value) => value === "true"),
	IMGPILE_API_URL: httpUrl.default("https://imgpile.com/api/v1"),
	IMGPILE_UPLOAD_URL: httpUrl.default("https://cdn.imgpile.com/api/v1/media"),
	DISCORD_CDN_HOSTS: z
		.string()
		.regex(/^[\w.-]+(:\d+)?(,[\w.-]+(:\d+)?)*$/, "must be a comma-separated list of host names (host or host:port)")
		.default("cdn.discordapp.com,media.discordapp.net")
		.transform((value) => value.split(",")),
	DISCORD_CDN_HTTP_HOSTS: z
		.string()
		.regex(
			/^[\w.-]+(:\d+)?(,[\w.-]+(:\d+)?)*$/,
			"must be a comma-separated list of host names (host or host:port), or unset",
		)
		.optional()
		.transform((value) => (value === undefined ? [] : value.split(","))),
	UPLOAD_CONCURRENCY: z.coerce
		.number({ error: "must be a whole number from 1 to 32" })
		.int("must be a whole number from 1 to 32")
		.min(1, "must be a whole number from 1 to 32")
		.max(32, "must be a whole number from 1 to 32")
		.default(4),
	FEED_POLL_INTERVAL: z.coerce
		.number({ error: "must be a whole number of seconds from 15 to 3600" })
		.int("must be a whole number of seconds from 15 to 3600")
		.min(15, "must be a whole number of seconds from 15 to 3600")
		.max(3600, "must be a whole number of seconds from 15 to 3600")
		.default(60),
	FEED_LEASE_TTL: z.coerce
		.number({ error: "must be a whole number of seconds from 3 to 300" })
		.int("must be a whole number of seconds from 3 to 300")
		.min(3, "must be a whole number of seconds from 3 to 300")
		.max(300, "must be a whole number of seconds from 3 to 300")
		.default(15),
	FEED_SYNC_SHARE: z.coerce
		.number({ error: "must be a fraction from 0 to 1" })
		.min(0, "must be a fraction from 0 to 1")
		.max(1, "must be a fraction from 0 to 1")
		.default(0.2),
	IMGPILE_FEED_TOKEN: z
		.string()
		.regex(/^\S{8,4096}$/, "must be an imgpile API token (no spaces), or unset to poll as a guest")
		.optional(),
	STORE_URL: z
		.string()
		.regex(
			/^(sqlite|rediss?):\/\/.+/,
			"must be a sqlite:// URL (e.g. sqlite://data/imgpile-bot.sqlite) or a redis:// URL (e.g. redis://localhost:6379)",
		)
		.default("sqlite://data/imgpile-bot.sqlite"),
	DATA_DIR: z.string().min(1).default("data"),
	TOKEN_ENCRYPTION_KEY: z
		.string()
		.regex(
			/^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/,
			"must be 32 random bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)",
		)
		.optional(),
	HEALTH_PORT: z.coerce
		.number({ error: "must be a port number" })
		.int("must be a port number")
		.min(1, "must be a port number (1-65535)")
		.max(65535, "must be a port number (1-65535)")
		.optional(),
	LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/**
 * Rules across variables: a store several processes share needs one key for all of them (a
 * generated key file is per machine); SHARD_IDS are ids among SHARD_COUNT's.
 */
const checkedSchema = configSchema.superRefine((config, ctx) => {
	if (/^rediss?:/.test(String(config.STORE_URL)) && config.TOKEN_ENCRYPTION_KEY === undefined) {
		ctx.addIssue({
			code: "custom",
			path: ["TOKEN_ENCRYPTION_KEY"],
			message:
				"is required when STORE_URL is redis://: every process sharing the store must use the same key (e.g. `openssl rand -hex 32`)",
		});
	}
	const { SHARD_COUNT: count, SHARD_IDS: ids } = config;
	// Also runs when a variable failed its own check: then there is nothing to compare.
	if (!Array.isArray(ids)) return;
	if (count === undefined) {
		ctx.addIssue({
			code: "custom",
			path: ["SHARD_IDS"],
			message: "needs SHARD_COUNT (the number of shards across all processes)",
		});
	} else if (typeof count === "number" && ids.some((id) => id >= count)) {
		ctx.addIssue({
			code: "custom",
			path: ["SHARD_IDS"],
			message: `must be below SHARD_COUNT ${count} (shard ids run from 0 to ${count - 1})`,
		});
	}
});

export type Config = z.output<typeof configSchema>;

/** Names of every variable, in the order .env.example lists them. */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape) as (keyof Config)[];

export class ConfigError extends Error {
	override name = "ConfigError";
}

/**
 * The REST proxy's process (src/proxy.ts): one for all bot processes of a token, so Discord's
 * global limit holds for all of them together. It needs the token to refuse any other one (its
 * global limit is one token's) and to keep it out of its logs.
 */
const proxyConfigSchema = configSchema.pick({ DISCORD_TOKEN: true, DISCORD_API_URL: true, LOG_LEVEL: true }).extend({
	PROXY_PORT: configSchema.shape.HEALTH_PORT.unwrap().default(8080),
});

export type ProxyConfig = z.output<typeof proxyConfigSchema>;

/** Validates an environment; throws ConfigError whose message is one line naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
	return parseWith(checkedSchema, env);
}

/** The REST proxy's variables, validated like the bot's. */
export function parseProxyConfig(env: Record<string, string | undefined>): ProxyConfig {
	return parseWith(proxyConfigSchema, env);
}

function parseWith<Schema extends z.ZodObject>(
	schema: Schema,
	env: Record<string, string | undefined>,
): z.output<Schema> {
	// An empty value (`FOO=` in .env) means "not set", so the default applies.
	const cleaned = Object.fromEntries(
		Object.keys(schema.shape).map((name) => [name, env[name]?.trim() ? env[name]?.trim() : undefined]),
	);
	const result = schema.safeParse(cleaned);
	if (result.success) return result.data;
	const problems = result.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`);
	throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
}

/**
 * Reads `.env` (when present; real environment variables win) and validates it. On a bad
 * value prints one clear line and exits 1: a bot must not start half-configured.
 */
export function loadConfig(envFile = ".env"): Config {
	const config = loadWith(envFile, parseConfig);
	// discord.js reads SHARD_COUNT from the environment itself (meant for its ShardingManager's
	// children) and refuses `auto`; ours is parsed here and reaches the Client as an option only.
	delete process.env.SHARD_COUNT;
	return config;
}

/** `loadConfig` for the REST proxy's process. */
export function loadProxyConfig(envFile = ".env"): ProxyConfig {
	return loadWith(envFile, parseProxyConfig);
}

function loadWith<T>(envFile: string, parse: (env: Record<string, string | undefined>) => T): T {
	if (existsSync(envFile)) process.loadEnvFile(envFile);
	try {
		return parse(process.env);
	} catch (error) {
		if (!(error instanceof ConfigError)) throw error;
		console.error(error.message);
		process.exit(1);
	}
}
