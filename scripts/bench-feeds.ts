/**
 * npm run bench:feeds — the feed scheduler at scale, in three runs (`--run scheduler|limits|grouping|all`,
 * default all). The real bot, its store on disk and both emulators run in this process; time is a
 * clock moved by hand, 12 scheduler ticks per poll period (so queries poll at their own slot in
 * the period, as in production).
 *
 * 1. scheduler: 1,000 guilds, each with a live subscription, over 20 distinct queries (50 guilds
 *    per query), and 200 new posts arriving over 10 poll cycles (one cycle carries a burst of 60
 *    posts on one query at once: more than a page). Prints, per cycle, the imgpile requests
 *    (target: queries + extra pages, whatever the number of guilds); the Discord messages sent vs
 *    expected and duplicates (target: equal, zero); the p99 delay from a post's creation to its
 *    announcement, in cycles; and the peak RSS of the process. Discord's limits are lifted here
 *    (the run measures the scheduler, not Discord's 5 messages / 5 s per channel).
 * 2. limits: under Discord's real limits (the emulator's defaults: 50 requests/s per bot token,
 *    5 messages / 5 s per channel) and the bot's own REST settings, a burst of 10 posts on each of
 *    2 queries followed by 100 guilds each (2,000 messages, 10 per channel: with 100 channels per
 *    query the per-channel limit is not the bottleneck, the global one is). Prints delivered
 *    messages per second against the 50/s ceiling (target: at least 80%), unforced 429s and
 *    invalid requests (target: 0), and duplicates and missing messages (target: 0).
 *
 * 3. grouping: subscriptions over 20 user filters, 5 tags, NSFW or not: imgpile requests per cycle
 *    with one poll per tag (see groupingRun) beside the count per filter combination.
 * 4. notify: personal notifications of 2,000 users (`--notify-users`), no feed at all: each follows
 *    what one of 20 imgpile readers follows (3 of 20 authors) and 2 of 5 tags; 200 posts over 10
 *    minutes, then 20 quiet minutes. Prints imgpile requests per minute (target: the firehose + 5
 *    tag polls, whatever the number of users, plus following-list reads within the background
 *    share), DMs sent and posts they carried against the expected (target: every post each user
 *    should get, once; at most one DM per user per 15 minutes), and the cycle's wall time.
 *
 *   npm run bench:feeds -- --guilds 1000 --queries 20 --posts 200 --cycles 10
 *   npm run bench:feeds -- --run limits --limits-guilds 200 --limits-queries 2 --limits-burst 10 [--delivery-concurrency 8]
 *
 * imgpile's limits are the documented ones (30 guest requests a minute, on the same hand-moved
 * clock), and the feeds poll as a guest.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { commandModules } from "../commands/index.js";
import { Bot } from "../src/bot/bot.js";
import { filteredBy } from "../src/feeds/index.js";
import { Imgpile } from "../src/imgpile/index.js";
import { createLogger, SecretRegistry } from "../src/logger.js";
import { type FeedFilters, openStore, pollKeyOf, queryKeyOf, TokenCipher } from "../src/store/index.js";
import { TransferPipeline } from "../src/transfer/index.js";
import { type BotEvent, type Channel, startDiscordEmulator } from "../test/emulators/discord/index.js";
import { startImgpileEmulator } from "../test/emulators/imgpile/index.js";

const { values } = parseArgs({
	options: {
		run: { type: "string", default: "all" },
		guilds: { type: "string", default: "1000" },
		queries: { type: "string", default: "20" },
		posts: { type: "string", default: "200" },
		cycles: { type: "string", default: "10" },
		"limits-guilds": { type: "string", default: "200" },
		"limits-queries": { type: "string", default: "2" },
		"limits-burst": { type: "string", default: "10" },
		/** The bot's feed delivery concurrency in the limits run (default: the bot's own default). */
		"delivery-concurrency": { type: "string" },
		"notify-users": { type: "string", default: "2000" },
	},
});
const INTERVAL = 60_000;
const TICKS_PER_CYCLE = 12;
/** Discord's global limit per bot token, the ceiling of the limits run. */
const CEILING = 50;

let now = Date.parse("2031-01-01T00:00:00Z");
const clock = () => now;

interface World {
	discord: Awaited<ReturnType<typeof startDiscordEmulator>>;
	imgpile: Awaited<ReturnType<typeof startImgpileEmulator>>;
	bot: Bot;
	channels: Channel[];
	store: Awaited<ReturnType<typeof openStore>>;
	tagOfChannel: Map<string, string>;
	filtersOfChannel: Map<string, FeedFilters>;
	wal: boolean;
	close(): Promise<void>;
}

