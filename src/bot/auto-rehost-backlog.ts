/**
 * What an auto-rehost channel got while the bot was not listening (stopped, or a gateway session
 * that could not be resumed): each channel keeps a cursor, the newest member message handled
 * (src/store/auto-rehost.ts), and at startup and after each new session the messages after it
 * are read over REST, bounded, and handled as if just posted (`catchUp`). `Watermarks` says
 * how far a cursor may move while messages are handled out of order.
 */
import { type AnyThreadChannel, type Client, type Guild, type Message, SnowflakeUtil } from "discord.js";
import type { Services } from "./types.js";

/** At most this many messages per channel and catch-up (one page), the oldest first. */
export const BACKLOG_MAX_MESSAGES = 100;
/** Messages older than this are not caught up (a bot down for days does not answer week-old posts). */
export const BACKLOG_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Threads (forum posts) under a channel turned on read back per catch-up, the most recently active first. */
export const BACKLOG_MAX_THREADS = 25;
/** A thread's own cursor is forgotten after this long unmoved: it then reads from its parent's. */
export const THREAD_CURSOR_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** The lowest snowflake of `ms`: every message posted from then on has a greater id. */
export function snowflakeAt(ms: number): string {
	return ((BigInt(Math.max(ms, Number(SnowflakeUtil.epoch))) - SnowflakeUtil.epoch) << 22n).toString();
}

export function timeOf(id: string): string {
	return new Date(SnowflakeUtil.timestampFrom(id)).toISOString();
}

interface ChannelMarks {
	guildId: string;
	/** Messages received and not yet handled, with how many runs each has queued. */
	open: Map<string, number>;
	/** Handled messages the cursor has not been moved to yet. */
	settled: string[];
}

const older = (a: string, b: string) => BigInt(a) < BigInt(b);

/**
 * Per channel, where its cursor may go: the newest message handled with no older one still being
 * handled (a crash then leaves the older one after the cursor, for the next catch-up). A run that
 * failed is never settled: the cursor stays before it until the next start. Held while a
 * catch-up queues what it read, so a live message handled first cannot pass the backlog.
 */
export class Watermarks {
	readonly #channels = new Map<string, ChannelMarks>();
	#holds = 0;

	open(guildId: string, channelId: string, messageId: string): void {
		const marks = this.#channels.get(channelId) ?? { guildId, open: new Map(), settled: [] };
		marks.open.set(messageId, (marks.open.get(messageId) ?? 0) + 1);
		this.#channels.set(channelId, marks);
	}

	/** A run of `messageId` ended; the cursor to write for its channel, if it may move now. */
	settle(channelId: string, messageId: string): string | undefined {
		const marks = this.#channels.get(channelId);
		if (!marks) return undefined;
		const runs = (marks.open.get(messageId) ?? 1) - 1;
		if (runs > 0) marks.open.set(messageId, runs);
		else {
			marks.open.delete(messageId);
			marks.settled.push(messageId);
		}
		return this.#advance(channelId, marks);
	}

	hold(): void {
		this.#holds++;
	}

	/** Ends a hold; the cursors that may move now, by channel. */
	release(): Array<{ guildId: string; channelId: string; messageId: string }> {
		this.#holds = Math.max(0, this.#holds - 1);
		const moves = [];
		for (const [channelId, marks] of this.#channels) {
			const messageId = this.#advance(channelId, marks);
			if (messageId) moves.push({ guildId: marks.guildId, channelId, messageId });
		}
		return moves;
	}

	#advance(channelId: string, marks: ChannelMarks): string | undefined {
		if (this.#holds > 0) return undefined;
		let low: string | undefined;
		for (const id of marks.open.keys()) if (low === undefined || older(id, low)) low = id;
		const ready = marks.settled.filter((id) => low === undefined || older(id, low));
		marks.settled = marks.settled.filter((id) => !ready.includes(id));
		if (marks.open.size === 0 && marks.settled.length === 0) this.#channels.delete(channelId);
		return ready.reduce<string | undefined>((max, id) => (max === undefined || older(max, id) ? id : max), undefined);
	}
}

export interface BacklogDeps {
	services: Services;
	client: Client;
}

const byId = (a: { id: string }, b: { id: string }) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1);

