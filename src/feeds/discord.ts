/**
 * The feeds' view of Discord: send a message to a channel, read a channel's recent messages, DM
 * a user, and what the gateway cache knows of channels and guilds. Implemented over the bot's
 * discord.js client (its REST manager waits out 429s as Discord tells it to).
 */
import {
	type APIChannel,
	type APIGuild,
	type APIMessage,
	type APIThreadChannel,
	type Channel,
	ChannelType,
	type Client,
	DiscordAPIError,
	HTTPError,
	PermissionFlagsBits,
	RateLimitError,
	REST,
	RESTJSONErrorCodes,
	type RESTPatchAPIChannelMessageJSONBody,
	type RESTPostAPIChannelMessageJSONBody,
	type RESTPostAPIGuildForumThreadsJSONBody,
	Routes,
} from "discord.js";
import { channelAllowsNsfw } from "../discord/index.js";

/** Where announcements go: a channel of messages (text, announcement, thread) or a forum (a post each). */
export type DestinationKind = "text" | "announcement" | "thread" | "forum";

export interface ChannelInfo {
	guildId: string | null;
	name: string;
	nsfw: boolean;
	kind: DestinationKind;
	/** A forum's (or media channel's) tags the bot may apply (not moderated ones); empty elsewhere. */
	tags: ReadonlyArray<{ id: string; name: string }>;
}

export interface GuildInfo {
	name: string;
	preferredLocale: string | null;
	systemChannelId: string | null;
}

/** A forum post as listed by Discord: the thread, whose first message has the same id. */
export interface ForumPost {
	id: string;
	name: string;
	ownerId: string | null;
}

/** What a crosspost did: published (now or before), or Discord's 10 per hour is reached for this long. */
export type CrosspostOutcome = { published: true } | { published: false; retryAfterMs: number };

export interface FeedDiscord {
	/** The bot's user id (to recognise its own messages), once logged in. */
	botUserId(): string | undefined;
	send(channelId: string, body: RESTPostAPIChannelMessageJSONBody): Promise<{ id: string }>;
	/** A new post in a forum or media channel: its thread and first message (same id on Discord). */
	createPost(
		forumId: string,
		body: RESTPostAPIGuildForumThreadsJSONBody,
	): Promise<{ threadId: string; messageId: string }>;
	/** The forum's posts Discord lists: active ones (of the guild's active threads) and the latest archived ones. */
	forumPosts(forumId: string, guildId: string): Promise<ForumPost[]>;
	/** One message (a forum post's first message: the thread's own id). */
	message(channelId: string, messageId: string): Promise<APIMessage>;
	/** Publishes a message of an announcement channel to the channels following it. */
	crosspost(channelId: string, messageId: string): Promise<CrosspostOutcome>;
	/** Newest first. */
	recentMessages(channelId: string, limit: number): Promise<APIMessage[]>;
	dm(userId: string, body: RESTPostAPIChannelMessageJSONBody): Promise<{ id: string }>;
	/** The bot's DM channel with a user (opened once, then remembered). */
	dmChannel(userId: string): Promise<string>;
	/** What the gateway cache knows of a channel (undefined: not cached, which is not "deleted"). */
	channel(channelId: string): ChannelInfo | undefined;
	/**
	 * The channel to deliver to: from the cache, else asked of Discord (rejects with its 404/403
	 * when the channel is really gone or out of reach). Undefined while its guild is in an outage
	 * (cached data may be stale, and the channels of a guild unavailable since the bot started are
	 * not known at all): wait.
	 */
	channelInfo(channelId: string, guildId: string): Promise<ChannelInfo | undefined>;
	guild(guildId: string): GuildInfo | undefined;
	// Live sync (issue #12): announcements kept true after they were sent.
	/** Edits the bot's message; an edit never pings anyone (`allowed_mentions` parse []). */
	edit(channelId: string, messageId: string, body: RESTPatchAPIChannelMessageJSONBody): Promise<void>;
	/** Deletes the bot's message (rejects with Discord's 10008 when it is already gone). */
	delete(channelId: string, messageId: string): Promise<void>;
	/** Renames a forum post (a thread the bot made: its owner may). */
	renamePost(threadId: string, name: string): Promise<void>;
}

/**
 * Longest rate-limit wait a crosspost sits out. Discord's 10 crossposts per hour per channel
 * answers a wait of up to an hour, which the REST queue would otherwise sleep through.
 */
const CROSSPOST_MAX_WAIT_MS = 10_000;
/** DM channels remembered (user id → channel id) before the memory starts over. */
const DM_CHANNELS_KEPT = 10_000;

/** How long what Discord said of a guild this process does not run (another shard's) is kept. */
const REMOTE_GUILD_TTL_MS = 10 * 60_000;