/**
 * Both emulators, the bot with its store on disk, and `guilds` guilds subscribed over `queries`
 * tags (or over `filtersOf(i)`, NSFW feeds in age-restricted channels).
 */
async function setup(opts: {
	guilds: number;
	queries: number;
	filtersOf?: (guild: number) => FeedFilters;
	/** imgpile accounts besides "poster". */
	users?: string[];
	/** Discord's real limits and the bot's own REST settings, or both lifted. */
	discordLimits: boolean;
	deliveryConcurrency?: number;
}): Promise<World> {
	const dir = await mkdtemp(join(tmpdir(), "imgpile-bench-feeds-"));
	const discord = await startDiscordEmulator(
		opts.discordLimits
			? {}
			: { rateLimits: { default: null, global: null, routes: { "POST /channels/{channel_id}/messages": null } } },
	);
	// imgpile's limit on this clock is enforced by the scheduler's own budget (checked below: the
	// most requests in any minute). The emulator's limiter is lifted because the client's pacing lane
	// believes X-RateLimit-Limit and refills on real time, which this hand-moved clock outruns.
	const imgpile = await startImgpileEmulator({
		users: [
			{ username: "poster", token: "ip-poster-0123456789abcdef" },
			...(opts.users ?? []).map((username, i) => ({
				username,
				token: `ip-${username}-${String(i).padStart(12, "0")}`,
			})),
		],
		now: clock,
		limits: { publicPerMinute: 1_000_000 },
	});
	const logger = createLogger({
		level: (process.env.LOG_LEVEL as "warn" | undefined) ?? "warn",
		secrets: new SecretRegistry(),
	});
	const channels: Channel[] = [];
	const tagOfChannel = new Map<string, string>();
	const filtersOfChannel = new Map<string, FeedFilters>();
	for (let i = 0; i < opts.guilds; i++) {
		const filters = opts.filtersOf?.(i) ?? { tag: `q${i % opts.queries}`, username: null, nsfw: false };
		const guild = discord.createGuild({ name: `Guild ${i}` });
		const channel = guild.createChannel({ name: "feed", nsfw: filters.nsfw });
		channels.push(channel);
		tagOfChannel.set(channel.id, filters.tag ?? "");
		filtersOfChannel.set(channel.id, filters);
	}

	// BENCH_STORE_WAL=0 measures the store's default journal (an fsync per write) instead of WAL.
	const wal = process.env.BENCH_STORE_WAL !== "0";
	const store = await openStore({
		url: `sqlite://${join(dir, "bench.sqlite")}`,
		cipher: new TokenCipher(randomBytes(32)),
		logger,
		wal,
	});
	// Client-side pacing runs on real time and this bench on a hand-moved clock: the scheduler's own
	// budget (on the bench clock, against the emulator's documented 30/min) is what keeps it inside.
	const client = new Imgpile({
		apiUrl: imgpile.apiUrl,
		uploadUrl: imgpile.uploadUrl,
		pacing: { publicPerMinute: 1_000_000, maxConcurrentPerToken: 64 },
	});
	const transfers = new TransferPipeline({
		allowedHosts: discord.cdnHosts,
		httpHosts: discord.cdnHosts,
		maxConcurrent: 1,
		logger,
	});
	const bot = new Bot({
		token: discord.botToken,
		discordApiUrl: discord.restUrl,
		modules: commandModules,
		services: {
			logger,
			store,
			imgpile: client,
			secrets: new SecretRegistry(),
			imgpileUploadUrl: imgpile.uploadUrl,
			transfers,
			now: clock,
		},
		feeds: { now: clock, intervalMs: INTERVAL, timer: false, deliveryConcurrency: opts.deliveryConcurrency },
		clientOptions: {
			ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
			...(opts.discordLimits ? {} : { rest: { globalRequestsPerSecond: 1_000_000 } }),
		},
	});
	await bot.start();
	await discord.waitFor(() => bot.client.guilds.cache.size >= opts.guilds, {
		timeoutMs: 120_000,
		what: "every guild",
	});
	for (const channel of channels) {
		const guildId = channel.guild?.id ?? "";
		await store.subscriptions.create({
			guildId,
			channelId: channel.id,
			filters: filtersOfChannel.get(channel.id) ?? { tag: null, username: null, nsfw: false },
			mode: "live",
			everyMs: null,
			at: null,
			backfill: 0,
			createdBy: channel.guild?.ownerId ?? guildId,
		});
	}
	bot.feeds.changed();
	return {
		discord,
		imgpile,
		bot,
		channels,
		store,
		tagOfChannel,
		filtersOfChannel,
		wal,
		close: async () => {
			await bot.stop();
			await transfers.close();
			await client.close();
			await store.close();
			await discord.close();
			await imgpile.close();
			await rm(dir, { recursive: true, force: true });
		},
	};
}

