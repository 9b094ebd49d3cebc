import { type BaseInteraction, PermissionFlagsBits, PermissionsBitField } from "discord.js";
import { describe, expect, it } from "vitest";
import { UserError, userErrorOf, userMessage } from "../../src/bot/errors.js";
import { confirmedSlug, isManager, requireManager, requirePostOwner } from "../../src/bot/guards.js";
import { translator } from "../../src/i18n/index.js";
import { ImgpileNotFoundError } from "../../src/imgpile/index.js";
import { TokenDecryptError } from "../../src/store/index.js";

const t = translator("en-US");

/** What the guards read of an interaction: where it is, and the member's permissions there. */
function member(guildId: string | null, permissions: bigint[] = []): BaseInteraction {
	return {
		guildId,
		inGuild: () => guildId !== null,
		memberPermissions: guildId === null ? null : new PermissionsBitField(permissions),
		user: { id: "7" },
	} as unknown as BaseInteraction;
}

function thrown(run: () => unknown): UserError {
	try {
		run();
	} catch (error) {
		if (error instanceof UserError) return error;
		throw error;
	}
	throw new Error("nothing was thrown");
}

describe("requireManager", () => {
	it("gives the server to a member with Manage Server", () => {
		const admin = member("100", [PermissionFlagsBits.ManageGuild]);
		expect(requireManager(t, admin)).toBe("100");
		expect(isManager(admin)).toBe(true);
	});

	it("refuses a member without it, naming the permission, and DMs as server-only", () => {
		const plain = member("100", [PermissionFlagsBits.SendMessages]);
		expect(isManager(plain)).toBe(false);
		const refused = thrown(() => requireManager(t, plain));
		expect(t(refused.key, refused.params)).toBe("You need the **Manage Server** permission for this.");
		const dm = member(null);
		expect(isManager(dm)).toBe(false);
		expect(thrown(() => requireManager(t, dm)).key).toBe("error.guildOnly");
	});
});

describe("owner checks", () => {
	it("lets only the user who asked confirm a deletion", () => {
		expect(confirmedSlug({ user: { id: "7" } }, ["abc1234", "7"])).toBe("abc1234");
		expect(thrown(() => confirmedSlug({ user: { id: "8" } }, ["abc1234", "7"])).key).toBe("delete.notYours");
		expect(thrown(() => confirmedSlug({ user: { id: "7" } }, ["no", "7"])).key).toBe("error.unknownAction");
	});

	it("takes a post whose visibility imgpile did not tell as someone else's", () => {
		expect(() => requirePostOwner({ visibility: "public" }, "abc1234")).not.toThrow();
		const refused = thrown(() => requirePostOwner({}, "abc1234"));
		expect(t(refused.key, refused.params)).toContain("Only the owner of post `abc1234`");
	});
});

describe("userMessage", () => {
	it("turns what users may read into their text, and nothing else", () => {
		expect(userMessage(t, new UserError("error.guildOnly"))).toBe("This only works in a server.");
		const notFound = new ImgpileNotFoundError("not_found", 404, undefined, { method: "GET", path: "/posts/x" });
		expect(userMessage(t, notFound)).toBe(t("imgpile.notFound", { what: "that" }));
		const server = new TokenDecryptError("key_mismatch", "no");
		server.subject = "server-token";
		expect(userErrorOf(server)?.key).toBe("identity.serverTokenUnreadable");
		expect(userErrorOf(new TokenDecryptError("auth_failed", "no"))?.key).toBe("identity.unreadable");
		expect(userMessage(t, new TypeError("boom"))).toBeUndefined();
	});
});
