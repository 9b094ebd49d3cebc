import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { commandModules } from "../../commands/index.js";
import { Bot, type BotOptions } from "../../src/bot/bot.js";
import type { CommandModule } from "../../src/bot/types.js";
import { Imgpile } from "../../src/imgpile/index.js";
import { createLogger, SecretRegistry } from "../../src/logger.js";
import { Metrics } from "../../src/metrics.js";
import { type RestProxy, startRestProxy } from "../../src/proxy/server.js";
import { openStore, type Store, TokenCipher } from "../../src/store/index.js";
import { TransferPipeline } from "../../src/transfer/index.js";
import {
	type Channel,
	type DiscordEmulator,
	type DiscordEmulatorOptions,
	type Guild,
	type Interaction,
	startDiscordEmulator,
	type User,
} from "../emulators/discord/index.js";
import { type ImgpileEmulator, type ImgpileEmulatorOptions, startImgpileEmulator } from "../emulators/imgpile/index.js";

/** imgpile users of the emulated world, with their tokens. */
export const IMGPILE_USERS = {
	alice: "ip-alice-4f9c2a7e51d08b36",
	bob: "ip-bob-9a1e7c3d5f20b864",
	carol: "ip-carol-2d6b8f0a4c1e3957",
} as const;

/** The emulated imgpile's accounts: alice, bob and carol, then `extra`. */
export function imgpileUsers(...extra: { username: string; token: string }[]): { username: string; token: string }[] {
	return [...Object.entries(IMGPILE_USERS).map(([username, token]) => ({ username, token })), ...extra];
}

export interface HarnessOptions {
	discord?: DiscordEmulatorOptions;
	imgpile?: ImgpileEmulatorOptions;
	autoDeferMs?: number;
	healthPort?: number;
	/** Transfers at once (default 4). */
	uploadConcurrency?: number;
	/** Command modules instead of the bot's own (e.g. to add a test-only command). */
	modules?: readonly CommandModule[];
	/**
	 * The feed scheduler: its clock (`now`, also the handlers' `ctx.now`), interval, token, page
	 * size, hooks… Its timer stays off unless `timer: true`: tests run cycles with `h.bot.tick()`.
	 */
	feeds?: BotOptions["feeds"];
	/**
	 * prom-client's process metrics (RSS, event loop lag…) in the bot's registry. Off by default:
	 * prom-client never stops their event-loop and GC observers, and a test file starts many bots.
	 */
	processMetrics?: boolean;
	/** The store: a redis:// URL (a real redis-server the test started) instead of SQLite in a temp dir. */
	storeUrl?: string;
	/**
	 * Put the REST proxy (src/proxy) between the bot and the Discord emulator, as the bot runs at
	 * scale: its REST goes to the proxy, which forwards it. The proxy's log lines join `logs`.
	 */
	proxy?: boolean;
	/** The bot's gateway shards (SHARD_COUNT / SHARD_IDS); default: discord.js's (one shard). */
	shards?: BotOptions["shards"];
	/** DISCORD_MESSAGE_CONTENT: the bot asks for members' messages (auto-rehost channels). */
	messageContent?: boolean;
}

/** A second bot process on the same emulators (other shards): its own store, key and logs. */
export interface Peer {
	readonly bot: Bot;
	readonly logs: string[];
	stop(): Promise<void>;
}

/**
 * The emulator's identify window in e2e (Discord's is 5 s; restarts would wait that long), and
 * the spacing the bots keep: the window plus a margin for the IDENTIFY's way to the emulator.
 */
const IDENTIFY_WINDOW_MS = 100;
const IDENTIFY_SPACING_MS = IDENTIFY_WINDOW_MS + 50;

/**
 * discord.js's identify throttle (one IDENTIFY per bucket `shard_id % max_concurrency` per
 * window), shared by every bot of a harness as one identify queue would be across processes, and
 * kept across restarts: each new Client would otherwise start with an empty one.
 */
class IdentifySpacing {
	readonly #next = new Map<number, number>();

