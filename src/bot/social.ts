/**
 * The social side of imgpile in Discord, shared by /vote, /follow, /comment, /profile and by any
 * message showing a post: vote and follow buttons, usernames as typed, paged lists, the
 * "imgpile is busy" note of personal actions, and the coalesced refresh of a vote score shown on
 * a message.
 *
 * Decisions:
 * - Votes toggle on imgpile. To say what a vote did ("upvoted", "vote removed", "switched to
 *   downvote") the bot reads the post first (`isUpvotedByUser` / `isDownvotedByUser`, with the
 *   voter's token) when it has the slug. The API reads posts by slug only, so for a numeric id
 *   (the vote buttons, `/vote post target:123`) and for comments (no read endpoint) it votes
 *   first and tells from imgpile's answer: a message saying the vote was removed means removed,
 *   anything else means the vote is now the one cast. A switch is then told as the new vote.
 * - A vote button answers the clicker ephemerally at once; the score shown on the message is
 *   refreshed at most once per message every VOTE_REFRESH_MS, the last answer's score winning.
 *   The pending refresh lives in memory (lost on restart; the vote itself is on imgpile). Only
 *   messages others see are refreshed (an ephemeral message cannot be edited by channel).
 */
import {
	type ActionRowData,
	type ButtonInteraction,
	ButtonStyle,
	ComponentType,
	type MessageActionRowComponentData,
	MessageFlags,
	Routes,
} from "discord.js";
import type { Translate } from "../i18n/index.js";
import type { Page } from "../imgpile/index.js";
import { customId } from "./custom-id.js";
import { isImgpileError, UserError, userErrorFromImgpile } from "./errors.js";
import type { HandlerContext } from "./types.js";
import { escapeText, quoteInput, truncate } from "./views.js";

/** custom_id names: `vote:{post|comment}:{id}:{up|down}`, `follow:{username}`, lists `{name}:{username}:{page}`. */
export const VOTE_BUTTON = "vote";
export const FOLLOW_BUTTON = "follow";
export const FOLLOWERS_BUTTON = "followers";
export const FOLLOWING_BUTTON = "following";
export const PROFILE_BUTTON = "profile";
export const COMMENTS_BUTTON = "comments";

/** imgpile's page size, used by the follower and comment lists. */
export const LIST_PAGE_SIZE = 10;
/** When a personal action still runs after this long, its deferred reply says imgpile is busy. */
export const BUSY_NOTE_MS = 3_000;
/** At most one refresh of the score shown on a message per this interval. */
export const VOTE_REFRESH_MS = 2_000;

export type VoteKind = "post" | "comment";
export type VoteDirection = "up" | "down";

// ── Buttons for messages showing a post ─────────────────────────────────────

export function voteCustomId(kind: VoteKind, id: number, direction: VoteDirection): string {
	return customId(VOTE_BUTTON, kind, id, direction);
}

export function upvoteLabel(score: number): string {
	return `▲ ${score}`;
}

/** ▲ {score} and ▼ buttons; clicking one votes as the clicker. */
export function voteButtons(post: { id: number; score: number }): MessageActionRowComponentData[] {
	return [
		{
			type: ComponentType.Button,
			style: ButtonStyle.Secondary,
			label: upvoteLabel(post.score),
			customId: voteCustomId("post", post.id, "up"),
		},
		{
			type: ComponentType.Button,
			style: ButtonStyle.Secondary,
			label: "▼",
			customId: voteCustomId("post", post.id, "down"),
		},
	];
}

/** A Follow button for an imgpile user; clicking it follows as the clicker. */
export function followButton(t: Translate, username: string): MessageActionRowComponentData {
	return {
		type: ComponentType.Button,
		style: ButtonStyle.Primary,
		label: truncate(t("follow.button", { username }), 80),
		customId: customId(FOLLOW_BUTTON, username),
	};
}

/** The row of vote buttons for a post (upload answers, `/post show`, feed announcements), plus `extra` buttons. */
export function voteRow(
	post: { id: number; score: number },
	...extra: MessageActionRowComponentData[]
): ActionRowData<MessageActionRowComponentData> {
	return { type: ComponentType.ActionRow, components: [...voteButtons(post), ...extra] };
}

export function followRow(t: Translate, username: string): ActionRowData<MessageActionRowComponentData> {
	return { type: ComponentType.ActionRow, components: [followButton(t, username)] };
}

