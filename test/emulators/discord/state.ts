/**
 * The world model: users, guilds, roles, members, channels, threads, messages, attachments. Each
 * record renders itself as Discord's wire shape (`toAPI`). Changes made by tests after the bot
 * connected are dispatched on the gateway through `WorldHooks` (CHANNEL_CREATE, CHANNEL_UPDATE,
 * GUILD_ROLE_CREATE, ...), as Discord would for a bot with the Guilds intent.
 */
import type { Clock, Snowflakes } from "./clock.js";
import { iso } from "./clock.js";
import { type Mentions, NO_MENTIONS } from "./mentions.js";
import {
	channelPermissions,
	DEFAULT_BOT_PERMISSIONS,
	DEFAULT_EVERYONE_PERMISSIONS,
	type Overwrite,
	P,
	type PermissionInput,
	toBits,
} from "./permissions.js";

export type Json = Record<string, unknown>;

export const ChannelType = {
	GuildText: 0,
	DM: 1,
	GroupDM: 3,
	GuildCategory: 4,
	GuildAnnouncement: 5,
	AnnouncementThread: 10,
	PublicThread: 11,
	PrivateThread: 12,
	GuildForum: 15,
	GuildMedia: 16,
} as const;

export const Intents = {
	Guilds: 1 << 0,
	GuildMembers: 1 << 1,
	GuildExpressions: 1 << 3,
	GuildPresences: 1 << 8,
	GuildMessages: 1 << 9,
	GuildMessageReactions: 1 << 10,
	DirectMessages: 1 << 12,
	DirectMessageReactions: 1 << 13,
	MessageContent: 1 << 15,
} as const;

export const MessageFlags = {
	Crossposted: 1 << 0,
	IsCrosspost: 1 << 1,
	SuppressEmbeds: 1 << 2,
	HasThread: 1 << 5,
	Ephemeral: 1 << 6,
	Loading: 1 << 7,
	SuppressNotifications: 1 << 12,
	IsComponentsV2: 1 << 15,
} as const;

/** Channel flags: a forum or media channel with REQUIRE_TAG refuses a post without a tag (40067). */
export const ChannelFlags = {
	RequireTag: 1 << 4,
} as const;

/** A forum or media channel's tag (`available_tags`); a moderated one needs Manage Threads to apply. */
export interface ForumTag {
	id: string;
	name: string;
	moderated: boolean;
}

/** Where bytes of an attachment come from: in memory, a file on disk, or generated on the fly (never held in memory). */
export type AttachmentSource = Buffer | Uint8Array | string | { path: string } | { generate: GenerateSpec };

export interface GenerateSpec {
	size: number;
	/** Bytes placed at the start (e.g. a PNG header so content sniffing works). */
	headBytes?: Buffer | Uint8Array;
}

export interface AttachmentSpec {
	filename: string;
	/** Required for `generate` (or give `source.generate.size`); computed for buffers and files. */
	size?: number;
	/** Default: guessed from the name. `null`: Discord could not tell, and `content_type` is omitted. */
	contentType?: string | null;
	/** Marked as a spoiler by the IS_SPOILER attachment flag (newer clients), not by a SPOILER_ name. */
	spoilerFlag?: boolean;
	/** Other attachment flags. */
	flags?: number;
	source?: AttachmentSource;
	description?: string;
	width?: number;
	height?: number;
	title?: string;
}

export interface WorldHooks {
	/** Send a dispatch to every connected session whose intents (and guild membership) allow it. */
	dispatch(event: string, data: unknown, scope: { guildId?: string | null; intent?: number }): void;
	/** Freshly signed CDN urls for an attachment. */
	attachmentUrls(att: AttachmentRec): { url: string; proxy_url: string };
}

export class User {
	globalName: string | null;
	locale: string;
	avatar: string | null = null;
	/**
	 * The user's privacy setting "Allow direct messages from server members" (and from apps they
	 * installed): off, the bot's DMs are refused with 50007 even though the DM channel opens.
	 */
	acceptsDMs = true;

	constructor(
		readonly id: string,
		readonly username: string,
		readonly bot: boolean,
		opts: { globalName?: string | null; locale?: string } = {},
	) {
		this.globalName = opts.globalName ?? null;
		this.locale = opts.locale ?? "en-US";
	}

	toAPI(): Json {
		const out: Json = {
			id: this.id,
			username: this.username,
			discriminator: this.bot ? "0001" : "0",
			global_name: this.globalName,
			avatar: this.avatar,
			avatar_decoration_data: null,
			public_flags: 0,
			flags: 0,
			primary_guild: null,
			collectibles: null,
			clan: null,
		};
		if (this.bot) out.bot = true;
		return out;
	}

	/** The user turns DMs off (their privacy settings): the bot's messages get 403 50007. */
	closeDMs(): this {
		this.acceptsDMs = false;
		return this;
	}

	/** The user allows DMs again. */
	openDMs(): this {
		this.acceptsDMs = true;
		return this;
	}

	toString(): string {
		return `${this.username} (${this.id})`;
	}
}

/** A guild's custom emoji (`guild.createEmoji`): reactions use it as `name:id`. */
export interface CustomEmoji {
	id: string;
	name: string;
	animated: boolean;
	guildId: string;
}

