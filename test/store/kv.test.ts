import pino from "pino";
import { describe, expect, it } from "vitest";
import type { KvBackend } from "../../src/store/backend.js";
import { Kv } from "../../src/store/kv.js";
import { SqliteBackend } from "../../src/store/sqlite.js";

/** A real (in-memory SQLite) backend that counts how it is read. */
async function countingStore() {
	const backend = await SqliteBackend.open(":memory:", pino({ level: "silent" }), false);
	const calls = { get: 0, getMany: 0 };
	const store = new Proxy(backend, {
		get(target, property) {
			const value = Reflect.get(target, property);
			if (typeof value !== "function") return value;
			return (...args: unknown[]) => {
				if (property === "get" || property === "getMany") calls[property]++;
				return value.apply(target, args);
			};
		},
	}) as KvBackend;
	return { store, calls };
}

describe("Kv", () => {
	it("reads asked for together reach the backend as one getMany, each getting its own value", async () => {
		const { store, calls } = await countingStore();
		const kv = new Kv(store, "t");
		await Promise.all(Array.from({ length: 20 }, (_, i) => kv.set(`k${i}`, { i })));
		const values = await Promise.all([
			...Array.from({ length: 20 }, (_, i) => kv.get<{ i: number }>(`k${i}`)),
			kv.get<{ i: number }>("missing"),
		]);
		expect(values.slice(0, 20).map((v) => v?.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
		expect(values[20]).toBeUndefined();
		expect(calls.getMany).toBe(1);
		expect(calls.get).toBe(0);
	});

	it("serves hot keys from memory, and never a stale one after its own write", async () => {
		const { store, calls } = await countingStore();
		const kv = new Kv(store, "t", { ttlMs: 60_000, max: 10 });
		expect(await kv.get("a")).toBeUndefined();
		expect(await kv.get("a")).toBeUndefined();
		expect(calls.get + calls.getMany).toBe(1);
		await kv.set("a", { n: 1 });
		const first = await kv.get<{ n: number }>("a");
		expect(first).toEqual({ n: 1 });
		if (first) first.n = 99; // callers get copies
		expect(await kv.get("a")).toEqual({ n: 1 });
		await kv.delete("a");
		expect(await kv.get("a")).toBeUndefined();
		expect(calls.get + calls.getMany).toBe(1);
	});
});
