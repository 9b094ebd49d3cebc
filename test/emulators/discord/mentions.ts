/**
 * Mentions as Discord computes them when a message is sent or its content edited: parsed from
 * the content only (never embeds), filtered by `allowed_mentions`, then by the sender's
 * permissions (@everyone / @here need Mention Everyone; a role pings only when it is mentionable
 * or the sender has Mention Everyone). Without `allowed_mentions` Discord parses everything in the
 * content and pings the author of a replied-to message; with it, only what it allows, and the
 * replied-to author only with `replied_user: true`. Interaction responses and webhook messages
 * follow the same rules (Discord's default for them also parses the content).
 */
import { P } from "./permissions.js";
import type { Channel, Message, User } from "./state.js";
import type { FieldError } from "./validation.js";

export interface Mentions {
	users: User[];
	roles: string[];
	/** Who `@everyone` / `@here` reached, when it did. */
	everyone: "everyone" | "here" | null;
}

export const NO_MENTIONS: Mentions = { users: [], roles: [], everyone: null };

/** One notification Discord would send for a message: to a user, a role's members, or everyone. */
export interface Ping {
	/** Clock time (ms). */
	at: number;
	target: "user" | "role" | "everyone" | "here";
	/** User or role id; the guild id for everyone / here. */
	id: string;
	messageId: string;
	channelId: string;
	guildId: string | null;
	/** What the bot did to the message: "message", "callback", "followup" or "edit". */
	via: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const ids = (v: unknown): string[] | null => (Array.isArray(v) ? v.map(String) : null);

/** Discord refuses `parse: ["users"]` with a `users` list (and the same for roles). */
export function allowedMentionsErrors(body: Record<string, unknown>, prefix: Array<string | number>): FieldError[] {
	const allowed = body.allowed_mentions;
	if (!isObj(allowed) || !Array.isArray(allowed.parse)) return [];
	const out: FieldError[] = [];
	for (const kind of ["users", "roles"] as const) {
		if (allowed.parse.includes(kind) && Array.isArray(allowed[kind]) && allowed[kind].length > 0) {
			out.push({
				path: [...prefix, "allowed_mentions", "parse"],
				code: "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
				message: `parse:["${kind}"] and ${kind}: [ids...] are mutually exclusive.`,
			});
		}
	}
	return out;
}

/** The mentions of `content` sent by someone with `senderPermissions` in `channel`. */
export function computeMentions(opts: {
	channel: Channel;
	content: string;
	/** The body's `allowed_mentions` (undefined/null: Discord's default, parse everything). */
	allowed: unknown;
	senderPermissions: bigint;
	/** The message replied to, for `replied_user`. */
	repliedTo: Message | null;
	author: User;
}): Mentions {
	const { channel, content } = opts;
	const world = channel.world;
	const guild = channel.guild;
	const given = isObj(opts.allowed) ? opts.allowed : null;
	const parse = given ? (Array.isArray(given.parse) ? given.parse.map(String) : []) : ["users", "roles", "everyone"];
	const userList = given ? ids(given.users) : null;
	const roleList = given ? ids(given.roles) : null;
	const repliedUser = given ? given.replied_user === true : true;
	const mayEveryone = (opts.senderPermissions & P.MentionEveryone) !== 0n;

	const users: User[] = [];
	const addUser = (user: User | undefined) => {
		if (user && !users.includes(user)) users.push(user);
	};
	for (const match of content.matchAll(/<@!?(\d+)>/g)) {
		const id = match[1] ?? "";
		if (parse.includes("users") || userList?.includes(id)) addUser(world.users.get(id));
	}
	if (repliedUser && opts.repliedTo && opts.repliedTo.author !== opts.author) addUser(opts.repliedTo.author);

	const roles: string[] = [];
	if (guild) {
		for (const match of content.matchAll(/<@&(\d+)>/g)) {
			const id = match[1] ?? "";
			const role = guild.roles.get(id);
			if (!role || role.isEveryone || roles.includes(id)) continue;
			if (!(parse.includes("roles") || roleList?.includes(id))) continue;
			if (role.mentionable || mayEveryone) roles.push(id);
		}
	}

	let everyone: Mentions["everyone"] = null;
	if (guild && parse.includes("everyone") && mayEveryone) {
		if (content.includes("@everyone")) everyone = "everyone";
		else if (content.includes("@here")) everyone = "here";
	}
	return { users, roles, everyone };
}

/** The pings a message's current mentions call for that were not sent for it before (`sent` is updated). */
export function newPings(msg: Message, sent: Set<string>, at: number, via: string): Ping[] {
	if (msg.ephemeral) return [];
	const { users, roles, everyone } = msg.mentionsOf;
	const guild = msg.channel.guild;
	const base = { at, messageId: msg.id, channelId: msg.channel.id, guildId: guild?.id ?? null, via };
	const out: Ping[] = [];
	const add = (target: Ping["target"], id: string) => {
		const key = `${target}:${id}`;
		if (sent.has(key)) return;
		sent.add(key);
		out.push({ ...base, target, id });
	};
	for (const user of users) {
		if (user === msg.author) continue;
		// Only someone who can see the message is notified of it.
		if (guild && (msg.channel.permissionsFor(user.id) & P.ViewChannel) === 0n) continue;
		add("user", user.id);
	}
	for (const role of roles) add("role", role);
	if (everyone && guild) add(everyone, guild.id);
	return out;
}
