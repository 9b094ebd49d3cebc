import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, ConfigError, parseConfig, parseProxyConfig } from "../src/config.js";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB";

describe("config", () => {
	it("applies documented defaults", () => {
		const config = parseConfig({ DISCORD_TOKEN: TOKEN });
		expect(config).toMatchObject({
			DISCORD_API_URL: "https://discord.com/api",
			IMGPILE_API_URL: "https://imgpile.com/api/v1",
			IMGPILE_UPLOAD_URL: "https://cdn.imgpile.com/api/v1/media",
			STORE_URL: "sqlite://data/imgpile-bot.sqlite",
			DATA_DIR: "data",
			LOG_LEVEL: "info",
		});
		expect(config.TOKEN_ENCRYPTION_KEY).toBeUndefined();
	});

	it("every variable is documented in .env.example and in the README's table", async () => {
		const { readFile } = await import("node:fs/promises");
		const example = await readFile(".env.example", "utf8");
		const readme = await readFile("README.md", "utf8");
		for (const name of CONFIG_VARIABLES) {
			// Set, or commented out where an empty value would override a default (HEALTH_PORT in the Docker image).
			expect(example, name).toMatch(new RegExp(`^(# )?${name}=`, "m"));
			expect(readme, name).toContain(`| \`${name}\` |`);
		}
	});

	it("reads numbers, lists and the feed settings", () => {
		const config = parseConfig({
			DISCORD_TOKEN: TOKEN,
			FEED_POLL_INTERVAL: "120",
			UPLOAD_CONCURRENCY: "8",
			HEALTH_PORT: "8080",
			DISCORD_CDN_HOSTS: "cdn.discordapp.com,127.0.0.1:9000",
			DISCORD_CDN_HTTP_HOSTS: "127.0.0.1:9000",
		});
		expect(config).toMatchObject({
			FEED_POLL_INTERVAL: 120,
			UPLOAD_CONCURRENCY: 8,
			HEALTH_PORT: 8080,
			DISCORD_CDN_HOSTS: ["cdn.discordapp.com", "127.0.0.1:9000"],
			DISCORD_CDN_HTTP_HOSTS: ["127.0.0.1:9000"],
		});
		expect(parseConfig({ DISCORD_TOKEN: TOKEN }).FEED_POLL_INTERVAL).toBe(60);
		// https only unless asked: no host may be fetched over plain http by default.
		expect(parseConfig({ DISCORD_TOKEN: TOKEN }).DISCORD_CDN_HTTP_HOSTS).toEqual([]);
	});

	it("reads the shards: a count or auto, and ids as lists and ranges; unset leaves discord.js's default", () => {
		const shards = (env: Record<string, string>) => {
			const { SHARD_COUNT, SHARD_IDS } = parseConfig({ DISCORD_TOKEN: TOKEN, ...env });
			return { SHARD_COUNT, SHARD_IDS };
		};
		expect(shards({})).toEqual({ SHARD_COUNT: undefined, SHARD_IDS: undefined });
		expect(shards({ SHARD_COUNT: "4" })).toEqual({ SHARD_COUNT: 4, SHARD_IDS: undefined });
		expect(shards({ SHARD_COUNT: "auto" })).toEqual({ SHARD_COUNT: "auto", SHARD_IDS: undefined });
		expect(shards({ SHARD_COUNT: "4", SHARD_IDS: "0,1" }).SHARD_IDS).toEqual([0, 1]);
		expect(shards({ SHARD_COUNT: "4", SHARD_IDS: "0-3" }).SHARD_IDS).toEqual([0, 1, 2, 3]);
		expect(shards({ SHARD_COUNT: "8", SHARD_IDS: "6,0,2-3,3" }).SHARD_IDS).toEqual([0, 2, 3, 6]);
		// With auto the ids are checked against Discord's recommendation at start.
		expect(shards({ SHARD_COUNT: "auto", SHARD_IDS: "5" }).SHARD_IDS).toEqual([5]);
	});

	it("treats empty values as unset and trims trailing slashes", () => {
		const config = parseConfig({ DISCORD_TOKEN: TOKEN, LOG_LEVEL: "", IMGPILE_API_URL: "http://127.0.0.1:9/api/v1/" });
		expect(config.LOG_LEVEL).toBe("info");
		expect(config.IMGPILE_API_URL).toBe("http://127.0.0.1:9/api/v1");
	});

	it("takes a redis:// store when every process gets the same key", () => {
		const key = "ab".repeat(32);
		const config = parseConfig({
			DISCORD_TOKEN: TOKEN,
			STORE_URL: "rediss://:pw@redis:6380/1",
			TOKEN_ENCRYPTION_KEY: key,
		});
		expect(config.STORE_URL).toBe("rediss://:pw@redis:6380/1");
	});

	it.each([
		[{}, "DISCORD_TOKEN is required"],
		[{ DISCORD_TOKEN: "nope" }, "DISCORD_TOKEN does not look like a Discord bot token"],
		[{ DISCORD_TOKEN: TOKEN, IMGPILE_API_URL: "ftp://x" }, "IMGPILE_API_URL must be an http(s) URL"],
		[{ DISCORD_TOKEN: TOKEN, LOG_LEVEL: "loud" }, "LOG_LEVEL"],
		[{ DISCORD_TOKEN: TOKEN, TOKEN_ENCRYPTION_KEY: "short" }, "TOKEN_ENCRYPTION_KEY must be 32 random bytes"],
		[{ DISCORD_TOKEN: TOKEN, DISCORD_DEV_GUILD_ID: "abc" }, "DISCORD_DEV_GUILD_ID must be a guild id"],
		[{ DISCORD_TOKEN: TOKEN, STORE_URL: "postgres://x" }, "STORE_URL must be a sqlite:// URL"],
		[
			{ DISCORD_TOKEN: TOKEN, STORE_URL: "redis://redis:6379" },
			"TOKEN_ENCRYPTION_KEY is required when STORE_URL is redis://",
		],
		[{ DISCORD_TOKEN: TOKEN, FEED_POLL_INTERVAL: "5" }, "FEED_POLL_INTERVAL must be a whole number of seconds"],
		[{ DISCORD_TOKEN: TOKEN, FEED_LEASE_TTL: "1" }, "FEED_LEASE_TTL must be a whole number of seconds from 3"],
		[{ DISCORD_TOKEN: TOKEN, IMGPILE_FEED_TOKEN: "has space" }, "IMGPILE_FEED_TOKEN must be an imgpile API token"],
		[{ DISCORD_TOKEN: TOKEN, UPLOAD_CONCURRENCY: "0" }, "UPLOAD_CONCURRENCY must be a whole number"],
		[{ DISCORD_TOKEN: TOKEN, HEALTH_PORT: "70000" }, "HEALTH_PORT must be a port number"],
		[{ DISCORD_TOKEN: TOKEN, DISCORD_CDN_HOSTS: "a b" }, "DISCORD_CDN_HOSTS must be a comma-separated list"],
		[{ DISCORD_TOKEN: TOKEN, SHARD_COUNT: "0" }, "SHARD_COUNT must be a whole number of shards (1 or more), or auto"],
		[{ DISCORD_TOKEN: TOKEN, SHARD_COUNT: "-2" }, "SHARD_COUNT must be a whole number of shards"],
		[{ DISCORD_TOKEN: TOKEN, SHARD_COUNT: "two" }, "SHARD_COUNT must be a whole number of shards"],
		[{ DISCORD_TOKEN: TOKEN, SHARD_COUNT: "4", SHARD_IDS: "0;1" }, "SHARD_IDS must list shard ids like 0,1 or 0-3"],
		[{ DISCORD_TOKEN: TOKEN, SHARD_COUNT: "4", SHARD_IDS: "3-1" }, "SHARD_IDS has a range that runs backwards (3-1)"],
		[
			{ DISCORD_TOKEN: TOKEN, SHARD_COUNT: "4", SHARD_IDS: "2,4" },
			"SHARD_IDS must be below SHARD_COUNT 4 (shard ids run from 0 to 3)",
		],
		[{ DISCORD_TOKEN: TOKEN, SHARD_IDS: "0" }, "SHARD_IDS needs SHARD_COUNT"],
		[
			{ DISCORD_TOKEN: TOKEN, DISCORD_CDN_HTTP_HOSTS: "http://127.0.0.1:9000" },
			"DISCORD_CDN_HTTP_HOSTS must be a comma-separated list",
		],
	])("refuses %o with a message naming the variable", (env, expected) => {
		expect(() => parseConfig(env)).toThrow(ConfigError);
		expect(() => parseConfig(env)).toThrow(expected);
	});

	it("never echoes a secret value in its message", () => {
		const secret = "not-a-real-token-but-secret";
		expect(() => parseConfig({ DISCORD_TOKEN: secret })).toThrow(/^(?!.*not-a-real-token).*$/);
	});

	it.each([
		["DISCORD_TOKEN is missing", "LOG_LEVEL=info\n", /DISCORD_TOKEN is required/],
		[
			"the store is shared but TOKEN_ENCRYPTION_KEY is not set",
			"DISCORD_TOKEN=MTIz.abc.def\nSTORE_URL=redis://:hunter2@127.0.0.1:1\n",
			/^Invalid configuration: TOKEN_ENCRYPTION_KEY is required when STORE_URL is redis:\/\//,
		],
	])("the bot exits 1 with one clear line when %s", async (_case, dotenv, expected) => {
		const cwd = await mkdtemp(join(tmpdir(), "imgpile-config-"));
		try {
			await writeFile(join(cwd, ".env"), dotenv);
			const env = { PATH: process.env.PATH ?? "", HOME: cwd };
			const entry = resolve("src/index.ts");
			const tsx = resolve("node_modules/.bin/tsx");
			const failure = await promisify(execFile)(tsx, [entry], { cwd, env }).then(
				() => undefined,
				(error: { code: number; stderr: string; stdout: string }) => error,
			);
			expect(failure?.code).toBe(1);
			const lines = failure?.stderr.trim().split("\n") ?? [];
			expect(lines).toHaveLength(1);
			expect(lines[0]).toMatch(expected);
			expect(lines[0]).not.toContain("hunter2");
		} finally {
			await rm(cwd, { recursive: true, force: true });
		}
	});
});

describe("the REST proxy's config", () => {
	it("needs the bot token; the port defaults to 8080 and Discord's API to the real one", () => {
		expect(parseProxyConfig({ DISCORD_TOKEN: TOKEN, STORE_URL: "ignored" })).toEqual({
			DISCORD_TOKEN: TOKEN,
			DISCORD_API_URL: "https://discord.com/api",
			LOG_LEVEL: "info",
			PROXY_PORT: 8080,
		});
		expect(parseProxyConfig({ DISCORD_TOKEN: TOKEN, PROXY_PORT: "9000" }).PROXY_PORT).toBe(9000);
	});

	it.each([
		[{}, "DISCORD_TOKEN is required"],
		[{ DISCORD_TOKEN: TOKEN, PROXY_PORT: "0" }, "PROXY_PORT must be a port number"],
		[{ DISCORD_TOKEN: TOKEN, DISCORD_API_URL: "discord.com" }, "DISCORD_API_URL must be an http(s) URL"],
	])("refuses %o with a message naming the variable", (env, expected) => {
		expect(() => parseProxyConfig(env)).toThrow(expected);
	});
});