/** Vote buttons, and a Follow button for the author when the post has one (with a valid username). */
export function postSocialRow(
	t: Translate,
	post: { id: number; score: number; user: { username: string } | null },
): ActionRowData<MessageActionRowComponentData> {
	const author = post.user?.username;
	return author && USERNAME.test(author) ? voteRow(post, followButton(t, author)) : voteRow(post);
}

// ── Usernames ───────────────────────────────────────────────────────────────

export const USERNAME = /^[A-Za-z0-9_.-]{1,40}$/;

/** An imgpile username as typed (a leading `@` is dropped); anything else is refused before asking imgpile. */
export function parseUsername(input: string): string {
	const text = input.trim().replace(/^@/, "");
	if (!USERNAME.test(text)) throw new UserError("social.badUsername", { input: quoteInput(input.trim()) });
	return text;
}

/** A username in message text: bold, markdown-safe. */
export function boldName(username: string): string {
	return `**${escapeText(username)}**`;
}

/** The `{username}` and `{page}` of a list button, checked. */
export function listButtonArgs(args: string[]): { username: string; page: number } {
	const [username = "", pageText = ""] = args;
	const page = Number(pageText);
	if (!USERNAME.test(username) || !Number.isInteger(page) || page < 1) throw new UserError("error.unknownAction");
	return { username, page };
}

// ── Paged lists ─────────────────────────────────────────────────────────────

/**
 * Page `page` of a listing; past the end (the list shrank since the buttons were made) the last
 * page instead.
 */
export async function readPage<T>(read: (page: number) => Promise<Page<T>>, page: number): Promise<Page<T>> {
	const found = await read(page);
	if (found.data.length === 0 && page > found.meta.last_page) return read(found.meta.last_page);
	return found;
}

/** "Page 2 of 3 · 25 in all". */
export function pageFooter(t: Translate, page: Pick<Page<unknown>, "meta">): string {
	return t("social.page", {
		page: page.meta.current_page,
		pages: Math.max(1, page.meta.last_page),
		total: page.meta.total,
	});
}

/**
 * Previous/Next buttons for page `current`, their state in the custom_id
 * (`{name}:{username}:{page}`) so they work after a restart. `hasPrev`/`hasNext` follow
 * imgpile's `links.prev` / `links.next`.
 */
export function pageRow(
	t: Translate,
	name: string,
	username: string,
	current: number,
	hasPrev: boolean,
	hasNext: boolean,
): ActionRowData<MessageActionRowComponentData> {
	return {
		type: ComponentType.ActionRow,
		components: [
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.prev"),
				customId: customId(name, username, Math.max(0, current - 1)),
				disabled: !hasPrev || current <= 1,
			},
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.next"),
				customId: customId(name, username, current + 1),
				disabled: !hasNext,
			},
		],
	};
}

// ── Personal actions ────────────────────────────────────────────────────────

/**
 * Runs a personal action (vote, follow, comment): the reply is deferred (ephemeral) at once;
 * when `work` still runs after BUSY_NOTE_MS (the client waiting out imgpile's Retry-After) the
 * reply says imgpile is busy, and the answer (or the error) then replaces that note.
 */
export async function runAction(ctx: HandlerContext, work: () => Promise<string>): Promise<void> {
	await ctx.respond.defer({ ephemeral: true });
	let state = "running" as "running" | "noted" | "done";
	const timer = setTimeout(() => {
		if (state !== "running") return;
		state = "noted";
		ctx.respond
			.edit({ content: ctx.t("social.busy") })
			.catch((error: unknown) => ctx.log.warn({ err: error }, "could not show the busy note"));
	}, BUSY_NOTE_MS);
	try {
		const content = await work();
		state = "done";
		await ctx.respond.edit({ content, allowedMentions: { parse: [] } });
	} catch (error) {
		const noted = state === "noted";
		state = "done";
		// Once the note is shown the central catch would add a second message; replace the note instead.
		const shown = noted ? userFacing(error) : undefined;
		if (!shown) throw error;
		await ctx.respond.edit({ content: ctx.t(shown.key, shown.params), allowedMentions: { parse: [] } });
	} finally {
		clearTimeout(timer);
	}
}

function userFacing(error: unknown): UserError | undefined {
	if (error instanceof UserError) return error;
	if (isImgpileError(error)) return userErrorFromImgpile(error);
	return undefined;
}

