/** Time source for everything time-based in the emulator (ids, timestamps, 15-minute token life, CDN expiry, rate-limit windows). */
export interface Clock {
	now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand: `clock.advance(16 * 60_000)` expires interaction tokens. */
export class ManualClock implements Clock {
	private t: number;

	constructor(start: number | Date = Date.now()) {
		this.t = typeof start === "number" ? start : start.getTime();
	}

	now(): number {
		return this.t;
	}

	advance(ms: number): number {
		this.t += ms;
		return this.t;
	}

	set(t: number | Date): void {
		this.t = typeof t === "number" ? t : t.getTime();
	}
}

/** Discord snowflakes: ms since 2015-01-01 << 22 | worker << 17 | increment. Always 17-19 digits for current dates. */
export const DISCORD_EPOCH = 1420070400000n;

export class Snowflakes {
	private increment = 0n;
	private last = 0n;

	constructor(private readonly clock: Clock) {}

	next(): string {
		let ms = BigInt(Math.floor(this.clock.now()));
		// Keep ids strictly increasing even when a manual clock stands still or moves back.
		if (ms < this.last) ms = this.last;
		if (ms === this.last) {
			this.increment = (this.increment + 1n) & 0xfffn;
			if (this.increment === 0n) ms += 1n;
		} else {
			this.increment = 0n;
		}
		this.last = ms;
		return (((ms - DISCORD_EPOCH) << 22n) | (1n << 17n) | this.increment).toString();
	}
}

export function snowflakeTime(id: string): number {
	return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

export function iso(ms: number): string {
	return new Date(ms).toISOString();
}