	readonly build = async (manager: {
		fetchGatewayInformation(): Promise<{ session_start_limit: { max_concurrency: number } }>;
	}) => {
		const concurrency = (await manager.fetchGatewayInformation()).session_start_limit.max_concurrency;
		return {
			waitForIdentify: async (shardId: number) => {
				const bucket = shardId % concurrency;
				const now = Date.now();
				const at = Math.max(now, this.#next.get(bucket) ?? 0);
				this.#next.set(bucket, at + IDENTIFY_SPACING_MS);
				if (at > now) await sleep(at - now);
			},
		};
	};
}

/**
 * The real bot (discord.js Client, router, store on disk, imgpile client) against both
 * emulators, in one guild: alice owns it (Manage Server), bob and carol are plain members.
 * Every log line is kept, for assertions that no secret ever reaches one.
 */
export class Harness {
	readonly discord: DiscordEmulator;
	readonly imgpileEmulator: ImgpileEmulator;
	readonly guild: Guild;
	readonly general: Channel;
	readonly nsfw: Channel;
	readonly alice: User;
	readonly bob: User;
	readonly carol: User;
	readonly logs: string[] = [];
	/** The REST proxy with `proxy: true`; it outlives bot restarts, as its own process would. */
	proxy: RestProxy | undefined;
	/** The running bot's registry: a fresh one per start, as a real restart begins with an empty one. */
	secrets!: SecretRegistry;
	bot!: Bot;
	store!: Store;
	imgpile!: Imgpile;
	transfers!: TransferPipeline;
	/** The running bot's metrics: a fresh registry per start, as a restarted process begins at zero. */
	metrics!: Metrics;
	readonly #dir: string;
	#key: Buffer = randomBytes(32);
	readonly #options: HarnessOptions;
	readonly #identify = new IdentifySpacing();
	readonly #peers: Peer[] = [];

	private constructor(discord: DiscordEmulator, imgpile: ImgpileEmulator, dir: string, options: HarnessOptions) {
		this.discord = discord;
		this.imgpileEmulator = imgpile;
		this.#dir = dir;
		this.#options = options;
		this.alice = discord.createUser({ username: "alice" });
		this.bob = discord.createUser({ username: "bob" });
		this.carol = discord.createUser({ username: "carol" });
		this.guild = discord.createGuild({ name: "Sandbox", owner: this.alice });
		this.general = this.guild.createChannel({ name: "general" });
		this.nsfw = this.guild.createChannel({ name: "nsfw-art", nsfw: true });
		this.guild.addMember(this.bob);
		this.guild.addMember(this.carol);
	}

	static async start(options: HarnessOptions = {}): Promise<Harness> {
		const dir = await mkdtemp(join(tmpdir(), "imgpile-e2e-"));
		const discord = await startDiscordEmulator({
			...options.discord,
			sessionStartLimit: { windowMs: IDENTIFY_WINDOW_MS, ...options.discord?.sessionStartLimit },
		});
		const imgpile = await startImgpileEmulator({
			users: imgpileUsers(),
			...options.imgpile,
		});
		const harness = new Harness(discord, imgpile, dir, options);
		if (options.proxy) await harness.#startProxy();
		await harness.startBot();
		return harness;
	}

	/** Log lines into `logs` (the harness's unless given), with a fresh registry that knows the bot token. */
	#logger(options: { name?: string; level?: string; logs?: string[] } = {}) {
		const logs = options.logs ?? this.logs;
		const destination = new Writable({
			write: (chunk, _encoding, callback) => {
				logs.push(...String(chunk).split("\n").filter(Boolean));
				callback();
			},
		});
		const secrets = new SecretRegistry();
		secrets.add(this.discord.botToken);
		return {
			secrets,
			logger: createLogger({ level: options.level ?? "debug", destination, secrets, name: options.name }),
		};
	}

