/**
 * The REST proxy as a process, as `npm run rest-proxy` (and the compose service) runs it:
 * configuration from the environment, /healthz, and on SIGTERM a clean stop that still answers
 * the requests it holds.
 */
import { once } from "node:events";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiscordEmulator, startDiscordEmulator } from "../emulators/discord/index.js";
import { freePort, healthz, spawnWithOutput } from "../support/process.js";

const TSX = resolve("node_modules/.bin/tsx");
const ENTRY = resolve("src/proxy.ts");

let discord: DiscordEmulator;

beforeAll(async () => {
	// One message per 1.5 s in a channel: the second one waits in the proxy.
	discord = await startDiscordEmulator({
		rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 1, windowMs: 1500 } } },
	});
});

afterAll(async () => {
	await discord.close();
});

describe("the REST proxy process", () => {
	it("starts from the environment, serves /healthz, and on SIGTERM answers what it holds, then exits 0", async () => {
		const port = await freePort();
		const { child, output } = spawnWithOutput(TSX, [ENTRY], {
			env: {
				PATH: process.env.PATH,
				DISCORD_TOKEN: discord.botToken,
				DISCORD_API_URL: discord.restUrl,
				PROXY_PORT: String(port),
				// debug: the proxy says when a request waits for its bucket.
				LOG_LEVEL: "debug",
			},
		});
		try {
			await expect.poll(() => healthz(port), { timeout: 20_000, interval: 100 }).toBe(200);
			const channel = discord.createGuild({ name: "Proxy" }).createChannel({ name: "general" });
			const post = (content: string) =>
				fetch(`http://127.0.0.1:${port}/api/v10/channels/${channel.id}/messages`, {
					method: "POST",
					headers: { Authorization: `Bot ${discord.botToken}`, "Content-Type": "application/json" },
					body: JSON.stringify({ content }),
				});
			expect((await post("first")).status).toBe(200);
			const held = post("held");
			await expect.poll(output, { timeout: 5_000 }).toContain("waiting for a rate limit");

			const exited = once(child, "exit");
			child.kill("SIGTERM");
			expect((await held).status).toBe(200);
			expect(await exited).toEqual([0, null]);
			expect(discord.messages(channel).map((m) => m.content)).toEqual(["first", "held"]);
			expect(output()).toMatch(/rest proxy ready[\s\S]*shutting down[\s\S]*stopped/);
			expect(output()).not.toContain(discord.botToken);
			discord.assertNoViolations();
		} finally {
			if (child.exitCode === null) child.kill("SIGKILL");
		}
	}, 40_000);
});
