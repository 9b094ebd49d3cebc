/** Fault injection: the next N matching requests fail (status, reset, delay) as described. */
import type { Listener } from "./http.js";

export interface FaultSpec {
	listener?: Listener;
	method?: string;
	path: string | RegExp;
	/** Only requests whose query has these values (e.g. `{ limit: "100" }`). */
	query?: Record<string, string>;
	/** How many matching requests the fault applies to (default 1). */
	times?: number;
	status?: number;
	body?: unknown;
	headers?: Record<string, string>;
	delayMs?: number;
	/** Destroy the socket without a response. */
	reset?: boolean;
	/**
	 * "before-body" (default): fail without reading the request body;
	 * "after-body": read/drain the whole request body first (the upload was sent), then fail.
	 */
	when?: "before-body" | "after-body";
}

interface ActiveFault {
	spec: FaultSpec;
	left: number;
}

export class FaultRegistry {
	private faults: ActiveFault[] = [];

	add(spec: FaultSpec): void {
		const times = spec.times ?? 1;
		if (!Number.isInteger(times) || times < 1)
			throw new Error(`injectFault: times must be a positive integer, got ${times}`);
		this.faults.push({ spec, left: times });
	}

	clear(): void {
		this.faults = [];
	}

	/** Finds the first fault matching the request and uses up one of its times. */
	take(listener: Listener, method: string, path: string, query?: URLSearchParams): FaultSpec | null {
		for (const f of this.faults) {
			const { spec } = f;
			if (spec.listener && spec.listener !== listener) continue;
			if (spec.method && spec.method.toUpperCase() !== method) continue;
			if (typeof spec.path === "string" ? spec.path !== path : !matches(spec.path, path)) continue;
			if (spec.query && Object.entries(spec.query).some(([name, value]) => query?.get(name) !== value)) continue;
			f.left--;
			if (f.left <= 0) this.faults = this.faults.filter((x) => x !== f);
			return spec;
		}
		return null;
	}
}

function matches(re: RegExp, path: string): boolean {
	re.lastIndex = 0; // global/sticky regexps keep state between calls
	return re.test(path);
}

/** Default body for an injected error status without a body. */
export function defaultFaultBody(status: number): unknown {
	if (status === 429) return { message: "Too Many Attempts." };
	if (status === 404) return { message: "Not found." };
	if (status >= 500) return { message: status === 503 ? "Service Unavailable" : "Server Error" };
	return { message: "Injected fault." };
}