	async #startProxy(): Promise<void> {
		this.proxy = await startRestProxy({
			discordApiUrl: this.discord.restUrl,
			token: this.discord.botToken,
			host: "127.0.0.1",
			port: 0,
			// trace: every line the proxy can write is in `logs`, for the secret checks.
			logger: this.#logger({ name: "imgpile-rest-proxy", level: "trace" }).logger,
		});
	}

	/** Starts (or starts again, over the same data) the bot process. */
	async startBot(): Promise<void> {
		const run = await this.#launch({ logs: this.logs, shards: this.#options.shards, store: "imgpile-bot.sqlite" });
		({
			bot: this.bot,
			store: this.store,
			imgpile: this.imgpile,
			transfers: this.transfers,
			secrets: this.secrets,
			metrics: this.metrics,
		} = run);
		await run.bot.start();
	}

	/**
	 * Another bot process on the same emulators, e.g. the other shards of a cluster: its own logs
	 * (the harness's `logs` stay the main bot's), and its own store file, or the same Redis store
	 * with `storeUrl`. Stopped by `close()` too.
	 */
	async startPeer(options: { shards: BotOptions["shards"] }): Promise<Peer> {
		const logs: string[] = [];
		const run = await this.#launch({ logs, shards: options.shards, store: `peer-${this.#peers.length}.sqlite` });
		const peer: Peer = {
			bot: run.bot,
			logs,
			stop: async () => {
				await run.bot.stop();
				await run.transfers.close({ abortActive: true });
				await run.imgpile.close();
				await run.store.close();
			},
		};
		this.#peers.push(peer);
		await run.bot.start();
		return peer;
	}

	async #launch(options: { logs: string[]; shards: BotOptions["shards"]; store: string }) {
		const { secrets, logger } = this.#logger({ logs: options.logs });
		const metrics = new Metrics({ processMetrics: this.#options.processMetrics ?? false });
		const store = await openStore({
			url: this.#options.storeUrl ?? `sqlite://${join(this.#dir, options.store)}`,
			// One Redis may serve several tests: each harness keeps to its own keys.
			namespacePrefix: this.#options.storeUrl ? `e2e.${basename(this.#dir)}.` : undefined,
			cipher: new TokenCipher(this.#key, secrets),
			logger,
		});
		const imgpile = new Imgpile({
			apiUrl: this.imgpileEmulator.apiUrl,
			uploadUrl: this.imgpileEmulator.uploadUrl,
			retry: { baseDelayMs: 10, maxDelayMs: 50 },
			sharedBudget: store.requestBudget,
			logger,
			metrics,
		});
		const transfers = new TransferPipeline({
			allowedHosts: this.discord.cdnHosts,
			// Downloads are https only; the emulator's loopback CDN is plain http, so it is opted in by name.
			httpHosts: this.discord.cdnHosts,
			maxConcurrent: this.#options.uploadConcurrency ?? 4,
			logger,
			metrics,
		});
		const bot = new Bot({
			token: this.discord.botToken,
			discordApiUrl: this.proxy?.apiUrl ?? this.discord.restUrl,
			autoDeferMs: this.#options.autoDeferMs,
			modules: this.#options.modules ?? commandModules,
			healthPort: this.#options.healthPort,
			messageContent: this.#options.messageContent,
			feeds: { ...this.#options.feeds, timer: this.#options.feeds?.timer ?? false },
			shards: options.shards,
			services: {
				logger,
				store,
				imgpile,
				secrets,
				imgpileUploadUrl: this.imgpileEmulator.uploadUrl,
				transfers,
				now: this.#options.feeds?.now ?? Date.now,
				metrics,
			},
			clientOptions: { ws: { buildIdentifyThrottler: this.#identify.build } },
		});
		return { bot, store, imgpile, transfers, secrets, metrics };
	}

	async stopBot(): Promise<void> {
		await this.bot.stop();
		await this.transfers.close({ abortActive: true });
		await this.imgpile.close();
		await this.store.close();
	}

	/** `encryptionKey`: start with another TOKEN_ENCRYPTION_KEY (e.g. a wrong one) from now on. */
	async restartBot(options: { encryptionKey?: Buffer } = {}): Promise<void> {
		await this.stopBot();
		if (options.encryptionKey) this.#key = options.encryptionKey;
		await this.startBot();
	}

	/** `user` links an imgpile token as a person would: /imgpile link, then the modal. The modal's answer. */
	async link(user: User, token: string, channel: Channel = this.general): Promise<Interaction> {
		const opened = await this.discord.slash({ user, channel, command: "imgpile", subcommand: "link" });
		await opened.settled();
		const submitted = await this.discord.submitModal({ user, from: opened, fields: { token } });
		return submitted.settled();
	}

	/** `user` sets the server's shared imgpile token with a per-member daily `cap`: the command, then the modal. */
	async setServerToken(user: User, token: string, cap: number, channel: Channel = this.general): Promise<Interaction> {
		const opened = await this.discord.slash({
			user,
			channel,
			command: "imgpile",
			group: "server-token",
			subcommand: "set",
			options: { cap },
		});
		await opened.settled();
		const submitted = await this.discord.submitModal({ user, from: opened, fields: { token } });
		return submitted.settled();
	}

	/** Waits until the bot is completely done with an interaction (progress edits come before an answer). */
	async finished(ix: Interaction): Promise<Interaction> {
		await ix.response({ timeoutMs: 10_000 });
		await this.discord.waitFor(() => this.bot.router.inFlight === 0 && ix.isSettled, {
			timeoutMs: 60_000,
			what: `${ix.label} to finish`,
		});
		return ix;
	}

	/** Every log line and every message anyone but the acting user could see, for secret checks. */
	publicText(): string {
		const visible = this.discord.events.filter((event) => !event.ephemeral);
		return `${this.logs.join("\n")}\n${JSON.stringify(visible)}`;
	}

	async close(): Promise<void> {
		for (const peer of this.#peers) await peer.stop().catch(() => {});
		await this.stopBot().catch(() => {});
		await this.proxy?.close();
		await this.discord.close();
		await this.imgpileEmulator.close();
		await rm(this.#dir, { recursive: true, force: true });
	}
}
