import { once } from "node:events";
import {
	type APIGatewayBotInfo,
	Client,
	type ClientOptions,
	Events,
	GatewayCloseCodes,
	GatewayIntentBits,
	Partials,
	RESTEvents,
	Routes,
} from "discord.js";
import { Agent } from "undici";
import { ClientFeedDiscord, FeedService, type FeedServiceOptions, type TickReport } from "../feeds/index.js";
import type { Logger } from "../logger.js";
import { Metrics } from "../metrics.js";
import { AutoRehost } from "./auto-rehost.js";
import { Coalescer } from "./coalescer.js";
import { type HealthServer, startHealthServer } from "./health.js";
import { pacedMakeRequest } from "./pacing.js";
import { InteractionRouter } from "./router.js";
import { VOTE_REFRESH_MS } from "./social.js";
import { syncCommands } from "./sync.js";
import type { CommandModule, Services } from "./types.js";

/** How long `stop()` lets auto-rehosts in flight finish before their transfers are cut. */
const AUTO_REHOST_GRACE_MS = 1_000;

/** The one line a bot whose Message Content intent Discord refused (gateway close 4014) logs. */
export const MESSAGE_CONTENT_REFUSED =
	"Discord refused the Message Content intent (gateway close 4014): DISCORD_MESSAGE_CONTENT=true needs it enabled " +
	'for this application: Discord developer portal → your application → Bot → Privileged Gateway Intents → turn on "Message Content Intent", ' +
	"save, and start the bot again (or set DISCORD_MESSAGE_CONTENT=false to run without auto-rehost)";

export interface BotOptions {
	token: string;
	/** Discord REST base, e.g. https://discord.com/api or an emulator's. */
	discordApiUrl: string;
	/** Register commands in this guild instead of globally. */
	devGuildId?: string | undefined;
	services: Services;
	/** The commands, buttons and modals to serve (commands/index.ts: the composition root passes them). */
	modules: readonly CommandModule[];
	healthPort?: number | undefined;
	autoDeferMs?: number;
	/** How long `stop()` waits for interactions in flight. Default 10 s. */
	shutdownGraceMs?: number;
	/**
	 * The gateway shards this process runs: `count` in all (`auto`: Discord's recommendation from
	 * GET /gateway/bot, read at start) and which of them (`ids`, default all). Unset: discord.js's
	 * default, one shard. Only the process running shard 0 registers commands.
	 */
	shards?: { count: number | "auto"; ids?: readonly number[] | undefined } | undefined;
	/**
	 * Read members' messages (DISCORD_MESSAGE_CONTENT): requests the GuildMessages and privileged
	 * Message Content intents, for auto-rehost channels. Default false: no privileged intent.
	 */
	messageContent?: boolean;
	/** Extra discord.js options (tests shorten the identify throttle). */
	clientOptions?: Partial<ClientOptions>;
	/**
	 * Feed scheduler settings (poll interval, feed token, clock, hooks…). `timer: false` leaves
	 * the cycles to explicit `tick()` calls (tests drive time themselves).
	 */
	feeds?: Omit<FeedServiceOptions, "store" | "imgpile" | "discord" | "logger"> & { timer?: boolean };
}

/** The bot process: a discord.js Client, the router, command sync, health, the feed scheduler. */
export class Bot {
	readonly client: Client;
	readonly router: InteractionRouter;
	readonly feeds: FeedService;
	/** Auto-rehost channels; only with `messageContent` (the bot sees no messages otherwise). */
	readonly autoRehost: AutoRehost | undefined;
	/** Served on the health port as `GET /metrics`. */
	readonly metrics: Metrics;
	readonly #options: BotOptions;
	#health: HealthServer | undefined;
	readonly #discordAgent: Agent;
	#ready = false;

