/**
 * The sandbox's world: the Discord emulator (guild "Sandbox" with #general and the
 * age-restricted #nsfw-art; alice owns it, bob and carol are members), an imgpile (the emulator
 * with alice/bob/carol, or an external one), and the real bot over a temporary SQLite store.
 * Built like test/e2e/harness.ts, but the imgpile may be external and logs go where the CLI says.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandModules } from "../../commands/index.js";
import { Bot } from "../../src/bot/bot.js";
import type { CommandModule } from "../../src/bot/types.js";
import { Imgpile } from "../../src/imgpile/index.js";
import type { Logger, SecretRegistry } from "../../src/logger.js";
import { openStore, type Store, TokenCipher } from "../../src/store/index.js";
import { TransferPipeline } from "../../src/transfer/index.js";
import { IMGPILE_USERS } from "../../test/e2e/harness.js";
import {
	type Channel,
	type DiscordEmulator,
	type Guild,
	startDiscordEmulator,
	type User,
} from "../../test/emulators/discord/index.js";
import { type ImgpileEmulator, startImgpileEmulator } from "../../test/emulators/imgpile/index.js";

export interface ImgpileUser {
	name: string;
	token: string;
}

/** The emulated imgpile users, by default (the same as the e2e harness's). */
export const DEFAULT_IMGPILE_USERS: readonly ImgpileUser[] = Object.entries(IMGPILE_USERS).map(([name, token]) => ({
	name,
	token,
}));

/**
 * One feed scheduler cycle, run now. Default: the feed clock moves one poll period forward and
 * `Bot.tick()` runs (so every feed query is due); whoever starts the world may pass another.
 */
export type TickHook = (world: SandboxWorld) => Promise<unknown>;

export interface WorldOptions {
	logger: Logger;
	secrets: SecretRegistry;
	/** An imgpile already running (API base and upload endpoint); default: start the emulator. */
	external?: { apiUrl: string; uploadUrl: string };
	/** imgpile users and their tokens (created in the emulator; must exist in an external one). */
	imgpileUsers?: readonly ImgpileUser[];
	tick?: TickHook;
	/** Command modules instead of the bot's own (tests add commands the bot does not have yet). */
	modules?: readonly CommandModule[];
}

export class NoTickError extends Error {
	constructor() {
		super("the bot has no feed scheduler yet (no Bot.tick()); nothing to tick");
	}
}

export class SandboxWorld {
	readonly discord: DiscordEmulator;
	readonly imgpileEmulator: ImgpileEmulator | undefined;
	readonly imgpileApiUrl: string;
	readonly imgpileUploadUrl: string;
	readonly imgpileUsers: readonly ImgpileUser[];
	readonly guild: Guild;
	readonly bot: Bot;
	readonly store: Store;
	/** The bot's imgpile client. */
	readonly imgpile: Imgpile;
	/** The sandbox's own imgpile client, for `imgpile USER ...` lines. */
	readonly direct: Imgpile;
	readonly #users = new Map<string, User>();
	readonly #dir: string;
	readonly #tick: TickHook | undefined;

	private constructor(init: {
		discord: DiscordEmulator;
		emulator: ImgpileEmulator | undefined;
		apiUrl: string;
		uploadUrl: string;
		imgpileUsers: readonly ImgpileUser[];
		guild: Guild;
		users: User[];
		bot: Bot;
		store: Store;
		imgpile: Imgpile;
		direct: Imgpile;
		dir: string;
		tick: TickHook | undefined;
	}) {
		this.discord = init.discord;
		this.imgpileEmulator = init.emulator;
		this.imgpileApiUrl = init.apiUrl;
		this.imgpileUploadUrl = init.uploadUrl;
		this.imgpileUsers = init.imgpileUsers;
		this.guild = init.guild;
		this.bot = init.bot;
		this.store = init.store;
		this.imgpile = init.imgpile;
		this.direct = init.direct;
		this.#dir = init.dir;
		this.#tick = init.tick;
		for (const user of init.users) this.#users.set(user.username, user);
	}