/**
 * Reads back, for each channel turned on in `guilds`, the messages after its cursor, then those
 * of its active threads (forum posts) after theirs, and never before the channel's,
 * and hands each to `take`, oldest first per channel. A channel met without a cursor (turned on
 * before cursors existed) starts one now and reads nothing.
 */
export async function catchUp(deps: BacklogDeps, guilds: readonly Guild[], take: (message: Message) => void) {
	const { store, now, logger } = deps.services;
	for (const guild of guilds) {
		const { autoRehost } = await store.guilds.get(guild.id);
		const on = Object.keys(autoRehost);
		if (on.length === 0) continue;
		const threads = await activeThreads(deps, guild);
		for (const channelId of on) {
			try {
				const cursor = await store.autoRehost.cursor(channelId);
				if (cursor === undefined) {
					await store.autoRehost.advanceCursor(channelId, snowflakeAt(now()), { ifAbsent: true });
					continue;
				}
				await readBack(deps, channelId, cursor, take);
				const under = threads.filter((t) => t.parentId === channelId && !(t.id in autoRehost));
				for (const thread of await busiest(deps, under, cursor)) {
					// Never before the channel's: what a thread got while the channel was off stays unread.
					await readBack(deps, thread.id, maxId((await store.autoRehost.cursor(thread.id)) ?? cursor, cursor), take);
				}
			} catch (error) {
				logger.warn({ err: error, channelId }, "auto-rehost: could not read a channel's backlog");
			}
		}
	}
}

async function activeThreads(deps: BacklogDeps, guild: Guild): Promise<AnyThreadChannel[]> {
	try {
		return [...(await guild.channels.fetchActiveThreads()).threads.values()];
	} catch (error) {
		deps.services.logger.warn({ err: error, guildId: guild.id }, "auto-rehost: could not list the active threads");
		return [];
	}
}

/** The threads with a message after `cursor`, at most BACKLOG_MAX_THREADS (the most recently active). */
async function busiest(deps: BacklogDeps, threads: AnyThreadChannel[], cursor: string): Promise<AnyThreadChannel[]> {
	const floor = maxId(cursor, snowflakeAt(deps.services.now() - BACKLOG_MAX_AGE_MS));
	const active = threads
		.filter((t) => t.lastMessageId && BigInt(t.lastMessageId) > BigInt(floor))
		.map((t) => ({ id: t.lastMessageId as string, thread: t }))
		.sort(byId)
		.reverse();
	if (active.length > BACKLOG_MAX_THREADS) {
		deps.services.logger.warn(
			{ threads: active.length, skipped: active.slice(BACKLOG_MAX_THREADS).map((a) => a.thread.id) },
			"auto-rehost catch-up: at most 25 threads per channel; the least recently active are skipped",
		);
	}
	return active.slice(0, BACKLOG_MAX_THREADS).map((a) => a.thread);
}

function maxId(a: string, b: string): string {
	return BigInt(a) < BigInt(b) ? b : a;
}

/** One channel's (or thread's) messages after `cursor`, bounded, to `take` oldest first. */
async function readBack(deps: BacklogDeps, channelId: string, cursor: string, take: (message: Message) => void) {
	const log = deps.services.logger.child({ component: "auto-rehost", channelId });
	const floor = snowflakeAt(deps.services.now() - BACKLOG_MAX_AGE_MS);
	if (BigInt(cursor) < BigInt(floor)) {
		log.info(
			{ from: timeOf(cursor), until: timeOf(floor) },
			"auto-rehost catch-up: messages posted in this span are older than 24 h and skipped",
		);
	}
	const channel = await deps.client.channels.fetch(channelId).catch(() => null);
	// Forum and media channels have no messages of their own: their posts are threads.
	if (!channel?.isTextBased() || channel.isDMBased()) return;
	const page = await channel.messages.fetch({ after: maxId(cursor, floor), limit: BACKLOG_MAX_MESSAGES });
	const messages = [...page.values()].sort(byId);
	if (messages.length >= BACKLOG_MAX_MESSAGES) {
		log.warn(
			{ read: messages.length, after: messages.at(-1)?.id },
			"auto-rehost catch-up: at most 100 messages per channel; those posted after the last one read and before the bot was back are skipped",
		);
	}
	if (messages.length > 0)
		log.info({ messages: messages.length }, "auto-rehost catching up messages posted while away");
	for (const message of messages) take(message);
}