	constructor(options: BotOptions) {
		this.#options = options;
		// prom-client never stops its process collectors: only the composition root turns them on.
		this.metrics = options.services.metrics ?? new Metrics({ processMetrics: false });
		// Discord REST over a bounded, kept-alive pool: a burst of interactions reuses a few
		// connections instead of opening one each.
		this.#discordAgent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });
		this.client = new Client({
			// Only what the bot needs: guilds and their channels; members' messages (privileged) only
			// when auto-rehost is opted into. Edits of messages from before a restart come as partials.
			intents: options.messageContent
				? [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent]
				: [GatewayIntentBits.Guilds],
			...(options.messageContent ? { partials: [Partials.Message] } : {}),
			// Nothing the bot sends pings anyone unless that send says so; raw REST bodies (the
			// feeds) do not get this default and carry their own `allowed_mentions`.
			allowedMentions: { parse: [], repliedUser: false },
			...shardOptions(options.shards),
			...options.clientOptions,
			rest: {
				// Evenly spaced at 90% of the global limit (pacing.ts); an explicit makeRequest wins.
				makeRequest: pacedMakeRequest(0.9 * (options.clientOptions?.rest?.globalRequestsPerSecond ?? 50)),
				...options.clientOptions?.rest,
				api: options.discordApiUrl,
				agent: this.#discordAgent,
			},
		});
		const { timer: _timer, ...feedOptions } = options.feeds ?? {};
		this.feeds = new FeedService({
			...feedOptions,
			now: feedOptions.now ?? options.services.now,
			store: options.services.store,
			imgpile: options.services.imgpile,
			discord: new ClientFeedDiscord(this.client),
			logger: options.services.logger.child({ component: "feeds" }),
			metrics: this.metrics,
		});
		const services: Services = { ...options.services, messageContent: options.messageContent === true };
		this.autoRehost = options.messageContent ? new AutoRehost(services, this.client) : undefined;
		this.router = new InteractionRouter({
			modules: options.modules,
			services: {
				...services,
				metrics: this.metrics,
				feeds: this.feeds,
				voteRefresher: new Coalescer(VOTE_REFRESH_MS),
			},
			autoDeferMs: options.autoDeferMs,
		});
		const log = options.services.logger;
		this.client.on(Events.InteractionCreate, (interaction) => void this.router.handle(interaction));
		const autoRehost = this.autoRehost;
		if (autoRehost) {
			this.client.on(Events.MessageCreate, (message) => autoRehost.onCreate(message));
			this.client.on(Events.MessageUpdate, (old, message) => autoRehost.onUpdate(old, message));
			// A new session (no resume) missed what was posted in between: the channels are read back.
			this.client.on(Events.ShardReady, (shard) => autoRehost.onShardReady(shard));
		}
		this.client.on(Events.Error, (error) => log.error({ err: error }, "discord client error"));
		this.client.on(Events.Warn, (message) => log.warn({ discord: message }, "discord client warning"));
		this.client.on(Events.ShardDisconnect, (event, shard) =>
			log.warn({ shard, code: event.code }, "gateway disconnected"),
		);
		this.client.on(Events.ShardResume, (shard, replayed) => log.info({ shard, replayed }, "gateway resumed"));
		this.#watch(log);
	}

