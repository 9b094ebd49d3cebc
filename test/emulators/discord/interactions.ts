/**
 * One interaction a test user performed: its dispatched payload, Discord's rules on it (3 s to
 * acknowledge, once; 15 minutes of token life), and what the bot answered. Tests get it from
 * `discord.slash(...)`, `clickButton`, `submitModal`, ... and await `response()` / `settled()`.
 */
import type { Ping } from "./mentions.js";
import type { Recorder, Violation } from "./recording.js";
import type { Channel, Guild, Json, Member, Message, User } from "./state.js";

export const InteractionType = {
	Ping: 1,
	ApplicationCommand: 2,
	MessageComponent: 3,
	Autocomplete: 4,
	ModalSubmit: 5,
} as const;

export const CallbackType = {
	Pong: 1,
	ChannelMessageWithSource: 4,
	DeferredChannelMessageWithSource: 5,
	DeferredUpdateMessage: 6,
	UpdateMessage: 7,
	AutocompleteResult: 8,
	Modal: 9,
} as const;

const CALLBACK_NAMES: Record<number, string> = {
	1: "PONG",
	4: "CHANNEL_MESSAGE_WITH_SOURCE",
	5: "DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE",
	6: "DEFERRED_UPDATE_MESSAGE",
	7: "UPDATE_MESSAGE",
	8: "APPLICATION_COMMAND_AUTOCOMPLETE_RESULT",
	9: "MODAL",
	12: "LAUNCH_ACTIVITY",
};

export interface CallbackRecord {
	type: number;
	data: Json | null;
	/** Clock time of the callback. */
	at: number;
	/** Real milliseconds from the INTERACTION_CREATE dispatch to the callback. */
	latencyMs: number;
	withResponse: boolean;
}

export interface InteractionInit {
	id: string;
	token: string;
	type: number;
	applicationId: string;
	user: User;
	member: Member | null;
	guild: Guild | null;
	channel: Channel;
	/** "/imgpile link", "button Delete", "modal link-token", ... */
	label: string;
	payload: Json;
	sourceMessage: Message | null;
	parent: Interaction | null;
	ackTimeoutMs: number;
	tokenLifetimeMs: number;
	now: () => number;
	recorder: Recorder;
}

export class Interaction {
	readonly id: string;
	readonly token: string;
	readonly type: number;
	readonly applicationId: string;
	readonly user: User;
	readonly member: Member | null;
	readonly guild: Guild | null;
	readonly channel: Channel;
	readonly label: string;
	/** The INTERACTION_CREATE payload as dispatched. */
	readonly payload: Json;
	/** For components (and modals opened from components): the message the component was on. */
	readonly sourceMessage: Message | null;
	/** For modal submits: the interaction that opened the modal. */
	readonly parent: Interaction | null;
	/** Clock time of the dispatch. */
	readonly dispatchedAt: number;
	private readonly dispatchedReal = performance.now();
	private readonly ackTimeoutMs: number;
	private readonly tokenLifetimeMs: number;
	private readonly now: () => number;
	private readonly recorder: Recorder;
	private ackTimer: NodeJS.Timeout | null = null;

	callback: CallbackRecord | null = null;
	/** The original response (type 4/5 message; for 6/7 the component's message). */
	original: Message | null = null;
	readonly followups: Message[] = [];
	/** Set when the bot edited @original (or its first followup replaced the deferred reply). */
	originalEditedAt: number | null = null;
	originalDeleted = false;
	modal: Json | null = null;
	choices: Array<{ name: string; value: string | number; name_localizations?: unknown }> | null = null;
	/** Error answers to requests made on this interaction (callback, webhook routes). */
	readonly errors: Violation[] = [];
	/** True once the ack window passed without a callback. */
	ackExpired = false;

	constructor(init: InteractionInit) {
		this.id = init.id;
		this.token = init.token;
		this.type = init.type;
		this.applicationId = init.applicationId;
		this.user = init.user;
		this.member = init.member;
		this.guild = init.guild;
		this.channel = init.channel;
		this.label = init.label;
		this.payload = init.payload;
		this.sourceMessage = init.sourceMessage;
		this.parent = init.parent;
		this.ackTimeoutMs = init.ackTimeoutMs;
		this.tokenLifetimeMs = init.tokenLifetimeMs;
		this.now = init.now;
		this.recorder = init.recorder;
		this.dispatchedAt = init.now();
	}

	/** Starts the acknowledgement deadline (at dispatch). */
	armAckTimer(onExpire: (ix: Interaction) => void): void {
		this.ackTimer = setTimeout(() => {
			if (!this.callback) {
				this.ackExpired = true;
				onExpire(this);
			}
		}, this.ackTimeoutMs);
		this.ackTimer.unref();
	}

