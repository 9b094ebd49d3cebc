/**
 * One of two processes of test/store/shared.test.ts: hammers one Redis store, then prints what
 * it was granted (JSON on stdout). Run: tsx hammer-worker.ts <name> with REDIS_URL, HAMMER_KEY.
 */
import pino from "pino";
import { openStore, TokenCipher } from "../../src/store/index.js";

const name = process.argv[2] ?? "a";
const store = await openStore({
	url: process.env.REDIS_URL ?? "",
	cipher: new TokenCipher(Buffer.from(process.env.HAMMER_KEY ?? "", "hex")),
	logger: pino({ level: "silent" }),
});
const offset = name === "a" ? 0 : 1_000_000;

const [increments, reservations, puts, dones, seen] = await Promise.all([
	// 200 plain increments of one counter.
	Promise.all(Array.from({ length: 200 }, () => store.usage.record("7", 1))),
	// 60 single-slot reservations each against a cap of 50 shared by both.
	Promise.all(Array.from({ length: 60 }, () => store.usage.reserve("100", "7", 1, 50))),
	// The same 300 posts put by both processes.
	Promise.all(
		Array.from({ length: 300 }, (_, i) => store.outbox.put({ subscriptionId: "s1", postId: i, payload: { by: name } })),
	),
	// 100 posts both put, then both mark done.
	(async () => {
		await Promise.all(
			Array.from({ length: 100 }, (_, i) => store.outbox.put({ subscriptionId: "s2", postId: i, payload: null })),
		);
		return Promise.all(Array.from({ length: 100 }, (_, i) => store.outbox.done(`s2:${i}`)));
	})(),
	// 150 ids each into one seen window, one at a time.
	(async () => {
		for (let i = 0; i < 150; i++) await store.feedState.markSeen("q", [offset + i]);
	})(),
]);
void increments;
void seen;
process.stdout.write(
	JSON.stringify({
		granted: reservations.filter((r) => r.ok).length,
		created: puts.filter((r) => r.created).map((r) => r.key),
		removed: dones.filter(Boolean).length,
	}),
);
await store.close();
