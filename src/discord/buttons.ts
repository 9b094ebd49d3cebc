/**
 * Buttons on messages showing imgpile things: vote and follow buttons of a post (on `/post show`
 * and on feed announcements alike), paged-list buttons, and the confirm/cancel of a deletion.
 * Their custom_ids carry all their state (see custom-id.ts); the handlers live in commands/.
 * Built as Discord API JSON, which discord.js takes as is and the feeds post over REST.
 */
import { type APIActionRowComponent, type APIButtonComponent, ButtonStyle, ComponentType } from "discord.js";
import type { Translate } from "../i18n/index.js";
import type { Page } from "../imgpile/index.js";
import { customId } from "./custom-id.js";
import { truncate } from "./text.js";

/** custom_id names: `vote:{post|comment}:{id}:{up|down}`, `follow:{username}`, lists `{name}:{username}:{page}`. */
export const VOTE_BUTTON = "vote";
export const FOLLOW_BUTTON = "follow";
export const FOLLOWERS_BUTTON = "followers";
export const FOLLOWING_BUTTON = "following";
export const PROFILE_BUTTON = "profile";
export const COMMENTS_BUTTON = "comments";

export type ButtonRow = APIActionRowComponent<APIButtonComponent>;
export type VoteKind = "post" | "comment";
export type VoteDirection = "up" | "down";

/** An imgpile username as the bot accepts it (in custom_ids, and from users). */
export const USERNAME = /^[A-Za-z0-9_.-]{1,40}$/;

function voteCustomId(kind: VoteKind, id: number, direction: VoteDirection): string {
	return customId(VOTE_BUTTON, kind, id, direction);
}

function upvoteLabel(score: number): string {
	return `▲ ${score}`;
}

/**
 * ▲ {score} and ▼ buttons, and a Follow button for the author when it has a valid username;
 * clicking one acts as the clicker.
 */
export function postButtons(
	t: Translate,
	post: { id: number; score: number; username: string | null | undefined },
): APIButtonComponent[] {
	const buttons: APIButtonComponent[] = [
		{
			type: ComponentType.Button,
			style: ButtonStyle.Secondary,
			label: upvoteLabel(post.score),
			custom_id: voteCustomId("post", post.id, "up"),
		},
		{
			type: ComponentType.Button,
			style: ButtonStyle.Secondary,
			label: "▼",
			custom_id: voteCustomId("post", post.id, "down"),
		},
	];
	if (post.username && USERNAME.test(post.username)) {
		buttons.push({
			type: ComponentType.Button,
			style: ButtonStyle.Primary,
			label: truncate(t("follow.button", { username: post.username }), 80),
			custom_id: customId(FOLLOW_BUTTON, post.username),
		});
	}
	return buttons;
}

/** The row of `postButtons` for a post as imgpile answers it. */
export function postSocialRow(
	t: Translate,
	post: { id: number; score: number; user: { username: string } | null },
): ButtonRow {
	return {
		type: ComponentType.ActionRow,
		components: postButtons(t, { id: post.id, score: post.score, username: post.user?.username }),
	};
}

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

// ── Paged lists ─────────────────────────────────────────────────────────────

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
): ButtonRow {
	return {
		type: ComponentType.ActionRow,
		components: [
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.prev"),
				custom_id: customId(name, username, Math.max(0, current - 1)),
				disabled: !hasPrev || current <= 1,
			},
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t("post.button.next"),
				custom_id: customId(name, username, current + 1),
				disabled: !hasNext,
			},
		],
	};
}

// ── Deletions ───────────────────────────────────────────────────────────────

/** The confirm and cancel buttons of a deletion, bound to the user who asked. */
export function confirmRow(
	t: Translate,
	confirmName: string,
	cancelName: string,
	slug: string,
	userId: string,
): ButtonRow[] {
	return [
		{
			type: ComponentType.ActionRow,
			components: [
				{
					type: ComponentType.Button,
					style: ButtonStyle.Danger,
					label: t("delete.button.confirm"),
					custom_id: customId(confirmName, slug, userId),
				},
				{
					type: ComponentType.Button,
					style: ButtonStyle.Secondary,
					label: t("delete.button.cancel"),
					custom_id: customId(cancelName, slug, userId),
				},
			],
		},
	];
}
