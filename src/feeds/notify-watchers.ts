/**
 * What the notification jobs share: an outbox entry's payload, and the cycle's users indexed the
 * way the polls need them (see notify-fanout.ts).
 */
import { FIREHOSE_POLL_KEY, type NotifyProfile, tagPollKeyOf } from "../store/index.js";
import type { FeedPostPayload } from "./payload.js";

/** Why a post was sent to a user: an imgpile user they follow, or one of their tags. */
export interface NotifyReason {
	follow?: string;
	tag?: string;
}

/** An entry of the notifications outbox: the post as it was read, and why it is sent. */
export interface NotifyPayload {
	v: 1;
	post: FeedPostPayload;
	reason: NotifyReason;
}

export function isNotifyPayload(value: unknown): value is NotifyPayload {
	if (typeof value !== "object" || value === null) return false;
	const payload = value as Partial<NotifyPayload>;
	return payload.v === 1 && typeof payload.post === "object" && payload.post !== null;
}

/** This cycle's users with notifications on, indexed the way the polls need them. */
export interface NotifyWatchers {
	/** Every active profile, paused ones too (their waiting batches are kept, nothing new is queued). */
	profiles: NotifyProfile[];
	/** Followed imgpile username (lowercased) → the users who follow it with follows on. */
	byFollow: Map<string, NotifyProfile[]>;
	/** Tag (lowercased) → the users who asked for it. */
	byTag: Map<string, NotifyProfile[]>;
}

export function watchersOf(profiles: readonly NotifyProfile[]): NotifyWatchers {
	const byFollow = new Map<string, NotifyProfile[]>();
	const byTag = new Map<string, NotifyProfile[]>();
	const add = (map: Map<string, NotifyProfile[]>, key: string, profile: NotifyProfile) => {
		const list = map.get(key);
		if (list) list.push(profile);
		else map.set(key, [profile]);
	};
	for (const profile of profiles) {
		if (profile.paused) continue;
		if (profile.follows) for (const username of profile.following ?? []) add(byFollow, username, profile);
		for (const tag of profile.tags) add(byTag, tag, profile);
	}
	return { profiles: [...profiles], byFollow, byTag };
}

/** The polls notifications need: the firehose when anyone follows someone, one per tag. */
export function notifyPollKeys(watchers: NotifyWatchers): string[] {
	const keys = [...watchers.byTag.keys()].map(tagPollKeyOf);
	if (watchers.byFollow.size > 0) keys.unshift(FIREHOSE_POLL_KEY);
	return keys;
}
