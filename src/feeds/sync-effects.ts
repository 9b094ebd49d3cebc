/**
 * Live sync's effects on Discord (see sync.ts): one announcement edited to show its post as
 * imgpile has it now, rendered as it was first (render.ts), or, the post gone, deleted or turned
 * into the "removed" note. Each is idempotent (a repeat after a crash PATCHes the same content,
 * or DELETEs a message already gone: 10008, done), and never pings (`allowed_mentions` parse []).
 */
import { RESTJSONErrorCodes, type RESTPatchAPIChannelMessageJSONBody } from "discord.js";
import type { AnnouncementMessage, FeedSubscription } from "../store/index.js";
import { classifyDiscordError } from "./discord.js";
import { announcement, digest, type FeedPostPayload, isPayload } from "./render.js";
import { type FeedRuntime, translatorFor } from "./runtime.js";
import { forumPostName } from "./styles.js";

/**
 * Edits (or deletes, or turns into the note) one message so it shows `next` (null: the post is
 * gone). "lost": the message or its channel is gone, or out of reach; "later": try again.
 */
export async function effect(
	rt: FeedRuntime,
	sub: FeedSubscription,
	postId: number,
	message: AnnouncementMessage,
	next: FeedPostPayload | null,
): Promise<"done" | "lost" | "later"> {
	let channelNsfw: boolean;
	try {
		const channel = await rt.discord.channelInfo(message.channelId, sub.guildId);
		if (!channel) return "later";
		channelNsfw = channel.nsfw;
	} catch (error) {
		return failed(rt, message, error);
	}
	const t = translatorFor(rt, sub.guildId);
	try {
		if (message.kind === "digest") {
			const posts = await digestPosts(rt, sub, message, postId, next);
			if (posts.length > 0) {
				const body = digest(t, posts, {
					channelNsfw,
					marker: message.marker,
					filters: sub.filters,
					subscriptionId: sub.id,
					style: sub.style,
					mentionRoleId: sub.mentionRoleId,
				});
				await rt.discord.edit(message.channelId, message.messageId, editOf(body));
				return "done";
			}
		} else if (next) {
			// In the feed's style, as it was sent (the edit itself pings nobody).
			const look = { style: sub.style, mentionRoleId: sub.mentionRoleId };
			const body = announcement(t, next, { channelNsfw, marker: message.marker, ...look });
			await rt.discord.edit(message.channelId, message.messageId, editOf(body));
			// A forum post's first message has the post's id: the post is named after the title too.
			const shown = isPayload(message.shown) ? message.shown : undefined;
			if (message.channelId === message.messageId && shown?.title !== next.title) {
				await rt.discord.renamePost(message.channelId, forumPostName(t, next));
			}
			return "done";
		}
		if (sub.removed === "note") {
			await rt.discord.edit(message.channelId, message.messageId, {
				content: t("feed.sync.removed"),
				embeds: [],
				components: [],
			});
		} else {
			await rt.discord.delete(message.channelId, message.messageId);
		}
		return "done";
	} catch (error) {
		// Deleting a message already gone is what a repeat after a crash looks like: done.
		if (isUnknownMessage(error)) return next === null && sub.removed === "delete" ? "done" : "lost";
		return failed(rt, message, error);
	}
}

/** The digest's posts as it should show them now: the others as shown, this one as `next` (or left out). */
async function digestPosts(
	rt: FeedRuntime,
	sub: FeedSubscription,
	message: AnnouncementMessage,
	postId: number,
	next: FeedPostPayload | null,
): Promise<FeedPostPayload[]> {
	const records = await rt.store.announcements.getMany(message.postIds);
	const posts: FeedPostPayload[] = [];
	for (const [i, id] of message.postIds.entries()) {
		if (id === postId) {
			if (next) posts.push(next);
			continue;
		}
		const other = records[i]?.messages.find(
			(m) => m.subscriptionId === sub.id && m.messageId === message.messageId && m.state === "shown",
		);
		if (other && isPayload(other.shown)) posts.push(other.shown);
	}
	return posts;
}

/** A sent message's body as an edit: no nonce, and never a ping (the edit says parse []). */
function editOf(body: {
	content?: string;
	embeds?: RESTPatchAPIChannelMessageJSONBody["embeds"];
	components?: RESTPatchAPIChannelMessageJSONBody["components"];
}): RESTPatchAPIChannelMessageJSONBody {
	const edit: RESTPatchAPIChannelMessageJSONBody = {
		embeds: body.embeds ?? [],
		components: body.components ?? [],
		allowed_mentions: { parse: [] },
	};
	if (body.content !== undefined) edit.content = body.content;
	return edit;
}

function isUnknownMessage(error: unknown): boolean {
	return (error as { code?: unknown } | null)?.code === RESTJSONErrorCodes.UnknownMessage;
}

function failed(rt: FeedRuntime, message: AnnouncementMessage, error: unknown): "lost" | "later" {
	const failure = classifyDiscordError(error);
	if (failure.kind === "gone" || failure.kind === "forbidden") {
		rt.log.info(
			{ channelId: message.channelId, messageId: message.messageId, reason: failure.reason },
			"live sync: announcement out of reach, no longer kept in sync",
		);
		return "lost";
	}
	rt.log.warn({ err: error, messageId: message.messageId }, "live sync: Discord refused an edit; later");
	return "later";
}
