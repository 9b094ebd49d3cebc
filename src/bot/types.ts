import type {
	AutocompleteInteraction,
	ButtonInteraction,
	ChatInputCommandInteraction,
	MessageContextMenuCommandInteraction,
	ModalSubmitInteraction,
	RESTPostAPIChatInputApplicationCommandsJSONBody,
	RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from "discord.js";
import type { FeedControl } from "../feeds/index.js";
import type { Locale, Translate } from "../i18n/index.js";
import type { Imgpile } from "../imgpile/index.js";
import type { Logger, SecretRegistry } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Store } from "../store/index.js";
import type { TransferPipeline } from "../transfer/index.js";
import type { Coalescer } from "./coalescer.js";
import type { Responder } from "./responder.js";

/** What the bot holds and hands to every handler. Tests build the same over the emulators. */
export interface Services {
	logger: Logger;
	store: Store;
	imgpile: Imgpile;
	/** Tokens handlers learn (a user linking one) are registered here so logs scrub them. */
	secrets: SecretRegistry;
	/** Upload host, for files built for users (ShareX). */
	imgpileUploadUrl: string;
	/** Discord CDN → imgpile transfers, bounded across the bot. */
	transfers: TransferPipeline;
	now: () => number;
	/** The feed scheduler (set by the Bot; absent where no bot runs, e.g. unit tests). */
	feeds?: FeedControl;
	/**
	 * Whether the bot reads members' messages (DISCORD_MESSAGE_CONTENT: the GuildMessages and
	 * Message Content intents), which auto-rehost channels need. Set by the Bot.
	 */
	messageContent?: boolean;
	/** Score edits after vote clicks, at most one per message per interval (set by the Bot). */
	voteRefresher?: Coalescer;
	/**
	 * This bot's metrics (`GET /metrics`): made where the services are wired, so the imgpile client
	 * and the transfers count into it too; the Bot makes one (without process metrics) when it is absent.
	 */
	metrics?: Metrics;
}

/** One interaction's view: the services, plus who asked in which language, and how to answer. */
export interface HandlerContext extends Services {
	locale: Locale;
	t: Translate;
	/** Logger bound to this interaction (id, user, guild, command). */
	log: Logger;
	respond: Responder;
}

/** What work outside an interaction has (auto-rehost): a handler's context without the responder. */
export type BotContext = Omit<HandlerContext, "respond">;

export interface ChatCommand {
	data: RESTPostAPIChatInputApplicationCommandsJSONBody;
	execute(ctx: HandlerContext, interaction: ChatInputCommandInteraction): Promise<void>;
	autocomplete?(ctx: HandlerContext, interaction: AutocompleteInteraction): Promise<void>;
}

export interface MessageCommand {
	data: RESTPostAPIContextMenuApplicationCommandsJSONBody;
	execute(ctx: HandlerContext, interaction: MessageContextMenuCommandInteraction): Promise<void>;
}

export type ButtonHandler = (ctx: HandlerContext, interaction: ButtonInteraction, args: string[]) => Promise<void>;
export type ModalHandler = (ctx: HandlerContext, interaction: ModalSubmitInteraction, args: string[]) => Promise<void>;

/** What one file in commands/ exports: its command, and the buttons and modals it owns (by custom_id name). */
export interface CommandModule {
	command: ChatCommand | MessageCommand;
	buttons?: Record<string, ButtonHandler>;
	modals?: Record<string, ModalHandler>;
}
