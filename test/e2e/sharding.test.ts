/**
 * The bot sharded as a cluster runs it: SHARD_COUNT=2 split over two bot processes (SHARD_IDS 0
 * and 1) on one emulated Discord, which routes each guild's interactions to its shard's session
 * only. Each interaction is answered once, by the process that got it; commands are registered
 * once, by the process running shard 0. One process running both shards answers everywhere.
 */
import { type Client, Events } from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import { t } from "../../src/i18n/index.js";
import type { Guild, User } from "../emulators/discord/index.js";
import { Harness } from "./harness.js";

let h: Harness | undefined;

afterEach(async () => {
	await h?.close();
	h = undefined;
});

/** One guild on each of two shards, with `user` in both. */
function twoShardGuilds(harness: Harness, user: User): [Guild, Guild] {
	const guilds = [0, 1].map((shard) => {
		const guild = harness.discord.createGuild({ name: `Shard ${shard}`, shard: [shard, 2] });
		guild.addMember(user);
		guild.createChannel({ name: "general" });
		return guild;
	});
	return guilds as [Guild, Guild];
}

/** Which guilds' interactions a client received. */
function received(client: Client): string[] {
	const seen: string[] = [];
	client.on(Events.InteractionCreate, (ix) => seen.push(ix.guildId ?? "dm"));
	return seen;
}

async function status(harness: Harness, user: User, guild: Guild): Promise<void> {
	const channel = guild.channels[0];
	if (!channel) throw new Error("no channel");
	const ix = await harness.discord.slash({ user, channel, command: "imgpile", subcommand: "status" });
	await ix.settled();
	expect(ix.reply?.content).toContain("Not linked");
}

const commandRequests = (harness: Harness) =>
	harness.discord.requests.filter((r) => r.route?.includes("/commands")).map((r) => r.method);

describe("sharding", () => {
	it("two processes, one shard each: each answers its guild's interactions, and only shard 0 registers commands", async () => {
		h = await Harness.start({ shards: { count: 2, ids: [0] } });
		const peer = await h.startPeer({ shards: { count: 2, ids: [1] } });
		const [zero, one] = twoShardGuilds(h, h.carol);
		await h.discord.waitFor(() => h?.bot.client.guilds.cache.has(zero.id) && peer.bot.client.guilds.cache.has(one.id));
		expect(h.bot.client.guilds.cache.has(one.id)).toBe(false);
		expect(peer.bot.client.guilds.cache.has(zero.id)).toBe(false);
		expect(
			h.discord
				.gatewaySessions()
				.map((s) => s.shard)
				.sort(),
		).toEqual([
			[0, 2],
			[1, 2],
		]);

		const byZero = received(h.bot.client);
		const byOne = received(peer.bot.client);
		await status(h, h.carol, zero);
		await status(h, h.carol, one);
		expect(byZero).toEqual([zero.id]);
		expect(byOne).toEqual([one.id]);

		// One look at the registered commands and one registration, both from shard 0's process.
		expect(commandRequests(h)).toEqual(["GET", "PUT"]);
		expect(h.logs.join("\n")).toContain("commands registered");
		expect(peer.logs.join("\n")).toContain("commands are registered by the process running shard 0");
		expect(peer.logs.join("\n")).toMatch(/"shards":\[1\],"shardCount":2.*bot ready/);
		h.discord.assertNoViolations();
	});

	it("one process running both shards answers in both guilds and registers commands once", async () => {
		h = await Harness.start({ shards: { count: 2 } });
		const [zero, one] = twoShardGuilds(h, h.carol);
		await h.discord.waitFor(() => h?.bot.client.guilds.cache.has(zero.id) && h.bot.client.guilds.cache.has(one.id));
		const seen = received(h.bot.client);
		await status(h, h.carol, zero);
		await status(h, h.carol, one);
		expect(seen).toEqual([zero.id, one.id]);
		expect(h.discord.gatewaySessions().map((s) => s.shard)).toEqual([
			[0, 2],
			[1, 2],
		]);
		expect(commandRequests(h)).toEqual(["GET", "PUT"]);
		h.discord.assertNoViolations();
	});

	it("SHARD_COUNT=auto runs Discord's recommended count from GET /gateway/bot; ids beyond it fail the start", async () => {
		h = await Harness.start({ discord: { recommendedShards: 2 }, shards: { count: "auto" } });
		expect(h.discord.gatewaySessions().map((s) => s.shard)).toEqual([
			[0, 2],
			[1, 2],
		]);
		h.discord.recommendShards(1);
		await expect(h.startPeer({ shards: { count: "auto", ids: [1] } })).rejects.toThrow(
			"SHARD_IDS 1 are not below Discord's recommended shard count 1 (SHARD_COUNT=auto)",
		);
	});

	it("the feed leader announces in guilds of shards it does not run, in their language", async () => {
		let now = Date.now();
		h = await Harness.start({ shards: { count: 2, ids: [0] }, feeds: { now: () => now, intervalMs: 60_000 } });
		// This guild is on shard 1: another process's; this one never has it in its cache.
		const far = h.discord.createGuild({ name: "Elsewhere", shard: [1, 2], preferredLocale: "zh-CN" });
		const channel = far.createChannel({ name: "feed" });
		await h.store.subscriptions.create({
			guildId: far.id,
			channelId: channel.id,
			filters: { tag: "far", username: null, nsfw: false },
			mode: "live",
			everyMs: null,
			at: null,
			backfill: 0,
			createdBy: h.alice.id,
		});
		h.bot.feeds.changed();
		now += 60_000;
		await h.bot.tick();
		h.imgpileEmulator.seedPost({ username: "alice", tags: ["far"], title: "Far away" });
		now += 60_000;
		expect(await h.bot.tick()).toMatchObject({ delivered: 1 });
		expect(h.bot.client.guilds.cache.has(far.id)).toBe(false);
		const [message] = h.discord.messages(channel);
		expect(message?.embeds[0]?.title).toBe("Far away");
		expect((message?.embeds[0]?.fields as Array<{ name: string }> | undefined)?.[0]?.name).toBe(
			t("zh-CN", "post.field.score"),
		);
		h.discord.assertNoViolations();
	});
});
