/**
 * Auto-rehost channels: members' new messages (MESSAGE_CREATE) and edits or link unfurls
 * (MESSAGE_UPDATE) in a channel a manager turned it on for, rehosted by runAutoRehost. Crash
 * safety: a pending record per message id is written before any upload and removed once the
 * message is answered; at startup the pending messages of this process's guilds are finished.
 * Uploads are found again by their attachment id (src/store/uploads.ts) and the reply carries a
 * nonce per message and file set, so a restart neither uploads nor replies twice. Messages posted
 * while the bot was not listening are read back from each channel's cursor (auto-rehost-backlog.ts).
 */
import {
	type Client,
	DiscordAPIError,
	type Guild,
	type Message,
	type PartialMessage,
	RESTJSONErrorCodes,
} from "discord.js";
import { pickLocale, translator } from "../i18n/index.js";
import { AUTO_REHOST_MAX_ATTEMPTS, type AutoRehostChannel, type PendingAutoRehost } from "../store/index.js";
import { catchUp, THREAD_CURSOR_TTL_MS, Watermarks } from "./auto-rehost-backlog.js";
import {
	AutoRehostInterrupted,
	type AutoRehostOutcome,
	type AutoRehostTrigger,
	mediaSources,
	runAutoRehost,
} from "./auto-rehost-run.js";
import type { BotContext, Services } from "./types.js";
import { collectSources } from "./upload/index.js";

type GuildMessage = Message<true>;

/** Settings of the channel a message is in: its own, else its parent's (a thread or forum post). */
export function channelSettings(
	autoRehost: Record<string, AutoRehostChannel>,
	message: Pick<GuildMessage, "channelId" | "channel">,
): AutoRehostChannel | undefined {
	const own = autoRehost[message.channelId];
	if (own) return own;
	const parentId = message.channel.isThread() ? message.channel.parentId : null;
	return parentId ? autoRehost[parentId] : undefined;
}

function sourceKeys(message: Message): string {
	return collectSources(message)
		.map((source) => source.key ?? source.url)
		.join(" ");
}

export class AutoRehost {
	readonly #services: Services;
	readonly #client: Client;
	/** Runs per message id, one after the other (a create and its unfurl's update arrive together). */
	readonly #running = new Map<string, Promise<void>>();
	/** How the runs of each message ended, oldest first: for tests and the sandbox (bounded). */
	readonly #outcomes = new Map<string, Array<{ trigger: AutoRehostTrigger; outcome: AutoRehostOutcome }>>();
	/** Where each channel's cursor may move; held from the start until the first catch-up has queued its backlog. */
	readonly #marks = new Watermarks();
	#accepting = true;
	#recovering = false;
	readonly #recovered: Promise<void>;
	#markRecovered: () => void = () => {};