export class Role {
	color = 0;
	hoist = false;
	mentionable = false;

	constructor(
		readonly guild: Guild,
		readonly id: string,
		public name: string,
		public permissions: bigint,
		public position: number,
		readonly managedBotId: string | null = null,
	) {}

	get isEveryone(): boolean {
		return this.id === this.guild.id;
	}

	/** Change the role's permissions (dispatches GUILD_ROLE_UPDATE). */
	setPermissions(perms: PermissionInput): this {
		this.permissions = toBits(perms);
		this.guild.world.hooks.dispatch(
			"GUILD_ROLE_UPDATE",
			{ guild_id: this.guild.id, role: this.toAPI() },
			{ guildId: this.guild.id, intent: Intents.Guilds },
		);
		return this;
	}

	toAPI(): Json {
		const out: Json = {
			id: this.id,
			name: this.name,
			description: null,
			color: this.color,
			colors: { primary_color: this.color, secondary_color: null, tertiary_color: null },
			hoist: this.hoist,
			icon: null,
			unicode_emoji: null,
			position: this.position,
			permissions: this.permissions.toString(),
			managed: this.managedBotId !== null,
			mentionable: this.mentionable,
			flags: 0,
		};
		if (this.managedBotId) out.tags = { bot_id: this.managedBotId };
		return out;
	}
}

export class Member {
	nick: string | null = null;

	constructor(
		readonly guild: Guild,
		readonly user: User,
		public roles: string[],
		readonly joinedAt: number,
	) {}

	/** Add a role (dispatches GUILD_MEMBER_UPDATE to the bot for itself; other members need GuildMembers). */
	addRole(role: Role): this {
		if (!this.roles.includes(role.id)) this.roles.push(role.id);
		this.dispatchUpdate();
		return this;
	}

	removeRole(role: Role): this {
		this.roles = this.roles.filter((r) => r !== role.id);
		this.dispatchUpdate();
		return this;
	}

	private dispatchUpdate(): void {
		const world = this.guild.world;
		const intent = this.user.id === world.botUser.id ? Intents.Guilds : Intents.GuildMembers;
		world.hooks.dispatch(
			"GUILD_MEMBER_UPDATE",
			{ guild_id: this.guild.id, ...this.toAPI() },
			{ guildId: this.guild.id, intent },
		);
	}

	toAPI(): Json {
		return {
			user: this.user.toAPI(),
			nick: this.nick,
			avatar: null,
			banner: null,
			roles: [...this.roles],
			joined_at: iso(this.joinedAt),
			premium_since: null,
			deaf: false,
			mute: false,
			flags: 0,
			pending: false,
			communication_disabled_until: null,
			unusual_dm_activity_until: null,
		};
	}
}

export interface OverwriteInput {
	allow?: PermissionInput;
	deny?: PermissionInput;
}

export class Channel {
	topic: string | null = null;
	rateLimitPerUser = 0;
	overwrites: Overwrite[] = [];
	lastMessageId: string | null = null;
	/** Message ids in creation order (ephemeral messages are not listed). */
	readonly messageIds: string[] = [];
	deleted = false;
	/** Thread fields; `members`: who joined (a private thread is visible to them, or with Manage Threads). */
	thread: {
		ownerId: string;
		archived: boolean;
		locked: boolean;
		createdAt: number;
		/** When it was last archived or unarchived (`archive_timestamp`). */
		archivedAt: number;
		members: Set<string>;
	} | null = null;
	/** Channel flags (ChannelFlags). */
	flags = 0;
	/** Forum and media channels: the tags a post may apply (`setTags`). */
	availableTags: ForumTag[] = [];
	/** A forum post: the tags applied to it. */
	appliedTags: string[] = [];
	/** Announcement channels: the channels following it (`follow`), which get a copy of every crosspost. */
	readonly followers: Channel[] = [];
	/** Announcement channels: clock times of its crossposts (Discord allows 10 per hour per channel). */
	readonly crosspostTimes: number[] = [];
	/** DM recipient (the bot's DM with this user). */
	recipient: User | null = null;
	/**
	 * A private channel the bot is not in (a group DM, or a DM between two users): its members.
	 * Only user-installed commands reach the bot there; its REST calls to it get 50001.
	 */
	privateRecipients: User[] | null = null;
	/** Threads: `auto_archive_duration` in minutes. */
	autoArchiveDuration = 1440;

	constructor(
		readonly world: World,
		readonly id: string,
		readonly guild: Guild | null,
		readonly type: number,
		public name: string,
		public nsfw: boolean,
		public position: number,
		public parentId: string | null,
	) {}

	get isThread(): boolean {
		return (
			this.type === ChannelType.PublicThread ||
			this.type === ChannelType.PrivateThread ||
			this.type === ChannelType.AnnouncementThread
		);
	}

	/** Whether the bot is in this channel: guild channels and its own DMs, not others' private channels. */
	get botIsIn(): boolean {
		return this.privateRecipients === null;
	}

	/** Forum and media channels hold threads (posts) only: no messages of their own (50008). */
	get isThreadOnly(): boolean {
		return this.type === ChannelType.GuildForum || this.type === ChannelType.GuildMedia;
	}

