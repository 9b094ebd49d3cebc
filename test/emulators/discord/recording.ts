/**
 * What the bot did, as tests assert on it: `events` (every message-ish effect), `pings` (every
 * notification its messages caused), `violations` (requests a correct bot never makes),
 * `requests` (every REST call), the gateway log, and an event-driven `waitFor`.
 */
import type { ViolationKind } from "./http.js";
import type { Ping } from "./mentions.js";

export type BotEventKind =
	| "callback"
	| "edit"
	| "followup"
	| "message"
	| "delete"
	| "commands"
	| "crosspost"
	| "reaction"
	| "unreaction"
	| "thread";

export interface EventAttachment {
	id: string;
	filename: string;
	size: number;
	contentType: string | null;
	url: string;
}

export interface BotEvent {
	kind: BotEventKind;
	/** Clock time (ms). */
	at: number;
	method: string;
	path: string;
	channelId: string | null;
	guildId: string | null;
	messageId: string | null;
	interactionId: string | null;
	/** Interaction callback type for kind "callback". */
	callbackType?: number;
	content: string;
	embeds: Array<Record<string, unknown>>;
	components: Array<Record<string, unknown>>;
	attachments: EventAttachment[];
	flags: number;
	ephemeral: boolean;
	/** For kinds "reaction" / "unreaction": the emoji (unicode, or name:id). */
	emoji?: string;
	/** For kind "thread": the thread started from the message. */
	threadId?: string;
	/** For kind "commands": the registered commands after the change. */
	commands?: Array<Record<string, unknown>>;
}

export interface Violation {
	at: number;
	kind: ViolationKind;
	/** e.g. "POST /channels/123/messages" ("gateway" / "interaction" for non-HTTP ones). */
	request: string;
	status: number;
	code: number | null;
	message: string;
	errors?: unknown;
	/** The request body as received (JSON part), when there was one. */
	body?: unknown;
}

export interface RecordedRequest {
	at: number;
	method: string;
	path: string;
	/** "METHOD /template" as in the spec, e.g. "POST /channels/{channel_id}/messages"; null for unknown routes. */
	route: string | null;
	query: Record<string, string>;
	status: number;
	code: number | null;
	body?: unknown;
	files: Array<{ field: string; filename: string; size: number; contentType: string }>;
	headers: Record<string, string | string[] | undefined>;
}

interface Waiter {
	check: () => boolean;
	resolve: () => void;
}

export class Recorder {
	readonly events: BotEvent[] = [];
	readonly violations: Violation[] = [];
	readonly requests: RecordedRequest[] = [];
	readonly pings: Ping[] = [];
	private readonly waiters = new Set<Waiter>();
	private poll: NodeJS.Timeout | null = null;

	event(e: BotEvent): void {
		this.events.push(e);
		this.changed();
	}

	ping(p: Ping): void {
		this.pings.push(p);
		this.changed();
	}

	violation(v: Violation): void {
		this.violations.push(v);
		console.warn(
			`[discord-emulator] violation (${v.kind}) ${v.request} -> ${v.status} ${v.message}${v.errors ? ` ${JSON.stringify(v.errors)}` : ""}`,
		);
		this.changed();
	}

	request(r: RecordedRequest): void {
		this.requests.push(r);
		this.changed();
	}

	/** Re-evaluates pending waits (called on every state change). */
	changed(): void {
		for (const w of [...this.waiters]) {
			let ok = false;
			try {
				ok = w.check();
			} catch {
				ok = false;
			}
			if (ok) {
				this.waiters.delete(w);
				w.resolve();
			}
		}
		if (this.waiters.size === 0 && this.poll) {
			clearInterval(this.poll);
			this.poll = null;
		}
	}

	/**
	 * Resolves when `predicate` is true; re-checked on every emulator change (and every 20 ms, for
	 * predicates over bot-side state). Rejects after `timeoutMs` with `describe()` in the message.
	 */
	waitFor<T>(
		predicate: () => T | undefined | null | false,
		opts: { timeoutMs?: number; what?: string; describe?: () => string } = {},
	): Promise<T> {
		const timeoutMs = opts.timeoutMs ?? 5000;
		return new Promise<T>((resolve, reject) => {
			let value: T | undefined | null | false;
			const check = () => {
				value = predicate();
				return Boolean(value);
			};
			if (check()) {
				resolve(value as T);
				return;
			}
			const timer = setTimeout(() => {
				this.waiters.delete(waiter);
				const detail = opts.describe ? `\n${opts.describe()}` : "";
				reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${opts.what ?? "condition"}${detail}`));
			}, timeoutMs);
			const waiter: Waiter = {
				check,
				resolve: () => {
					clearTimeout(timer);
					resolve(value as T);
				},
			};
			this.waiters.add(waiter);
			if (!this.poll) {
				this.poll = setInterval(() => this.changed(), 20);
				this.poll.unref();
			}
		});
	}

	dispose(): void {
		if (this.poll) clearInterval(this.poll);
		this.poll = null;
		this.waiters.clear();
	}
}
