import type { Fence } from "./backend.js";
import { StoreValidationError } from "./errors.js";
import { Repository } from "./repository.js";
import { asStringArray, assertId, isoAt } from "./util.js";

/** Tags one user may be notified of at most. */
export const NOTIFY_MAX_TAGS = 10;
/** Default spacing of a user's batch DMs. */
export const NOTIFY_DEFAULT_EVERY_MS = 15 * 60_000;

/** Local wall-clock times ("HH:MM", 24 h) between which no DM goes; the window may cross midnight. */
export interface NotifyQuiet {
	start: string;
	end: string;
}

/** Why a user's notifications stopped by themselves (not by the user). */
export interface NotifyPause {
	/** `dm_closed`: Discord refused the DM (50007). */
	reason: "dm_closed";
	/** ISO time of the refusal. */
	since: string;
	/** ISO time the user was told in an interaction; null until then (told once). */
	toldAt: string | null;
}

/** One Discord user's personal notifications (DMs), the same in every server. */
export interface NotifyProfile {
	userId: string;
	/** The Discord locale of their last `/notify` (DMs are written in it). */
	locale: string | null;
	/** DMs for new posts of the imgpile users they follow. */
	follows: boolean;
	/** Their imgpile username (whose following list is read). */
	username: string | null;
	/** Whom `username` follows (lowercased), as last read; null: not read yet. */
	following: string[] | null;
	/** ISO time `following` was read (refreshed at most hourly). */
	followingAt: string | null;
	/** Tags (lowercased) to be told of, at most NOTIFY_MAX_TAGS. */
	tags: string[];
	/** At most one DM per this many ms. */
	everyMs: number;
	quiet: NotifyQuiet | null;
	/** IANA time zone of `quiet` (null: UTC). */
	tz: string | null;
	/** NSFW posts too (never with a preview). */
	nsfw: boolean;
	/** ISO time of the last batch DM Discord accepted. */
	lastBatchAt: string | null;
	paused: NotifyPause | null;
	/** ISO time anything was turned on first: posts older than this are not notified. */
	since: string;
	/** ISO time follows were last turned on: older posts of followed users are not notified. */
	followsSince: string | null;
	/** ISO time each tag was added (lowercased tag → time): older posts of the tag are not notified. */
	tagsSince: Record<string, string>;
	updatedAt: string;
}

export type NotifyChange = (current: NotifyProfile) => NotifyProfile;

/** Whether the profile asks for any DM at all (it is then in the index the scheduler reads). */
export function notifyWanted(profile: NotifyProfile): boolean {
	return profile.follows || profile.tags.length > 0;
}

const INDEX = "index:active";
const recordKey = (userId: string) => `user:${userId}`;

/**
 * Personal notification settings (namespace `notify`). Keys: `user:<userId>` (the profile) and
 * `index:active` (users with anything on, so the feed leader never scans the store). The leader's
 * writes (follow-list refresh, batch sent, pause) carry its fence. Lock order: record, then index.
 */
export class NotifyRepository extends Repository {
	/** The profile, or undefined when the user never used `/notify`. */
	async get(userId: string): Promise<NotifyProfile | undefined> {
		assertId("userId", userId);
		const stored = await this.kv.get<Partial<NotifyProfile>>(recordKey(userId));
		return stored && this.#withDefaults(userId, stored);
	}

	/** The profile as `/notify` shows it: stored, or the defaults. */
	async getOrDefault(userId: string): Promise<NotifyProfile> {
		return (await this.get(userId)) ?? this.#withDefaults(userId, {});
	}

	/**
	 * Changes a profile atomically (created with the defaults when missing) and keeps the index in
	 * step. `change` may run more than once: no side effects. Returns the profile as stored. With
	 * a fence (the feed leader), the write is refused once another process leads.
	 */
	async update(userId: string, change: NotifyChange, fence?: Fence): Promise<NotifyProfile> {
		assertId("userId", userId);
		const next = await this.kv.modify<Partial<NotifyProfile>, NotifyProfile>(
			recordKey(userId),
			(stored) => {
				const current = this.#withDefaults(userId, stored ?? {});
				const changed = stamped(current, checked(change(current)), isoAt(this.clock));
				return { value: { ...changed, userId, updatedAt: isoAt(this.clock) }, result: changed };
			},
			undefined,
			fence,
		);
		await this.#index(userId, notifyWanted(next));
		return next;
	}