/** Feed announcements among Discord events: channel, post slug, time. */
function announcements(events: readonly BotEvent[]): Array<{ channelId: string; slug: string; at: number }> {
	const out: Array<{ channelId: string; slug: string; at: number }> = [];
	for (const event of events) {
		if (event.kind !== "message" || !event.channelId) continue;
		const url = String((event.embeds[0] as { url?: unknown } | undefined)?.url ?? "");
		const slug = url.split("/p/")[1];
		if (slug) out.push({ channelId: event.channelId, slug, at: event.at });
	}
	return out;
}

async function schedulerRun(): Promise<boolean> {
	const GUILDS = Number(values.guilds);
	const QUERIES = Number(values.queries);
	const POSTS = Number(values.posts);
	const CYCLES = Number(values.cycles);
	const BURST = Math.min(60, Math.floor(POSTS / 3));

	let rssPeak = 0;
	const sampler = setInterval(() => {
		rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
	}, 25);

	console.log(
		`bench:feeds (scheduler) — ${GUILDS} guilds, ${QUERIES} queries, ${POSTS} new posts over ${CYCLES} cycles of ${INTERVAL / 1000} s (${TICKS_PER_CYCLE} ticks each)`,
	);
	const setupStarted = performance.now();
	const { discord, imgpile, bot, channels, tagOfChannel, wal, close } = await setup({
		guilds: GUILDS,
		queries: QUERIES,
		discordLimits: false,
		deliveryConcurrency: 16,
	});
	console.log(
		`setup: ${((performance.now() - setupStarted) / 1000).toFixed(1)} s; store journal: ${wal ? "WAL" : "default (fsync per write)"}`,
	);

	// Seeding cycle (first polls: silent), not counted.
	now += INTERVAL;
	await bot.tick();

	/** When each post arrives (bench clock), spread over the cycles; one cycle has the burst. */
	const arrivals: Array<{ at: number; tag: string; cycle: number }> = [];
	const burstCycle = Math.min(3, CYCLES - 1);
	const spread = POSTS - BURST;
	for (let i = 0; i < spread; i++) {
		const cycle = i % CYCLES;
		arrivals.push({ cycle, tag: `q${(i * 7) % QUERIES}`, at: 0 });
	}
	for (let i = 0; i < BURST; i++) arrivals.push({ cycle: burstCycle, tag: "q3", at: 0 });
	const t0 = now;
	const startOf = (cycle: number) => t0 + cycle * INTERVAL;
	const perCycle = new Map<number, number>();
	for (const [i, arrival] of arrivals.entries()) {
		const index = perCycle.get(arrival.cycle) ?? 0;
		perCycle.set(arrival.cycle, index + 1);
		// Spread over the cycle; the burst lands at one moment (more than a page for its query).
		arrival.at = i >= spread ? startOf(arrival.cycle) + 1_000 : startOf(arrival.cycle) + ((index * 7919) % INTERVAL);
	}
	arrivals.sort((a, b) => a.at - b.at);

	const createdAt = new Map<string, number>();
	const tagOf = new Map<string, string>();
	const announced = new Map<string, number[]>();
	const seenPairs = new Set<string>();
	let duplicates = 0;
	let eventIndex = 0;
	let next = 0;
	let requestIndex = imgpile.requests.length;
	const requestsPerCycle: number[] = [];
	const requestTimes: Array<{ at: number; count: number }> = [];
	const started = performance.now();

	function collect(): void {
		const events = discord.events;
		for (const { channelId, slug } of announcements(events.slice(eventIndex))) {
			const pair = `${channelId}:${slug}`;
			if (seenPairs.has(pair)) duplicates++;
			seenPairs.add(pair);
			const list = announced.get(slug) ?? [];
			list.push(now);
			announced.set(slug, list);
		}
		eventIndex = events.length;
	}

	const totalCycles = CYCLES + 2; // two more to let the last arrivals through
	for (let cycle = 0; cycle < totalCycles; cycle++) {
		for (let tick = 1; tick <= TICKS_PER_CYCLE; tick++) {
			const target = startOf(cycle) + (tick * INTERVAL) / TICKS_PER_CYCLE;
			while (next < arrivals.length && (arrivals[next]?.at ?? Number.POSITIVE_INFINITY) <= target) {
				const arrival = arrivals[next++];
				if (!arrival) continue;
				now = Math.max(now, arrival.at);
				const post = imgpile.seedPost({ username: "poster", tags: [arrival.tag], title: `Post ${next}` });
				createdAt.set(post.slug, now);
				tagOf.set(post.slug, arrival.tag);
			}
			now = target;
			const before = imgpile.requests.length;
			const tickStarted = performance.now();
			const report = await bot.tick();
			if (process.env.BENCH_TRACE)
				console.error(
					`tick ${cycle}.${tick}: ${(performance.now() - tickStarted).toFixed(0)} ms`,
					JSON.stringify(report),
				);
			requestTimes.push({ at: now, count: imgpile.requests.length - before });
			collect();
		}
		const requests = imgpile.requests.slice(requestIndex).filter((r) => r.path === "/api/v1/posts").length;
		requestIndex = imgpile.requests.length;
		requestsPerCycle.push(requests);
		process.stderr.write(
			`  cycle ${cycle + 1}/${totalCycles}: ${requests} imgpile requests, ${seenPairs.size} messages so far (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
		);
	}
	const elapsed = (performance.now() - started) / 1000;
	/** The most imgpile requests in any 60 s (bench clock): imgpile allows 30 to a guest. */
	let busiestMinute = 0;
	for (const [index, { at }] of requestTimes.entries()) {
		let sum = 0;
		for (let j = index; j >= 0 && (requestTimes[j]?.at ?? 0) > at - INTERVAL; j--) sum += requestTimes[j]?.count ?? 0;
		busiestMinute = Math.max(busiestMinute, sum);
	}

	const perQuery = GUILDS / QUERIES;
	const expected = [...tagOf.values()].reduce(
		(sum, tag) => sum + channels.filter((c) => tagOfChannel.get(c.id) === tag).length,
		0,
	);
	const sent = seenPairs.size + duplicates;
	const delays: number[] = [];
	let missing = 0;
	for (const [slug, created] of createdAt) {
		const times = announced.get(slug) ?? [];
		const subscribers = channels.filter((c) => tagOfChannel.get(c.id) === tagOf.get(slug)).length;
		missing += Math.max(0, subscribers - times.length);
		for (const at of times) delays.push((at - created) / INTERVAL);
	}
	delays.sort((a, b) => a - b);
	const pct = (p: number) =>
		delays[Math.min(delays.length - 1, Math.ceil((p / 100) * delays.length) - 1)] ?? Number.NaN;
	clearInterval(sampler);
	rssPeak = Math.max(rssPeak, process.memoryUsage().rss);

	console.log(`imgpile requests per cycle: ${requestsPerCycle.join(" ")} (queries: ${QUERIES}; last two cycles drain)`);
	console.log(
		`  = ${QUERIES} polls + ${requestsPerCycle.slice(0, CYCLES).reduce((a, b) => a + b, 0) - QUERIES * CYCLES} extra (pages of bursts, digests) over ${CYCLES} cycles, for ${GUILDS} guilds (${perQuery} per query)`,
	);
	console.log(
		`  busiest minute: ${busiestMinute} requests (imgpile allows a guest 30; the feeds take at most 80% of it)`,
	);
	console.log(
		`Discord messages: sent ${sent}, expected ${expected}, duplicates ${duplicates}, missing ${missing}${sent === expected && duplicates === 0 ? " ✓" : " ✗"}`,
	);
	console.log(
		`delay creation → announcement (cycles of ${INTERVAL / 1000} s): p50 ${pct(50).toFixed(2)}, p99 ${pct(99).toFixed(2)}, max ${pct(100).toFixed(2)}`,
	);
	console.log(
		`peak RSS ${(rssPeak / 1024 / 1024).toFixed(0)} MB (bot, its store and both emulators in one process); wall time of the cycles ${elapsed.toFixed(1)} s`,
	);

	await close();
	return sent === expected && duplicates === 0;
}

/**
 * 3. grouping: `guilds` guilds over 20 user filters, 5 tags, with and without NSFW (mixed: a third
 * on a tag, one in seven without a user filter, half NSFW). Prints imgpile requests per cycle
 * under the per-tag grouping (target: 6, the firehose and 5 tags, plus extra pages when a page is
 * all new) beside what the former per-combination grouping needed for the same subscriptions (one
 * query per distinct `queryKeyOf`), and checks every channel got exactly what its filters allow.
 */
async function groupingRun(): Promise<boolean> {
	const GUILDS = Number(values.guilds);
	const USERS = 20;
	const TAGS = 5;
	const CYCLES = 5;
	const PER_CYCLE = 12;
	/** More than a page (50) in one cycle: the firehose reads extra pages then. */
	const BURST = 60;
	const BURST_CYCLE = 2;
	const users = Array.from({ length: USERS }, (_, i) => `user${i}`);
	/** Guild i's filters, mixed pseudo-randomly (a hash of i): a third on a tag, one in seven without a user filter, half NSFW. */
	const filtersOf = (i: number): FeedFilters => {
		const r = Math.imul(i + 1, 2654435761) >>> 0;
		const user = (r >>> 3) % USERS;
		return {
			tag: r % 3 === 0 ? `t${(r >>> 8) % TAGS}` : null,
			// Typed in any case: the filter matches regardless.
			username: (r >>> 12) % 7 === 0 ? null : (r >>> 16) % 2 ? `User${user}` : `user${user}`,
			nsfw: (r >>> 20) % 2 === 1,
		};
	};
	const pollKeys = new Set<string>();
	const queryKeys = new Set<string>();
	for (let i = 0; i < GUILDS; i++) {
		pollKeys.add(pollKeyOf(filtersOf(i)));
		queryKeys.add(queryKeyOf(filtersOf(i)));
	}
	console.log(
		`bench:feeds (grouping) — ${GUILDS} guilds over ${USERS} user filters, ${TAGS} tags, NSFW or not: ${queryKeys.size} filter combinations, ${pollKeys.size} polls; ${CYCLES} cycles of ${PER_CYCLE} posts, one of ${BURST}`,
	);
	const { discord, imgpile, bot, channels, filtersOfChannel, close } = await setup({
		guilds: GUILDS,
		queries: TAGS,
		filtersOf,
		users: [...users, "stranger"],
		discordLimits: false,
		deliveryConcurrency: 16,
	});
	now += INTERVAL;
	await bot.tick(); // seeding cycle: the first polls announce nothing

	const expected = new Set<string>();
	const nsfwSlugs = new Set<string>();
	let requestIndex = imgpile.requests.length;
	let eventIndex = discord.events.length;
	const requestsPerCycle: Array<{ firehose: number; tags: number }> = [];
	const sent = new Set<string>();
	let duplicates = 0;
	let n = 0;
	for (let cycle = 0; cycle < CYCLES + 2; cycle++) {
		const count = cycle >= CYCLES ? 0 : cycle === BURST_CYCLE ? BURST : PER_CYCLE;
		for (let i = 0; i < count; i++, n++) {
			const username = n % 9 === 0 ? "stranger" : (users[(n * 7) % USERS] ?? "stranger");
			const tag = n % 4 === 0 ? null : `t${n % TAGS}`;
			const isNsfw = n % 5 === 0;
			const post = imgpile.seedPost({ username, tags: tag ? [tag] : [], title: `Post ${n}`, isNsfw });
			if (post.moderation_status === "nsfw") nsfwSlugs.add(post.slug);
			for (const channel of channels) {
				const filters = filtersOfChannel.get(channel.id);
				if (!filters || filteredBy(filters, post) !== null) continue;
				if (filters.tag !== null && filters.tag.toLowerCase() !== tag) continue;
				expected.add(`${channel.id}:${post.slug}`);
			}
		}
		for (let tick = 1; tick <= TICKS_PER_CYCLE; tick++) {
			now += INTERVAL / TICKS_PER_CYCLE;
			await bot.tick();
		}
		const reads = imgpile.requests.slice(requestIndex).filter((r) => r.path === "/api/v1/posts");
		requestIndex = imgpile.requests.length;
		requestsPerCycle.push({
			firehose: reads.filter((r) => r.query.tag === undefined).length,
			tags: reads.filter((r) => r.query.tag !== undefined).length,
		});
		for (const { channelId, slug } of announcements(discord.events.slice(eventIndex))) {
			const pair = `${channelId}:${slug}`;
			if (sent.has(pair)) duplicates++;
			sent.add(pair);
		}
		eventIndex = discord.events.length;
	}
	const missing = [...expected].filter((pair) => !sent.has(pair)).length;
	const unexpected = [...sent].filter((pair) => !expected.has(pair)).length;
	const nsfwChannels = new Set(channels.filter((c) => c.nsfw).map((c) => c.id));
	const nsfwLeaks = [...sent].filter((pair) => {
		const [channelId = "", slug = ""] = pair.split(":");
		return nsfwSlugs.has(slug) && !nsfwChannels.has(channelId);
	}).length;
	const total = (r: { firehose: number; tags: number }) => r.firehose + r.tags;
	// Per combination, each query polls once a period at least; imgpile's guest budget (30/min,
	// 80% for the feeds) stretches the period when they do not fit.
	const oldPeriodMin = Math.max(1, queryKeys.size / 24);
	console.log(
		`imgpile requests per cycle (per tag): ${requestsPerCycle.map((r) => `${total(r)} (${r.firehose} firehose + ${r.tags} tags)`).join(", ")}`,
	);
	console.log(
		`  target ${pollKeys.size} (firehose + ${pollKeys.size - 1} tags) plus extra pages when a page is all new (cycle ${BURST_CYCLE + 1}: ${BURST} posts, page size 50)`,
	);
	console.log(
		`per filter combination (before): ${queryKeys.size} requests per cycle for the same subscriptions, which imgpile's guest budget (24/min for the feeds) fits only by polling every ${oldPeriodMin.toFixed(1)} min instead of 1`,
	);
	const ok =
		requestsPerCycle.every(
			(r, cycle) => total(r) >= pollKeys.size && (cycle === BURST_CYCLE || total(r) === pollKeys.size),
		) &&
		missing === 0 &&
		unexpected === 0 &&
		duplicates === 0 &&
		nsfwLeaks === 0;
	console.log(
		`Discord messages: sent ${sent.size + duplicates}, expected ${expected.size}, missing ${missing}, not allowed by the filters ${unexpected}, duplicates ${duplicates}, NSFW outside age-restricted channels ${nsfwLeaks}${ok ? " ✓" : " ✗"}`,
	);
	await close();
	return ok;
}

async function limitsRun(): Promise<boolean> {
	const GUILDS = Number(values["limits-guilds"]);
	const QUERIES = Number(values["limits-queries"]);
	const BURST = Number(values["limits-burst"]);
	const concurrency = values["delivery-concurrency"] ? Number(values["delivery-concurrency"]) : undefined;
	console.log(
		`bench:feeds (Discord's limits) — ${GUILDS} guilds over ${QUERIES} queries, a burst of ${BURST} posts on each query: ${GUILDS * BURST} messages, ${BURST} per channel; global ${CEILING}/s, 5 per 5 s per channel; delivery concurrency ${concurrency ?? "bot default"}`,
	);
	const { discord, imgpile, bot, channels, tagOfChannel, close } = await setup({
		guilds: GUILDS,
		queries: QUERIES,
		discordLimits: true,
		deliveryConcurrency: concurrency,
	});
	now += INTERVAL;
	await bot.tick(); // seeding cycle: the first polls announce nothing
	const expected = new Set<string>();
	for (let q = 0; q < QUERIES; q++) {
		for (let i = 0; i < BURST; i++) {
			const post = imgpile.seedPost({ username: "poster", tags: [`q${q}`], title: `Burst ${q}.${i}` });
			for (const channel of channels)
				if (tagOfChannel.get(channel.id) === `q${q}`) expected.add(`${channel.id}:${post.slug}`);
		}
	}
	const eventsBefore = discord.events.length;
	const requestsBefore = discord.requests.length;
	const invalidBefore = discord.invalidRequests();
	const violationsBefore = discord.violations.length;
	const started = performance.now();
	// One poll period (every query's slot passes), then more until the outbox is empty.
	for (let tick = 1; tick <= TICKS_PER_CYCLE * 3; tick++) {
		now += INTERVAL / TICKS_PER_CYCLE;
		await bot.tick();
		if (tick >= TICKS_PER_CYCLE && announcements(discord.events.slice(eventsBefore)).length >= expected.size) break;
	}
	const elapsed = (performance.now() - started) / 1000;
	const sent = announcements(discord.events.slice(eventsBefore));
	const seen = new Set<string>();
	let duplicates = 0;
	for (const { channelId, slug } of sent) {
		const pair = `${channelId}:${slug}`;
		if (seen.has(pair)) duplicates++;
		seen.add(pair);
	}
	const missing = [...expected].filter((pair) => !seen.has(pair)).length;
	const times = sent.map((m) => m.at).sort((a, b) => a - b);
	const first = times[0] ?? 0;
	const last = times.at(-1) ?? 0;
	const rate = times.length > 1 ? (times.length - 1) / ((last - first) / 1000) : 0;
	// Messages in each whole second from the first to the last one (the last, partial second left out).
	const perSecond: number[] = [];
	for (const at of times) {
		const second = Math.floor((at - first) / 1000);
		perSecond[second] = (perSecond[second] ?? 0) + 1;
	}
	const full = Array.from({ length: Math.max(0, perSecond.length - 1) }, (_, i) => perSecond[i] ?? 0).sort(
		(a, b) => a - b,
	);
	if (process.env.BENCH_TRACE) console.error(`messages per second: ${perSecond.map((n) => n ?? 0).join(" ")}`);
	const requests = discord.requests.slice(requestsBefore);
	const tooMany = requests.filter((r) => r.status === 429).length;
	const unforced = discord.violations.slice(violationsBefore).filter((v) => v.kind === "rate-limit").length;
	const invalid = discord.invalidRequests() - invalidBefore;
	const otherViolations = discord.violations.slice(violationsBefore).filter((v) => v.kind !== "rate-limit");
	const ok = rate >= 0.8 * CEILING && unforced === 0 && invalid === 0 && duplicates === 0 && missing === 0;

	console.log(
		`delivered ${sent.length} messages in ${((last - first) / 1000).toFixed(1)} s (first to last; ${elapsed.toFixed(1)} s of cycles): ${rate.toFixed(1)} msg/s = ${((rate / CEILING) * 100).toFixed(0)}% of the ${CEILING}/s ceiling (target ≥ 80%)`,
	);
	if (full.length > 0)
		console.log(
			`  per whole second: min ${full[0]}, median ${full[Math.floor(full.length / 2)]}, max ${full.at(-1)} (${full.length} s); REST requests ${requests.length} (${(requests.length / Math.max(0.001, (last - first) / 1000)).toFixed(1)}/s)`,
		);
	console.log(
		`429s: ${tooMany} (unforced: ${unforced}); invalid requests: ${invalid}; duplicates ${duplicates}, missing ${missing}${otherViolations.length ? `; other violations: ${otherViolations.map((v) => v.kind).join(", ")}` : ""}${ok ? " ✓" : " ✗"}`,
	);
	await close();
	return ok;
}

async function notifyRun(): Promise<boolean> {
	const USERS = Number(values["notify-users"]);
	const AUTHORS = 20;
	const READERS = 20;
	const TAGS = 5;
	const POSTS = 200;
	const MINUTES = 10;
	const QUIET_MINUTES = 20;
	const authors = Array.from({ length: AUTHORS }, (_, i) => `author${i}`);
	const readers = Array.from({ length: READERS }, (_, i) => `reader${i}`);
	/** Reader r follows three authors. */
	const followed = (r: number) => [r, r + 7, r + 13].map((a) => `author${a % AUTHORS}`);
	const tagsOf = (u: number) => [`t${u % TAGS}`, `t${(u + 1) % TAGS}`];
	console.log(
		`bench:feeds (notify) — ${USERS} users with notifications (follows of one of ${READERS} readers, 2 of ${TAGS} tags), no feed; ${POSTS} posts over ${MINUTES} min, then ${QUIET_MINUTES} min`,
	);
	const world = await setup({ guilds: 0, queries: 1, users: [...authors, ...readers], discordLimits: false });
	const { discord, imgpile, bot, store } = world;
	for (const [r, reader] of readers.entries()) {
		const token = `ip-${reader}-${String(AUTHORS + r).padStart(12, "0")}`;
		for (const author of followed(r)) {
			const res = await fetch(`${imgpile.apiUrl}/users/${author}/follow`, {
				method: "POST",
				headers: { authorization: `Bearer ${token}` },
			});
			if (!res.ok) throw new Error(`follow: ${res.status}`);
		}
	}
	const users = Array.from({ length: USERS }, (_, i) => {
		const user = discord.createUser({ username: `member${i}` });
		discord.installUserApp(user);
		return user;
	});
	const since = new Date(now).toISOString();
	for (const [i, user] of users.entries()) {
		const r = i % READERS;
		await store.notify.update(user.id, (p) => ({
			...p,
			follows: true,
			username: readers[r] ?? null,
			following: followed(r),
			// Read over the last hour: about a sixtieth falls due each minute.
			followingAt: new Date(now - Math.floor((i / USERS) * 3_600_000)).toISOString(),
			tags: tagsOf(i),
			since,
		}));
	}
	bot.feeds.changed();
	now += INTERVAL;
	await bot.tick(); // seeding cycle: the polls' first reads announce nothing

	const expected = new Map<string, number>();
	let requestIndex = imgpile.requests.length;
	const perMinute: Array<{ polls: number; following: number }> = [];
	const wall: number[] = [];
	let queued = 0;
	for (let minute = 0; minute < MINUTES + QUIET_MINUTES; minute++) {
		if (minute < MINUTES) {
			for (let k = 0; k < POSTS / MINUTES; k++) {
				const n = minute * (POSTS / MINUTES) + k;
				const author = n % AUTHORS;
				const tag = n % 3 === 0 ? null : `t${n % TAGS}`;
				imgpile.seedPost({ username: `author${author}`, tags: tag ? [tag] : [], title: `Post ${n}` });
				for (const [i, user] of users.entries()) {
					if (followed(i % READERS).includes(`author${author}`) || (tag && tagsOf(i).includes(tag))) {
						expected.set(user.id, (expected.get(user.id) ?? 0) + 1);
					}
				}
			}
		}
		for (let tick = 1; tick <= TICKS_PER_CYCLE; tick++) {
			now += INTERVAL / TICKS_PER_CYCLE;
			const started = performance.now();
			const report = await bot.tick();
			wall.push(performance.now() - started);
			queued += report.notifyQueued;
		}
		const reads = imgpile.requests.slice(requestIndex);
		requestIndex = imgpile.requests.length;
		perMinute.push({
			polls: reads.filter((r) => r.path === "/api/v1/posts").length,
			following: reads.filter((r) => r.path.endsWith("/following")).length,
		});
	}
	let dms = 0;
	let carried = 0;
	let maxPerUser = 0;
	let wrong = 0;
	for (const user of users) {
		const messages = discord.dmsTo(user).filter((m) => m.author.id === discord.botUser.id);
		dms += messages.length;
		maxPerUser = Math.max(maxPerUser, messages.length);
		const count = messages.reduce((sum, m) => sum + Number(/\*\*(\d+)\*\*/.exec(m.content)?.[1] ?? 0), 0);
		carried += count;
		if (count !== (expected.get(user.id) ?? 0)) wrong++;
	}
	const want = [...expected.values()].reduce((a, b) => a + b, 0);
	const pending = (await store.notifyOutbox.pending()).length;
	const sorted = [...wall].sort((a, b) => a - b);
	const p = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
	const polls = perMinute.map((m) => m.polls);
	const following = perMinute.map((m) => m.following);
	console.log(
		`imgpile requests per minute: polls ${Math.min(...polls)}–${Math.max(...polls)} (target ${1 + TAGS}: firehose + ${TAGS} tags, for ${USERS} users), following lists ${Math.min(...following)}–${Math.max(...following)} (background share; ${following.reduce((a, b) => a + b, 0)} in ${perMinute.length} min while ${Math.round(USERS / 60)} fall due each minute)`,
	);
	// 10 minutes of posts, then quiet: the first post at once, the rest 15 minutes later.
	const ok =
		queued === want &&
		carried === want &&
		wrong === 0 &&
		pending === 0 &&
		maxPerUser <= 2 &&
		Math.max(...polls) <= 1 + TAGS;
	console.log(
		`DMs: ${dms} to ${USERS} users (at most ${maxPerUser} each in ${MINUTES + QUIET_MINUTES} min, every 15 min), posts carried ${carried} of ${want} expected (queued ${queued}), users with a wrong count ${wrong}, still waiting ${pending}${ok ? " ✓" : " ✗"}`,
	);
	console.log(
		`cycle wall time: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${Math.round(sorted[sorted.length - 1] ?? 0)} ms`,
	);
	await world.close();
	return ok;
}

const run = values.run ?? "all";
let ok = true;
if (run === "all" || run === "scheduler") ok = (await schedulerRun()) && ok;
if (run === "all" || run === "limits") ok = (await limitsRun()) && ok;
if (run === "all" || run === "grouping") ok = (await groupingRun()) && ok;
if (run === "all" || run === "notify") ok = (await notifyRun()) && ok;
if (!ok) process.exitCode = 1;
