import { randomBytes } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { KeyvSqlite } from "@keyv/sqlite";
import { Keyv } from "keyv";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
	DEFAULT_GUILD_SETTINGS,
	type FeedSubscription,
	type NewFeedSubscription,
	openStore,
	parseStoreUrl,
	queryKeyOf,
	StoreConfigError,
	StoreValidationError,
	SUBSCRIPTION_DEFAULTS,
	TokenCipher,
	TokenDecryptError,
} from "../../src/store/index.js";
import type { Kv } from "../../src/store/kv.js";
import { forEachEngine, memoryLogger, openAt, randomCipher, tempDir } from "./helpers.js";

const USER_TOKEN = "ipk_live_USERSECRET_7f3a9c2e5b1d4f8a6c0e2b4d6f8a0c2e";
const DM_TOKEN = "ipk_live_DMSECRET_0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const SERVER_TOKEN = "ipk_live_SERVERSECRET_99887766554433221100aabbccddeeff";

function newSub(overrides: Partial<NewFeedSubscription> = {}): NewFeedSubscription {
	return {
		guildId: "100",
		channelId: "200",
		filters: { tag: "Cats", username: null, nsfw: false },
		mode: "live",
		everyMs: null,
		at: null,
		backfill: 3,
		createdBy: "300",
		...overrides,
	};
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
	({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
	await cleanup();
});

/** Every file SQLite wrote next to the database (main file, -journal, -wal, -shm). */
async function databaseBytes(file: string): Promise<Buffer> {
	const base = path.basename(file);
	const names = (await readdir(path.dirname(file))).filter((name) => name.startsWith(base));
	return Buffer.concat(await Promise.all(names.map((name) => readFile(path.join(path.dirname(file), name)))));
}

describe("parseStoreUrl", () => {
	it("resolves relative paths against the cwd and keeps absolute ones", () => {
		expect(parseStoreUrl("sqlite://data/imgpile-bot.sqlite", "/srv/bot")).toEqual({
			scheme: "sqlite",
			file: "/srv/bot/data/imgpile-bot.sqlite",
		});
		expect(parseStoreUrl("sqlite:///var/lib/bot.sqlite", "/srv/bot")).toMatchObject({ file: "/var/lib/bot.sqlite" });
		expect(parseStoreUrl("sqlite://:memory:")).toMatchObject({ file: ":memory:" });
	});

	it("reads redis:// and rediss:// URLs, showing them without credentials", () => {
		expect(parseStoreUrl("redis://user:hunter2@localhost:6379/2")).toEqual({
			scheme: "redis",
			url: "redis://user:hunter2@localhost:6379/2",
			display: "redis://localhost:6379/2",
		});
		expect(parseStoreUrl("rediss://:pw@cache.internal:6380")).toMatchObject({
			display: "rediss://cache.internal:6380",
		});
		for (const bad of ["redis://", "redis://user:hunter2@host:6379/x", "redis://user:hunter2@host:6379/0?tls=1"]) {
			expect(() => parseStoreUrl(bad)).toThrow(StoreConfigError);
			try {
				parseStoreUrl(bad);
			} catch (error) {
				expect((error as Error).message).not.toContain("hunter2");
			}
		}
	});

	it("refuses other schemes clearly, without echoing credentials", () => {
		expect(() => parseStoreUrl("postgres://user:hunter2@localhost:5432")).toThrow(StoreConfigError);
		try {
			parseStoreUrl("postgres://user:hunter2@localhost:5432");
		} catch (error) {
			expect((error as Error).message).toMatch(/"postgres:" is not supported.*sqlite:\/\/.*redis:\/\//);
			expect((error as Error).message).not.toContain("hunter2");
		}
		expect(() => parseStoreUrl("data/bot.sqlite")).toThrow(StoreConfigError);
		expect(() => parseStoreUrl("sqlite:data/bot.sqlite")).toThrow(StoreConfigError);
		expect(() => parseStoreUrl("sqlite://")).toThrow(StoreConfigError);
	});
});

describe("openStore", () => {
	it("creates the parent directory of a relative path on first start", async () => {
		const cwd = process.cwd();
		process.chdir(dir);
		try {
			const store = await openStore({
				url: "sqlite://data/sub/imgpile-bot.sqlite",
				cipher: randomCipher(),
				logger: memoryLogger().logger,
			});
			await store.guilds.update("1", { timezone: "Europe/Paris" });
			await store.close();
			await store.close(); // idempotent
		} finally {
			process.chdir(cwd);
		}
		const file = path.join(dir, "data", "sub", "imgpile-bot.sqlite");
		expect((await stat(file)).isFile()).toBe(true);
		if (process.platform !== "win32") {
			expect((await stat(file)).mode & 0o777).toBe(0o600);
		}
	});

	it("fails clearly when the database cannot be opened", async () => {
		// The "file" is a directory.
		await expect(
			openStore({ url: `sqlite://${dir}`, cipher: randomCipher(), logger: memoryLogger().logger }),
		).rejects.toThrow(StoreConfigError);
	});

	it("works in memory", async () => {
		const store = await openStore({ url: "sqlite://:memory:", cipher: randomCipher(), logger: memoryLogger().logger });
		await store.tokens.link({ guildId: "1", userId: "2", token: USER_TOKEN });
		expect((await store.tokens.get({ guildId: "1", userId: "2" }))?.token).toBe(USER_TOKEN);
		await store.close();
	});
});
describe("store on disk (SQLite)", () => {
	it("never writes a plaintext token to disk", async () => {
		const cipher = randomCipher();
		const { store, file } = await openAt(dir, cipher);
		await store.tokens.link({ guildId: "100", userId: "7", token: USER_TOKEN });
		await store.tokens.link({ guildId: null, userId: "7", token: DM_TOKEN });
		await store.guilds.setServerToken("100", SERVER_TOKEN, "7");

		// While open (journal / WAL files may exist) …
		let bytes = await databaseBytes(file);
		expect(bytes.includes("tokens:guild:100:7")).toBe(true); // we are reading the right file
		for (const token of [USER_TOKEN, DM_TOKEN, SERVER_TOKEN]) {
			expect(bytes.includes(token)).toBe(false);
			expect(bytes.includes(token.slice(0, 24))).toBe(false);
		}
		// … and after close.
		await store.close();
		bytes = await databaseBytes(file);
		expect(bytes.includes("guilds:100")).toBe(true);
		for (const token of [USER_TOKEN, DM_TOKEN, SERVER_TOKEN]) {
			expect(bytes.includes(token)).toBe(false);
			expect(bytes.includes(Buffer.from(token).toString("base64"))).toBe(false);
		}
	});

	it("binds each ciphertext to its record: a token copied to another user fails", async () => {
		const cipher = randomCipher();
		let { store, file } = await openAt(dir, cipher);
		await store.tokens.link({ guildId: "100", userId: "alice", token: USER_TOKEN });
		await store.tokens.link({ guildId: "100", userId: "mallory", token: DM_TOKEN });
		await store.guilds.setServerToken("100", SERVER_TOKEN, "alice");
		await store.close();

		// Someone with write access to the database copies Alice's record over Mallory's,
		// and the server token of guild 100 to guild 666.
		const raw = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}` }), namespace: "tokens" });
		await raw.set("guild:100:mallory", await raw.get("guild:100:alice"));
		const rawGuilds = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}` }), namespace: "guilds" });
		await rawGuilds.set("666", await rawGuilds.get("100"));
		await raw.disconnect();
		await rawGuilds.disconnect();

		({ store } = await openAt(dir, cipher));
		expect((await store.tokens.get({ guildId: "100", userId: "alice" }))?.token).toBe(USER_TOKEN);
		const error = await store.tokens.get({ guildId: "100", userId: "mallory" }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TokenDecryptError);
		expect((error as TokenDecryptError).reason).toBe("auth_failed");
		expect((error as Error).message).not.toContain(USER_TOKEN);
		await expect(store.guilds.getServerToken("666")).rejects.toThrow(TokenDecryptError);
		expect(await store.guilds.getServerToken("100")).toBe(SERVER_TOKEN);
		await store.close();
	});

	it("isolates namespaces by prefix in one file", async () => {
		const cipher = randomCipher();
		const a = await openAt(dir, cipher, { namespacePrefix: "a-" });
		await a.store.subscriptions.create(newSub());
		await a.store.guilds.update("100", { serverTokenDailyCap: 1 });
		await a.store.close();
		const b = await openAt(dir, cipher, { namespacePrefix: "b-" });
		expect(await b.store.subscriptions.listAll()).toEqual([]);
		expect((await b.store.guilds.get("100")).serverTokenDailyCap).toBe(20);
		await b.store.close();
	});
});

