import { Keyv } from "keyv";
import { describe, expect, it } from "vitest";
import { Kv } from "../../src/store/kv.js";
import { KeyedMutex } from "../../src/store/mutex.js";

/** A keyv store that counts how the backend is asked. */
function countingStore() {
	const data = new Map<string, unknown>();
	const calls = { get: 0, getMany: 0 };
	const store = {
		opts: {},
		namespace: undefined as string | undefined,
		on: () => store,
		async get(key: string) {
			calls.get++;
			return data.get(key);
		},
		async getMany(keys: string[]) {
			calls.getMany++;
			return keys.map((key) => data.get(key));
		},
		async set(key: string, value: unknown) {
			data.set(key, value);
			return true;
		},
		async delete(key: string) {
			return data.delete(key);
		},
		async clear() {
			data.clear();
		},
		async has(key: string) {
			return data.has(key);
		},
	};
	return { store, calls };
}

describe("Kv", () => {
	it("reads asked for together reach the backend as one getMany, each getting its own value", async () => {
		const { store, calls } = countingStore();
		const kv = new Kv(new Keyv({ store: store as never, namespace: "t", throwOnErrors: true }), new KeyedMutex());
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
		const { store, calls } = countingStore();
		const kv = new Kv(new Keyv({ store: store as never, namespace: "t", throwOnErrors: true }), new KeyedMutex(), {
			ttlMs: 60_000,
			max: 10,
		});
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
