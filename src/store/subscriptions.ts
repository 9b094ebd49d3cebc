import { StoreValidationError } from "./errors.js";
import { Repository } from "./repository.js";
import { asStringArray, assertId, isoAt, randomId } from "./util.js";

export interface FeedFilters {
	tag: string | null;
	username: string | null;
	nsfw: boolean;
}

export type FeedMode = "live" | "digest";

/** How an announcement looks: the full embed with buttons, one line with the link, or the image alone with a caption. */
export type FeedStyle = "full" | "compact" | "image";

/** What becomes of an announcement whose post is gone from imgpile (deleted, hidden, private, rejected). */
export type RemovedAction = "delete" | "note";

/** A score gate's default window: a post must reach the score while younger than this. */
export const DEFAULT_SCORE_WINDOW_MS = 24 * 3_600_000;

export interface FeedSubscription {
	id: string;
	guildId: string;
	channelId: string;
	filters: FeedFilters;
	mode: FeedMode;
	/** Digest period in ms (digest mode), else null. */
	everyMs: number | null;
	/** Digest time of day "HH:MM" in the guild's time zone (digest mode), else null. */
	at: string | null;
	/** How many recent posts to deliver when the subscription starts. */
	backfill: number;
	createdBy: string;
	/** ISO timestamp. */
	createdAt: string;
	paused: boolean;
	/** Why delivery stopped (missing permissions, channel deleted…), null while healthy. */
	disabledReason: string | null;
	lastDeliveryAt: string | null;
	nextDigestAt: string | null;
	/** Look of announcements and digests. */
	style: FeedStyle;
	/** The role pinged once per announcement or digest (only it: `allowed_mentions.roles`), or null. */
	mentionRoleId: string | null;
	/** Crosspost each announcement (announcement channels only). */
	publish: boolean;
	/** Until when crossposting is held back (Discord's 10 per hour per channel was reached), ISO; null while it is not. */
	publishLimitedUntil: string | null;
	/** Live sync: an announcement whose post is gone from imgpile is deleted, or replaced by a short note. */
	removed: RemovedAction;
	/** Score gate: posts are announced once their score reaches this (null: no gate). */
	minScore: number | null;
	/** Score gate window in ms (a post older than this is no longer watched); null: the default 24 h. */
	withinMs: number | null;
}

/** What a stored record from before a field existed reads as. */
export const SUBSCRIPTION_DEFAULTS = {
	style: "full",
	mentionRoleId: null,
	publish: false,
	publishLimitedUntil: null,
	removed: "delete",
	minScore: null,
	withinMs: null,
} as const satisfies Partial<FeedSubscription>;

type OptionalOnCreate = keyof typeof SUBSCRIPTION_DEFAULTS;

/** What `create` needs; the state fields are optional and default to a fresh, active subscription. */
export type NewFeedSubscription = Omit<
	FeedSubscription,
	"id" | "createdAt" | "paused" | "disabledReason" | "lastDeliveryAt" | "nextDigestAt" | OptionalOnCreate
> &
	Partial<Pick<FeedSubscription, "paused" | "disabledReason" | "lastDeliveryAt" | "nextDigestAt" | OptionalOnCreate>>;

/** Everything but identity and provenance may change. */
export type FeedSubscriptionPatch = Partial<Omit<FeedSubscription, "id" | "guildId" | "createdBy" | "createdAt">>;

const INDEX_ALL = "index:all";
const indexOfGuild = (guildId: string) => `index:guild:${guildId}`;
const recordKey = (id: string) => `sub:${id}`;

/**
 * Stable identity of a set of filters (one subscription per filters and channel). Values are
 * trimmed, lowercased and URI-encoded (so `|` and `=` cannot collide), e.g. `tag=cats|user=|nsfw=0`.
 * Polls are shared more widely (`pollKeyOf`); feed state from before that is still under these keys.
 */
export function queryKeyOf(filters: FeedFilters): string {
	return `tag=${normKey(filters.tag)}|user=${normKey(filters.username)}|nsfw=${filters.nsfw ? 1 : 0}`;
}

const normKey = (value: string | null) => encodeURIComponent((value ?? "").trim().toLowerCase());

/** The poll key of subscriptions without a tag filter: they all share one `?nsfw=1` query. */
export const FIREHOSE_POLL_KEY = "firehose";

/**
 * Stable key of the imgpile poll that serves a set of filters: `firehose` without a tag filter,
 * `tag=<tag>` with one (a listing carries no tags, so a tag needs its own query). User and NSFW
 * filters are applied by the bot to what the poll reads. Subscriptions with equal poll keys share
 * one poll, one seen set, one cursor. It never equals a `queryKeyOf` key (those carry `|`), so the
 * state kept under the former per-combination keys stays apart until a poll takes it over (the
 * upgrade rule in src/feeds/polling.ts).
 */
