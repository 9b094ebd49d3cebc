import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * pino with secrets scrubbed everywhere: in any field whose name says it holds a secret
 * (at any depth), in error messages and stacks, and in free text (Bearer/Bot headers,
 * Discord-token-shaped strings, `key=`/`token=` query values, interaction and webhook tokens in
 * URLs, and every secret registered with `secrets`, e.g. the bot token and the imgpile tokens in
 * use). Bytes (Buffers, typed arrays) and request bodies never reach a line: a file sent to
 * Discord may hold a token, and as bytes it would pass every string scrub.
 */

export const REDACTED = "[redacted]";

const SECRET_KEY =
	/^(authorization|proxy-authorization|cookie|set-cookie|passwd|key|access_?key|api_?key|encryption_?key)$|(token|secret|password)s?$|_key$/i;

const SECRET_PATTERNS: [RegExp, string][] = [
	// Authorization header values; the credential must look like one (so "bot ready" stays readable).
	[/\b([Bb]earer|Bot)\s+[A-Za-z0-9._~+/=-]{12,}/g, `$1 ${REDACTED}`],
	// Discord bot tokens: base64 id . timestamp . hmac
	[/\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}\b/g, REDACTED],
	[/([?&](?:key|token|access_key)=)[^&#\s"']+/gi, `$1${REDACTED}`],
	// Interaction and webhook tokens in Discord URLs: each one can post as the bot for 15 minutes (webhooks: forever).
	[/(\/(?:webhooks|interactions)\/\d+\/)[^/\s"'?#]+/g, `$1${REDACTED}`],
];

/** discord.js errors (DiscordAPIError, HTTPError) keep the whole request, files included: never logged. */
const REQUEST_BODY_KEY = "requestBody";

/** Secrets known by value; scrubbed from every string that reaches the log. */
export class SecretRegistry {
	readonly #values = new Set<string>();

	add(value: string | undefined): void {
		// Very short values would blank out ordinary words; real tokens are long.
		if (value && value.length >= 8) this.#values.add(value);
	}

	scrub(text: string): string {
		let out = text;
		for (const value of this.#values) if (out.includes(value)) out = out.split(value).join(REDACTED);
		for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
		return out;
	}
}

export interface CreateLoggerOptions {
	level?: LoggerOptions["level"];
	/** Where lines go; stdout by default. Tests pass an in-memory stream. */
	destination?: DestinationStream;
	secrets?: SecretRegistry;
	name?: string;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
	const secrets = options.secrets ?? new SecretRegistry();
	const scrub = (value: unknown) => scrubValue(value, secrets, new WeakSet(), 0);
	return pino(
		{
			name: options.name ?? "imgpile-bot",
			level: options.level ?? "info",
			base: { pid: process.pid },
			timestamp: pino.stdTimeFunctions.isoTime,
			formatters: {
				level: (label) => ({ level: label }),
				log: (object) => scrub(object) as Record<string, unknown>,
			},
			serializers: {
				err: (error: unknown) => scrub(error instanceof Error ? pino.stdSerializers.err(error) : error),
			},
			hooks: {
				// Messages are free text: scrub them too.
				logMethod(args, method) {
					const scrubbed = args.map((arg) => (typeof arg === "string" ? secrets.scrub(arg) : arg));
					method.apply(this, scrubbed as Parameters<typeof method>);
				},
			},
		},
		// Synchronous: a bot logs little, and nothing is lost when the process exits right after a line.
		options.destination ?? pino.destination({ dest: 1, sync: true }),
	);
}

function scrubValue(value: unknown, secrets: SecretRegistry, seen: WeakSet<object>, depth: number): unknown {
	if (typeof value === "string") return secrets.scrub(value);
	if (typeof value !== "object" || value === null) return value;
	if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
		return `[${value.byteLength} bytes]`;
	}
	if (seen.has(value) || depth > 8) return "[…]";
	seen.add(value);
	if (value instanceof Error) {
		return scrubValue(pino.stdSerializers.err(value), secrets, seen, depth + 1);
	}
	if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets, seen, depth + 1));
	if (value instanceof Headers) return scrubValue(Object.fromEntries(value), secrets, seen, depth + 1);
	if (value instanceof URL) return secrets.scrub(value.href);
	const out: Record<string, unknown> = {};
	for (const [key, inner] of Object.entries(value)) {
		if (inner === null || inner === undefined) out[key] = inner;
		else if (key === REQUEST_BODY_KEY) out[key] = "[omitted]";
		else out[key] = SECRET_KEY.test(key) ? REDACTED : scrubValue(inner, secrets, seen, depth + 1);
	}
	return out;
}