	static async start(options: WorldOptions): Promise<SandboxWorld> {
		const { logger, secrets } = options;
		const imgpileUsers = options.imgpileUsers ?? DEFAULT_IMGPILE_USERS;
		const dir = await mkdtemp(join(tmpdir(), "imgpile-sandbox-"));
		const cleanup: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
		try {
			const discord = await startDiscordEmulator();
			cleanup.unshift(() => discord.close());
			secrets.add(discord.botToken);
			let emulator: ImgpileEmulator | undefined;
			if (!options.external) {
				emulator = await startImgpileEmulator({
					users: imgpileUsers.map((u) => ({ username: u.name, token: u.token })),
				});
				cleanup.unshift(() => emulator?.close() ?? Promise.resolve());
			}
			const apiUrl = options.external?.apiUrl ?? emulator?.apiUrl ?? "";
			const uploadUrl = options.external?.uploadUrl ?? emulator?.uploadUrl ?? "";

			const alice = discord.createUser({ username: "alice" });
			const bob = discord.createUser({ username: "bob" });
			const carol = discord.createUser({ username: "carol" });
			const guild = discord.createGuild({ name: "Sandbox", owner: alice });
			guild.createChannel({ name: "general" });
			guild.createChannel({ name: "nsfw-art", nsfw: true });
			guild.addMember(bob);
			guild.addMember(carol);

			const store = await openStore({
				url: `sqlite://${join(dir, "imgpile-bot.sqlite")}`,
				cipher: new TokenCipher(randomBytes(32)),
				logger,
			});
			cleanup.unshift(() => store.close());
			const imgpile = new Imgpile({ apiUrl, uploadUrl, logger: logger.child({ component: "imgpile" }) });
			cleanup.unshift(() => imgpile.close());
			const direct = new Imgpile({ apiUrl, uploadUrl, logger: logger.child({ component: "sandbox-imgpile" }) });
			cleanup.unshift(() => direct.close());
			const transfers = new TransferPipeline({
				allowedHosts: discord.cdnHosts,
				httpHosts: discord.cdnHosts,
				maxConcurrent: 4,
				logger: logger.child({ component: "transfer" }),
			});
			cleanup.unshift(() => transfers.close({ abortActive: true }));
			// Feed time is virtual: each `tick` line is one whole poll period later, so every feed query
			// is due at each tick and nothing runs between lines (deterministic scripts).
			let feedNow = Date.now();
			const feedClock = () => feedNow;
			const bot = new Bot({
				token: discord.botToken,
				discordApiUrl: discord.restUrl,
				services: { logger, store, imgpile, secrets, imgpileUploadUrl: uploadUrl, transfers, now: feedClock },
				feeds: { now: feedClock, timer: false },
				modules: options.modules ?? commandModules,
				shutdownGraceMs: 5_000,
				clientOptions: { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) } },
			});
			cleanup.unshift(() => bot.stop());
			await bot.start();
			return new SandboxWorld({
				discord,
				emulator,
				apiUrl,
				uploadUrl,
				imgpileUsers,
				guild,
				users: [alice, bob, carol],
				bot,
				store,
				imgpile,
				direct,
				dir,
				tick:
					options.tick ??
					(async () => {
						feedNow = Math.max(feedNow + bot.feeds.intervalMs, Date.now());
						return bot.tick();
					}),
			});
		} catch (error) {
			for (const step of cleanup) await step().catch(() => undefined);
			throw error;
		}
	}

	/** The Discord user `name`, created (and made a member of the guild) on first use. */
	user(name: string): User {
		let user = this.#users.get(name);
		if (!user) {
			user = this.discord.createUser({ username: name });
			this.guild.addMember(user);
			this.#users.set(name, user);
		}
		return user;
	}

	userById(id: string): User | undefined {
		for (const user of this.#users.values()) if (user.id === id) return user;
		return this.discord.world.users.get(id);
	}

	/** A channel of the guild by name ("general" or "#general"). */
	channel(name: string): Channel | undefined {
		const bare = name.replace(/^#/, "");
		return this.guild.channels.find((c) => c.name === bare && !c.deleted);
	}

	channelNames(): string[] {
		return this.guild.channels.filter((c) => !c.deleted).map((c) => `#${c.name}`);
	}

	imgpileToken(name: string): string | undefined {
		return this.imgpileUsers.find((u) => u.name === name)?.token;
	}

	get canTick(): boolean {
		return this.#tick !== undefined;
	}

	/** Runs one feed scheduler cycle now; NoTickError when the bot has none. */
	async tick(): Promise<void> {
		if (!this.#tick) throw new NoTickError();
		await this.#tick(this);
	}

	async close(): Promise<void> {
		await this.bot.stop().catch(() => undefined);
		await this.imgpile.close().catch(() => undefined);
		await this.direct.close().catch(() => undefined);
		await this.store.close().catch(() => undefined);
		await this.discord.close().catch(() => undefined);
		await this.imgpileEmulator?.close().catch(() => undefined);
		await rm(this.#dir, { recursive: true, force: true }).catch(() => undefined);
	}
}