export function pollKeyOf(filters: FeedFilters): string {
	return filters.tag === null ? FIREHOSE_POLL_KEY : `tag=${normKey(filters.tag)}`;
}

/** The poll key of a tag's poll (personal notifications of a tag ride on it too). */
export function tagPollKeyOf(tag: string): string {
	return pollKeyOf({ tag, username: null, nsfw: true });
}

/** The filters a poll key reads with (the inverse of `pollKeyOf`, through `pollFiltersOf`). */
export function pollFiltersOfKey(pollKey: string): FeedFilters {
	const tag = pollKey === FIREHOSE_POLL_KEY ? null : decodeURIComponent(pollKey.replace(/^tag=/, ""));
	return pollFiltersOf({ tag, username: null, nsfw: true });
}

/** The filters the poll behind `pollKeyOf(filters)` reads with: the tag only, NSFW included. */
export function pollFiltersOf(filters: FeedFilters): FeedFilters {
	return { tag: filters.tag === null ? null : filters.tag.trim().toLowerCase(), username: null, nsfw: true };
}

/**
 * Feed subscriptions. Keys: `sub:<id>` (the record), `index:all` and `index:guild:<guildId>` (id lists,
 * so listing never scans the store). Lock order: `sub:<id>`, then `index:guild:<g>`, then `index:all`.
 * Listings skip ids whose record is missing (a crash between the two writes leaves at most that).
 */
export class SubscriptionRepository extends Repository {
	async create(input: NewFeedSubscription): Promise<FeedSubscription> {
		assertId("guildId", input.guildId);
		assertId("channelId", input.channelId);
		assertId("createdBy", input.createdBy);
		const subscription = checkSubscription({
			id: "",
			guildId: input.guildId,
			channelId: input.channelId,
			filters: normalizeFilters(input.filters),
			mode: input.mode,
			everyMs: input.everyMs,
			at: input.at,
			backfill: input.backfill,
			createdBy: input.createdBy,
			createdAt: isoAt(this.clock),
			paused: input.paused ?? false,
			disabledReason: input.disabledReason ?? null,
			lastDeliveryAt: input.lastDeliveryAt ?? null,
			nextDigestAt: input.nextDigestAt ?? null,
			style: input.style ?? SUBSCRIPTION_DEFAULTS.style,
			mentionRoleId: input.mentionRoleId ?? null,
			publish: input.publish ?? false,
			publishLimitedUntil: input.publishLimitedUntil ?? null,
			removed: input.removed ?? SUBSCRIPTION_DEFAULTS.removed,
			minScore: input.minScore ?? null,
			withinMs: input.withinMs ?? null,
		});
		for (let attempt = 0; ; attempt++) {
			const id = randomId(10);
			const record = { ...subscription, id };
			// Record first, then the indexes: a crash in between leaves an unlisted record, never a dangling id.
			const created = await this.kv.modify<FeedSubscription, boolean>(recordKey(id), (current) =>
				current ? { value: current, result: false } : { value: record, result: true },
			);
			if (created) {
				await this.#addToIndex(indexOfGuild(record.guildId), id);
				await this.#addToIndex(INDEX_ALL, id);
				return record;
			}
			if (attempt >= 5) {
				throw new Error("could not allocate a unique subscription id");
			}
		}
	}

	async get(id: string): Promise<FeedSubscription | undefined> {
		if (!isPlausibleId(id)) {
			return undefined;
		}
		return withDefaults(await this.kv.get<FeedSubscription>(recordKey(id)));
	}

	/** Applies `patch` and returns the new subscription; undefined if it does not exist (e.g. removed meanwhile). */
	async update(id: string, patch: FeedSubscriptionPatch): Promise<FeedSubscription | undefined> {
		if (!isPlausibleId(id)) {
			return undefined;
		}
		const clean = Object.fromEntries(
			Object.entries(patch).filter(([field, value]) => value !== undefined && MUTABLE.has(field)),
		) as FeedSubscriptionPatch;
		if (clean.channelId !== undefined) {
			assertId("channelId", clean.channelId);
		}
		if (clean.filters !== undefined) {
			clean.filters = normalizeFilters(clean.filters);
		}
		return this.kv.modify<FeedSubscription, FeedSubscription | undefined>(recordKey(id), (current) => {
			if (!current) return { value: current, result: undefined };
			const next = checkSubscription({ ...withDefaults(current), ...clean });
			return { value: next, result: next };
		});
	}

