/** Releases a slot; calling it more than once does nothing. */
export type Release = () => void;

interface Waiter {
	resolve: (release: Release) => void;
	reject: (error: unknown) => void;
	onQueued: ((position: number) => void) | undefined;
	/** The last position told to `onQueued`. */
	told: number;
	detach: () => void;
}

/**
 * A bounded pool of slots with a FIFO queue. A freed slot goes straight to the oldest waiter;
 * waiters are told their 1-based position when they start waiting and every time it changes.
 */
export class SlotPool {
	readonly #size: number;
	#active = 0;
	#waiting: Waiter[] = [];
	#closedWith: (() => unknown) | undefined;

	constructor(size: number) {
		if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
		this.#size = size;
	}

	get active(): number {
		return this.#active;
	}

	get queued(): number {
		return this.#waiting.length;
	}

	/**
	 * Resolves with a release function once a slot is ours. Rejects with `signal.reason` when the
	 * signal fires while waiting, or with the close error once the pool is closed.
	 */
	acquire(options: { signal?: AbortSignal | undefined; onQueued?: ((position: number) => void) | undefined } = {}) {
		const { signal, onQueued } = options;
		if (this.#closedWith) return Promise.reject(this.#closedWith());
		if (signal?.aborted) return Promise.reject(signal.reason);
		if (this.#active < this.#size) {
			this.#active++;
			return Promise.resolve(this.#releaser());
		}
		return new Promise<Release>((resolve, reject) => {
			const onAbort = () => {
				const index = this.#waiting.indexOf(waiter);
				if (index === -1) return;
				this.#waiting.splice(index, 1);
				reject(signal?.reason);
				this.#tellPositions();
			};
			const waiter: Waiter = {
				resolve,
				reject,
				onQueued,
				told: 0,
				detach: () => signal?.removeEventListener("abort", onAbort),
			};
			signal?.addEventListener("abort", onAbort, { once: true });
			this.#waiting.push(waiter);
			this.#tellPositions();
		});
	}

	/** Refuses new acquisitions and rejects every waiter with `error()`; slots in use stay theirs. */
	close(error: () => unknown): void {
		this.#closedWith ??= error;
		const waiting = this.#waiting;
		this.#waiting = [];
		for (const waiter of waiting) {
			waiter.detach();
			waiter.reject(error());
		}
	}

	#releaser(): Release {
		let released = false;
		return () => {
			if (released) return;
			released = true;
			const next = this.#waiting.shift();
			if (!next) {
				this.#active--;
				return;
			}
			// The slot passes straight to the oldest waiter: `active` does not change.
			next.detach();
			next.resolve(this.#releaser());
			this.#tellPositions();
		};
	}

	#tellPositions(): void {
		this.#waiting.forEach((waiter, index) => {
			const position = index + 1;
			if (waiter.told === position) return;
			waiter.told = position;
			waiter.onQueued?.(position);
		});
	}
}