	get isTextBased(): boolean {
		return this.type !== ChannelType.GuildCategory && !this.isThreadOnly;
	}

	get parent(): Channel | null {
		return this.parentId ? (this.world.channels.get(this.parentId) ?? null) : null;
	}

	/**
	 * Create a thread under this channel: type 11 public (a post, in a forum or media channel), 10
	 * in an announcement channel, or 12 with `private: true` (text channels only). Members: the
	 * owner (default the bot) and `members`; a private thread is visible only to them and to
	 * holders of Manage Threads, and only then announced to the bot.
	 */
	createThread(opts: {
		name: string;
		private?: boolean;
		owner?: User;
		members?: User[];
		/** Forum and media posts: tag ids of `availableTags`. */
		appliedTags?: string[];
		/** A thread started from a message has the message's id. */
		id?: string;
		autoArchiveDuration?: number;
		rateLimitPerUser?: number;
	}): Channel {
		if (!this.guild) throw new Error("Threads need a guild channel");
		if (this.isThread) throw new Error("Cannot create a thread in a thread");
		if (this.type === ChannelType.GuildCategory) throw new Error("Categories have no threads");
		if (opts.private && this.type !== ChannelType.GuildText)
			throw new Error("Private threads exist in text channels only");
		const type = opts.private
			? ChannelType.PrivateThread
			: this.type === ChannelType.GuildAnnouncement
				? ChannelType.AnnouncementThread
				: ChannelType.PublicThread;
		const t = new Channel(
			this.world,
			opts.id ?? this.world.ids.next(),
			this.guild,
			type,
			opts.name,
			this.nsfw,
			0,
			this.id,
		);
		t.autoArchiveDuration = opts.autoArchiveDuration ?? 1440;
		t.rateLimitPerUser = opts.rateLimitPerUser ?? 0;
		const ownerId = (opts.owner ?? this.world.botUser).id;
		t.thread = {
			ownerId,
			archived: false,
			locked: false,
			createdAt: this.world.clock.now(),
			archivedAt: this.world.clock.now(),
			members: new Set([ownerId, ...(opts.members ?? []).map((u) => u.id)]),
		};
		t.appliedTags = [...(opts.appliedTags ?? [])];
		this.world.channels.set(t.id, t);
		this.guild.channelIds.push(t.id);
		if (!t.visibleTo(this.world.botUser.id)) return t;
		this.world.hooks.dispatch(
			"THREAD_CREATE",
			{ ...t.toAPI(), newly_created: true },
			{
				guildId: this.guild.id,
				intent: Intents.Guilds,
			},
		);
		return t;
	}

	/**
	 * Set (replace) the overwrite for a role or member: `channel.setPermissionOverwrite(discord.botUser, { deny: ["SendMessages"] })`.
	 * Dispatches CHANNEL_UPDATE.
	 */
	setPermissionOverwrite(target: Role | User | Member | string, opts: OverwriteInput): this {
		if (!this.guild) throw new Error("DM channels have no overwrites");
		if (this.isThread) throw new Error("Threads take their permissions from the parent channel");
		let id: string;
		let type: 0 | 1;
		if (target instanceof Role) {
			id = target.id;
			type = 0;
		} else if (target instanceof User) {
			id = target.id;
			type = 1;
		} else if (target instanceof Member) {
			id = target.user.id;
			type = 1;
		} else {
			id = target;
			type = this.guild.roles.has(target) ? 0 : 1;
		}
		this.overwrites = this.overwrites.filter((o) => o.id !== id);
		this.overwrites.push({ id, type, allow: toBits(opts.allow), deny: toBits(opts.deny) });
		this.dispatchUpdate();
		return this;
	}

	removePermissionOverwrite(target: Role | User | string): this {
		const id = typeof target === "string" ? target : target.id;
		this.overwrites = this.overwrites.filter((o) => o.id !== id);
		this.dispatchUpdate();
		return this;
	}

	setNsfw(nsfw: boolean): this {
		this.nsfw = nsfw;
		this.dispatchUpdate();
		return this;
	}

	/** Forum and media channels: replace the available tags (new ids); returns them. Dispatches CHANNEL_UPDATE. */
	setTags(
		tags: Array<string | { name: string; moderated?: boolean }>,
		opts: { requireTag?: boolean } = {},
	): ForumTag[] {
		if (!this.isThreadOnly) throw new Error("Only forum and media channels have tags");
		if (tags.length > 20) throw new Error("A forum has at most 20 tags");
		this.availableTags = tags.map((tag) => {
			const { name, moderated } = typeof tag === "string" ? { name: tag, moderated: false } : tag;
			return { id: this.world.ids.next(), name, moderated: moderated ?? false };
		});
		if (opts.requireTag !== undefined) {
			this.flags = opts.requireTag ? this.flags | ChannelFlags.RequireTag : this.flags & ~ChannelFlags.RequireTag;
		}
		this.dispatchUpdate();
		return this.availableTags;
	}