	disarm(): void {
		if (this.ackTimer) clearTimeout(this.ackTimer);
		this.ackTimer = null;
	}

	/** Whether a callback now would be too late (real time or clock time past the window). */
	get ackWindowOver(): boolean {
		return (
			this.ackExpired ||
			performance.now() - this.dispatchedReal > this.ackTimeoutMs ||
			this.now() - this.dispatchedAt > this.ackTimeoutMs
		);
	}

	/** Real milliseconds since the dispatch. */
	realElapsed(): number {
		return performance.now() - this.dispatchedReal;
	}

	/** Whether the 15-minute token is still valid for webhooks (followups, @original). */
	get tokenValid(): boolean {
		return this.now() - this.dispatchedAt <= this.tokenLifetimeMs;
	}

	get acknowledged(): boolean {
		return this.callback !== null;
	}

	get callbackType(): number | null {
		return this.callback?.type ?? null;
	}

	/** The original response message, if any (undefined after a modal/autocomplete or before the callback). */
	get reply(): Message | undefined {
		return this.original && !this.originalDeleted ? this.original : undefined;
	}

	/** The original response (when any) then the followups. */
	get messages(): Message[] {
		return [...(this.reply ? [this.reply] : []), ...this.followups.filter((m) => !m.deleted)];
	}

	/** The pings the bot's answers to this interaction caused (response, followups, edits). */
	get pings(): Ping[] {
		const ids = new Set([this.original?.id, ...this.followups.map((m) => m.id)]);
		return this.recorder.pings.filter((p) => ids.has(p.messageId));
	}

	/** Whether the original response is ephemeral. */
	get ephemeral(): boolean {
		return this.reply?.ephemeral ?? false;
	}

	/** True when the bot answered in substance: reply, update, modal, choices, or edit/followup after a defer. */
	get isSettled(): boolean {
		const t = this.callback?.type;
		if (t === undefined) return false;
		if (t === 4 || t === 7 || t === 8 || t === 9 || t === 1) return true;
		return this.originalEditedAt !== null || this.originalDeleted || this.followups.length > 0;
	}

	/** Resolves at the first callback (reply, defer, modal, update, choices). */
	response(opts: { timeoutMs?: number } = {}): Promise<CallbackRecord> {
		return this.recorder.waitFor(() => this.callback, {
			timeoutMs: opts.timeoutMs ?? this.ackTimeoutMs + 2000,
			what: `the bot to respond to ${this.label}`,
			describe: () => this.describe(),
		});
	}

	/** Resolves when the bot replied, edited its deferred reply, sent a followup, updated the message or opened a modal. */
	settled(opts: { timeoutMs?: number } = {}): Promise<this> {
		return this.recorder.waitFor(() => (this.isSettled ? this : null), {
			timeoutMs: opts.timeoutMs ?? 10_000,
			what: `${this.label} to settle`,
			describe: () => this.describe(),
		});
	}

	/** Human-readable account of what happened so far (used in timeout errors). */
	describe(): string {
		const lines = [`Interaction ${this.id} (${this.label}) by ${this.user.username}, dispatched at +0 ms:`];
		const rel = (t: number) => `+${t - this.dispatchedAt} ms`;
		if (!this.callback) {
			lines.push(
				this.ackExpired ? `  - never acknowledged (the ${this.ackTimeoutMs} ms window passed)` : "  - no callback yet",
			);
		} else {
			const c = this.callback;
			const eph = (((c.data?.flags as number | undefined) ?? 0) & 64) !== 0 ? ", ephemeral" : "";
			lines.push(`  - callback ${c.type} ${CALLBACK_NAMES[c.type] ?? ""}${eph} after ${Math.round(c.latencyMs)} ms`);
		}
		if (this.original) lines.push(`  - original: ${this.original.summary}${this.originalDeleted ? " (deleted)" : ""}`);
		if (this.originalEditedAt !== null) lines.push(`  - original edited at ${rel(this.originalEditedAt)}`);
		else if (this.callback?.type === 5 || this.callback?.type === 6)
			lines.push("  - deferred, but @original was never edited");
		for (const f of this.followups) lines.push(`  - followup: ${f.summary}`);
		if (this.modal) lines.push(`  - modal opened: ${String(this.modal.custom_id)} "${String(this.modal.title)}"`);
		if (this.choices) lines.push(`  - ${this.choices.length} autocomplete choice(s)`);
		for (const e of this.errors)
			lines.push(
				`  - error: ${e.request} -> ${e.status} ${e.message}${e.errors ? ` ${JSON.stringify(e.errors)}` : ""}`,
			);
		return lines.join("\n");
	}

	toString(): string {
		return `Interaction(${this.label})`;
	}
}
