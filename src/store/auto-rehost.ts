import type { Kv } from "./kv.js";
import { Repository } from "./repository.js";
import { assertId, type Clock, isoAt, systemClock } from "./util.js";

/** A message of an auto-rehost channel the bot has started on and not yet answered. */
export interface PendingAutoRehost {
	guildId: string;
	channelId: string;
	messageId: string;
	userId: string;
	/** ISO timestamp of the first attempt. */
	since: string;
	attempts: number;
}

/** What the bot answered for a message: its reply, and the files (source keys) it covered. */
export interface AutoRehostReply {
	replyId: string;
	keys: string[];
}

/** How long a message's answer is remembered (an edit after that only sees the upload records). */
const REPLIED_TTL_MS = 30 * 24 * 60 * 60 * 1000;
const NOTICE_TTL_MS = 2 * 24 * 60 * 60 * 1000;
/** A message tried this many times (each start counts) is given up: logged, never retried forever. */
export const AUTO_REHOST_MAX_ATTEMPTS = 3;

/**
 * Auto-rehost bookkeeping: members who opted out (`optout:<guildId>:<userId>`), what a member
 * was told once (`notice:<guildId>:<userId>:<topic>`), and each answered message
 * (`replied:<messageId>`, 30 days), and per channel the newest message handled
 * (`cursor:<channelId>`, where the startup catch-up reads from). The pending work lives in its
 * own namespace (`pending`), so the startup scan reads only that.
 */
export class AutoRehostRepository extends Repository {
	readonly #pending: PendingRepository;

	constructor(kv: Kv, pendingKv: Kv, clock: Clock = systemClock) {
		super(kv, clock);
		this.#pending = new PendingRepository(pendingKv, clock);
	}

	get pending(): PendingRepository {
		return this.#pending;
	}

	async optedOut(guildId: string, userId: string): Promise<boolean> {
		assertId("guildId", guildId);
		assertId("userId", userId);
		return (await this.kv.get<boolean>(`optout:${guildId}:${userId}`)) === true;
	}

	/** `on: false` opts the member out of this server's auto-rehost channels; true opts back in. */
	async setOptOut(guildId: string, userId: string, out: boolean): Promise<void> {
		assertId("guildId", guildId);
		assertId("userId", userId);
		if (out) await this.kv.set(`optout:${guildId}:${userId}`, true);
		else await this.kv.delete(`optout:${guildId}:${userId}`);
	}

	/**
	 * True the first time only (atomic): a member is told something (`topic`: "link", or a day's
	 * "cap:<day>", forgotten after two days) once per server.
	 */
	async firstNotice(guildId: string, userId: string, topic: string): Promise<boolean> {
		assertId("guildId", guildId);
		assertId("userId", userId);
		const key = `notice:${guildId}:${userId}:${topic}`;
		if (await this.kv.get<string>(key)) return false;
		const ttl = topic === "link" ? undefined : NOTICE_TTL_MS;
		return this.kv.modify<string, boolean>(
			key,
			(current) => ({ value: current ?? isoAt(this.clock), result: current === undefined }),
			ttl,
		);
	}

	async replied(messageId: string): Promise<AutoRehostReply | undefined> {
		assertId("messageId", messageId);
		return this.kv.get<AutoRehostReply>(`replied:${messageId}`);
	}

	/**
	 * Adds an answer's files to the message's record (an edit's new files add to the first
	 * answer's). `replyId` is the newest answer posted: an answer that could not be posted ("")
	 * keeps the earlier one (a thread's links are found again after it).
	 */
	async recordReply(messageId: string, reply: AutoRehostReply): Promise<void> {
		assertId("messageId", messageId);
		const earlier = await this.replied(messageId);
		const keys = [...new Set([...(earlier?.keys ?? []), ...reply.keys])];
		const replyId = reply.replyId || earlier?.replyId || "";
		await this.kv.set(`replied:${messageId}`, { replyId, keys }, REPLIED_TTL_MS);
	}

	/** The newest message handled in an auto-rehost channel (a message id), if any. */
	async cursor(channelId: string): Promise<string | undefined> {
		assertId("channelId", channelId);
		return this.kv.get<string>(`cursor:${channelId}`);
	}

	/**
	 * Moves a channel's cursor forward to `messageId` (never back: handlings finish out of order);
	 * `ifAbsent` only starts one (a channel turned on, or met without one: no backlog before it);
	 * `ttlMs`: forgotten after that long unmoved (threads: a quiet one falls back to its parent's).
	 */
	async advanceCursor(
		channelId: string,
		messageId: string,
		options: { ifAbsent?: boolean; ttlMs?: number } = {},
	): Promise<void> {
		assertId("channelId", channelId);
		assertId("messageId", messageId);
		await this.kv.modify<string, void>(
			`cursor:${channelId}`,
			(current) => {
				const keep = current !== undefined && (options.ifAbsent || BigInt(current) >= BigInt(messageId));
				return { value: keep ? current : messageId, result: undefined };
			},
			options.ttlMs,
		);
	}

	/** A channel turned off forgets its cursor: turned on again, it starts from then, not from before. */
	async dropCursor(channelId: string): Promise<void> {
		assertId("channelId", channelId);
		await this.kv.delete(`cursor:${channelId}`);
	}
}

/** Pending auto-rehosts by message id: written before any upload, removed once answered. */
export class PendingRepository extends Repository {
	/** Starts (or counts one more attempt of) a message's auto-rehost; returns its record. */
	async begin(job: Omit<PendingAutoRehost, "since" | "attempts">): Promise<PendingAutoRehost> {
		assertId("messageId", job.messageId);
		return this.kv.modify<PendingAutoRehost, PendingAutoRehost>(job.messageId, (current) => {
			const next = current
				? { ...current, attempts: current.attempts + 1 }
				: { ...job, since: isoAt(this.clock), attempts: 1 };
			return { value: next, result: next };
		});
	}

	async done(messageId: string): Promise<void> {
		assertId("messageId", messageId);
		await this.kv.delete(messageId);
	}

	/** Every pending auto-rehost: read once at startup. */
	async all(): Promise<PendingAutoRehost[]> {
		const out: PendingAutoRehost[] = [];
		for await (const [, value] of this.kv.entries()) {
			const job = value as PendingAutoRehost | undefined;
			if (job && typeof job.messageId === "string") out.push(job);
		}
		return out;
	}
}
