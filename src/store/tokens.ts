import { countUnopenable } from "./crypto.js";
import { SealedRepository } from "./repository.js";
import { assertId, assertSecret, isoAt, last4Of } from "./util.js";

export type TokenScope = "guild" | "user";

export interface LinkedToken {
	token: string;
	/** Last 4 characters for display; empty for very short tokens. */
	last4: string;
	/** "guild": linked in that server only; "user": linked in DMs, the user's fallback in every server. */
	scope: TokenScope;
	guildId: string | null;
	/** ISO timestamp. */
	linkedAt: string;
}

/** What is known about a link without decrypting it (works even if the key changed). */
export type LinkedTokenInfo = Omit<LinkedToken, "token"> & {
	/** false: sealed under another key (TOKEN_ENCRYPTION_KEY changed), so using it will fail. */
	readable: boolean;
};

export interface TokenRef {
	/** null = the user's DM link (scope "user"). */
	guildId: string | null;
	userId: string;
}

interface StoredToken {
	v: 1;
	sealed: string;
	last4: string;
	scope: TokenScope;
	guildId: string | null;
	linkedAt: string;
}

/**
 * Users' imgpile tokens, encrypted at rest (AES-256-GCM, aad `token:<guildId|@me>:<userId>`).
 * Keys: `guild:<guildId>:<userId>` and `user:<userId>`.
 */
export class TokenRepository extends SealedRepository {
	/** Links (or replaces) the token for this guild (or, with guildId null, for the user everywhere). */
	async link(input: TokenRef & { token: string }): Promise<LinkedTokenInfo> {
		const { guildId, userId, token } = input;
		checkRef({ guildId, userId });
		assertSecret("token", token);
		const stored: StoredToken = {
			v: 1,
			sealed: this.cipher.encrypt(token, aadOf({ guildId, userId })),
			last4: last4Of(token),
			scope: guildId === null ? "user" : "guild",
			guildId,
			linkedAt: isoAt(this.clock),
		};
		await this.kv.set(keyOf({ guildId, userId }), stored);
		return { ...infoOf(stored), readable: true };
	}

	/**
	 * The token linked at exactly this scope (no fallback), or undefined.
	 * @throws TokenDecryptError if it cannot be decrypted (key changed, record tampered with).
	 */
	async get(ref: TokenRef): Promise<LinkedToken | undefined> {
		checkRef(ref);
		const stored = await this.kv.get<StoredToken>(keyOf(ref));
		if (!stored) {
			return undefined;
		}
		return { token: this.cipher.decrypt(stored.sealed, aadOf(ref)), ...infoOf(stored) };
	}

	/** Link metadata without decrypting (for status displays). */
	async info(ref: TokenRef): Promise<LinkedTokenInfo | undefined> {
		checkRef(ref);
		const stored = await this.kv.get<StoredToken>(keyOf(ref));
		return stored ? { ...infoOf(stored), readable: this.cipher.canOpen(stored.sealed) } : undefined;
	}

	/** How many stored tokens the current key cannot open, told by their key id (nothing is decrypted). */
	countUnreadable(): Promise<number> {
		return countUnopenable(this.kv, this.cipher, (stored) => (stored as Partial<StoredToken> | undefined)?.sealed);
	}

	/**
	 * The token to use for this user here: the guild-scoped one, else their DM (user) one.
	 * guildId null (a DM) looks at the user one only.
	 * @throws TokenDecryptError if the token that applies cannot be decrypted (no silent fallback).
	 */
	async resolve(guildId: string | null, userId: string): Promise<LinkedToken | undefined> {
		if (guildId !== null) {
			const scoped = await this.get({ guildId, userId });
			if (scoped) {
				return scoped;
			}
		}
		return this.get({ guildId: null, userId });
	}

	/** Removes the link at exactly this scope; true if there was one. */
	async unlink(ref: TokenRef): Promise<boolean> {
		checkRef(ref);
		return this.kv.delete(keyOf(ref));
	}
}

function checkRef(ref: TokenRef): void {
	if (ref.guildId !== null) {
		assertId("guildId", ref.guildId);
	}
	assertId("userId", ref.userId);
}

function keyOf(ref: TokenRef): string {
	return ref.guildId === null ? `user:${ref.userId}` : `guild:${ref.guildId}:${ref.userId}`;
}

/** Additional authenticated data: binds a ciphertext to its record. */
function aadOf(ref: TokenRef): string {
	return `token:${ref.guildId ?? "@me"}:${ref.userId}`;
}

function infoOf(stored: StoredToken): Omit<LinkedToken, "token"> {
	return { last4: stored.last4, scope: stored.scope, guildId: stored.guildId, linkedAt: stored.linkedAt };
}