	/** Like `update`, but only when the user has a profile (the leader never creates one). */
	async updateExisting(userId: string, change: NotifyChange, fence?: Fence): Promise<NotifyProfile | undefined> {
		assertId("userId", userId);
		return this.kv.modify<Partial<NotifyProfile>, NotifyProfile | undefined>(
			recordKey(userId),
			(stored) => {
				if (!stored) return { value: stored, result: undefined };
				const changed = checked(change(this.#withDefaults(userId, stored)));
				return { value: { ...changed, userId, updatedAt: isoAt(this.clock) }, result: changed };
			},
			undefined,
			fence,
		);
	}

	/** Every profile with anything on (index order). */
	async listActive(): Promise<NotifyProfile[]> {
		const ids = asStringArray(await this.kv.get<string[]>(INDEX));
		const records = await this.kv.getAll<Partial<NotifyProfile>>(ids.map(recordKey));
		return records.flatMap((stored, index) => {
			const userId = ids[index];
			return stored && userId && notifyWanted(this.#withDefaults(userId, stored))
				? [this.#withDefaults(userId, stored)]
				: [];
		});
	}

	async #index(userId: string, wanted: boolean): Promise<void> {
		await this.kv.modify<string[], void>(INDEX, (current) => {
			const ids = asStringArray(current);
			const has = ids.includes(userId);
			if (wanted === has) return { value: current, result: undefined };
			return { value: wanted ? [...ids, userId] : ids.filter((id) => id !== userId), result: undefined };
		});
	}

	#withDefaults(userId: string, stored: Partial<NotifyProfile>): NotifyProfile {
		const now = isoAt(this.clock);
		return {
			userId,
			locale: stored.locale ?? null,
			follows: stored.follows === true,
			username: stored.username ?? null,
			following: Array.isArray(stored.following) ? asStringArray(stored.following) : null,
			followingAt: stored.followingAt ?? null,
			tags: asStringArray(stored.tags),
			everyMs: typeof stored.everyMs === "number" ? stored.everyMs : NOTIFY_DEFAULT_EVERY_MS,
			quiet: stored.quiet ?? null,
			tz: stored.tz ?? null,
			nsfw: stored.nsfw === true,
			lastBatchAt: stored.lastBatchAt ?? null,
			paused: stored.paused ?? null,
			since: stored.since ?? now,
			followsSince: stored.followsSince ?? null,
			tagsSince: typeof stored.tagsSince === "object" && stored.tagsSince !== null ? stored.tagsSince : {},
			updatedAt: stored.updatedAt ?? now,
		};
	}
}

/**
 * When follows or a tag is turned on, the time it was (older posts of it are not notified: a
 * tag's poll may have state from long ago); forgotten tags are dropped.
 */
function stamped(before: NotifyProfile, after: NotifyProfile, now: string): NotifyProfile {
	const tagsSince: Record<string, string> = {};
	for (const tag of after.tags) {
		tagsSince[tag] = before.tags.includes(tag) ? (before.tagsSince[tag] ?? after.tagsSince[tag] ?? now) : now;
	}
	const followsSince = after.follows && !before.follows ? now : after.followsSince;
	return { ...after, tagsSince, followsSince };
}

function checked(profile: NotifyProfile): NotifyProfile {
	if (profile.tags.length > NOTIFY_MAX_TAGS) {
		throw new StoreValidationError(`at most ${NOTIFY_MAX_TAGS} notification tags`);
	}
	if (!Number.isFinite(profile.everyMs) || profile.everyMs <= 0) {
		throw new StoreValidationError("everyMs must be a positive number");
	}
	return profile;
}
