import { randomBytes } from "node:crypto";
import { DiscordAPIError, type Interaction, RESTJSONErrorCodes } from "discord.js";
import { parseCustomId } from "../discord/index.js";
import { pickLocale, translator } from "../i18n/index.js";
import type { InteractionOutcome, InteractionType } from "../metrics.js";
import { TokenDecryptError } from "../store/index.js";
import { isImgpileError, UserError, userMessage } from "./errors.js";
import { Responder } from "./responder.js";
import type {
	ButtonHandler,
	ChatCommand,
	CommandModule,
	HandlerContext,
	MessageCommand,
	ModalHandler,
	Services,
} from "./types.js";

export interface RouterOptions {
	modules: readonly CommandModule[];
	services: Services;
	/** A handler that has not answered by then is deferred (ephemeral) for it. Default 2,000 ms. */
	autoDeferMs?: number;
}

/**
 * The one entry for interactions: slash and context-menu commands, autocomplete, buttons and
 * modals (by the `name` of their `name:arg1:arg2` custom_id), and the one catch that turns
 * errors into answers: a UserError, an imgpile error or a stored token that cannot be decrypted
 * becomes a localized ephemeral message, anything else is logged with an id the user is shown.
 */
export class InteractionRouter {
	readonly #services: Services;
	readonly #autoDeferMs: number;
	readonly #commands = new Map<string, ChatCommand | MessageCommand>();
	readonly #buttons = new Map<string, ButtonHandler>();
	readonly #modals = new Map<string, ModalHandler>();
	readonly #inFlight = new Set<Promise<void>>();
	#accepting = true;

