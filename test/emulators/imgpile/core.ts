/** What the request handlers share: the model, settings and quota state of one emulator. */
import type { ModerationStatus } from "../../../src/imgpile/types.js";
import type { FixedWindowLimiter } from "./ratelimit.js";
import type { EmulatorState } from "./state.js";

export interface ResolvedLimits {
	publicPerMinute: number;
	authPerMinute: number;
	uploadsPerDay: number;
	maxFileBytes: number;
}

export interface Core {
	readonly state: EmulatorState;
	readonly storageDir: string;
	readonly limits: ResolvedLimits;
	readonly defaultModeration: ModerationStatus;
	/** Per-user daily upload counter (one-day fixed windows). */
	readonly uploadQuota: FixedWindowLimiter;
	readonly now: () => number;
	/** `http://host:port/api/v1`, set once the API listener is bound. */
	apiUrl: string;
}