forEachEngine((openAt) => {
	describe("store", () => {
		it("round-trips every repository and keeps everything across close and reopen", async () => {
			const cipher = randomCipher();
			let { store } = await openAt(dir, cipher);

			// tokens
			const linked = await store.tokens.link({ guildId: "100", userId: "7", token: USER_TOKEN });
			expect(linked).toMatchObject({ last4: USER_TOKEN.slice(-4), scope: "guild", guildId: "100" });
			await store.tokens.link({ guildId: null, userId: "7", token: DM_TOKEN });
			await store.tokens.link({ guildId: null, userId: "8", token: DM_TOKEN });
			await store.tokens.link({ guildId: "100", userId: "9", token: "short" });
			// guilds
			expect(await store.guilds.get("100")).toEqual(DEFAULT_GUILD_SETTINGS);
			await store.guilds.update("100", { rehostReply: "public", serverTokenDailyCap: 5 });
			await store.guilds.update("100", { timezone: "Europe/Paris" });
			await store.guilds.setServerToken("100", SERVER_TOKEN, "7");
			await store.guilds.setServerToken("101", SERVER_TOKEN, "7");
			expect(await store.guilds.clearServerToken("101")).toBe(true);
			expect(await store.guilds.clearServerToken("101")).toBe(false);
			// subscriptions
			const live = await store.subscriptions.create(newSub());
			const digest = await store.subscriptions.create(
				newSub({
					guildId: "101",
					mode: "digest",
					everyMs: 86_400_000,
					at: "09:30",
					filters: { tag: null, username: "Bob", nsfw: true },
				}),
			);
			const gone = await store.subscriptions.create(newSub());
			expect(await store.subscriptions.remove(gone.id)).toBe(true);
			expect(await store.subscriptions.remove(gone.id)).toBe(false);
			await store.subscriptions.update(live.id, { paused: true, lastDeliveryAt: "2030-01-01T00:00:00.000Z" });
			// feed state
			const query = queryKeyOf(live.filters);
			await store.feedState.markSeen(query, [1, 2, 3]);
			await store.feedState.setCursor(query, { lastPolledAt: "2030-01-01T00:00:00.000Z", failures: 2 });
			// outbox
			await store.outbox.put({ subscriptionId: live.id, postId: 1, payload: { title: "one", tags: ["a"] } });
			await store.outbox.put({ subscriptionId: live.id, postId: 2, payload: { title: "two" } });
			await store.outbox.put({
				subscriptionId: digest.id,
				postId: 1,
				payload: null,
				dueAt: "2030-01-02T09:30:00.000Z",
			});
			await store.outbox.recordSent(`${live.id}:1`, "555000111");
			await store.outbox.bumpAttempt(`${live.id}:2`);
			await store.outbox.done(`${live.id}:1`);

			await store.close();
			({ store } = await openAt(dir, cipher));

			// tokens
			expect(await store.tokens.get({ guildId: "100", userId: "7" })).toEqual({
				token: USER_TOKEN,
				last4: USER_TOKEN.slice(-4),
				scope: "guild",
				guildId: "100",
				linkedAt: linked.linkedAt,
			});
			expect((await store.tokens.resolve("100", "7"))?.token).toBe(USER_TOKEN);
			expect(await store.tokens.resolve("555", "7")).toMatchObject({ token: DM_TOKEN, scope: "user", guildId: null });
			expect(await store.tokens.resolve(null, "7")).toMatchObject({ token: DM_TOKEN, scope: "user" });
			expect(await store.tokens.resolve("100", "404")).toBeUndefined();
			expect(await store.tokens.get({ guildId: "555", userId: "7" })).toBeUndefined();
			expect((await store.tokens.get({ guildId: "100", userId: "9" }))?.last4).toBe(""); // too short to show
			expect(await store.tokens.info({ guildId: null, userId: "8" })).toMatchObject({
				scope: "user",
				last4: DM_TOKEN.slice(-4),
			});
			expect(await store.tokens.unlink({ guildId: "100", userId: "7" })).toBe(true);
			expect(await store.tokens.unlink({ guildId: "100", userId: "7" })).toBe(false);
			expect((await store.tokens.resolve("100", "7"))?.token).toBe(DM_TOKEN);

			// guilds
			const settings = await store.guilds.get("100");
			expect(settings).toEqual({
				serverToken: { last4: SERVER_TOKEN.slice(-4), setBy: "7", setAt: expect.any(String) },
				serverTokenDailyCap: 5,
				rehostReply: "public",
				timezone: "Europe/Paris",
				autoRehost: {},
			});
			expect(Number.isNaN(Date.parse(settings.serverToken?.setAt ?? ""))).toBe(false);
			expect(await store.guilds.getServerToken("100")).toBe(SERVER_TOKEN);
			expect(await store.guilds.getServerToken("101")).toBeUndefined();
			expect((await store.guilds.get("101")).serverToken).toBeNull();

			// subscriptions
			const all = await store.subscriptions.listAll();
			expect(all.map((s) => s.id)).toEqual([live.id, digest.id]);
			expect((await store.subscriptions.listByGuild("100")).map((s) => s.id)).toEqual([live.id]);
			expect((await store.subscriptions.listByGuild("101")).map((s) => s.id)).toEqual([digest.id]);
			expect(await store.subscriptions.listByGuild("999")).toEqual([]);
			expect(await store.subscriptions.get(gone.id)).toBeUndefined();
			const reloaded = await store.subscriptions.get(live.id);
			expect(reloaded).toEqual<FeedSubscription>({
				...live,
				paused: true,
				lastDeliveryAt: "2030-01-01T00:00:00.000Z",
			});
			expect(await store.subscriptions.get(digest.id)).toEqual(digest);
			expect(digest).toMatchObject({ mode: "digest", everyMs: 86_400_000, at: "09:30", nextDigestAt: null });

			// feed state
			expect(await store.feedState.getSeen(query)).toEqual(new Set([1, 2, 3]));
			expect(await store.feedState.isSeeded(query)).toBe(true);
			expect(await store.feedState.getCursor(query)).toEqual({
				lastPolledAt: "2030-01-01T00:00:00.000Z",
				backoffUntil: null,
				failures: 2,
				slowedUntil: null,
			});

			// outbox
			const pending = await store.outbox.pending();
			expect(pending.map((e) => e.key)).toEqual([`${live.id}:2`, `${digest.id}:1`]);
			expect(pending[0]).toMatchObject({ attempts: 1, state: "pending", payload: { title: "two" }, dueAt: null });
			expect(await store.outbox.put({ subscriptionId: live.id, postId: 1, payload: {} })).toMatchObject({
				created: false,
			});
			await store.close();
		});

		it("fails with a clear TokenDecryptError when opened with another key", async () => {
			let { store } = await openAt(dir, randomCipher());
			await store.tokens.link({ guildId: "100", userId: "7", token: USER_TOKEN });
			await store.guilds.setServerToken("100", SERVER_TOKEN, "7");
			await store.close();

			({ store } = await openAt(dir, new TokenCipher(randomBytes(32))));
			const error = await store.tokens.get({ guildId: "100", userId: "7" }).catch((e: unknown) => e);
			expect(error).toBeInstanceOf(TokenDecryptError);
			expect((error as TokenDecryptError).reason).toBe("key_mismatch");
			expect((error as Error).message).toMatch(/different TOKEN_ENCRYPTION_KEY/);
			expect((error as Error).message).not.toContain(USER_TOKEN);
			await expect(store.tokens.resolve("100", "7")).rejects.toThrow(TokenDecryptError);
			await expect(store.guilds.getServerToken("100")).rejects.toThrow(/different TOKEN_ENCRYPTION_KEY/);
			// Metadata stays readable without the key.
			expect(await store.tokens.info({ guildId: "100", userId: "7" })).toMatchObject({ last4: USER_TOKEN.slice(-4) });
			expect((await store.guilds.get("100")).serverToken?.last4).toBe(SERVER_TOKEN.slice(-4));
			await store.close();
		});

		it("counts at open, without decrypting, the tokens another key sealed (every page of them)", async () => {
			let { store } = await openAt(dir, randomCipher());
			// More than one 500-row page, and other namespaces' rows around them in key order.
			await Promise.all(
				Array.from({ length: 1_100 }, (_, i) =>
					store.tokens.link({ guildId: "100", userId: String(i + 1), token: USER_TOKEN }),
				),
			);
			await store.guilds.setServerToken("100", SERVER_TOKEN, "7");
			await store.guilds.update("101", { serverTokenDailyCap: 3 }); // a guild without a server token
			await store.usage.record("7", 1);
			await store.close();

			const cipher = new TokenCipher(randomBytes(32));
			({ store } = await openAt(dir, cipher));
			await store.tokens.link({ guildId: null, userId: "7", token: DM_TOKEN }); // sealed under the new key
			expect(await store.tokens.countUnreadable()).toBe(1_100);
			expect(await store.guilds.countUnreadableServerTokens()).toBe(1);
			expect(await store.tokens.info({ guildId: "100", userId: "1" })).toMatchObject({ readable: false });
			expect(await store.tokens.info({ guildId: null, userId: "7" })).toMatchObject({ readable: true });
			expect(await store.guilds.serverTokenUnreadable("100")).toBe(true);
			await store.close();

			const { logger, records } = memoryLogger();
			({ store } = await openAt(dir, cipher, { logger }));
			expect(records.filter((record) => "unreadableLinks" in record)).toEqual([
				expect.objectContaining({ unreadableLinks: 1_100, unreadableServerLinks: 1, keyId: cipher.keyId }),
			]);
			await store.close();
		});
	});

	describe("guild settings", () => {
		it("validates patches and ignores undefined fields", async () => {
			const { store } = await openAt(dir, randomCipher());
			await store.guilds.update("1", { timezone: "America/New_York" });
			expect((await store.guilds.update("1", { timezone: undefined, serverTokenDailyCap: 0 })).timezone).toBe(
				"America/New_York",
			);
			await expect(store.guilds.update("1", { timezone: "Mars/Olympus" })).rejects.toThrow(StoreValidationError);
			await expect(store.guilds.update("1", { serverTokenDailyCap: -1 })).rejects.toThrow(StoreValidationError);
			await expect(store.guilds.update("1", { rehostReply: "loud" as "public" })).rejects.toThrow(StoreValidationError);
			expect(await store.guilds.get("1")).toEqual({
				...DEFAULT_GUILD_SETTINGS,
				timezone: "America/New_York",
				serverTokenDailyCap: 0,
			});
			expect(await store.guilds.remove("1")).toBe(true);
			expect(await store.guilds.get("1")).toEqual(DEFAULT_GUILD_SETTINGS);
			await store.close();
		});

		it("serializes concurrent updates of one guild", async () => {
			const { store } = await openAt(dir, randomCipher());
			await Promise.all([
				store.guilds.update("1", { timezone: "Asia/Tokyo" }),
				store.guilds.update("1", { rehostReply: "public" }),
				store.guilds.update("1", { serverTokenDailyCap: 3 }),
				store.guilds.setServerToken("1", SERVER_TOKEN, "2"),
			]);
			expect(await store.guilds.get("1")).toMatchObject({
				timezone: "Asia/Tokyo",
				rehostReply: "public",
				serverTokenDailyCap: 3,
				serverToken: { setBy: "2" },
			});
			await store.close();
		});
	});

	describe("subscriptions", () => {
		it("keeps the indexes consistent under 50 concurrent creates (and removes)", async () => {
			const cipher = randomCipher();
			let { store } = await openAt(dir, cipher);
			const created = await Promise.all(
				Array.from({ length: 50 }, (_, i) =>
					store.subscriptions.create(newSub({ guildId: i % 2 === 0 ? "10" : "11" })),
				),
			);
			const ids = new Set(created.map((s) => s.id));
			expect(ids.size).toBe(50);
			expect(new Set((await store.subscriptions.listAll()).map((s) => s.id))).toEqual(ids);
			expect(await store.subscriptions.listByGuild("10")).toHaveLength(25);
			expect(await store.subscriptions.listByGuild("11")).toHaveLength(25);

			const doomed = created.slice(0, 20);
			await Promise.all([
				...doomed.map((s) => store.subscriptions.remove(s.id)),
				...Array.from({ length: 10 }, () => store.subscriptions.create(newSub({ guildId: "10" }))),
			]);
			await store.close();
			({ store } = await openAt(dir, cipher));
			const all = await store.subscriptions.listAll();
			expect(all).toHaveLength(40);
			expect(all.some((s) => doomed.some((d) => d.id === s.id))).toBe(false);
			expect(
				(await store.subscriptions.listByGuild("10")).length + (await store.subscriptions.listByGuild("11")).length,
			).toBe(40);
			await store.close();
		});

		it("normalizes filters, protects identity fields and validates", async () => {
			const { store } = await openAt(dir, randomCipher());
			const sub = await store.subscriptions.create(newSub({ filters: { tag: "  Cats ", username: "", nsfw: false } }));
			expect(sub.filters).toEqual({ tag: "Cats", username: null, nsfw: false });
			expect(sub.id).toMatch(/^[a-z0-9]{10}$/);
			expect(sub).toMatchObject({ paused: false, disabledReason: null, lastDeliveryAt: null, nextDigestAt: null });

			const updated = await store.subscriptions.update(sub.id, {
				channelId: "201",
				...({ id: "hijack", guildId: "999", createdAt: "1970-01-01T00:00:00.000Z" } as object),
			});
			expect(updated).toMatchObject({ id: sub.id, guildId: "100", channelId: "201", createdAt: sub.createdAt });
			expect(await store.subscriptions.update("nope", { paused: true })).toBeUndefined();
			await expect(store.subscriptions.update(sub.id, { at: "25:00" })).rejects.toThrow(StoreValidationError);
			await expect(store.subscriptions.create(newSub({ backfill: -1 }))).rejects.toThrow(StoreValidationError);
			await expect(store.subscriptions.create(newSub({ guildId: "a:b" }))).rejects.toThrow(StoreValidationError);
			await store.close();
		});

		it("reads a record stored before the announcement options existed with their defaults, and validates them", async () => {
			const { store } = await openAt(dir, randomCipher());
			const sub = await store.subscriptions.create(newSub());
			expect(sub).toMatchObject(SUBSCRIPTION_DEFAULTS);
			// The record as an earlier version wrote it: none of the fields added since.
			const kv = Reflect.get(store.subscriptions, "kv") as Kv;
			const old = Object.fromEntries(Object.entries(sub).filter(([field]) => !(field in SUBSCRIPTION_DEFAULTS)));
			await kv.set(`sub:${sub.id}`, old);
			expect(await store.subscriptions.get(sub.id)).toEqual(sub);
			expect((await store.subscriptions.listAll()).find((s) => s.id === sub.id)).toEqual(sub);
			expect(await store.subscriptions.update(sub.id, { style: "compact", minScore: 5 })).toMatchObject({
				style: "compact",
				minScore: 5,
				removed: "delete",
			});
			await expect(store.subscriptions.update(sub.id, { style: "huge" as "full" })).rejects.toThrow(
				StoreValidationError,
			);
			await expect(store.subscriptions.update(sub.id, { mentionRoleId: "@everyone" })).rejects.toThrow(
				StoreValidationError,
			);
			await store.close();
		});

		it("queryKeyOf is stable and normalized", () => {
			expect(queryKeyOf({ tag: "Cats", username: null, nsfw: false })).toBe("tag=cats|user=|nsfw=0");
			expect(queryKeyOf({ tag: " cats ", username: "", nsfw: false })).toBe("tag=cats|user=|nsfw=0");
			expect(queryKeyOf({ tag: null, username: "Bob", nsfw: true })).toBe("tag=|user=bob|nsfw=1");
			expect(queryKeyOf({ tag: "a|user=b", username: null, nsfw: false })).not.toBe(
				queryKeyOf({ tag: "a", username: "b", nsfw: false }),
			);
		});
	});
});
