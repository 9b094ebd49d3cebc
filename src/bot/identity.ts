/**
 * Which imgpile token an action runs as, the one place that decides: personal actions (the
 * user's own link), uploads (own link, else the server token within the member's daily cap),
 * acting on an earlier upload (its owner: own link, then the server token), and reads (the
 * caller's link when there is one, else a guest).
 */
import type { Interaction } from "discord.js";
import { type ImgpileClient, ImgpileForbiddenError } from "../imgpile/index.js";
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

/** The user's own link: for this server, else in DMs; `undefined` when there is none. */
export async function linkedIdentity(services: Pick<Services, "store">, who: Who): Promise<Identity | undefined> {
	const linked = await services.store.tokens.resolve(who.guildId, who.user.id);
	return linked && { token: linked.token, via: linked.scope === "guild" ? "own" : "dm" };
}

/** The server's shared token, when the action is in a server that has one. */
async function serverToken(services: Pick<Services, "store">, who: Who): Promise<string | undefined> {
	return who.guildId ? services.store.guilds.getServerToken(who.guildId) : undefined;
}

/**
 * The user's own token: linked for this server, else linked in DMs. Personal actions (votes,
 * follows, comments, editing one's posts) never fall back to the server token.
 */
export async function personalIdentity(services: Pick<Services, "store">, who: Who): Promise<Identity> {
	const own = await linkedIdentity(services, who);
	if (!own) throw new UserError("identity.needsLink");
	return own;
}

/** An imgpile client acting as the user's own account (`personalIdentity`). */
export async function personalClient(services: Pick<Services, "store" | "imgpile">, who: Who): Promise<ImgpileClient> {
	return services.imgpile.as((await personalIdentity(services, who)).token);
}

/** For reads: the user's own token when linked (owners see their private posts), else a guest. */
export async function readerFor(services: Pick<Services, "store" | "imgpile">, who: Who): Promise<ImgpileClient> {
	const own = await linkedIdentity(services, who);
	return services.imgpile.as(own?.token);
}

/**
 * The token to upload `files` files with: the user's own, else the server token with `files`
 * slots of the member's daily cap reserved now (so parallel uploads cannot overrun it), else a
 * pointer to `/imgpile link`. A server identity ends with `recordUploads`, else `releaseReserved`.
 */
export async function uploadIdentity(services: Pick<Services, "store">, who: Who, files: number): Promise<Identity> {
	const own = await linkedIdentity(services, who);
	if (own) return own;
	const token = await serverToken(services, who);
	if (token && who.guildId) {
		const { serverTokenDailyCap: cap } = await services.store.guilds.get(who.guildId);
		const reserved = await services.store.usage.reserve(who.guildId, who.user.id, files, cap);
		if (!reserved.ok) {
			throw new UserError("identity.serverCapReached", { cap, remaining: Math.max(0, cap - reserved.used) });
		}
		return { token, via: "server", reserved: reserved.reservation };
	}
	throw new UserError("identity.needsLink");
}

/**
 * Runs `call` as the owner of an upload: the user's own token (this server, else DMs), then the
 * server's shared token (a file uploaded with it belongs to that account). imgpile's 403 moves
 * on to the next; nothing linked at all asks for `/imgpile link`.
 */
export async function asUploader<T>(
	services: Pick<Services, "store" | "imgpile">,
	who: Who,
	call: (client: ImgpileClient) => Promise<T>,
): Promise<T> {
	const tokens: string[] = [];
	const own = await linkedIdentity(services, who);
	if (own) tokens.push(own.token);
	const server = await serverToken(services, who);
	if (server && !tokens.includes(server)) tokens.push(server);
	if (tokens.length === 0) throw new UserError("identity.needsLink");
	for (const [index, token] of tokens.entries()) {
		try {
			return await call(services.imgpile.as(token));
		} catch (error) {
			if (error instanceof ImgpileForbiddenError && index < tokens.length - 1) continue;
			throw error;
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