	constructor(options: RouterOptions) {
		this.#services = options.services;
		this.#autoDeferMs = options.autoDeferMs ?? 2_000;
		for (const module of options.modules) {
			addUnique(this.#commands, module.command.data.name, module.command, "command");
			for (const [name, handler] of Object.entries(module.buttons ?? {}))
				addUnique(this.#buttons, name, handler, "button");
			for (const [name, handler] of Object.entries(module.modals ?? {}))
				addUnique(this.#modals, name, handler, "modal");
		}
	}

	/** The JSON of every command, as registered with Discord. */
	get commandData() {
		return [...this.#commands.values()].map((command) => command.data);
	}

	get inFlight(): number {
		return this.#inFlight.size;
	}

	/** Handles one interaction; never throws. */
	handle(interaction: Interaction): Promise<void> {
		const work = this.#handle(interaction);
		this.#inFlight.add(work);
		void work.finally(() => this.#inFlight.delete(work));
		return work;
	}

	/** Stops taking new interactions and waits (up to `timeoutMs`) for those in flight. */
	async drain(timeoutMs: number): Promise<boolean> {
		this.#accepting = false;
		if (this.#inFlight.size === 0) return true;
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<false>((resolve) => {
			timer = setTimeout(() => resolve(false), timeoutMs);
		});
		const done = Promise.allSettled([...this.#inFlight]).then(() => true as const);
		const drained = await Promise.race([done, timeout]);
		clearTimeout(timer);
		return drained;
	}

	async #handle(interaction: Interaction): Promise<void> {
		const received = performance.now();
		const { type, command: name } = this.#metricLabels(interaction);
		const metrics = this.#services.metrics;
		const answered = () => metrics?.firstResponse(type, name, (performance.now() - received) / 1000);
		const locale = pickLocale(interaction.locale, interaction.guildLocale);
		const t = translator(locale);
		const log = this.#services.logger.child({
			interactionId: interaction.id,
			userId: interaction.user.id,
			guildId: interaction.guildId ?? undefined,
			route: routeName(interaction),
		});

		if (interaction.isAutocomplete()) {
			const command = this.#commands.get(interaction.commandName);
			const respond = new Responder(interaction as never);
			let outcome: InteractionOutcome = "ok";
			try {
				if (command && "autocomplete" in command && command.autocomplete) {
					await command.autocomplete({ ...this.#services, locale, t, log, respond }, interaction);
				} else if (!interaction.responded) await interaction.respond([]);
			} catch (error) {
				outcome = "failed";
				log.warn({ err: error }, "autocomplete failed");
				if (!interaction.responded) await interaction.respond([]).catch(() => {});
			}
			if (interaction.responded) answered();
			metrics?.interaction(type, name, outcome);
			return;
		}
		if (!interaction.isRepliable()) return;

		const respond = new Responder(interaction, answered);
		const ctx: HandlerContext = { ...this.#services, locale, t, log, respond };
		const timer = setTimeout(() => {
			if (!respond.acknowledged) {
				respond.defer({ ephemeral: true }).catch((error: unknown) => log.warn({ err: error }, "auto-defer failed"));
			}
		}, this.#autoDeferMs);
		let outcome: InteractionOutcome = "ok";
		try {
			if (!this.#accepting) throw new UserError("error.shuttingDown");
			await this.#dispatch(ctx, interaction);
		} catch (error) {
			outcome = await this.#fail(ctx, error);
		} finally {
			clearTimeout(timer);
			metrics?.interaction(type, name, outcome);
		}
		await this.#tellDmClosed(ctx, interaction.user.id);
	}

	/**
	 * Once after Discord refused the user's notification DMs (50007: the feed leader paused them):
	 * one more ephemeral message after the handler's answer, on how to open DMs and resume. The
	 * read is the store's short cache (every interaction pays it); `toldAt` is set atomically and
	 * only the interaction that set it tells (several may race), put back if the telling failed.
	 */
	async #tellDmClosed(ctx: HandlerContext, userId: string): Promise<void> {
		if (!ctx.respond.answered) return;
		try {
			const notify = this.#services.store.notify;
			const paused = (await notify.get(userId))?.paused;
			if (!paused || paused.toldAt !== null) return;
			const at = new Date(this.#services.now()).toISOString();
			let setHere = false;
			await notify.updateExisting(userId, (profile) => {
				setHere = profile.paused !== null && profile.paused.toldAt === null;
				return profile.paused && setHere ? { ...profile, paused: { ...profile.paused, toldAt: at } } : profile;
			});
			if (!setHere) return;
			try {
				await ctx.respond.reply({ content: ctx.t("notify.dmClosed"), ephemeral: true, allowedMentions: { parse: [] } });
			} catch (error) {
				await notify.updateExisting(userId, (profile) =>
					profile.paused?.toldAt === at ? { ...profile, paused: { ...profile.paused, toldAt: null } } : profile,
				);
				throw error;
			}
		} catch (error) {
			ctx.log.warn({ err: error }, "could not tell the user that their notification DMs are paused");
		}
	}

	/** Metric labels: only names the bot serves (anything else is "unknown"), never ids or arguments. */
	#metricLabels(interaction: Interaction): { type: InteractionType; command: string } {
		const known = (map: Map<string, unknown>, name: string | undefined) =>
			name !== undefined && map.has(name) ? name : "unknown";
		if (interaction.isChatInputCommand())
			return { type: "command", command: known(this.#commands, interaction.commandName) };
		if (interaction.isMessageContextMenuCommand()) {
			return { type: "context_menu", command: known(this.#commands, interaction.commandName) };
		}
		if (interaction.isAutocomplete())
			return { type: "autocomplete", command: known(this.#commands, interaction.commandName) };
		const name = "customId" in interaction ? parseCustomId(interaction.customId)?.name : undefined;
		if (interaction.isModalSubmit()) return { type: "modal", command: known(this.#modals, name) };
		if (interaction.isButton()) return { type: "button", command: known(this.#buttons, name) };
		return { type: "component", command: "unknown" };
	}

	async #dispatch(ctx: HandlerContext, interaction: Interaction): Promise<void> {
		if (interaction.isChatInputCommand()) {
			const command = this.#commands.get(interaction.commandName);
			if (!command || command.data.type === 3) throw new UserError("error.unknownAction");
			return (command as ChatCommand).execute(ctx, interaction);
		}
		if (interaction.isMessageContextMenuCommand()) {
			const command = this.#commands.get(interaction.commandName);
			if (command?.data.type !== 3) throw new UserError("error.unknownAction");
			return (command as MessageCommand).execute(ctx, interaction);
		}
		if (interaction.isButton() || interaction.isModalSubmit()) {
			const parsed = parseCustomId(interaction.customId);
			const handler = parsed && (interaction.isButton() ? this.#buttons : this.#modals).get(parsed.name);
			if (!parsed || !handler) throw new UserError("error.unknownAction");
			return (handler as (c: HandlerContext, i: Interaction, a: string[]) => Promise<void>)(
				ctx,
				interaction,
				parsed.args,
			);
		}
		throw new UserError("error.unknownAction");
	}

	/** The central catch; says how the interaction ended. */
	async #fail(ctx: HandlerContext, error: unknown): Promise<InteractionOutcome> {
		let outcome: InteractionOutcome = "user_error";
		if (isImgpileError(error)) {
			outcome = "imgpile_error";
			ctx.log.info({ kind: error.kind, path: error.path }, "imgpile refused a request");
		} else if (error instanceof TokenDecryptError) {
			outcome = "token_unreadable";
			ctx.log.warn({ reason: error.reason, subject: error.subject }, "a stored token cannot be read");
		} else if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownInteraction) {
			ctx.log.warn("the interaction expired before we answered");
			return "expired";
		}
		let content = userMessage(ctx.t, error);
		if (content === undefined) {
			outcome = "failed";
			const id = randomBytes(4).toString("hex");
			ctx.log.error({ err: error, errorId: id }, "interaction failed");
			content = ctx.t("error.unexpected", { id });
		}
		try {
			await ctx.respond.reply({ content, ephemeral: true, embeds: [], components: [] });
		} catch (replyError) {
			ctx.log.warn({ err: replyError }, "could not tell the user about an error");
		}
		return outcome;
	}
}

function routeName(interaction: Interaction): string {
	if (interaction.isCommand() || interaction.isAutocomplete()) return interaction.commandName;
	if (interaction.isMessageComponent() || interaction.isModalSubmit()) return interaction.customId.split(":")[0] ?? "";
	return "unknown";
}

function addUnique<T>(map: Map<string, T>, name: string, value: T, kind: string): void {
	if (map.has(name)) throw new Error(`two ${kind} handlers are named "${name}"`);
	map.set(name, value);
}
