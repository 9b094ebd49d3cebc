import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { KeyedMutex } from "../../src/store/index.js";

describe("KeyedMutex", () => {
	it("runs calls on one key one at a time, in call order", async () => {
		const mutex = new KeyedMutex();
		let value = 0;
		let inside = 0;
		let maxInside = 0;
		const order: number[] = [];
		await Promise.all(
			Array.from({ length: 20 }, (_, i) =>
				mutex.run("k", async () => {
					inside++;
					maxInside = Math.max(maxInside, inside);
					const read = value;
					await sleep(i % 3);
					value = read + 1;
					order.push(i);
					inside--;
				}),
			),
		);
		expect(value).toBe(20);
		expect(maxInside).toBe(1);
		expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
		expect(mutex.isLocked("k")).toBe(false);
	});

	it("lets different keys run concurrently", async () => {
		const mutex = new KeyedMutex();
		let inside = 0;
		let maxInside = 0;
		await Promise.all(
			["a", "b", "c"].map((key) =>
				mutex.run(key, async () => {
					inside++;
					maxInside = Math.max(maxInside, inside);
					await sleep(5);
					inside--;
				}),
			),
		);
		expect(maxInside).toBe(3);
	});

	it("releases the key when the function throws and passes results through", async () => {
		const mutex = new KeyedMutex();
		await expect(
			mutex.run("k", async () => {
				throw new Error("boom");
			}),
		).rejects.toThrow("boom");
		await expect(mutex.run("k", () => 42)).resolves.toBe(42);
		expect(mutex.isLocked("k")).toBe(false);
	});

	it("idle() waits for queued work", async () => {
		const mutex = new KeyedMutex();
		let finished = 0;
		for (let i = 0; i < 5; i++) {
			void mutex.run(`k${i % 2}`, async () => {
				await sleep(3);
				finished++;
			});
		}
		await mutex.idle();
		expect(finished).toBe(5);
	});
});
