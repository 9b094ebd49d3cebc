import { countUnopenable } from "./crypto.js";
import { StoreValidationError, TokenDecryptError } from "./errors.js";
import { SealedRepository } from "./repository.js";
import { assertId, assertSecret, isoAt, last4Of } from "./util.js";

export type RehostReply = "ephemeral" | "public";

export interface ServerTokenInfo {
	last4: string;
	/** User id of whoever set it. */
	setBy: string;
	/** ISO timestamp. */
	setAt: string;
}

/** How an auto-rehost channel answers: a reply with the links, or ✅ and a thread holding them. */
export type AutoRehostReplyMode = "message" | "thread";

/** An auto-rehost channel's settings (key: channel id, in `GuildSettings.autoRehost`). */
export interface AutoRehostChannel {
	/** Members without a linked token may use the server token (within its daily cap). */
	serverToken: boolean;
	/** User id of whoever turned it on. */
	setBy: string;
	/** Records from before this setting read as "message". */
	reply: AutoRehostReplyMode;
}

/** Auto-rehost channels a server may have. */
export const AUTO_REHOST_CHANNELS_MAX = 25;

export interface GuildSettings {
	serverToken: ServerTokenInfo | null;
	/** Uploads per user per day that may use the server token. */
	serverTokenDailyCap: number;
	rehostReply: RehostReply;
	/** IANA time zone (digest times are in it). */
	timezone: string;
	/** Auto-rehost channels by channel id (`setAutoRehost`). */
	autoRehost: Record<string, AutoRehostChannel>;
}

/** The settings `update` may change; the server token has its own methods. */
export type GuildSettingsPatch = Partial<Omit<GuildSettings, "serverToken" | "autoRehost">>;

export const DEFAULT_GUILD_SETTINGS: Readonly<GuildSettings> = Object.freeze({
	serverToken: null,
	serverTokenDailyCap: 20,
	rehostReply: "ephemeral",
	timezone: "UTC",
	autoRehost: Object.freeze({}) as Record<string, AutoRehostChannel>,
});

interface StoredGuild {
	v: 1;
	// Only values that were set explicitly: a guild that never changed a setting follows the defaults.
	serverTokenDailyCap?: number;
	rehostReply?: RehostReply;
	timezone?: string;
	serverToken?: (ServerTokenInfo & { sealed: string }) | null;
	autoRehost?: Record<string, Partial<AutoRehostChannel>>;
}

/** Per-guild settings (key: guild id), including the server token, encrypted (aad `server-token:<guildId>`). */
export class GuildSettingsRepository extends SealedRepository {
	/** The guild's settings, defaults filled in. */
	async get(guildId: string): Promise<GuildSettings> {
		assertId("guildId", guildId);
		return settingsOf(await this.kv.get<StoredGuild>(guildId));
	}

	/** Applies `patch` (undefined fields are left alone) and returns the resulting settings. */
	async update(guildId: string, patch: GuildSettingsPatch): Promise<GuildSettings> {
		assertId("guildId", guildId);
		const clean = checkPatch(patch);
		return this.kv.modify<StoredGuild, GuildSettings>(guildId, (current) => {
			const next: StoredGuild = { ...(current ?? { v: 1 }), ...clean };
			return { value: next, result: settingsOf(next) };
		});
	}

	/** Sets (or replaces) the server token. */
	async setServerToken(guildId: string, token: string, setBy: string): Promise<ServerTokenInfo> {
		assertId("guildId", guildId);
		assertId("setBy", setBy);
		assertSecret("server token", token);
		const info: ServerTokenInfo = { last4: last4Of(token), setBy, setAt: isoAt(this.clock) };
		const sealed = this.cipher.encrypt(token, serverTokenAad(guildId));
		await this.kv.modify<StoredGuild, void>(guildId, (current) => ({
			value: { ...(current ?? { v: 1 }), serverToken: { ...info, sealed } },
			result: undefined,
		}));
		return info;
	}

	/**
	 * The decrypted server token, or undefined when none is set.
	 * @throws TokenDecryptError if it cannot be decrypted (key changed, record tampered with).
	 */
	async getServerToken(guildId: string): Promise<string | undefined> {
		assertId("guildId", guildId);
		const stored = await this.kv.get<StoredGuild>(guildId);
		const sealed = stored?.serverToken?.sealed;
		try {
			return sealed === undefined ? undefined : this.cipher.decrypt(sealed, serverTokenAad(guildId));
		} catch (error) {
			if (error instanceof TokenDecryptError) error.subject = "server-token";
			throw error;
		}
	}