	/** Threads: archive or unarchive (a moderator's action). Dispatches THREAD_UPDATE. */
	setArchived(archived: boolean): this {
		if (!this.thread) throw new Error("Only threads are archived");
		this.thread.archived = archived;
		this.thread.archivedAt = this.world.clock.now();
		this.dispatchUpdate();
		return this;
	}

	/** Threads: lock or unlock (only holders of Manage Threads may then unarchive it or post in it). */
	rename(name: string): this {
		this.name = name;
		this.dispatchUpdate();
		return this;
	}

	setLocked(locked: boolean): this {
		if (!this.thread) throw new Error("Only threads are locked");
		this.thread.locked = locked;
		this.dispatchUpdate();
		return this;
	}

	/** Announcement channels: `target` follows this channel (gets a copy of every crosspost). */
	follow(target: Channel): this {
		if (this.type !== ChannelType.GuildAnnouncement) throw new Error("Only announcement channels can be followed");
		if (!target.guild || target.isThread || !target.isTextBased) throw new Error("Followers are guild text channels");
		if (!this.followers.includes(target)) this.followers.push(target);
		return this;
	}

	/** Delete the channel (dispatches CHANNEL_DELETE / THREAD_DELETE). */
	delete(): void {
		if (this.deleted) return;
		this.deleted = true;
		this.world.channels.delete(this.id);
		if (this.guild) {
			this.guild.channelIds = this.guild.channelIds.filter((c) => c !== this.id);
			if (this.isThread) {
				this.world.hooks.dispatch(
					"THREAD_DELETE",
					{ id: this.id, guild_id: this.guild.id, parent_id: this.parentId, type: this.type },
					{ guildId: this.guild.id, intent: Intents.Guilds },
				);
			} else {
				this.world.hooks.dispatch("CHANNEL_DELETE", this.toAPI(), { guildId: this.guild.id, intent: Intents.Guilds });
				for (const child of [...this.world.channels.values()])
					if (child.parentId === this.id && child.isThread) child.delete();
			}
		}
	}

	private dispatchUpdate(): void {
		if (!this.guild) return;
		this.world.hooks.dispatch(this.isThread ? "THREAD_UPDATE" : "CHANNEL_UPDATE", this.toAPI(), {
			guildId: this.guild.id,
			intent: Intents.Guilds,
		});
	}

	/** Effective permissions of `userId` here, computed like Discord. */
	permissionsFor(userId: string): bigint {
		if (!this.guild) return DM_PERMISSIONS;
		const source = this.isThread ? this.parent : this;
		const member = this.guild.members.get(userId);
		if (!member || !source) return 0n;
		const perms = channelPermissions(this.guild.subject(member), source.overwrites, this.isThread);
		// A private thread: only its members, and those who may manage threads, see it at all.
		if (
			this.type === ChannelType.PrivateThread &&
			!this.thread?.members.has(userId) &&
			(perms & P.ManageThreads) === 0n
		)
			return 0n;
		return perms;
	}

	/** Whether `userId` can see this channel (View Channel). */
	visibleTo(userId: string): boolean {
		return (this.permissionsFor(userId) & P.ViewChannel) !== 0n;
	}

	private overwritesToAPI(): Json[] {
		return this.overwrites.map((o) => ({
			id: o.id,
			type: o.type,
			allow: o.allow.toString(),
			deny: o.deny.toString(),
		}));
	}

	/** Messages in this channel, oldest first (not ephemeral ones). */
	messages(): Message[] {
		return this.messageIds
			.map((id) => this.world.messages.get(id))
			.filter((m): m is Message => m !== undefined && !m.deleted);
	}

	toAPI(): Json {
		if (this.privateRecipients) {
			return {
				id: this.id,
				type: this.type,
				last_message_id: this.lastMessageId,
				flags: 0,
				recipients: this.privateRecipients.map((u) => u.toAPI()),
				...(this.type === ChannelType.GroupDM
					? { name: this.name || null, icon: null, owner_id: this.privateRecipients[0]?.id }
					: {}),
			};
		}
		if (this.type === ChannelType.DM) {
			return {
				id: this.id,
				type: 1,
				last_message_id: this.lastMessageId,
				flags: 0,
				recipients: this.recipient ? [this.recipient.toAPI()] : [],
			};
		}
		const base: Json = {
			id: this.id,
			type: this.type,
			guild_id: this.guild?.id,
			name: this.name,
			last_message_id: this.lastMessageId,
			rate_limit_per_user: this.rateLimitPerUser,
			flags: this.flags,
			parent_id: this.parentId,
		};
		if (this.isThread && this.thread) {
			const count = this.messageIds.length;
			return {
				...base,
				owner_id: this.thread.ownerId,
				message_count: count,
				total_message_sent: count,
				member_count: this.thread.members.size,
				thread_metadata: {
					archived: this.thread.archived,
					auto_archive_duration: this.autoArchiveDuration,
					archive_timestamp: iso(this.thread.archivedAt),
					locked: this.thread.locked,
					create_timestamp: iso(this.thread.createdAt),
					...(this.type === ChannelType.PrivateThread ? { invitable: true } : {}),
				},
				...(this.parent?.isThreadOnly ? { applied_tags: [...this.appliedTags] } : {}),
			};
		}
		const channel: Json = {
			...base,
			position: this.position,
			permission_overwrites: this.overwritesToAPI(),
			nsfw: this.nsfw,
			topic: this.topic,
		};
		if (this.isThreadOnly) {
			// Forum (15) and media (16) channels: tags and defaults for their posts.
			return {
				...channel,
				available_tags: this.availableTags.map((tag) => ({
					id: tag.id,
					name: tag.name,
					moderated: tag.moderated,
					emoji_id: null,
					emoji_name: null,
				})),
				default_reaction_emoji: null,
				default_thread_rate_limit_per_user: 0,
				default_sort_order: null,
				...(this.type === ChannelType.GuildForum ? { default_forum_layout: 0 } : {}),
			};
		}
		return {
			...channel,
			last_pin_timestamp: null,
			...(this.type === ChannelType.GuildText || this.type === ChannelType.GuildAnnouncement
				? { default_thread_rate_limit_per_user: 0 }
				: {}),
		};
	}
}

