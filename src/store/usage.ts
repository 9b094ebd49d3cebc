import { Repository } from "./repository.js";
import { assertId } from "./util.js";

/** Uploads counted per UTC day (imgpile's quota is 1,000 files a day per user). */
export interface UsageToday {
	/** UTC day, `YYYY-MM-DD`. */
	day: string;
	/** Files the user uploaded through the bot today, with any token. */
	uploads: number;
}

/** Slots of a member's daily server-token cap, taken before a transfer starts. */
export interface CapReservation {
	guildId: string;
	userId: string;
	/** The UTC day the slots were taken from (a release goes back to that day). */
	day: string;
	files: number;
}

export type ReserveResult = { ok: true; reservation: CapReservation } | { ok: false; used: number };

const TTL_MS = 2 * 24 * 60 * 60 * 1000;

/**
 * Daily upload counters: per user (what `/imgpile status` shows) and per (guild, user) with the
 * guild's server token (what its per-member cap counts). Keys carry the day, so a new day starts
 * at zero; old days are dropped by a two-day TTL.
 * Keys: `user:<userId>:<day>`, `server:<guildId>:<userId>:<day>`.
 *
 * The server-token counter is taken (`reserve`) before files transfer and given back (`release`)
 * for those that did not upload, so parallel uploads cannot overrun the cap, in any number of
 * processes: every change is one atomic counter step of the store (`Kv.add`: a Lua INCRBY with
 * the cap on Redis, the per-key lock on SQLite).
 */
export class UsageRepository extends Repository {
	today(): string {
		return new Date(this.clock()).toISOString().slice(0, 10);
	}

	async get(userId: string): Promise<UsageToday> {
		assertId("userId", userId);
		const day = this.today();
		return { day, uploads: (await this.kv.get<number>(`user:${userId}:${day}`)) ?? 0 };
	}

	/** Files uploaded today with this guild's server token by this member. */
	async serverTokenUploads(guildId: string, userId: string): Promise<number> {
		assertId("guildId", guildId);
		assertId("userId", userId);
		return (await this.kv.get<number>(`server:${guildId}:${userId}:${this.today()}`)) ?? 0;
	}

	/**
	 * Takes `files` of the member's `cap` server-token uploads for today, all or none: denied (with
	 * what is used) when fewer are left. Atomic: parallel calls never take more than the cap.
	 */
	async reserve(guildId: string, userId: string, files: number, cap: number): Promise<ReserveResult> {
		assertId("guildId", guildId);
		assertId("userId", userId);
		const day = this.today();
		const reservation = (n: number): ReserveResult => ({ ok: true, reservation: { guildId, userId, day, files: n } });
		if (files <= 0) return reservation(0);
		const taken = await this.kv.add(`server:${guildId}:${userId}:${day}`, { delta: files, ttlMs: TTL_MS, max: cap });
		return taken.ok ? reservation(files) : { ok: false, used: taken.value };
	}

	/** Gives back `files` slots of a reservation (files that did not upload); never more than it holds. */
	async release(reservation: CapReservation, files: number): Promise<void> {
		const give = Math.min(files, reservation.files);
		if (give <= 0) return;
		reservation.files -= give;
		await this.kv.add(`server:${reservation.guildId}:${reservation.userId}:${reservation.day}`, {
			delta: -give,
			ttlMs: TTL_MS,
		});
	}

	/** Counts `files` uploads made now, with any token (server-token ones were counted by `reserve`). */
	async record(userId: string, files: number): Promise<void> {
		assertId("userId", userId);
		await this.kv.add(`user:${userId}:${this.today()}`, { delta: files, ttlMs: TTL_MS });
	}
}