export class ClientFeedDiscord implements FeedDiscord {
	readonly #client: Client;
	/** Guilds of other shards (run by other processes), as REST told: the feed leader delivers to all. */
	readonly #remoteGuilds = new Map<string, { info: GuildInfo; at: number }>();
	#crossposts: REST | undefined;
	readonly #dmChannels = new Map<string, string>();

	constructor(client: Client) {
		this.#client = client;
	}

	botUserId(): string | undefined {
		return this.#client.user?.id;
	}

	async send(channelId: string, body: RESTPostAPIChannelMessageJSONBody): Promise<{ id: string }> {
		// Raw REST gets no client-wide allowedMentions: a body that does not say otherwise pings nobody.
		const message = (await this.#client.rest.post(Routes.channelMessages(channelId), {
			body: { allowed_mentions: { parse: [] }, ...body },
		})) as APIMessage;
		return { id: message.id };
	}

	async createPost(
		forumId: string,
		body: RESTPostAPIGuildForumThreadsJSONBody,
	): Promise<{ threadId: string; messageId: string }> {
		const message = { allowed_mentions: { parse: [] }, ...body.message };
		const thread = (await this.#client.rest.post(Routes.threads(forumId), {
			body: { ...body, message },
		})) as APIThreadChannel & { message?: APIMessage };
		return { threadId: thread.id, messageId: thread.message?.id ?? thread.id };
	}

	async forumPosts(forumId: string, guildId: string): Promise<ForumPost[]> {
		type Listing = { threads: APIThreadChannel[] };
		const [active, archived] = (await Promise.all([
			this.#client.rest.get(Routes.guildActiveThreads(guildId)),
			this.#client.rest.get(Routes.channelThreads(forumId, "public")),
		])) as [Listing, Listing];
		return [...active.threads, ...archived.threads]
			.filter((thread) => thread.parent_id === forumId)
			.map((thread) => ({ id: thread.id, name: thread.name, ownerId: thread.owner_id ?? null }));
	}

	async message(channelId: string, messageId: string): Promise<APIMessage> {
		return (await this.#client.rest.get(Routes.channelMessage(channelId, messageId))) as APIMessage;
	}

	async crosspost(channelId: string, messageId: string): Promise<CrosspostOutcome> {
		try {
			await this.#crosspostRest().post(Routes.channelMessageCrosspost(channelId, messageId));
			return { published: true };
		} catch (error) {
			if (error instanceof RateLimitError) return { published: false, retryAfterMs: error.retryAfter };
			// Already published (a crosspost repeated after a crash): done.
			if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.ThisMessageWasAlreadyCrossposted) {
				return { published: true };
			}
			throw error;
		}
	}

	/** A REST queue of its own for crossposts, which rejects a long rate limit instead of waiting it out. */
	#crosspostRest(): REST {
		if (!this.#crossposts) {
			this.#crossposts = new REST({
				...this.#client.options.rest,
				rejectOnRateLimit: (limit) => limit.retryAfter > CROSSPOST_MAX_WAIT_MS,
			});
			if (this.#client.token) this.#crossposts.setToken(this.#client.token);
		}
		return this.#crossposts;
	}

	async recentMessages(channelId: string, limit: number): Promise<APIMessage[]> {
		const query = new URLSearchParams({ limit: String(Math.min(100, Math.max(1, limit))) });
		return (await this.#client.rest.get(Routes.channelMessages(channelId), { query })) as APIMessage[];
	}

	async dm(userId: string, body: RESTPostAPIChannelMessageJSONBody): Promise<{ id: string }> {
		return this.send(await this.dmChannel(userId), body);
	}

	async dmChannel(userId: string): Promise<string> {
		const known = this.#dmChannels.get(userId);
		if (known) return known;
		const channel = (await this.#client.rest.post(Routes.userChannels(), {
			body: { recipient_id: userId },
		})) as APIChannel;
		// A DM channel's id never changes; bounded so a busy bot does not keep every user's.
		if (this.#dmChannels.size >= DM_CHANNELS_KEPT) this.#dmChannels.clear();
		this.#dmChannels.set(userId, channel.id);
		return channel.id;
	}

	channel(channelId: string): ChannelInfo | undefined {
		const channel = this.#client.channels.cache.get(channelId);
		return channel ? infoOf(channel) : undefined;
	}

	async channelInfo(channelId: string, guildId: string): Promise<ChannelInfo | undefined> {
		const cached = this.#client.guilds.cache.get(guildId);
		if (cached?.available === false) return undefined;
		// A guild of another shard is not in this process's cache, and never will be: ask REST
		// (discord.js drops a fetched channel of an unknown guild unless told to keep it).
		if (!cached) await this.#rememberRemoteGuild(guildId);
		const channel =
			this.#client.channels.cache.get(channelId) ??
			(await this.#client.channels.fetch(channelId, { allowUnknownGuild: true })) ??
			undefined;
		return channel ? infoOf(channel) : undefined;
	}

	guild(guildId: string): GuildInfo | undefined {
		const guild = this.#client.guilds.cache.get(guildId);
		if (!guild) return this.#remoteGuilds.get(guildId)?.info;
		return { name: guild.name, preferredLocale: guild.preferredLocale ?? null, systemChannelId: guild.systemChannelId };
	}

	async edit(channelId: string, messageId: string, body: RESTPatchAPIChannelMessageJSONBody): Promise<void> {
		await this.#client.rest.patch(Routes.channelMessage(channelId, messageId), {
			body: { ...body, allowed_mentions: { parse: [] } },
		});
	}

	async delete(channelId: string, messageId: string): Promise<void> {
		// A forum post's first message has the post's (thread's) id: the whole post goes, when the
		// bot may delete threads there (Manage Threads); else its message, as in any channel.
		if (channelId === messageId && this.#mayDeleteThread(channelId)) {
			await this.#client.rest.delete(Routes.channel(channelId));
			return;
		}
		await this.#client.rest.delete(Routes.channelMessage(channelId, messageId));
	}

	async renamePost(threadId: string, name: string): Promise<void> {
		await this.#client.rest.patch(Routes.channel(threadId), { body: { name } });
	}

	#mayDeleteThread(threadId: string): boolean {
		const thread = this.#client.channels.cache.get(threadId);
		const me = this.#client.user;
		if (!thread?.isThread() || !me) return false;
		return thread.permissionsFor(me)?.has(PermissionFlagsBits.ManageThreads) === true;
	}

	async #rememberRemoteGuild(guildId: string): Promise<void> {
		const known = this.#remoteGuilds.get(guildId);
		if (known && Date.now() - known.at < REMOTE_GUILD_TTL_MS) return;
		// Only the guild's language hangs on this: a failed lookup must not hold the delivery up
		// (the channel's own lookup says whether it can go).
		const guild = (await this.#client.rest.get(Routes.guild(guildId)).catch(() => undefined)) as APIGuild | undefined;
		if (!guild) return;
		this.#remoteGuilds.set(guildId, {
			info: {
				name: guild.name,
				preferredLocale: guild.preferred_locale ?? null,
				systemChannelId: guild.system_channel_id,
			},
			at: Date.now(),
		});
	}
}