const DM_PERMISSIONS = 0n;

export interface CreateChannelOptions {
	name: string;
	nsfw?: boolean;
	topic?: string;
	/** "text" (default), "announcement", "forum", "media" or "category". */
	type?: "text" | "announcement" | "forum" | "media" | "category";
	parent?: Channel;
	position?: number;
}

export interface AddMemberOptions {
	/** Permissions granted through a role made for this member (e.g. ["ManageGuild"]). */
	permissions?: PermissionInput;
	roles?: Role[];
	nick?: string;
}

export class Guild {
	readonly roles = new Map<string, Role>();
	/** Custom emojis (`createEmoji`). */
	readonly emojis: CustomEmoji[] = [];
	readonly members = new Map<string, Member>();
	channelIds: string[] = [];
	readonly createdAt: number;
	readonly botRole: Role;
	/** Set when the guild was announced to the gateway (GUILD_CREATE). */
	announced = false;
	deleted = false;
	/** In an outage (emulator.guildUnavailable): announced as GUILD_DELETE { unavailable: true }. */
	unavailable = false;

	constructor(
		readonly world: World,
		readonly id: string,
		public name: string,
		public ownerId: string,
		public preferredLocale: string,
		opts: { everyonePermissions?: PermissionInput; botPermissions?: PermissionInput },
	) {
		this.createdAt = world.clock.now();
		this.roles.set(
			id,
			new Role(this, id, "@everyone", toBits(opts.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS), 0),
		);
		const botRole = new Role(
			this,
			world.ids.next(),
			world.botUser.username,
			toBits(opts.botPermissions ?? DEFAULT_BOT_PERMISSIONS),
			1,
			world.botUser.id,
		);
		this.roles.set(botRole.id, botRole);
		this.botRole = botRole;
		this.members.set(world.botUser.id, new Member(this, world.botUser, [botRole.id], this.createdAt));
	}

	get everyoneRole(): Role {
		const role = this.roles.get(this.id);
		if (!role) throw new Error("no @everyone");
		return role;
	}

	get botMember(): Member {
		const m = this.members.get(this.world.botUser.id);
		if (!m) throw new Error("bot is not a member");
		return m;
	}

	get channels(): Channel[] {
		return this.channelIds.map((id) => this.world.channels.get(id)).filter((c): c is Channel => c !== undefined);
	}

	subject(member: Member) {
		return {
			guildId: this.id,
			ownerId: this.ownerId,
			rolePermissions: (roleId: string) => this.roles.get(roleId)?.permissions,
			memberRoles: member.roles,
			userId: member.user.id,
		};
	}

	/** Permissions of the bot's managed role (dispatches GUILD_ROLE_UPDATE). */
	setBotPermissions(perms: PermissionInput): this {
		this.botRole.setPermissions(perms);
		return this;
	}

	createChannel(opts: CreateChannelOptions): Channel {
		const type = {
			text: ChannelType.GuildText,
			announcement: ChannelType.GuildAnnouncement,
			forum: ChannelType.GuildForum,
			media: ChannelType.GuildMedia,
			category: ChannelType.GuildCategory,
		}[opts.type ?? "text"];
		const position = opts.position ?? this.channels.filter((c) => !c.isThread).length;
		const ch = new Channel(
			this.world,
			this.world.ids.next(),
			this,
			type,
			opts.name,
			opts.nsfw ?? false,
			position,
			opts.parent?.id ?? null,
		);
		ch.topic = opts.topic ?? null;
		this.world.channels.set(ch.id, ch);
		this.channelIds.push(ch.id);
		this.world.hooks.dispatch("CHANNEL_CREATE", ch.toAPI(), { guildId: this.id, intent: Intents.Guilds });
		return ch;
	}

	/** A custom emoji of this guild; reactions name it `name:id`. Dispatches GUILD_EMOJIS_UPDATE. */
	createEmoji(opts: { name: string; animated?: boolean }): CustomEmoji {
		const emoji = { id: this.world.ids.next(), name: opts.name, animated: opts.animated ?? false, guildId: this.id };
		this.emojis.push(emoji);
		this.world.hooks.dispatch(
			"GUILD_EMOJIS_UPDATE",
			{ guild_id: this.id, emojis: this.emojis.map(emojiToAPI) },
			{ guildId: this.id, intent: Intents.GuildExpressions },
		);
		return emoji;
	}

