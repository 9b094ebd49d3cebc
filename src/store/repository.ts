import type { TokenCipher } from "./crypto.js";
import type { Kv } from "./kv.js";
import { type Clock, systemClock } from "./util.js";

/** What a repository is built on: its keyv namespace and the clock (injectable for tests). */
export abstract class Repository {
	protected readonly kv: Kv;
	protected readonly clock: Clock;

	constructor(kv: Kv, clock: Clock = systemClock) {
		this.kv = kv;
		this.clock = clock;
	}
}

/** A repository that keeps secrets sealed with the token cipher. */
export abstract class SealedRepository extends Repository {
	protected readonly cipher: TokenCipher;

	constructor(kv: Kv, cipher: TokenCipher, clock: Clock = systemClock) {
		super(kv, clock);
		this.cipher = cipher;
	}
}
