import type { Fence } from "./backend.js";
import { StoreValidationError } from "./errors.js";
import type { Kv } from "./kv.js";
import { assertId } from "./util.js";

/**
 * Live sync's memory (issue #12): which Discord message announced which imgpile post, per
 * subscription, and what it shows, so the sync can keep it true (edits, removals, scores).
 *
 * Keys: `post:<postId>` (the messages that announced the post, one per subscription) and `watch`
 * (one small entry per post the sync follows: announced ones, and posts a score gate waits on),
 * which the sync reads once per poll to know which posts matter and which are due for a re-read.
 * Bounded: an entry and its post record go once the post is older than `retentionMs` (and no gate
 * waits on it), and at most `maxWatched` posts are followed (the oldest dropped first).
 */

/** One Discord message that announced a post for one subscription. */
export interface AnnouncementMessage {
	subscriptionId: string;
	/** The channel the message is in (a forum post's thread). */
	channelId: string;
	messageId: string;
	/** A live announcement (one post), or a digest (several). */
	kind: "live" | "digest";
	/** The delivery marker in its footer (rendered again on edits). */
	marker: string;
	/** Posts the message shows (a digest's; a live one's is its post). */
	postIds: number[];
	/** When Discord accepted it, ISO. */
	at: string;
	/** The post as the message shows it now (the render payload, JSON). */
	shown: unknown;
	/** The post's description when last read (absent: not read yet; announcements do not keep it). */
	description?: string | null;
	/** When the score shown was written, ISO. */
	scoreAt: string;
	/** "removed": deleted or replaced by the note; "lost": the message or its channel is gone. */
	state: "shown" | "removed" | "lost";
}

export interface AnnouncedPost {
	v: 1;
	postId: number;
	messages: AnnouncementMessage[];
}

/** A post the sync follows. Times are epoch ms. */
export interface WatchEntry {
	slug: string;
	createdAt: number;
	/** Newest announcement of it (null: only a gate waits on it). */
	announcedAt: number | null;
	/** When imgpile was last read about it (a poll listed it, or a re-read). */
	syncedAt: number;
	/** Subscriptions whose announcement of it is still shown. */
	subs: string[];
	/** Score-gated subscriptions waiting for it to reach their score, and until when. */
	gates: Record<string, number>;
	/**
	 * A poll's listing should have shown it and did not (hidden, private, deleted, re-moderated):
	 * re-read first. "all": the listing included NSFW posts; "sfw": it did not.
	 */
	missing?: "all" | "sfw";
	/** What is known of the post, to tell which listings should show it. */
	username?: string | null;
	/** Lowercased; those known (a tag query listed it, or a single read). */
	tags?: string[];
	status?: "approved" | "pending" | "nsfw" | "rejected";
	/** Score-gated subscriptions it was queued for: never watched (nor queued) for them again. */
	fired?: string[];
}

export interface WatchIndex {
	v: 1;
	posts: Record<string, WatchEntry>;
}

export interface AnnouncementOptions {
	/** Posts are followed this long after their creation (default 8 days: the sync's 7, plus a margin). */
	retentionMs?: number;
	/** Posts followed at most (default 20,000). */
	maxWatched?: number;
}

const WATCH = "watch";
const postKey = (postId: number) => `post:${checkPostId(postId)}`;

function checkPostId(postId: number): number {
	if (!Number.isSafeInteger(postId)) throw new StoreValidationError(`post ids must be integers, got ${postId}`);
	return postId;
}

export class AnnouncementRepository {
	readonly retentionMs: number;
	readonly maxWatched: number;
	readonly #kv: Kv;

	constructor(kv: Kv, options: AnnouncementOptions = {}) {
		this.#kv = kv;
		this.retentionMs = options.retentionMs ?? 8 * 24 * 3_600_000;
		this.maxWatched = options.maxWatched ?? 20_000;
	}

	async get(postId: number): Promise<AnnouncedPost | undefined> {
		return this.#kv.get<AnnouncedPost>(postKey(postId));
	}

