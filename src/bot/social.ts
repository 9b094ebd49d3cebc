/**
 * The social side of imgpile in Discord, shared by /vote, /follow, /comment, /profile: paged
 * reads, the "imgpile is busy" note of personal actions, what a vote did, and the coalesced
 * refresh of a vote score shown on a message. Their buttons are in src/discord/buttons.ts.
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
import { type ButtonInteraction, MessageFlags, Routes } from "discord.js";
import { type VoteDirection, type VoteKind, withVoteScore } from "../discord/index.js";
import type { Page } from "../imgpile/index.js";
import { userMessage } from "./errors.js";
import type { HandlerContext } from "./types.js";

/** imgpile's page size, used by the follower and comment lists. */
export const LIST_PAGE_SIZE = 10;
/** When a personal action still runs after this long, its deferred reply says imgpile is busy. */
const BUSY_NOTE_MS = 3_000;
/** At most one refresh of the score shown on a message per this interval. */
export const VOTE_REFRESH_MS = 2_000;

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
		const shown = noted ? userMessage(ctx.t, error) : undefined;
		if (shown === undefined) throw error;
		await ctx.respond.edit({ content: shown, allowedMentions: { parse: [] } });
	} finally {
		clearTimeout(timer);
	}
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
 * After a vote button click: shows `score` on the clicked message, coalesced per message. The
 * message is read again just before the edit so that only the label changes (a page turned
 * meanwhile is kept); if it cannot be read, the clicked snapshot is used.
 */
export function scheduleVoteRefresh(
	ctx: Pick<HandlerContext, "log" | "voteRefresher">,
	interaction: ButtonInteraction,
	kind: VoteKind,
	id: number,
	score: number,
): void {
	const message = interaction.message;
	// No refresher where no bot runs (unit tests); ephemeral messages show no shared score.
	if (!ctx.voteRefresher || message.flags.has(MessageFlags.Ephemeral)) return;
	const rest = interaction.client.rest;
	const route = Routes.channelMessage(interaction.channelId, message.id);
	const snapshot: unknown[] = message.components.map((component) => component.toJSON());
	ctx.voteRefresher.schedule(
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
