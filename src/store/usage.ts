import type { Kv } from "./kv.js";
import { assertId, type Clock, systemClock } from "./util.js";

/** Uploads counted per UTC day (imgpile's quota is 1,000 files a day per user). */
export interface UsageToday {
	/** UTC day, `YYYY-MM-DD`. */
	day: string;
	/** Files the user uploaded through the bot today, with any token. */
	uploads: number;
}

/**
 * Daily upload counters: per user (what `/imgpile status` shows) and per (guild, user) with the
 * guild's server token (what its per-member cap counts). Keys carry the day, so a new day starts
 * at zero; old days are dropped by a two-day TTL.
 * Keys: `user:<userId>:<day>`, `server:<guildId>:<userId>:<day>`.
 */
export class UsageRepository {
	readonly #kv: Kv;
	readonly #clock: Clock;

	constructor(kv: Kv, clock: Clock = systemClock) {
		this.#kv = kv;
		this.#clock = clock;
	}

	today(): string {
		return new Date(this.#clock()).toISOString().slice(0, 10);
	}

	async get(userId: string): Promise<UsageToday> {
		assertId("userId", userId);
		const day = this.today();
		return { day, uploads: (await this.#kv.get<number>(`user:${userId}:${day}`)) ?? 0 };
	}

	/** Files uploaded today with this guild's server token by this member. */
	async serverTokenUploads(guildId: string, userId: string): Promise<number> {
		assertId("guildId", guildId);
		assertId("userId", userId);
		return (await this.#kv.get<number>(`server:${guildId}:${userId}:${this.today()}`)) ?? 0;
	}

	/** Counts `files` uploads made now; `serverTokenGuildId` when the guild's server token paid for them. */
	async record(userId: string, files: number, serverTokenGuildId?: string): Promise<void> {
		assertId("userId", userId);
		const day = this.today();
		await this.#add(`user:${userId}:${day}`, files);
		if (serverTokenGuildId !== undefined) {
			assertId("guildId", serverTokenGuildId);
			await this.#add(`server:${serverTokenGuildId}:${userId}:${day}`, files);
		}
	}

	async #add(key: string, files: number): Promise<void> {
		await this.#kv.modify<number, void>(
			key,
			(current) => ({ value: (current ?? 0) + files, result: undefined }),
			2 * 24 * 60 * 60 * 1000,
		);
	}
}