	/** Deletes the subscription; true if it existed. (Its outbox entries are the outbox's business.) */
	async remove(id: string): Promise<boolean> {
		if (!isPlausibleId(id)) {
			return false;
		}
		// Indexes first (the guild never changes), then the record: a crash in between leaves an unlisted record.
		const current = await this.kv.get<FeedSubscription>(recordKey(id));
		if (current) {
			await this.#removeFromIndex(indexOfGuild(current.guildId), id);
		}
		await this.#removeFromIndex(INDEX_ALL, id);
		return this.kv.delete(recordKey(id));
	}

	/** The guild's subscriptions, oldest first. */
	async listByGuild(guildId: string): Promise<FeedSubscription[]> {
		assertId("guildId", guildId);
		return this.#list(indexOfGuild(guildId));
	}

	/** Every subscription, oldest first. */
	async listAll(): Promise<FeedSubscription[]> {
		return this.#list(INDEX_ALL);
	}

	async #list(indexKey: string): Promise<FeedSubscription[]> {
		const ids = asStringArray(await this.kv.get<string[]>(indexKey));
		const records = await this.kv.getAll<FeedSubscription>(ids.map(recordKey));
		return records.flatMap((record) => (record === undefined ? [] : [withDefaults(record)]));
	}

	async #addToIndex(indexKey: string, id: string): Promise<void> {
		await this.kv.modify<string[], void>(indexKey, (current) => {
			const ids = asStringArray(current);
			return { value: ids.includes(id) ? current : [...ids, id], result: undefined };
		});
	}

	async #removeFromIndex(indexKey: string, id: string): Promise<void> {
		await this.kv.modify<string[], void>(indexKey, (current) => {
			const ids = asStringArray(current).filter((other) => other !== id);
			return { value: ids.length > 0 ? ids : undefined, result: undefined };
		});
	}
}

/** Fields `update` may change; anything else in a patch (id, guildId, createdBy, createdAt, junk) is ignored. */
const MUTABLE = new Set<string>([
	"channelId",
	"filters",
	"mode",
	"everyMs",
	"at",
	"backfill",
	"paused",
	"disabledReason",
	"lastDeliveryAt",
	"nextDigestAt",
	"style",
	"mentionRoleId",
	"publish",
	"publishLimitedUntil",
	"removed",
	"minScore",
	"withinMs",
] satisfies Array<keyof FeedSubscriptionPatch>);

function withDefaults<T extends FeedSubscription | undefined>(record: T): T {
	return (record === undefined ? record : { ...SUBSCRIPTION_DEFAULTS, ...record }) as T;
}

function isPlausibleId(id: string): boolean {
	return typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

function normalizeFilters(filters: FeedFilters): FeedFilters {
	const clean = (value: string | null | undefined) => {
		const trimmed = (value ?? "").trim();
		return trimmed.length > 0 ? trimmed : null;
	};
	return { tag: clean(filters.tag), username: clean(filters.username), nsfw: filters.nsfw === true };
}

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

function checkSubscription(sub: FeedSubscription): FeedSubscription {
	const fail = (message: string): never => {
		throw new StoreValidationError(`invalid feed subscription: ${message}`);
	};
	if (sub.mode !== "live" && sub.mode !== "digest") fail(`mode must be "live" or "digest"`);
	if (sub.everyMs !== null && (!Number.isSafeInteger(sub.everyMs) || sub.everyMs <= 0)) {
		fail("everyMs must be a positive integer or null");
	}
	if (sub.at !== null && !HH_MM.test(sub.at)) fail(`at must be "HH:MM" or null`);
	if (!Number.isSafeInteger(sub.backfill) || sub.backfill < 0) fail("backfill must be a non-negative integer");
	if (typeof sub.paused !== "boolean") fail("paused must be a boolean");
	if (!["full", "compact", "image"].includes(sub.style)) fail(`style must be "full", "compact" or "image"`);
	if (sub.removed !== "delete" && sub.removed !== "note") fail(`removed must be "delete" or "note"`);
	if (typeof sub.publish !== "boolean") fail("publish must be a boolean");
	if (sub.mentionRoleId !== null && !/^\d{17,20}$/.test(sub.mentionRoleId))
		fail("mentionRoleId must be a snowflake or null");
	if (sub.minScore !== null && !Number.isSafeInteger(sub.minScore)) fail("minScore must be an integer or null");
	if (sub.withinMs !== null && (!Number.isSafeInteger(sub.withinMs) || sub.withinMs <= 0)) {
		fail("withinMs must be a positive integer or null");
	}
	for (const field of ["disabledReason", "lastDeliveryAt", "nextDigestAt", "publishLimitedUntil"] as const) {
		if (sub[field] !== null && typeof sub[field] !== "string") fail(`${field} must be a string or null`);
	}
	return sub;
}