	/** What the metrics learn from discord.js and read from the feeds at scrape time. */
	#watch(log: Logger): void {
		const { metrics } = this;
		this.client.rest.on(RESTEvents.Response, (_request, response) => {
			if (response.status === 429) metrics.discord429(response.headers.get("x-ratelimit-scope"));
		});
		this.client.rest.on(RESTEvents.RateLimited, (info) => metrics.discordRateLimitWait(info.global));
		const { store } = this.#options.services;
		metrics.watchFeeds({
			leader: () => this.feeds.status().leader,
			outboxDepth: () =>
				store.outbox.pending().then(
					(entries) => entries.length,
					(error: unknown) => {
						log.warn({ err: error }, "metrics: could not read the outbox");
						return undefined;
					},
				),
		});
	}

	get ready(): boolean {
		return this.#ready;
	}

	/** The port `/healthz` and `/metrics` are served on, once started (`healthPort: 0` picks a free one). */
	get healthPort(): number | undefined {
		return this.#health?.port;
	}

	/** Logs in, waits for READY, registers commands if they changed, starts the health endpoint. */
	async start(): Promise<void> {
		const { services, healthPort } = this.#options;
		if (healthPort !== undefined) {
			this.#health = await startHealthServer({
				port: healthPort,
				ready: () => this.#ready && this.client.isReady(),
				metrics: this.metrics,
			});
		}
		if (this.#options.shards?.count === "auto") await this.#autoShards(this.#options.shards.ids);
		await this.#login();
		const application = this.client.application;
		if (!application) throw new Error("Discord sent no application in READY");
		// discord.js has resolved the shards by now (login): an array of ids.
		const shards = this.client.options.shards as number[];
		// Commands are one set per application: a cluster registers them once, from shard 0's process.
		if (shards.includes(0)) {
			try {
				await syncCommands({
					rest: this.client.rest,
					applicationId: application.id,
					guildId: this.#options.devGuildId,
					commands: this.router.commandData,
					logger: services.logger,
				});
			} catch (error) {
				services.logger.error({ err: error }, "could not register commands; running with what Discord has");
			}
		} else {
			services.logger.info({ shards }, "commands are registered by the process running shard 0");
		}
		this.#ready = true;
		if (this.#options.feeds?.timer !== false) this.feeds.start();
		this.autoRehost
			?.recover()
			.catch((error: unknown) => services.logger.error({ err: error }, "could not finish the pending auto-rehosts"));
		services.logger.info(
			{
				user: this.client.user?.tag,
				guilds: this.client.guilds.cache.size,
				shards,
				shardCount: this.client.options.shardCount,
				healthPort: this.#health?.port,
			},
			"bot ready",
		);
	}

	/**
	 * Logs in and waits for READY. A gateway closed with 4014 (a privileged intent not enabled in
	 * the developer portal) never reconnects: that becomes one error saying how to fix it.
	 */
	async #login(): Promise<void> {
		const abort = new AbortController();
		const ready = once(this.client, Events.ClientReady, { signal: abort.signal });
		ready.catch(() => {});
		const refused = new Promise<never>((_, reject) => {
			const onDisconnect = (event: { code: number }) => {
				if (event.code !== GatewayCloseCodes.DisallowedIntents) return;
				reject(new DisallowedIntentsError(this.#options.messageContent === true));
			};
			this.client.on(Events.ShardDisconnect, onDisconnect);
			abort.signal.addEventListener("abort", () => this.client.off(Events.ShardDisconnect, onDisconnect));
		});
		refused.catch(() => {});
		try {
			await Promise.race([this.client.login(this.#options.token).then(() => ready), refused]);
		} catch (error) {
			if (error instanceof DisallowedIntentsError) {
				this.#options.services.logger.fatal({ code: GatewayCloseCodes.DisallowedIntents }, error.message);
			}
			throw error;
		} finally {
			abort.abort();
		}
	}

	/** SHARD_COUNT=auto: Discord's recommended count, and this process's ids checked against it. */
	async #autoShards(ids: readonly number[] | undefined): Promise<void> {
		this.client.rest.setToken(this.#options.token);
		const info = (await this.client.rest.get(Routes.gatewayBot())) as APIGatewayBotInfo;
		const count = info.shards;
		const outside = ids?.filter((id) => id >= count) ?? [];
		if (outside.length > 0) {
			throw new Error(
				`SHARD_IDS ${outside.join(",")} are not below Discord's recommended shard count ${count} (SHARD_COUNT=auto)`,
			);
		}
		this.client.options.shardCount = count;
		this.client.options.shards = ids ? [...ids] : range(count);
		this.#options.services.logger.info({ shardCount: count }, "shard count from Discord's recommendation");
	}

	/** One feed scheduler cycle now (polls what is due, delivers the outbox); tests and the sandbox drive time with it. */
	tick(): Promise<TickReport> {
		return this.feeds.tick();
	}

	/** Stops taking interactions, lets those in flight finish (bounded), stops the feeds, disconnects. */
	async stop(): Promise<void> {
		this.#ready = false;
		const grace = this.#options.shutdownGraceMs ?? 10_000;
		// An auto-rehost cut short stays pending and is finished at the next start: nobody waits for it.
		await this.autoRehost?.drain(Math.min(grace, AUTO_REHOST_GRACE_MS));
		const drained = await this.router.drain(grace);
		if (!drained) {
			this.#options.services.logger.warn({ inFlight: this.router.inFlight }, "stopped with interactions in flight");
		}
		await this.feeds.stop();
		await this.client.destroy();
		await this.#discordAgent.close();
		await this.#health?.close();
	}
}

/** Discord closed the gateway with 4014; `message` says what to do (logged as one fatal line by `start`). */
export class DisallowedIntentsError extends Error {
	override name = "DisallowedIntentsError";
	constructor(messageContent: boolean) {
		super(
			messageContent
				? MESSAGE_CONTENT_REFUSED
				: "Discord refused a privileged gateway intent (close 4014): enable it in the developer portal (Bot page)",
		);
	}
}

function range(count: number): number[] {
	return Array.from({ length: count }, (_, i) => i);
}

/** discord.js options for a fixed shard count; `auto` is resolved in `start()`, unset leaves its default. */
function shardOptions(shards: BotOptions["shards"]): Partial<ClientOptions> {
	if (shards === undefined || shards.count === "auto") return {};
	return { shards: shards.ids ? [...shards.ids] : range(shards.count), shardCount: shards.count };
}
