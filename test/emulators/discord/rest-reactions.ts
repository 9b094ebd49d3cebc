/**
 * Reaction routes: the bot's own reaction (PUT / DELETE …/reactions/{emoji}/@me) and who reacted
 * (GET …/reactions/{emoji}), with Discord's checks: View Channel (50001), the message (10008), the
 * emoji (unicode, or `name:id` of a custom emoji of a guild the bot is in; else 10014), Read
 * Message History, and Add Reactions when the emoji is new on the message (50013), Use External
 * Emojis for another guild's emoji, at most 20 different emojis (30010), none in an archived
 * thread (50083). MESSAGE_REACTION_ADD / REMOVE go to sessions with the reaction intents. Users'
 * reactions (the test driver's `react`) share `addReaction` / `removeReaction`.
 */
import { DiscordError, errors } from "./http.js";
import { P } from "./permissions.js";
import type { RouteRequest, Router } from "./router.js";
import { type Channel, Intents, type Json, type Message, type ReactionRec, type World } from "./state.js";

/** What the reaction routes need from the REST core (rest.ts builds it). */
export interface ReactionKit {
	world: World;
	channelOr404(id: string): Channel;
	requireView(ch: Channel): void;
	requirePerms(ch: Channel, needed: bigint): void;
	dispatch(t: string, d: unknown, intent: number, guildId: string | null): void;
	event(kind: "reaction" | "unreaction", req: RouteRequest, msg: Message, emoji: string): void;
}

/** Discord keeps at most 20 different emojis on one message. */
export const MAX_REACTION_EMOJIS = 20;

// biome-ignore lint/complexity/useRegexLiterals: the `v` flag (RGI_Emoji) is newer than the TypeScript target
const RGI_EMOJI = new RegExp("^\\p{RGI_Emoji}$", "v");
const CUSTOM_EMOJI = /^(?:a:)?([A-Za-z0-9_]{2,32}):(\d{15,21})$/;

/** An emoji as a reaction names it: unicode (with or without its VS16) or `name:id` of a known custom emoji. */
export function parseReactionEmoji(raw: string, world: World): Omit<ReactionRec, "users"> | null {
	const custom = CUSTOM_EMOJI.exec(raw);
	if (custom) {
		const emoji = world.emoji(custom[2] ?? "");
		if (!emoji || world.guilds.get(emoji.guildId)?.deleted) return null;
		return {
			key: emoji.id,
			emoji: { id: emoji.id, name: emoji.name, ...(emoji.animated ? { animated: true } : {}) },
		};
	}
	// Discord takes "❤" and "❤️" as the same reaction.
	const name = RGI_EMOJI.test(raw) ? raw : RGI_EMOJI.test(`${raw}\uFE0F`) ? `${raw}\uFE0F` : null;
	return name ? { key: name, emoji: { id: null, name } } : null;
}

/** The emoji as the bot's REST calls and events name it. */
export function emojiLabel(rec: Omit<ReactionRec, "users">): string {
	return rec.emoji.id ? `${rec.emoji.name}:${rec.emoji.id}` : rec.emoji.name;
}

const reactionIntent = (ch: Channel) => (ch.guild ? Intents.GuildMessageReactions : Intents.DirectMessageReactions);

/** Adds `userId`'s reaction; returns false when it was already there (Discord's 204, no event). */
export function addReaction(
	dispatch: ReactionKit["dispatch"],
	msg: Message,
	parsed: Omit<ReactionRec, "users">,
	userId: string,
): boolean {
	let rec = msg.reactions.find((r) => r.key === parsed.key);
	if (rec?.users.includes(userId)) return false;
	if (!rec) {
		rec = { ...parsed, users: [] };
		msg.reactions.push(rec);
	}
	rec.users.push(userId);
	const guild = msg.channel.guild;
	const member = guild?.members.get(userId);
	dispatch(
		"MESSAGE_REACTION_ADD",
		{
			user_id: userId,
			channel_id: msg.channel.id,
			message_id: msg.id,
			...(guild ? { guild_id: guild.id } : {}),
			...(member ? { member: member.toAPI() } : {}),
			emoji: parsed.emoji,
			message_author_id: msg.author.id,
			burst: false,
			burst_colors: [],
			type: 0,
		},
		reactionIntent(msg.channel),
		guild?.id ?? null,
	);
	return true;
}

