/**
 * The bot on a Redis store end to end (a real redis-server): what several processes rely on
 * works through it, as it does on SQLite. Two OS processes sharing one Redis: cluster.test.ts.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { t } from "../../src/i18n/index.js";
import type { Channel, Json, OptionValue } from "../emulators/discord/index.js";
import { pngBytes } from "../support/images.js";
import { describeRedis, type RedisServer, startRedis } from "../support/redis.js";
import { Harness, IMGPILE_USERS, imgpileUsers } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-7c1d9e2a4b6f8035";
const INTERVAL = 60_000;
let now = Date.now();
const clock = () => now;

describeRedis("the bot on a Redis store", () => {
	let redis: RedisServer;
	let h: Harness;

	beforeAll(async () => {
		redis = await startRedis();
		h = await Harness.start({
			storeUrl: redis.url,
			imgpile: { now: clock, users: imgpileUsers({ username: "feedbot", token: FEED_TOKEN }) },
			feeds: { now: clock, intervalMs: INTERVAL, token: FEED_TOKEN, pageSize: 10 },
		});
	});

	afterAll(async () => {
		await h?.close();
		await redis?.stop();
	});

	async function run(subcommand: string, options: Record<string, OptionValue>) {
		const ix = await h.discord.slash({ user: h.alice, channel: h.general, command: "feed", subcommand, options });
		await ix.settled();
		return ix;
	}

	async function channel(name: string): Promise<Channel> {
		const created = h.guild.createChannel({ name });
		await h.discord.waitFor(() => h.bot.client.channels.cache.has(created.id), { what: `#${name} in the bot's cache` });
		return created;
	}

	const botMessages = (ch: Channel) => h.discord.messages(ch).filter((m) => m.author.id === h.discord.botUser.id);

	it("takes the server-token cap atomically: five uploads at once with one slot left upload one file", async () => {
		await h.setServerToken(h.alice, IMGPILE_USERS.carol, 2);
		const upload = (name: string, width: number) =>
			h.discord.slash({
				user: h.carol,
				channel: h.general,
				command: "upload",
				attachments: { file: { filename: name, contentType: "image/png", source: pngBytes(width, 7) } },
			});
		const first = await h.finished(await upload("shared-1.png", 31));
		expect((first.reply?.embeds[0] as Json | undefined)?.title, first.describe()).toBe("shared-1.png");
		const started = await Promise.all(Array.from({ length: 5 }, (_, i) => upload(`race-${i}.png`, 40 + i)));
		const done = await Promise.all(started.map((ix) => h.finished(ix)));
		const capReached = t("en-US", "identity.serverCapReached", { cap: 2, remaining: 0 });
		expect(done.filter((ix) => ix.reply?.content === capReached)).toHaveLength(4);
		expect(await h.store.usage.serverTokenUploads(h.guild.id, h.carol.id)).toBe(2);
		h.discord.assertNoViolations();
	});

	it("a feed announces a new post once, and a restart over the same Redis does not announce it again", async () => {
		const ch = await channel("redis-live");
		const added = await run("add", { channel: ch, tag: "redis" });
		expect(added.reply?.content, added.describe()).toMatch(/Feed `[a-z0-9]+` added/);
		now += INTERVAL;
		await h.bot.tick();
		h.imgpileEmulator.seedPost({ username: "alice", tags: ["redis"], title: "On Redis" });
		now += INTERVAL;
		const report = await h.bot.tick();
		expect(report).toMatchObject({ leader: true, delivered: 1 });
		expect(botMessages(ch).map((m) => m.embeds[0]?.title)).toEqual(["On Redis"]);

		await h.restartBot();
		for (let i = 0; i < 2; i++) {
			now += INTERVAL;
			await h.bot.tick();
		}
		expect(botMessages(ch)).toHaveLength(1);
		expect(await h.store.outbox.pending()).toEqual([]);
		h.discord.assertNoViolations();
	});

	it("/feed digest while another process sends the same digest: told so, and it goes out once", async () => {
		const ch = await channel("redis-digest");
		const added = await run("add", { channel: ch, tag: "redisdigest", every: "1h" });
		const id = /Feed `([a-z0-9]+)` added/.exec(added.reply?.content ?? "")?.[1] ?? "";
		now += INTERVAL;
		await h.bot.tick();
		h.imgpileEmulator.seedPost({ username: "alice", tags: ["redisdigest"], title: "Digest me" });
		now += INTERVAL;
		await h.bot.tick();

		// Another process holds this feed's digest claim (it is sending the digest right now).
		const other = await h.store.lease.acquire(`digest.${id}`, "other-process", 60_000);
		expect(other.held).toBe(true);
		const busy = await run("digest", { id });
		expect(busy.reply?.content).toBe(t("en-US", "feed.digest.busy", { id }));
		expect(busy.ephemeral).toBe(true);
		expect(botMessages(ch)).toEqual([]);

		await h.store.lease.release(`digest.${id}`, "other-process");
		const sent = await run("digest", { id });
		expect(sent.reply?.content, sent.describe()).toContain("1");
		expect(botMessages(ch)).toHaveLength(1);
		h.discord.assertNoViolations();
	});
});