	/** Whether a server token is set that the current key cannot open (told by its key id, not decrypted). */
	async serverTokenUnreadable(guildId: string): Promise<boolean> {
		assertId("guildId", guildId);
		const sealed = (await this.kv.get<StoredGuild>(guildId))?.serverToken?.sealed;
		return sealed !== undefined && !this.cipher.canOpen(sealed);
	}

	/** How many guilds have a server token the current key cannot open. */
	countUnreadableServerTokens(): Promise<number> {
		return countUnopenable(this.kv, this.cipher, (stored) => (stored as StoredGuild | undefined)?.serverToken?.sealed);
	}

	/**
	 * Turns auto-rehost on in a channel (`settings`) or off (null); atomic, so two managers at
	 * once both count. False when turning one more on would pass AUTO_REHOST_CHANNELS_MAX.
	 */
	async setAutoRehost(guildId: string, channelId: string, settings: AutoRehostChannel | null): Promise<boolean> {
		assertId("guildId", guildId);
		assertId("channelId", channelId);
		return this.kv.modify<StoredGuild, boolean>(guildId, (current) => {
			const channels = { ...(current?.autoRehost ?? {}) };
			if (settings === null) delete channels[channelId];
			else if (channelId in channels || Object.keys(channels).length < AUTO_REHOST_CHANNELS_MAX) {
				channels[channelId] = channelOf(settings);
			} else return { value: current, result: false };
			return { value: { ...(current ?? { v: 1 }), autoRehost: channels }, result: true };
		});
	}

	/** Removes the server token; true if one was set. */
	async clearServerToken(guildId: string): Promise<boolean> {
		assertId("guildId", guildId);
		return this.kv.modify<StoredGuild, boolean>(guildId, (current) => {
			if (!current?.serverToken) {
				return { value: current, result: false };
			}
			return { value: { ...current, serverToken: null }, result: true };
		});
	}

	/** Forgets everything about the guild (e.g. the bot was removed from it); true if anything was stored. */
	async remove(guildId: string): Promise<boolean> {
		assertId("guildId", guildId);
		return this.kv.delete(guildId);
	}
}

function serverTokenAad(guildId: string): string {
	return `server-token:${guildId}`;
}

function settingsOf(stored: StoredGuild | undefined): GuildSettings {
	const token = stored?.serverToken;
	return {
		serverToken: token ? { last4: token.last4, setBy: token.setBy, setAt: token.setAt } : null,
		serverTokenDailyCap: stored?.serverTokenDailyCap ?? DEFAULT_GUILD_SETTINGS.serverTokenDailyCap,
		rehostReply: stored?.rehostReply ?? DEFAULT_GUILD_SETTINGS.rehostReply,
		timezone: stored?.timezone ?? DEFAULT_GUILD_SETTINGS.timezone,
		autoRehost: Object.fromEntries(
			Object.entries(stored?.autoRehost ?? {}).map(([channelId, channel]) => [channelId, channelOf(channel)]),
		),
	};
}

/** A channel's settings, normalised (older records lack `reply`). */
function channelOf(stored: Partial<AutoRehostChannel>): AutoRehostChannel {
	return {
		serverToken: stored.serverToken === true,
		setBy: stored.setBy ?? "",
		reply: stored.reply === "thread" ? "thread" : "message",
	};
}

function checkPatch(patch: GuildSettingsPatch): GuildSettingsPatch {
	const clean: GuildSettingsPatch = {};
	if (patch.serverTokenDailyCap !== undefined) {
		const cap = patch.serverTokenDailyCap;
		if (!Number.isSafeInteger(cap) || cap < 0) {
			throw new StoreValidationError(`serverTokenDailyCap must be a non-negative integer, got ${cap}`);
		}
		clean.serverTokenDailyCap = cap;
	}
	if (patch.rehostReply !== undefined) {
		if (patch.rehostReply !== "ephemeral" && patch.rehostReply !== "public") {
			throw new StoreValidationError(`rehostReply must be "ephemeral" or "public", got ${String(patch.rehostReply)}`);
		}
		clean.rehostReply = patch.rehostReply;
	}
	if (patch.timezone !== undefined) {
		if (!isValidTimeZone(patch.timezone)) {
			throw new StoreValidationError(
				`timezone must be an IANA time zone such as "Europe/Paris", got ${patch.timezone}`,
			);
		}
		clean.timezone = patch.timezone;
	}
	return clean;
}

export function isValidTimeZone(timeZone: string): boolean {
	if (typeof timeZone !== "string" || timeZone.length === 0) {
		return false;
	}
	try {
		new Intl.DateTimeFormat("en-US", { timeZone });
		return true;
	} catch {
		return false;
	}
}
