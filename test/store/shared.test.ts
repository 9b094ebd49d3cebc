import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Imgpile, ImgpileRateLimitError } from "../../src/imgpile/index.js";
import { openStore, type Store, TokenCipher } from "../../src/store/index.js";
import { startImgpileEmulator } from "../emulators/imgpile/index.js";
import { describeRedis, type RedisServer, startRedis } from "../support/redis.js";
import { memoryLogger } from "./helpers.js";

const run = promisify(execFile);
const TSX = resolve("node_modules/.bin/tsx");
const WORKER = resolve("test/store/hammer-worker.ts");

/** Polls `read` until `done` says so, at most `withinMs`; returns how long it took. */
async function within<T>(withinMs: number, read: () => Promise<T>, done: (value: T) => boolean): Promise<number> {
	const started = performance.now();
	for (;;) {
		if (done(await read())) return performance.now() - started;
		if (performance.now() - started > withinMs) throw new Error(`not seen within ${withinMs} ms`);
		await new Promise((resolve) => setImmediate(resolve));
	}
}

describeRedis("one Redis store shared by several processes", () => {
	let server: RedisServer;
	const key = randomBytes(32);
	const open = (): Promise<Store> =>
		openStore({ url: server.url, cipher: new TokenCipher(key), logger: memoryLogger().logger });
	beforeAll(async () => {
		server = await startRedis();
	});
	afterAll(async () => {
		await server.stop();
	});

	it("a token linked, replaced or unlinked through one process is used by the other within a second", async () => {
		const [a, b] = [await open(), await open()];
		const ref = { guildId: "100", userId: "7" };
		// a has read (and cached) "not linked", and the server token, before b changes them.
		expect(await a.tokens.get(ref)).toBeUndefined();
		expect(await a.guilds.getServerToken("100")).toBeUndefined();

		await b.tokens.link({ ...ref, token: "first-token-123" });
		await within(
			1_000,
			() => a.tokens.get(ref),
			(linked) => linked?.token === "first-token-123",
		);
		await b.tokens.link({ ...ref, token: "second-token-456" });
		await within(
			1_000,
			() => a.tokens.get(ref),
			(linked) => linked?.token === "second-token-456",
		);
		await b.tokens.unlink(ref);
		await within(
			1_000,
			() => a.tokens.get(ref),
			(linked) => linked === undefined,
		);

		await b.guilds.setServerToken("100", "server-token-789", "9");
		await within(
			1_000,
			() => a.guilds.getServerToken("100"),
			(token) => token === "server-token-789",
		);
		await b.guilds.clearServerToken("100");
		await within(
			1_000,
			() => a.guilds.getServerToken("100"),
			(token) => token === undefined,
		);
		await a.close();
		await b.close();
	});

	it("imgpile's budget is one for all processes: together they get what one identity may make", async () => {
		const [a, b] = [await open(), await open()];
		if (!a.requestBudget || !b.requestBudget) throw new Error("a shared store has a shared budget");
		const takes = await Promise.all(
			[a, b].flatMap((store) => Array.from({ length: 10 }, () => store.requestBudget?.take("hashA", 6) ?? 0)),
		);
		// 6 a minute (all at once at most): exactly 6 of the 20 go now, the rest are told to wait.
		expect(takes.filter((wait) => wait === 0)).toHaveLength(6);
		expect(Math.min(...takes.filter((wait) => wait > 0))).toBeGreaterThan(5_000);
		// Another identity has its own budget.
		expect(await a.requestBudget.take("tokenhash1", 6)).toBe(0);

		// Two processes' imgpile clients, as guests on one IP, against imgpile: 3 a minute between them.
		const emulator = await startImgpileEmulator({ users: [] });
		const clients = [a, b].map(
			(store) =>
				new Imgpile({
					apiUrl: emulator.apiUrl,
					uploadUrl: emulator.uploadUrl,
					pacing: { publicPerMinute: 3 },
					sharedBudget: store.requestBudget,
				}),
		);
		const [first, second] = clients.map((client) => client.as());
		if (!first || !second) throw new Error("two clients");
		await first.listPostsOnce({ sort: "latest" });
		await second.listPostsOnce({ sort: "latest" });
		await first.listPostsOnce({ sort: "latest" });
		// Each process alone would still have 2 of its own 3 left; together the 3 are spent.
		const refused = await second.listPostsOnce({ sort: "latest" }, { maxBlockedMs: 1_000 }).catch((error) => error);
		expect(refused).toBeInstanceOf(ImgpileRateLimitError);
		expect(emulator.requests.filter((r) => r.path.endsWith("/posts"))).toHaveLength(3);
		await Promise.all(clients.map((client) => client.close()));
		await emulator.close();
		await a.close();
		await b.close();
	});

	it("two OS processes hammering the same counters, cap, outbox and seen set lose no update", async () => {
		const env = { ...process.env, REDIS_URL: server.url, HAMMER_KEY: key.toString("hex") };
		const results = await Promise.all(
			["a", "b"].map((name) =>
				run(TSX, [WORKER, name], { env, timeout: 60_000 }).then(({ stdout }) => JSON.parse(stdout)),
			),
		);
		const store = await open();
		// Every increment of both processes counted.
		expect((await store.usage.get("7")).uploads).toBe(2 * 200);
		// The cap (50) was never overrun, and every slot taken was reported to exactly one caller.
		const granted = results.reduce((sum, r) => sum + r.granted, 0);
		expect(granted).toBe(50);
		expect(await store.usage.serverTokenUploads("100", "7")).toBe(50);
		// Each outbox post was created by exactly one of the two, and is pending once.
		const created = results.flatMap((r) => r.created as string[]);
		expect(created).toHaveLength(300);
		expect(new Set(created).size).toBe(300);
		const pending = await store.outbox.pending({ subscriptionId: "s1" });
		expect(pending.map((entry) => entry.key).sort()).toEqual([...new Set(created)].sort());
		// Done by both at once: each removed exactly once, none left, all tombstoned.
		const removed = results.reduce((sum, r) => sum + r.removed, 0);
		expect(removed).toBe(100);
		expect(await store.outbox.pending({ subscriptionId: "s2" })).toEqual([]);
		expect((await store.outbox.put({ subscriptionId: "s2", postId: 5, payload: null })).created).toBe(false);
		// Both processes' seen ids are all there.
		expect((await store.feedState.getSeen("q")).size).toBe(2 * 150);
		await store.close();
	});
});
