/**
 * The feeds' view of Discord: send a message to a channel, read a channel's recent messages, DM
 * a user, and what the gateway cache knows of channels and guilds. Implemented over the bot's
 * discord.js client (its REST manager waits out 429s as Discord tells it to).
 */
import {
	type APIChannel,
	type APIGuild,
	type APIMessage,
	type Channel,
	type Client,
	DiscordAPIError,
	HTTPError,
	RateLimitError,
	RESTJSONErrorCodes,
	type RESTPatchAPIChannelMessageJSONBody,
	type RESTPostAPIChannelMessageJSONBody,
	Routes,
} from "discord.js";
import { channelAllowsNsfw } from "../discord/index.js";

export interface ChannelInfo {
	guildId: string | null;
	name: string;
	nsfw: boolean;
}

export interface GuildInfo {
	name: string;
	preferredLocale: string | null;
	systemChannelId: string | null;
}

export interface FeedDiscord {
	/** The bot's user id (to recognise its own messages), once logged in. */
	botUserId(): string | undefined;
	send(channelId: string, body: RESTPostAPIChannelMessageJSONBody): Promise<{ id: string }>;
	/** Newest first. */
	recentMessages(channelId: string, limit: number): Promise<APIMessage[]>;
	dm(userId: string, body: RESTPostAPIChannelMessageJSONBody): Promise<{ id: string }>;
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
}

/** How long what Discord said of a guild this process does not run (another shard's) is kept. */
const REMOTE_GUILD_TTL_MS = 10 * 60_000;

export class ClientFeedDiscord implements FeedDiscord {
	readonly #client: Client;
	/** Guilds of other shards (run by other processes), as REST told: the feed leader delivers to all. */
	readonly #remoteGuilds = new Map<string, { info: GuildInfo; at: number }>();

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

	async recentMessages(channelId: string, limit: number): Promise<APIMessage[]> {
		const query = new URLSearchParams({ limit: String(Math.min(100, Math.max(1, limit))) });
		return (await this.#client.rest.get(Routes.channelMessages(channelId), { query })) as APIMessage[];
	}

	async dm(userId: string, body: RESTPostAPIChannelMessageJSONBody): Promise<{ id: string }> {
		const channel = (await this.#client.rest.post(Routes.userChannels(), {
			body: { recipient_id: userId },
		})) as APIChannel;
		return this.send(channel.id, body);
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
		await this.#client.rest.delete(Routes.channelMessage(channelId, messageId));
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
	return { guildId, name, nsfw: channelAllowsNsfw(channel) };
}

/**
 * What a failed Discord call means for a delivery:
 * - `gone`: the channel does not exist any more (404); `forbidden`: no access or permission (403):
 *   both disable the subscription until `/feed resume`.
 * - `invalid`: Discord refused this message (other 4xx): retrying it as is will not help.
 * - `transient`: 429 that surfaced, 5xx, network: try again later.
 */
export type DiscordFailure =
	| { kind: "gone"; reason: "channel_deleted" }
	| { kind: "forbidden"; reason: "missing_access" | "missing_permissions" }
	| { kind: "invalid"; status: number; code: number | string }
	| { kind: "transient" };

export function classifyDiscordError(error: unknown): DiscordFailure {
	if (error instanceof DiscordAPIError) {
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