	createRole(opts: { name: string; permissions?: PermissionInput; color?: number; mentionable?: boolean }): Role {
		const position = this.roles.size;
		const role = new Role(this, this.world.ids.next(), opts.name, toBits(opts.permissions), position);
		role.color = opts.color ?? 0;
		role.mentionable = opts.mentionable ?? false;
		this.roles.set(role.id, role);
		this.world.hooks.dispatch(
			"GUILD_ROLE_CREATE",
			{ guild_id: this.id, role: role.toAPI() },
			{ guildId: this.id, intent: Intents.Guilds },
		);
		return role;
	}

	addMember(user: User, opts: AddMemberOptions = {}): Member {
		if (this.members.has(user.id)) throw new Error(`${user} is already a member of ${this.name}`);
		const roles = (opts.roles ?? []).map((r) => r.id);
		if (opts.permissions !== undefined) {
			const role = this.createRole({ name: `${user.username}-permissions`, permissions: opts.permissions });
			roles.push(role.id);
		}
		const member = new Member(this, user, roles, this.world.clock.now());
		member.nick = opts.nick ?? null;
		this.members.set(user.id, member);
		this.world.hooks.dispatch(
			"GUILD_MEMBER_ADD",
			{ guild_id: this.id, ...member.toAPI() },
			{ guildId: this.id, intent: Intents.GuildMembers },
		);
		return member;
	}

	member(user: User | string): Member {
		const id = typeof user === "string" ? user : user.id;
		const m = this.members.get(id);
		if (!m) throw new Error(`${typeof user === "string" ? user : user.toString()} is not a member of ${this.name}`);
		return m;
	}

	toAPI(): Json {
		return {
			id: this.id,
			name: this.name,
			icon: null,
			icon_hash: null,
			splash: null,
			discovery_splash: null,
			owner_id: this.ownerId,
			afk_channel_id: null,
			afk_timeout: 300,
			widget_enabled: false,
			widget_channel_id: null,
			verification_level: 0,
			default_message_notifications: 0,
			explicit_content_filter: 0,
			roles: [...this.roles.values()].map((r) => r.toAPI()),
			emojis: this.emojis.map(emojiToAPI),
			stickers: [],
			features: [],
			mfa_level: 0,
			application_id: null,
			system_channel_id: null,
			system_channel_flags: 0,
			rules_channel_id: null,
			public_updates_channel_id: null,
			safety_alerts_channel_id: null,
			max_presences: null,
			max_members: 500000,
			vanity_url_code: null,
			description: null,
			banner: null,
			premium_tier: 0,
			premium_subscription_count: 0,
			preferred_locale: this.preferredLocale,
			max_video_channel_users: 25,
			max_stage_video_channel_users: 50,
			nsfw_level: 0,
			nsfw: false,
			premium_progress_bar_enabled: false,
			hub_type: null,
			incidents_data: null,
			region: "deprecated",
			latest_onboarding_question_id: null,
			home_header: null,
		};
	}

	/** The GUILD_CREATE payload (full guild with channels, threads, members, roles). */
	toGatewayCreate(): Json {
		const botMember = this.botMember;
		const channels = this.channels.filter((c) => !c.isThread);
		const threads = this.channels.filter(
			(c) => c.isThread && !c.thread?.archived && c.visibleTo(this.world.botUser.id),
		);
		return {
			...this.toAPI(),
			joined_at: iso(botMember.joinedAt),
			large: false,
			unavailable: false,
			lazy: true,
			member_count: this.members.size,
			voice_states: [],
			members: [...this.members.values()].map((m) => m.toAPI()),
			channels: channels.map((c) => {
				const { guild_id: _omit, ...rest } = c.toAPI();
				return rest;
			}),
			threads: threads.map((t) => t.toAPI()),
			presences: [],
			stage_instances: [],
			guild_scheduled_events: [],
			soundboard_sounds: [],
			embedded_activities: [],
			activity_instances: [],
			application_command_counts: {},
		};
	}
}

/** A guild emoji as GET /guilds/{id} and GUILD_EMOJIS_UPDATE show it. */
export function emojiToAPI(emoji: CustomEmoji): Json {
	return {
		id: emoji.id,
		name: emoji.name,
		roles: [],
		require_colons: true,
		managed: false,
		animated: emoji.animated,
		available: true,
	};
}

/** One emoji's reactions on a message: who reacted, in order (the bot counts as `me`). */
export interface ReactionRec {
	/** Unicode: the emoji itself; custom: its id. */
	key: string;
	emoji: { id: string | null; name: string; animated?: boolean };
	users: string[];
}

export interface AttachmentRec {
	id: string;
	filename: string;
	size: number;
	contentType: string | null;
	flags: number;
	description: string | null;
	title: string | null;
	width: number | null;
	height: number | null;
	/** "attachments/{channel}" for message attachments, "ephemeral-attachments/{app}" for interaction uploads. */
	scope: string;
	ephemeral: boolean;
	source: Exclude<AttachmentSource, string | Uint8Array> | Buffer;
}