// ── Votes ───────────────────────────────────────────────────────────────────

export type VoteOutcome = "upvoted" | "downvoted" | "removed" | "switchedUp" | "switchedDown";

/**
 * What a vote did. `prior` is the voter's vote before (read from the post), or undefined when it
 * could not be read: then imgpile's answer tells whether the toggle removed the vote.
 */
export function voteOutcome(
	direction: VoteDirection,
	prior: VoteDirection | "none" | undefined,
	message: string,
): VoteOutcome {
	if (prior === direction) return "removed";
	if (prior === undefined && /\b(remov|undo|undone|cancel|withdr|unvot)/i.test(message)) return "removed";
	if (prior === undefined || prior === "none") return direction === "up" ? "upvoted" : "downvoted";
	return direction === "up" ? "switchedUp" : "switchedDown";
}

export const VOTE_OUTCOME_KEYS = {
	upvoted: "vote.upvoted",
	downvoted: "vote.downvoted",
	removed: "vote.removed",
	switchedUp: "vote.switchedUp",
	switchedDown: "vote.switchedDown",
} as const;

/**
 * The message components (API JSON) with the ▲ label of `kind`/`id` showing `score`; `changed`
 * is false when the message already shows it (or has no such button).
 */
export function withVoteScore(
	components: readonly unknown[],
	kind: VoteKind,
	id: number,
	score: number,
): { components: unknown[]; changed: boolean } {
	const target = voteCustomId(kind, id, "up");
	const label = upvoteLabel(score);
	let changed = false;
	const visit = (node: unknown): unknown => {
		if (typeof node !== "object" || node === null) return node;
		const record = node as Record<string, unknown>;
		if (record.type === ComponentType.Button && record.custom_id === target) {
			if (record.label === label) return node;
			changed = true;
			return { ...record, label };
		}
		if (!Array.isArray(record.components)) return node;
		return { ...record, components: record.components.map(visit) };
	};
	const updated = components.map(visit);
	return { components: updated, changed };
}

/**
 * Per-key trailing throttle: the first `schedule` for a key runs after `intervalMs`; schedules
 * arriving meanwhile replace the pending run (the last wins). So at most one run per key per
 * interval, and none is lost while the process lives.
 */
export class Coalescer {
	readonly #intervalMs: number;
	readonly #pending = new Map<string, { run: () => Promise<void> }>();

	constructor(intervalMs: number) {
		this.#intervalMs = intervalMs;
	}

	get pending(): number {
		return this.#pending.size;
	}

	schedule(key: string, run: () => Promise<void>, onError: (error: unknown) => void): void {
		const waiting = this.#pending.get(key);
		if (waiting) {
			waiting.run = run;
			return;
		}
		const entry = { run };
		this.#pending.set(key, entry);
		const timer = setTimeout(() => {
			this.#pending.delete(key);
			entry.run().catch(onError);
		}, this.#intervalMs);
		timer.unref();
	}
}

const voteRefresher = new Coalescer(VOTE_REFRESH_MS);

/**
 * After a vote button click: shows `score` on the clicked message, coalesced per message. The
 * message is read again just before the edit so that only the label changes (a page turned
 * meanwhile is kept); if it cannot be read, the clicked snapshot is used.
 */
export function scheduleVoteRefresh(
	ctx: Pick<HandlerContext, "log">,
	interaction: ButtonInteraction,
	kind: VoteKind,
	id: number,
	score: number,
): void {
	const message = interaction.message;
	if (message.flags.has(MessageFlags.Ephemeral)) return;
	const rest = interaction.client.rest;
	const route = Routes.channelMessage(interaction.channelId, message.id);
	const snapshot: unknown[] = message.components.map((component) => component.toJSON());
	voteRefresher.schedule(
		message.id,
		async () => {
			let current = snapshot;
			try {
				const fetched = (await rest.get(route)) as { components?: unknown[] };
				if (Array.isArray(fetched.components)) current = fetched.components;
			} catch (error) {
				ctx.log.debug(
					{ err: error, messageId: message.id },
					"could not read the message to refresh; using the clicked one",
				);
			}
			const { components, changed } = withVoteScore(current, kind, id, score);
			if (!changed) return;
			await rest.patch(route, { body: { components } });
		},
		(error) => ctx.log.warn({ err: error, messageId: message.id }, "could not refresh the score shown on a message"),
	);
}