/** Removes `userId`'s reaction; returns false when there was none. */
export function removeReaction(
	dispatch: ReactionKit["dispatch"],
	msg: Message,
	parsed: Omit<ReactionRec, "users">,
	userId: string,
): boolean {
	const idx = msg.reactions.findIndex((r) => r.key === parsed.key && r.users.includes(userId));
	const rec = msg.reactions[idx];
	if (!rec) return false;
	rec.users = rec.users.filter((u) => u !== userId);
	if (rec.users.length === 0) msg.reactions.splice(idx, 1);
	const guild = msg.channel.guild;
	dispatch(
		"MESSAGE_REACTION_REMOVE",
		{
			user_id: userId,
			channel_id: msg.channel.id,
			message_id: msg.id,
			...(guild ? { guild_id: guild.id } : {}),
			emoji: parsed.emoji,
			burst: false,
			type: 0,
		},
		reactionIntent(msg.channel),
		guild?.id ?? null,
	);
	return true;
}

export function addReactionRoutes(r: Router, kit: ReactionKit): void {
	const { world } = kit;
	const bot = world.botUser;

	const target = (req: RouteRequest): { ch: Channel; msg: Message; parsed: Omit<ReactionRec, "users"> } => {
		const ch = kit.channelOr404(req.params.get("channel_id"));
		kit.requireView(ch);
		const msg = world.messages.get(req.params.get("message_id"));
		if (!msg || msg.deleted || msg.channel !== ch || msg.ephemeral) throw errors.unknownMessage();
		const parsed = parseReactionEmoji(req.params.get("emoji"), world);
		if (!parsed) throw new DiscordError(400, { message: "Unknown Emoji", code: 10014 });
		return { ch, msg, parsed };
	};

	const base = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}";

	r.add("PUT", `${base}/@me`, (req) => {
		const { ch, msg, parsed } = target(req);
		const existing = msg.reactions.find((rec) => rec.key === parsed.key);
		let needed = P.ReadMessageHistory;
		// Adding to an emoji already on the message needs only Read Message History, as on Discord.
		if (!existing) needed |= P.AddReactions;
		const emojiGuild = parsed.emoji.id ? world.emoji(parsed.emoji.id)?.guildId : undefined;
		if (emojiGuild && emojiGuild !== ch.guild?.id) needed |= P.UseExternalEmojis;
		kit.requirePerms(ch, needed);
		if (ch.thread?.archived) throw new DiscordError(400, { message: "Thread is archived", code: 50083 });
		if (!existing && msg.reactions.length >= MAX_REACTION_EMOJIS) {
			throw new DiscordError(400, {
				message: `Maximum number of reactions reached (${MAX_REACTION_EMOJIS})`,
				code: 30010,
			});
		}
		if (addReaction(kit.dispatch, msg, parsed, bot.id)) kit.event("reaction", req, msg, emojiLabel(parsed));
		return { status: 204 };
	});

	r.add("DELETE", `${base}/@me`, (req) => {
		const { msg, parsed } = target(req);
		if (removeReaction(kit.dispatch, msg, parsed, bot.id)) kit.event("unreaction", req, msg, emojiLabel(parsed));
		return { status: 204 };
	});

	r.add("GET", base, (req) => {
		const { msg, parsed } = target(req);
		const limit = Math.min(100, Math.max(1, Number(req.query.get("limit") ?? 25) || 25));
		const after = BigInt(req.query.get("after") ?? "0");
		const users = (msg.reactions.find((rec) => rec.key === parsed.key)?.users ?? [])
			.filter((id) => BigInt(id) > after)
			.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
			.slice(0, limit)
			.map((id) => world.users.get(id)?.toAPI())
			.filter((u): u is Json => u !== undefined);
		return { status: 200, body: users };
	});
}
