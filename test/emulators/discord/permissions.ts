/**
 * Permission bits and Discord's permission algorithm (base permissions from roles, then channel
 * overwrites: @everyone, roles, member; threads use their parent; no VIEW_CHANNEL means nothing;
 * no SEND_MESSAGES drops the permissions that depend on it).
 */
import { PermissionFlagsBits } from "discord.js";

export type PermissionName = keyof typeof PermissionFlagsBits;
export type PermissionInput = bigint | string | number | readonly PermissionName[];

export const P = PermissionFlagsBits;
export const ALL_PERMISSIONS: bigint = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);

/** What a new guild's @everyone gets (close to Discord's default for new servers). */
export const DEFAULT_EVERYONE_PERMISSIONS: bigint = bits([
	"CreateInstantInvite",
	"AddReactions",
	"Stream",
	"ViewChannel",
	"SendMessages",
	"EmbedLinks",
	"AttachFiles",
	"ReadMessageHistory",
	"UseExternalEmojis",
	"Connect",
	"Speak",
	"UseVAD",
	"ChangeNickname",
	"UseApplicationCommands",
	"RequestToSpeak",
	"CreatePublicThreads",
	"CreatePrivateThreads",
	"UseExternalStickers",
	"SendMessagesInThreads",
	"UseEmbeddedActivities",
	"SendVoiceMessages",
	"SendPolls",
	"UseExternalApps",
]);

/** The bot's managed role: what the README asks for in the invite URL. */
export const DEFAULT_BOT_PERMISSIONS: bigint = bits([
	"ViewChannel",
	"SendMessages",
	"SendMessagesInThreads",
	"EmbedLinks",
	"AttachFiles",
	"ReadMessageHistory",
	"UseExternalEmojis",
]);

export function bits(names: readonly PermissionName[]): bigint {
	let out = 0n;
	for (const name of names) {
		const bit = PermissionFlagsBits[name];
		if (bit === undefined) throw new Error(`Unknown permission name "${name}"`);
		out |= bit;
	}
	return out;
}

export function toBits(input: PermissionInput | undefined): bigint {
	if (input === undefined) return 0n;
	if (typeof input === "bigint") return input;
	if (typeof input === "number") return BigInt(input);
	if (typeof input === "string") return BigInt(input);
	return bits(input);
}

export function permissionNames(value: bigint): PermissionName[] {
	return (Object.keys(PermissionFlagsBits) as PermissionName[]).filter((k) => (value & PermissionFlagsBits[k]) !== 0n);
}

export interface Overwrite {
	id: string;
	/** 0 role, 1 member */
	type: 0 | 1;
	allow: bigint;
	deny: bigint;
}

export interface PermissionSubject {
	guildId: string;
	ownerId: string;
	/** Role id -> permissions (includes @everyone = guild id). */
	rolePermissions: (roleId: string) => bigint | undefined;
	memberRoles: readonly string[];
	userId: string;
}

export function basePermissions(s: PermissionSubject): bigint {
	if (s.userId === s.ownerId) return ALL_PERMISSIONS;
	let perms = s.rolePermissions(s.guildId) ?? 0n;
	for (const roleId of s.memberRoles) perms |= s.rolePermissions(roleId) ?? 0n;
	if ((perms & P.Administrator) !== 0n) return ALL_PERMISSIONS;
	return perms;
}

/** Permissions in a channel; `isThread` keeps Embed Links / Attach Files when only Send Messages is denied. */
export function channelPermissions(s: PermissionSubject, overwrites: readonly Overwrite[], isThread = false): bigint {
	const base = basePermissions(s);
	if ((base & P.Administrator) !== 0n) return ALL_PERMISSIONS;
	let perms = base;
	const everyone = overwrites.find((o) => o.id === s.guildId);
	if (everyone) perms = (perms & ~everyone.deny) | everyone.allow;
	let allow = 0n;
	let deny = 0n;
	for (const o of overwrites) {
		if (o.type === 0 && o.id !== s.guildId && s.memberRoles.includes(o.id)) {
			allow |= o.allow;
			deny |= o.deny;
		}
	}
	perms = (perms & ~deny) | allow;
	const member = overwrites.find((o) => o.type === 1 && o.id === s.userId);
	if (member) perms = (perms & ~member.deny) | member.allow;
	if ((perms & P.ViewChannel) === 0n) return 0n;
	if (!isThread && (perms & P.SendMessages) === 0n) {
		perms &= ~(P.SendTTSMessages | P.MentionEveryone | P.EmbedLinks | P.AttachFiles);
	}
	return perms;
}