export function attachmentToAPI(att: AttachmentRec, hooks: WorldHooks): Json {
	const urls = hooks.attachmentUrls(att);
	const out: Json = {
		id: att.id,
		filename: att.filename,
		size: att.size,
		url: urls.url,
		proxy_url: urls.proxy_url,
	};
	if (att.contentType !== null) out.content_type = att.contentType;
	if (att.flags !== 0) out.flags = att.flags;
	if (att.title) out.title = att.title;
	if (att.description) out.description = att.description;
	if (att.width !== null && att.height !== null) {
		out.width = att.width;
		out.height = att.height;
	}
	if (att.ephemeral) out.ephemeral = true;
	return out;
}

export interface InteractionMeta {
	id: string;
	type: number;
	user: User;
	name?: string;
	commandType?: number;
	/** For component / modal interactions: the message the component was on. */
	interactedMessageId?: string;
	/** For modal submits: the id of the original response of the interaction that opened the modal. */
	originalResponseMessageId?: string;
	/** `authorizing_integration_owners` (default: the guild install in guilds, else the user's). */
	owners?: Record<string, string>;
	triggeringInteraction?: InteractionMeta;
	guildId: string | null;
}

export class Message {
	content = "";
	embeds: Json[] = [];
	components: Json[] = [];
	attachments: AttachmentRec[] = [];
	flags = 0;
	tts = false;
	editedAt: number | null = null;
	deleted = false;
	webhookId: string | null = null;
	applicationId: string | null = null;
	interaction: InteractionMeta | null = null;
	messageReference: Json | null = null;
	nonce: string | number | null = null;
	/** Who the content mentions, as Discord computed it when it was sent or last edited (mentions.ts). */
	mentionsOf: Mentions = NO_MENTIONS;
	/** Pings already recorded for this message ("user:<id>", "role:<id>", "everyone:<guild>"). */
	readonly pinged = new Set<string>();
	/** Reactions, in the order each emoji was first added. */
	readonly reactions: ReactionRec[] = [];
	/** The thread started from this message (its id is the message's). */
	threadId: string | null = null;
	readonly createdAt: number;

	constructor(
		readonly world: World,
		readonly id: string,
		readonly channel: Channel,
		readonly author: User,
		public type: number,
	) {
		this.createdAt = world.clock.now();
	}

	get channelId(): string {
		return this.channel.id;
	}

	get guildId(): string | null {
		return this.channel.guild?.id ?? null;
	}

	get ephemeral(): boolean {
		return (this.flags & MessageFlags.Ephemeral) !== 0;
	}

	get loading(): boolean {
		return (this.flags & MessageFlags.Loading) !== 0;
	}

	/** Plain view for assertions. */
	get summary(): string {
		const parts = [JSON.stringify(this.content)];
		if (this.embeds.length)
			parts.push(
				`${this.embeds.length} embed(s): ${this.embeds.map((e) => JSON.stringify(e.title ?? e.description ?? "")).join(", ")}`,
			);
		if (this.components.length) parts.push(`${this.components.length} component row(s)`);
		if (this.attachments.length) parts.push(`files: ${this.attachments.map((a) => a.filename).join(", ")}`);
		if (this.ephemeral) parts.push("ephemeral");
		if (this.loading) parts.push("loading");
		return parts.join("; ");
	}

	/**
	 * `nonce`: only the create response and MESSAGE_CREATE carry the nonce; Discord leaves it out of
	 * every read (GET of one message or of a channel's messages).
	 */
	toAPI(opts: { gateway?: boolean; hideContent?: boolean; nonce?: boolean } = {}): Json {
		const hide = opts.hideContent === true;
		const out: Json = {
			type: this.type,
			content: hide ? "" : this.content,
			mentions: this.mentionsOf.users.map((u) => u.toAPI()),
			mention_roles: [...this.mentionsOf.roles],
			attachments: hide ? [] : this.attachments.map((a) => attachmentToAPI(a, this.world.hooks)),
			embeds: hide ? [] : this.embeds,
			timestamp: iso(this.createdAt),
			edited_timestamp: this.editedAt === null ? null : iso(this.editedAt),
			flags: this.flags,
			components: hide ? [] : this.components,
			id: this.id,
			channel_id: this.channel.id,
			author: this.author.toAPI(),
			pinned: false,
			mention_everyone: this.mentionsOf.everyone !== null,
			tts: this.tts,
		};
		if (this.channel.isThread) out.position = Math.max(0, this.channel.messageIds.indexOf(this.id));
		const live = this.reactions.filter((r) => r.users.length > 0);
		if (live.length > 0) {
			const botId = this.world.botUser.id;
			out.reactions = live.map((r) => ({
				emoji: r.emoji,
				count: r.users.length,
				count_details: { burst: 0, normal: r.users.length },
				burst_colors: [],
				me_burst: false,
				burst_me: false,
				burst_count: 0,
				me: r.users.includes(botId),
			}));
		}
		const thread = this.threadId ? this.world.channels.get(this.threadId) : undefined;
		if (thread && !thread.deleted) out.thread = thread.toAPI();
		if (this.webhookId) out.webhook_id = this.webhookId;
		if (this.applicationId) out.application_id = this.applicationId;
		if (this.messageReference) out.message_reference = this.messageReference;
		if (opts.nonce && this.nonce !== null) out.nonce = this.nonce;
		if (this.interaction) {
			const meta = this.interaction;
			out.interaction_metadata = interactionMetadataToAPI(meta);
			if (meta.type === 2) {
				out.interaction = { id: meta.id, type: meta.type, name: meta.name ?? "", user: meta.user.toAPI() };
			}
		}
		// Gateway messages name their channel's type (discord.js builds an uncached DM channel from it).
		if (opts.gateway) out.channel_type = this.channel.type;
		if (opts.gateway && this.channel.guild) {
			out.guild_id = this.channel.guild.id;
			const member = this.channel.guild.members.get(this.author.id);
			if (member) {
				const { user: _u, ...m } = member.toAPI();
				out.member = m;
			}
		}
		return out;
	}
}

