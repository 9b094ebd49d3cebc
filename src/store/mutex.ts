/**
 * In-process mutex per key: `run(key, fn)` calls for the same key execute one after another in call
 * order; different keys run concurrently. Used to serialize read-modify-write of one store key.
 *
 * Not reentrant: never `run` a key from inside a `run` of the same key (it would wait for itself).
 * When holding several keys, always take them in the same order (the repositories document theirs).
 * This does not coordinate several processes; only one bot process writes the store.
 */
export class KeyedMutex {
	readonly #tails = new Map<string, Promise<void>>();

	async run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
		const previous = this.#tails.get(key);
		let release: () => void = () => {};
		const gate = new Promise<void>((resolve) => {
			release = resolve;
		});
		const tail = previous ? previous.then(() => gate) : gate;
		this.#tails.set(key, tail);
		try {
			if (previous) {
				await previous;
			}
			return await fn();
		} finally {
			release();
			if (this.#tails.get(key) === tail) {
				this.#tails.delete(key);
			}
		}
	}

	/** Whether some call currently holds or waits for `key`. */
	isLocked(key: string): boolean {
		return this.#tails.has(key);
	}

	/** Resolves once every call queued so far (on any key) has finished. */
	async idle(): Promise<void> {
		while (this.#tails.size > 0) {
			await Promise.all([...this.#tails.values()]);
		}
	}
}
