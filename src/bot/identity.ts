import type { Interaction } from "discord.js";
import { UserError } from "./errors.js";
import type { Services } from "./types.js";

/** Whose imgpile account an action runs as. */
export interface Identity {
	token: string;
	/** `own`: linked for this server; `dm`: linked in DMs; `server`: the server's shared token. */
	via: "own" | "dm" | "server";
}

type Who = Pick<Interaction, "guildId"> & { user: { id: string } };

/**
 * The user's own token: linked for this server, else linked in DMs. Personal actions (votes,
 * follows, comments, editing one's posts) never fall back to the server token.
 */
export async function personalIdentity(services: Pick<Services, "store">, who: Who): Promise<Identity> {
	const linked = await services.store.tokens.resolve(who.guildId, who.user.id);
	if (!linked) throw new UserError("identity.needsLink");
	return { token: linked.token, via: linked.scope === "guild" ? "own" : "dm" };
}

/**
 * The token to upload `files` files with: the user's own, else the server token within the
 * member's daily cap, else a pointer to `/imgpile link`.
 */
export async function uploadIdentity(services: Pick<Services, "store">, who: Who, files: number): Promise<Identity> {
	const linked = await services.store.tokens.resolve(who.guildId, who.user.id);
	if (linked) return { token: linked.token, via: linked.scope === "guild" ? "own" : "dm" };
	if (who.guildId) {
		const token = await services.store.guilds.getServerToken(who.guildId);
		if (token) {
			const { serverTokenDailyCap: cap } = await services.store.guilds.get(who.guildId);
			const used = await services.store.usage.serverTokenUploads(who.guildId, who.user.id);
			if (used + files > cap) {
				throw new UserError("identity.serverCapReached", { cap, remaining: Math.max(0, cap - used) });
			}
			return { token, via: "server" };
		}
	}
	throw new UserError("identity.needsLink");
}

/** Counts uploads made with an identity (the server token's per-member cap, `/imgpile status`). */
export function recordUploads(services: Pick<Services, "store">, who: Who, identity: Identity, files: number) {
	if (files <= 0) return Promise.resolve();
	const serverGuild = identity.via === "server" && who.guildId ? who.guildId : undefined;
	return services.store.usage.record(who.user.id, files, serverGuild);
}