	/** Several posts at once (one backend round trip), in order. */
	async getMany(postIds: readonly number[]): Promise<Array<AnnouncedPost | undefined>> {
		return this.#kv.getAll<AnnouncedPost>(postIds.map(postKey));
	}

	/**
	 * Remembers that `message` announced `postId`. Idempotent: a message already known (the same
	 * subscription and message id, e.g. recorded again after a crash) is left as it is.
	 */
	async record(postId: number, message: AnnouncementMessage, fence?: Fence): Promise<boolean> {
		assertId("subscriptionId", message.subscriptionId);
		assertId("channelId", message.channelId);
		assertId("messageId", message.messageId);
		return this.#kv.modify<AnnouncedPost, boolean>(
			postKey(postId),
			(current) => {
				const messages = current?.messages ?? [];
				const known = messages.some(
					(m) => m.subscriptionId === message.subscriptionId && m.messageId === message.messageId,
				);
				if (known) return { value: current, result: false };
				return { value: { v: 1, postId, messages: [...messages, message] }, result: true };
			},
			undefined,
			fence,
		);
	}

	/** Changes one message's record (after its effect reached Discord); false if it is not known. */
	async updateMessage(
		postId: number,
		subscriptionId: string,
		messageId: string,
		patch: Partial<Pick<AnnouncementMessage, "shown" | "description" | "scoreAt" | "state">>,
		fence?: Fence,
	): Promise<boolean> {
		return this.#kv.modify<AnnouncedPost, boolean>(
			postKey(postId),
			(current) => {
				const index =
					current?.messages.findIndex((m) => m.subscriptionId === subscriptionId && m.messageId === messageId) ?? -1;
				if (!current || index < 0) return { value: current, result: false };
				const messages = [...current.messages];
				messages[index] = { ...(messages[index] as AnnouncementMessage), ...patch };
				return { value: { ...current, messages }, result: true };
			},
			undefined,
			fence,
		);
	}

	async watched(): Promise<WatchIndex> {
		return (await this.#kv.get<WatchIndex>(WATCH)) ?? { v: 1, posts: {} };
	}

	/**
	 * Changes the watch index atomically: `change` edits a private copy (it may run more than once,
	 * so it must have no side effects). Entries past retention (no gate waiting) and beyond the cap
	 * are dropped, their post records too. Returns what `change` returned.
	 */
	async watch<R>(now: number, change: (index: WatchIndex) => R, fence?: Fence): Promise<R> {
		const { result, dropped } = await this.#kv.modify<WatchIndex, { result: R; dropped: number[] }>(
			WATCH,
			(current) => {
				const index: WatchIndex = structuredClone(current ?? { v: 1, posts: {} });
				const result = change(index);
				const dropped = this.#prune(index, now);
				return { value: index, result: { result, dropped } };
			},
			undefined,
			fence,
		);
		for (const postId of dropped) {
			await this.#kv.modify(postKey(postId), () => ({ value: undefined, result: undefined }), undefined, fence);
		}
		return result;
	}

	#prune(index: WatchIndex, now: number): number[] {
		const dropped: number[] = [];
		const drop = (id: string) => {
			delete index.posts[id];
			dropped.push(Number(id));
		};
		for (const [id, entry] of Object.entries(index.posts)) {
			for (const [sid, until] of Object.entries(entry.gates)) if (until <= now) delete entry.gates[sid];
			const gated = Object.keys(entry.gates).length > 0;
			if (!gated && (now - entry.createdAt > this.retentionMs || entry.subs.length === 0)) drop(id);
		}
		const ids = Object.keys(index.posts);
		if (ids.length > this.maxWatched) {
			ids.sort((a, b) => (index.posts[a]?.createdAt ?? 0) - (index.posts[b]?.createdAt ?? 0));
			for (const id of ids.slice(0, ids.length - this.maxWatched)) drop(id);
		}
		return dropped;
	}
}
