import type { Interaction } from "discord.js";
import type { CapReservation } from "../store/index.js";
import { UserError } from "./errors.js";
import type { Services } from "./types.js";

/** Whose imgpile account an action runs as. */
export interface Identity {
	token: string;
	/** `own`: linked for this server; `dm`: linked in DMs; `server`: the server's shared token. */
	via: "own" | "dm" | "server";
	/** With the server token: the member's daily-cap slots held for this action (see `recordUploads`). */
	reserved?: CapReservation;
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
 * The token to upload `files` files with: the user's own, else the server token with `files`
 * slots of the member's daily cap reserved now (so parallel uploads cannot overrun it), else a
 * pointer to `/imgpile link`. A server identity ends with `recordUploads`, else `releaseReserved`.
 */
export async function uploadIdentity(services: Pick<Services, "store">, who: Who, files: number): Promise<Identity> {
	const linked = await services.store.tokens.resolve(who.guildId, who.user.id);
	if (linked) return { token: linked.token, via: linked.scope === "guild" ? "own" : "dm" };
	if (who.guildId) {
		const token = await services.store.guilds.getServerToken(who.guildId);
		if (token) {
			const { serverTokenDailyCap: cap } = await services.store.guilds.get(who.guildId);
			const reserved = await services.store.usage.reserve(who.guildId, who.user.id, files, cap);
			if (!reserved.ok) {
				throw new UserError("identity.serverCapReached", { cap, remaining: Math.max(0, cap - reserved.used) });
			}
			return { token, via: "server", reserved: reserved.reservation };
		}
	}
	throw new UserError("identity.needsLink");
}

/**
 * Counts the `files` uploaded with an identity (`/imgpile status`) and gives back the reserved
 * server-token slots they did not use (failed, stopped, never started). A reservation is given
 * back once, whatever is called after.
 */
export async function recordUploads(
	services: Pick<Services, "store">,
	who: Who,
	identity: Identity,
	files: number,
): Promise<void> {
	const reserved = identity.reserved;
	if (reserved) {
		await services.store.usage.release(reserved, reserved.files - files);
		reserved.files = 0;
	}
	if (files > 0) await services.store.usage.record(who.user.id, files);
}

/** Gives back what an identity still holds of the cap: for actions that ended before `recordUploads`. */
export async function releaseReserved(
	services: Pick<Services, "store">,
	identity: Identity | undefined,
): Promise<void> {
	const reserved = identity?.reserved;
	if (reserved && reserved.files > 0) await services.store.usage.release(reserved, reserved.files);
}