	constructor(services: Services, client: Client) {
		this.#services = services;
		this.#client = client;
		this.#marks.hold();
		this.#recovered = new Promise((resolve) => {
			this.#markRecovered = resolve;
		});
	}

	/** Resolves once the startup work (pending messages, then the channels' backlog) is done: for tests and the sandbox. */
	get recovered(): Promise<void> {
		return this.#recovered;
	}

	get inFlight(): number {
		return this.#running.size;
	}

	/** How the runs of a message ended (runs that found no media, or were not for auto-rehost, are not listed). */
	outcomes(messageId: string): Array<{ trigger: AutoRehostTrigger; outcome: AutoRehostOutcome }> {
		return [...(this.#outcomes.get(messageId) ?? [])];
	}

	onCreate(message: Message): void {
		this.#queue(message, "create");
	}

	onUpdate(before: Message | PartialMessage, message: Message | PartialMessage): void {
		// A thread started from the message (HAS_THREAD), a pin, a text-only edit: no new file to look at.
		if (!before.partial && !message.partial && sourceKeys(before) === sourceKeys(message)) return;
		if (message.partial) {
			message.fetch().then(
				(full) => this.#queue(full, "update"),
				(error: unknown) => this.#services.logger.debug({ err: error }, "auto-rehost: edited message unavailable"),
			);
			return;
		}
		this.#queue(message, "update");
	}

	/**
	 * Finishes the pending auto-rehosts of this process's guilds, then catches up what their
	 * channels got while the bot was down (run once, after READY).
	 */
	async recover(): Promise<void> {
		this.#recovering = true;
		const log = this.#services.logger.child({ component: "auto-rehost" });
		try {
			const pending = await this.#services.store.autoRehost.pending.all();
			const mine = pending.filter((job) => this.#client.guilds.cache.has(job.guildId));
			if (mine.length > 0) log.info({ pending: mine.length }, "finishing auto-rehosts interrupted by a restart");
			for (const job of mine) {
				const message = await this.#fetch(job);
				if (!message) {
					await this.#services.store.autoRehost.pending.done(job.messageId);
					continue;
				}
				this.#queue(message, "recover");
			}
			await this.#catchUp([...this.#client.guilds.cache.values()], new Set(mine.map((job) => job.messageId)));
		} finally {
			// Even after a failure: the cursors move again, and whoever waits on `recovered` goes on.
			await this.#release().catch((error: unknown) => log.warn({ err: error }, "auto-rehost: could not move cursors"));
			await Promise.allSettled([...this.#running.values()]);
			this.#markRecovered();
		}
	}

	/**
	 * A shard has a new session (a resume was not possible): what its guilds' channels got in
	 * between was never delivered, so it is caught up as at startup. The first READY is recover's.
	 */
	onShardReady(shardId: number): void {
		if (!this.#recovering || !this.#accepting) return;
		this.#marks.hold();
		const guilds = [...this.#client.guilds.cache.values()].filter((guild) => guild.shardId === shardId);
		this.#catchUp(guilds, new Set())
			.catch((error: unknown) => this.#services.logger.error({ err: error }, "auto-rehost catch-up failed"))
			.finally(() => void this.#release());
	}

	/** Ends a hold on the cursors and moves the ones that may move now. */
	async #release(): Promise<void> {
		await Promise.all(this.#marks.release().map((move) => this.#moveCursor(move)));
	}

	/** What a startup or a new session reads back: the messages its guilds' channels got meanwhile (pending ones excepted). */
	#catchUp(guilds: readonly Guild[], skip: ReadonlySet<string>): Promise<void> {
		return catchUp({ services: this.#services, client: this.#client }, guilds, (message) => {
			if (!skip.has(message.id) && !this.#running.has(message.id)) this.#queue(message, "backlog");
		});
	}

	async #moveCursor(move: { guildId: string; channelId: string; messageId: string }): Promise<void> {
		if (!this.#accepting) return;
		const { autoRehost } = await this.#services.store.guilds.get(move.guildId);
		const channel = this.#client.channels.cache.get(move.channelId);
		const parentId = channel?.isThread() ? channel.parentId : null;
		// A channel turned on keeps its cursor; a thread under one keeps its own for a while.
		if (autoRehost[move.channelId]) await this.#services.store.autoRehost.advanceCursor(move.channelId, move.messageId);
		else if (parentId && autoRehost[parentId]) {
			await this.#services.store.autoRehost.advanceCursor(move.channelId, move.messageId, {
				ttlMs: THREAD_CURSOR_TTL_MS,
			});
		}
	}

	/** Stops taking messages and waits (bounded) for the runs in flight; a run cut short stays pending. */
	async drain(timeoutMs: number): Promise<void> {
		this.#accepting = false;
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<void>((resolve) => {
			timer = setTimeout(resolve, timeoutMs);
		});
		await Promise.race([Promise.allSettled([...this.#running.values()]), timeout]);
		clearTimeout(timer);
	}

	async #fetch(job: PendingAutoRehost): Promise<GuildMessage | undefined> {
		try {
			const channel = await this.#client.channels.fetch(job.channelId);
			if (!channel?.isTextBased() || channel.isDMBased()) return undefined;
			return (await channel.messages.fetch(job.messageId)) as GuildMessage;
		} catch (error) {
			const gone =
				error instanceof DiscordAPIError &&
				(
					[RESTJSONErrorCodes.UnknownMessage, RESTJSONErrorCodes.UnknownChannel, RESTJSONErrorCodes.MissingAccess] as (
						| number
						| string
					)[]
				).includes(error.code);
			if (!gone) throw error;
			return undefined;
		}
	}

	#queue(message: Message, trigger: AutoRehostTrigger): void {
		if (!this.#accepting || !message.inGuild()) return;
		// Members only: no bots (this one included), webhooks or system messages.
		if (message.author.bot || message.webhookId !== null || message.system) return;
		const before = this.#running.get(message.id) ?? Promise.resolve();
		const log = this.#services.logger.child({ component: "auto-rehost", messageId: message.id });
		this.#marks.open(message.guildId, message.channelId, message.id);
		const run = before
			.then(() => this.#run(message, trigger))
			.then(
				// A failed run keeps the cursor before it: the next start reads it back (pending or not).
				() => {
					const to = this.#marks.settle(message.channelId, message.id);
					return to
						? this.#moveCursor({ guildId: message.guildId, channelId: message.channelId, messageId: to })
						: undefined;
				},
				(error: unknown) => {
					if (error instanceof AutoRehostInterrupted) log.info("auto-rehost interrupted; finished at the next start");
					else log.error({ err: error }, "auto-rehost failed; it is tried again at the next start");
				},
			)
			.catch((error: unknown) => log.warn({ err: error }, "auto-rehost: could not move the channel's cursor"))
			.finally(() => {
				if (this.#running.get(message.id) === run) this.#running.delete(message.id);
			});
		this.#running.set(message.id, run);
	}

	async #run(message: GuildMessage, trigger: AutoRehostTrigger): Promise<void> {
		const { store } = this.#services;
		const settings = await store.guilds.get(message.guildId);
		const channel = channelSettings(settings.autoRehost, message);
		const ctx = this.#context(message);
		// Nothing to do (no media at all): no record written, nothing read from imgpile.
		if (trigger !== "recover" && mediaSources(ctx, message).length === 0) return;
		const skip = !channel
			? "not-enabled"
			: (await store.autoRehost.optedOut(message.guildId, message.author.id))
				? "opted-out"
				: undefined;
		if (skip || !channel) {
			if (trigger === "recover") await store.autoRehost.pending.done(message.id);
			this.#remember(message.id, trigger, skip ?? "not-enabled");
			return;
		}
		const job = await store.autoRehost.pending.begin({
			guildId: message.guildId,
			channelId: message.channelId,
			messageId: message.id,
			userId: message.author.id,
		});
		if (job.attempts > AUTO_REHOST_MAX_ATTEMPTS) {
			ctx.log.error({ attempts: job.attempts }, "auto-rehost of this message keeps failing; giving up on it");
			await store.autoRehost.pending.done(message.id);
			return;
		}
		const outcome = await runAutoRehost(ctx, message, channel, trigger);
		await store.autoRehost.pending.done(message.id);
		this.#remember(message.id, trigger, outcome);
	}

	#remember(messageId: string, trigger: AutoRehostTrigger, outcome: AutoRehostOutcome): void {
		this.#outcomes.set(messageId, [...(this.#outcomes.get(messageId) ?? []), { trigger, outcome }]);
		if (this.#outcomes.size > 1_000) {
			const oldest = this.#outcomes.keys().next();
			if (!oldest.done) this.#outcomes.delete(oldest.value);
		}
	}

	/** A context in the server's language: the reply is for everyone in the channel. */
	#context(message: GuildMessage): BotContext {
		const locale = pickLocale(undefined, message.guild.preferredLocale);
		return {
			...this.#services,
			locale,
			t: translator(locale),
			log: this.#services.logger.child({
				component: "auto-rehost",
				guildId: message.guildId,
				channelId: message.channelId,
				messageId: message.id,
				userId: message.author.id,
			}),
		};
	}
}
