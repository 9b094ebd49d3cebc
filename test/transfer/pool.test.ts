import { describe, expect, it } from "vitest";
import { type Release, SlotPool } from "../../src/transfer/index.js";

describe("SlotPool", () => {
	it("hands out free slots at once, without a queue position", async () => {
		const pool = new SlotPool(2);
		const told: number[] = [];
		await pool.acquire({ onQueued: (p) => told.push(p) });
		await pool.acquire({ onQueued: (p) => told.push(p) });
		expect(told).toEqual([]);
		expect([pool.active, pool.queued]).toEqual([2, 0]);
	});

	it("is FIFO and tells each waiter its position as it moves up", async () => {
		const pool = new SlotPool(1);
		const first = await pool.acquire();
		const told: Record<string, number[]> = { b: [], c: [], d: [] };
		const order: string[] = [];
		const wait = (name: "b" | "c" | "d") =>
			pool.acquire({ onQueued: (p) => told[name]?.push(p) }).then((release) => {
				order.push(name);
				return release;
			});
		const b = wait("b");
		const c = wait("c");
		const d = wait("d");
		expect(told).toEqual({ b: [1], c: [2], d: [3] });
		first();
		const releaseB = await b;
		expect(told).toEqual({ b: [1], c: [2, 1], d: [3, 2] });
		releaseB();
		releaseB(); // twice: no effect
		(await c)();
		(await d)();
		expect(order).toEqual(["b", "c", "d"]);
		expect([pool.active, pool.queued]).toEqual([0, 0]);
	});

	it("drops an aborted waiter and moves the others up", async () => {
		const pool = new SlotPool(1);
		const first = await pool.acquire();
		const abort = new AbortController();
		const told: number[] = [];
		const b = pool.acquire({ signal: abort.signal });
		const c = pool.acquire({ onQueued: (p) => told.push(p) });
		abort.abort(new Error("stop"));
		await expect(b).rejects.toThrow("stop");
		expect(told).toEqual([2, 1]);
		first();
		(await c)();
		expect(pool.active).toBe(0);
		await expect(pool.acquire({ signal: AbortSignal.abort(new Error("already")) })).rejects.toThrow("already");
	});

	it("close() rejects waiters and later acquisitions; held slots stay valid", async () => {
		const pool = new SlotPool(1);
		const held: Release = await pool.acquire();
		const waiting = pool.acquire();
		pool.close(() => new Error("closed"));
		await expect(waiting).rejects.toThrow("closed");
		await expect(pool.acquire()).rejects.toThrow("closed");
		held();
		expect(pool.active).toBe(0);
	});

	it("refuses a size that is not a positive integer", () => {
		expect(() => new SlotPool(0)).toThrow(RangeError);
		expect(() => new SlotPool(1.5)).toThrow(RangeError);
	});
});
