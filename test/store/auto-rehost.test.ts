import pino from "pino";
import { describe, expect, it } from "vitest";
import { GuildSettingsRepository } from "../../src/store/guilds.js";
import { AUTO_REHOST_CHANNELS_MAX } from "../../src/store/index.js";
import { Kv } from "../../src/store/kv.js";
import { SqliteBackend } from "../../src/store/sqlite.js";
import { forEachEngine, randomCipher, tempDirPerTest } from "./helpers.js";

const dir = tempDirPerTest();

forEachEngine((openAt) => {
	describe("auto-rehost records", () => {
		it("keep channels, opt-outs, answers, cursors and pending work across a restart", async () => {
			const cipher = randomCipher();
			let { store } = await openAt(dir(), cipher);
			expect(await store.guilds.setAutoRehost("100", "200", { serverToken: true, setBy: "7", reply: "thread" })).toBe(
				true,
			);
			expect(await store.guilds.setAutoRehost("100", "201", { serverToken: false, setBy: "7", reply: "message" })).toBe(
				true,
			);
			expect(await store.guilds.setAutoRehost("100", "201", null)).toBe(true);
			await store.autoRehost.setOptOut("100", "8", true);
			await store.autoRehost.setOptOut("100", "9", true);
			await store.autoRehost.setOptOut("100", "9", false);
			const job = { guildId: "100", channelId: "200", messageId: "300", userId: "7" };
			expect(await store.autoRehost.pending.begin(job)).toMatchObject({ attempts: 1 });
			await store.autoRehost.pending.begin({ ...job, messageId: "301" });
			await store.autoRehost.pending.done("301");
			await store.autoRehost.recordReply("302", { replyId: "400", keys: ["a1", "a2"] });
			await store.autoRehost.recordReply("302", { replyId: "401", keys: ["a2", "e1"] });
			// An answer that could not be posted keeps the last one posted.
			await store.autoRehost.recordReply("302", { replyId: "", keys: ["e2"] });
			// Cursors move forward only; `ifAbsent` only starts one; a channel turned off forgets its own.
			await store.autoRehost.advanceCursor("200", "1000", { ifAbsent: true });
			await store.autoRehost.advanceCursor("200", "999", { ifAbsent: true });
			await store.autoRehost.advanceCursor("200", "1002");
			await store.autoRehost.advanceCursor("200", "1001");
			await store.autoRehost.advanceCursor("201", "1000");
			await store.autoRehost.dropCursor("201");
			await store.close();

			({ store } = await openAt(dir(), cipher));
			expect((await store.guilds.get("100")).autoRehost).toEqual({
				"200": { serverToken: true, setBy: "7", reply: "thread" },
			});
			expect(await store.autoRehost.optedOut("100", "8")).toBe(true);
			expect(await store.autoRehost.optedOut("100", "9")).toBe(false);
			expect(await store.autoRehost.optedOut("101", "8")).toBe(false);
			// A restart finds the interrupted message, and counts its next attempt.
			expect(await store.autoRehost.pending.all()).toEqual([{ ...job, since: expect.any(String), attempts: 1 }]);
			expect(await store.autoRehost.pending.begin(job)).toMatchObject({ attempts: 2 });
			expect(await store.autoRehost.replied("302")).toEqual({ replyId: "401", keys: ["a1", "a2", "e1", "e2"] });
			expect(await store.autoRehost.cursor("200")).toBe("1002");
			expect(await store.autoRehost.cursor("201")).toBeUndefined();
			expect(await store.autoRehost.replied("303")).toBeUndefined();
			await store.close();
		});

		it("tells a member something once, however many messages race, and caps a server's channels", async () => {
			const { store } = await openAt(dir(), randomCipher());
			const told = await Promise.all(Array.from({ length: 5 }, () => store.autoRehost.firstNotice("100", "7", "link")));
			expect(told.filter(Boolean)).toHaveLength(1);
			expect(await store.autoRehost.firstNotice("100", "7", "cap:2026-12-02")).toBe(true);
			expect(await store.autoRehost.firstNotice("101", "7", "link")).toBe(true);
			const turnedOn = await Promise.all(
				Array.from({ length: AUTO_REHOST_CHANNELS_MAX + 3 }, (_, i) =>
					store.guilds.setAutoRehost("100", String(500 + i), { serverToken: false, setBy: "7", reply: "message" }),
				),
			);
			expect(turnedOn.filter(Boolean)).toHaveLength(AUTO_REHOST_CHANNELS_MAX);
			expect(Object.keys((await store.guilds.get("100")).autoRehost)).toHaveLength(AUTO_REHOST_CHANNELS_MAX);
			// One already on may still change.
			expect(await store.guilds.setAutoRehost("100", "500", { serverToken: true, setBy: "8", reply: "message" })).toBe(
				true,
			);
			await store.close();
		});
	});
});

describe("auto-rehost channel settings", () => {
	it("written before the reply setting existed, read as replying with a message", async () => {
		const backend = await SqliteBackend.open(":memory:", pino({ level: "silent" }), false);
		const kv = new Kv(backend, "guilds");
		await kv.set("100", { v: 1, autoRehost: { "200": { serverToken: true, setBy: "7" } } });
		const guilds = new GuildSettingsRepository(kv, randomCipher());
		expect((await guilds.get("100")).autoRehost).toEqual({
			"200": { serverToken: true, setBy: "7", reply: "message" },
		});
		await backend.close();
	});
});
