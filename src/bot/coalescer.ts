/**
 * Per-key trailing throttle: the first `schedule` for a key runs after `intervalMs`; schedules
 * arriving meanwhile replace the pending run (the last wins). So at most one run per key per
 * interval, and none is lost while the process lives.
 */
export class Coalescer {
	readonly #intervalMs: number;
	readonly #pending = new Map<string, { run: () => Promise<void> }>();

	constructor(intervalMs: number) {
		this.#intervalMs = intervalMs;
	}

	get pending(): number {
		return this.#pending.size;
	}

	schedule(key: string, run: () => Promise<void>, onError: (error: unknown) => void): void {
		const waiting = this.#pending.get(key);
		if (waiting) {
			waiting.run = run;
			return;
		}
		const entry = { run };
		this.#pending.set(key, entry);
		const timer = setTimeout(() => {
			this.#pending.delete(key);
			entry.run().catch(onError);
		}, this.#intervalMs);
		timer.unref();
	}
}