function interactionMetadataToAPI(meta: InteractionMeta): Json {
	const out: Json = {
		id: meta.id,
		type: meta.type,
		user: meta.user.toAPI(),
		authorizing_integration_owners: meta.owners ?? (meta.guildId ? { "0": meta.guildId } : { "1": meta.user.id }),
	};
	if (meta.type === 2) {
		out.name = meta.name;
		out.command_type = meta.commandType;
	}
	if (meta.type === 3 && meta.interactedMessageId) out.interacted_message_id = meta.interactedMessageId;
	if (meta.type === 5) {
		if (meta.originalResponseMessageId) out.original_response_message_id = meta.originalResponseMessageId;
		if (meta.triggeringInteraction)
			out.triggering_interaction_metadata = interactionMetadataToAPI(meta.triggeringInteraction);
	}
	return out;
}

export class World {
	readonly users = new Map<string, User>();
	readonly guilds = new Map<string, Guild>();
	readonly channels = new Map<string, Channel>();
	readonly messages = new Map<string, Message>();
	readonly attachments = new Map<string, AttachmentRec>();
	readonly dmChannels = new Map<string, Channel>();
	/** Users who installed the app to their account (integration type 1). */
	readonly userInstalls = new Set<string>();
	readonly botUser: User;

	constructor(
		readonly ids: Snowflakes,
		readonly clock: Clock,
		readonly hooks: WorldHooks,
		bot: { id: string; username: string },
	) {
		this.botUser = new User(bot.id, bot.username, true);
		this.users.set(this.botUser.id, this.botUser);
	}

	createUser(opts: { username: string; globalName?: string; locale?: string; bot?: boolean }): User {
		const user = new User(this.ids.next(), opts.username, opts.bot ?? false, opts);
		this.users.set(user.id, user);
		return user;
	}

	dmChannel(user: User): Channel {
		let ch = this.dmChannels.get(user.id);
		if (!ch) {
			ch = new Channel(this, this.ids.next(), null, ChannelType.DM, "", false, 0, null);
			ch.recipient = user;
			this.channels.set(ch.id, ch);
			this.dmChannels.set(user.id, ch);
		}
		return ch;
	}

	/**
	 * A private channel the bot is not in: a DM between two users (type 1) or a group DM (type 3,
	 * three or more users). User-installed commands run there in context 2.
	 */
	createPrivateChannel(users: User[], opts: { name?: string } = {}): Channel {
		if (users.length < 2) throw new Error("A private channel has at least two users");
		if (users.some((u) => u.id === this.botUser.id)) throw new Error("The bot's own DMs are dmChannel(user)");
		if (users.length > 10) throw new Error("A group DM has at most 10 members");
		const type = users.length === 2 && !opts.name ? ChannelType.DM : ChannelType.GroupDM;
		const ch = new Channel(this, this.ids.next(), null, type, opts.name ?? "", false, 0, null);
		ch.privateRecipients = [...users];
		this.channels.set(ch.id, ch);
		return ch;
	}

	/** Whether the bot and `user` are both members of a live guild. */
	sharesGuildWith(user: User): boolean {
		return [...this.guilds.values()].some(
			(g) => !g.deleted && g.members.has(user.id) && g.members.has(this.botUser.id),
		);
	}

	/**
	 * Whether `user` takes DMs from the bot: DMs open in their privacy settings, and a shared guild
	 * or the app installed to their account (Discord answers 50007 otherwise).
	 */
	acceptsDMsFromBot(user: User): boolean {
		if (user.bot || !user.acceptsDMs) return false;
		return this.userInstalls.has(user.id) || this.sharesGuildWith(user);
	}

	/** A custom emoji of any guild, by id. */
	emoji(id: string): CustomEmoji | undefined {
		for (const g of this.guilds.values()) {
			const found = g.emojis.find((e) => e.id === id);
			if (found) return found;
		}
		return undefined;
	}

	/** Store a message in its channel (not listed there when ephemeral). */
	addMessage(msg: Message): Message {
		this.messages.set(msg.id, msg);
		if (!msg.ephemeral) {
			msg.channel.messageIds.push(msg.id);
			msg.channel.lastMessageId = msg.id;
		}
		return msg;
	}
}
