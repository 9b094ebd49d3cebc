/**
 * What an auto-rehost channel got while the bot was not listening (stopped, or a gateway session
 * that could not be resumed): each channel keeps a cursor, the newest member message handled
 * (src/store/auto-rehost.ts), and at startup and after each new session the messages after it
 * are read over REST, bounded, and handled as if just posted. `Watermarks` says how far a
 * cursor may move while messages are handled out of order.
 */
import { SnowflakeUtil } from "discord.js";

/** At most this many messages per channel and catch-up (one page), the oldest first. */
export const BACKLOG_MAX_MESSAGES = 100;
/** Messages older than this are not caught up (a bot down for days does not answer week-old posts). */
export const BACKLOG_MAX_AGE_MS = 24 * 60 * 60 * 1000;

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