function infoOf(channel: Channel): ChannelInfo {
	const guildId = "guildId" in channel && typeof channel.guildId === "string" ? channel.guildId : null;
	const name = "name" in channel && typeof channel.name === "string" ? channel.name : channel.id;
	// Moderated tags need Manage Threads to apply: left out.
	const tags = channel.isThreadOnly()
		? channel.availableTags.filter((tag) => !tag.moderated).map((tag) => ({ id: tag.id, name: tag.name }))
		: [];
	return { guildId, name, nsfw: channelAllowsNsfw(channel), kind: kindOf(channel), tags };
}

function kindOf(channel: Channel): DestinationKind {
	if (channel.isThread()) return "thread";
	if (channel.isThreadOnly()) return "forum";
	return channel.type === ChannelType.GuildAnnouncement ? "announcement" : "text";
}

/**
 * What a failed Discord call means for a delivery:
 * - `gone`: the channel (or thread) does not exist any more (404); `forbidden`: no access or permission (403):
 *   both disable the subscription until `/feed resume`.
 * - `invalid`: Discord refused this message (other 4xx): retrying it as is will not help.
 * - `transient`: 429 that surfaced, 5xx, network: try again later.
 */
export type DiscordFailure =
	| { kind: "gone"; reason: "channel_deleted" }
	| { kind: "forbidden"; reason: "missing_access" | "missing_permissions" | "thread_locked" }
	| { kind: "invalid"; status: number; code: number | string }
	| { kind: "transient" };

export function classifyDiscordError(error: unknown): DiscordFailure {
	if (error instanceof DiscordAPIError) {
		// A locked thread (or one archived for good) takes no posts until a moderator reopens it.
		if (
			error.code === RESTJSONErrorCodes.ThreadLocked ||
			error.code === RESTJSONErrorCodes.InvalidActionOnArchivedThread
		) {
			return { kind: "forbidden", reason: "thread_locked" };
		}
		if (error.status === 404) return { kind: "gone", reason: "channel_deleted" };
		if (error.status === 403) {
			return {
				kind: "forbidden",
				reason: error.code === RESTJSONErrorCodes.MissingAccess ? "missing_access" : "missing_permissions",
			};
		}
		if (error.status === 429 || error.status >= 500) return { kind: "transient" };
		return { kind: "invalid", status: error.status, code: error.code };
	}
	if (error instanceof HTTPError || error instanceof RateLimitError) return { kind: "transient" };
	return { kind: "transient" };
}
