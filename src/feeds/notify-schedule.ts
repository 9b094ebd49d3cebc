/**
 * When a user's next notification DM may go (issue 13, personal notifications): quiet hours in
 * the user's time zone, the batch interval, and the settings as users type them. Pure and
 * clock-free: every function takes the instant it reasons about.
 *
 * Bad input is not thrown: the parsers return `{ ok: false, key, params }`, an i18n key and its
 * params, which the command layer turns into its localized error (`new UserError(r.key, r.params)`).
 *
 * Quiet hours are wall-clock times in the zone. Each local date D has one quiet period, from the
 * instant the clocks show `start` on D to the instant they show `end` (on D, or on D+1 when the
 * window crosses midnight). A time the clocks skip (spring forward) is the first instant after
 * the gap; a time they show twice (fall back) is its first occurrence, so a night's quiet ends
 * once: the repeated hour after `end` is not quiet again.
 */
import { Temporal } from "temporal-polyfill";
import { quoteInput } from "../discord/index.js";
import type { MessageKey, Params } from "../i18n/index.js";
import { formatInterval, instantOf, normalizeTimeOfDay, parseInterval, plainTimeOf } from "./schedule.js";

/** A daily quiet window, "HH:MM" (24 h) wall-clock times; `start` quiet, `end` not. */
export type QuietHours = { start: string; end: string };

/** A parsed setting, or why it was refused (an i18n key and its params, for a UserError). */
export type NotifyInput<T> = { ok: true; value: T } | { ok: false; key: MessageKey; params: Params };

export const NOTIFY_DEFAULT_EVERY_MS = 15 * 60_000;
export const NOTIFY_MIN_EVERY_MS = 5 * 60_000;
export const NOTIFY_MAX_EVERY_MS = 24 * 3_600_000;

/** Autocomplete lists at most 25 choices (Discord's limit). */
const MAX_CHOICES = 25;
const QUIET_OFF = new Set(["off", "none", "no", "关", "关闭", "无"]);
const QUIET_RANGE = /^(\d{1,2}(?::\d{2})?)\s*(?:-|–|—|~|to)\s*(\d{1,2}(?::\d{2})?)$/i;

function refused(key: MessageKey, input: string, params: Params = {}): { ok: false; key: MessageKey; params: Params } {
	return { ok: false, key, params: { input: quoteInput(input), ...params } };
}

/** "8" → "08:00", "9:05" → "09:05"; undefined when not a time of day. */
function timeOfDay(text: string): string | undefined {
	return normalizeTimeOfDay(text.includes(":") ? text : `${text}:00`);
}

/**
 * Quiet hours as typed: `23:00-08:00`, `23-8`, `23:00–08:00` (en dash), `22:30 to 7`; `off` or
 * `none` (null) turns them off. Refused: unreadable (`notify.quiet.invalid`), start = end
 * (`notify.quiet.same`: all day or never is not a window).
 */
export function parseQuiet(text: string): NotifyInput<QuietHours | null> {
	const clean = text.trim();
	if (QUIET_OFF.has(clean.toLowerCase())) return { ok: true, value: null };
	const match = QUIET_RANGE.exec(clean);
	const start = match?.[1] === undefined ? undefined : timeOfDay(match[1]);
	const end = match?.[2] === undefined ? undefined : timeOfDay(match[2]);
	if (!start || !end) return refused("notify.quiet.invalid", text);
	if (start === end) return refused("notify.quiet.same", text);
	return { ok: true, value: { start, end } };
}

/** `23:00–08:00`, for status lines and answers. */
export function formatQuiet(quiet: QuietHours): string {
	return `${quiet.start}–${quiet.end}`;
}

/** The zone's identifier in IANA's casing (`europe/paris` → `Europe/Paris`), if it is one. */
function zoneId(text: string): string | undefined {
	const clean = text.trim().replace(/\s+/g, "_");
	// Offsets like +05:30 are valid to Temporal but are no place: they do not follow DST.
	if (clean === "" || /^[+-]/.test(clean)) return undefined;
	try {
		return Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(clean).timeZoneId;
	} catch {
		return undefined;
	}
}

/** An IANA time zone as typed, case-insensitively (`europe/paris`, `America/New York`, `utc`); refused: `notify.tz.invalid`. */
export function parseTimeZone(text: string): NotifyInput<string> {
	const id = zoneId(text);
	return id ? { ok: true, value: id } : refused("notify.tz.invalid", text);
}

/**
 * IANA's current names of zones ICU (Node's Intl) still lists under their former names: users
 * look for Kolkata and Kyiv. Both names work everywhere; the choices show the current one.
 */
const RENAMED: Readonly<Record<string, string>> = {
	"Africa/Asmera": "Africa/Asmara",
	"America/Buenos_Aires": "America/Argentina/Buenos_Aires",
	"America/Catamarca": "America/Argentina/Catamarca",
	"America/Coral_Harbour": "America/Atikokan",
	"America/Cordoba": "America/Argentina/Cordoba",
	"America/Godthab": "America/Nuuk",
	"America/Indianapolis": "America/Indiana/Indianapolis",
	"America/Jujuy": "America/Argentina/Jujuy",
	"America/Louisville": "America/Kentucky/Louisville",
	"America/Mendoza": "America/Argentina/Mendoza",
	"Asia/Calcutta": "Asia/Kolkata",
	"Asia/Katmandu": "Asia/Kathmandu",
	"Asia/Rangoon": "Asia/Yangon",
	"Asia/Saigon": "Asia/Ho_Chi_Minh",
	"Atlantic/Faeroe": "Atlantic/Faroe",
	"Europe/Kiev": "Europe/Kyiv",
	"Pacific/Enderbury": "Pacific/Kanton",
	"Pacific/Ponape": "Pacific/Pohnpei",
	"Pacific/Truk": "Pacific/Chuuk",
};

/** UTC and the runtime's zones, by their current IANA names. */
function knownZones(): string[] {
	return ["UTC", ...new Set(Intl.supportedValuesOf("timeZone").map((zone) => RENAMED[zone] ?? zone))];
}

/** The zone's UTC offset at `at`, as `UTC+05:30`. */
function offsetLabel(zone: string, at: number): string {
	const offset = Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(zone).offset;
	return offset === "+00:00" ? "UTC" : `UTC${offset}`;
}

/**
 * Up to 25 autocomplete choices for `query`: UTC and the runtime's IANA zones, those whose name
 * or city starts with the query first, then those containing it; a valid zone typed in full
 * that the list lacks (an alias: US/Eastern) comes first. With `at`, each name shows the zone's offset then (`Europe/Paris (UTC+01:00)`).
 */
export function timeZoneChoices(query: string, at?: number): Array<{ name: string; value: string }> {
	const zones = knownZones();
	const needle = query.trim().toLowerCase().replace(/\s+/g, "_");
	const starts: string[] = [];
	const contains: string[] = [];
	for (const zone of zones) {
		const name = zone.toLowerCase();
		const city = name.slice(name.lastIndexOf("/") + 1);
		if (name.startsWith(needle) || city.startsWith(needle)) starts.push(zone);
		else if (name.includes(needle)) contains.push(zone);
	}
	const typed = needle === "" ? undefined : zoneId(query);
	const picked = typed && !zones.includes(typed) ? [typed, ...starts, ...contains] : [...starts, ...contains];
	return picked.slice(0, MAX_CHOICES).map((zone) => ({
		name: at === undefined ? zone : `${zone} (${offsetLabel(zone, at)})`,
		value: zone,
	}));
}

/**
 * The batch interval as typed: `15m`, `15 min`, `1h`, `1h30m`, `90m`, `2 hours` (the feeds'
 * `parseInterval`), from 5 minutes to 24 hours. Refused: unreadable (`notify.every.invalid`),
 * out of bounds (`notify.every.range`).
 */
export function parseEvery(text: string): NotifyInput<number> {
	const ms = parseInterval(text);
	if (ms === undefined) return refused("notify.every.invalid", text);
	if (ms < NOTIFY_MIN_EVERY_MS || ms > NOTIFY_MAX_EVERY_MS) {
		return refused("notify.every.range", text, {
			min: formatInterval(NOTIFY_MIN_EVERY_MS),
			max: formatInterval(NOTIFY_MAX_EVERY_MS),
		});
	}
	return { ok: true, value: ms };
}

/** The quiet period of local date `date`: [start, end) as instants (empty when both fall in one gap). */
function quietPeriod(date: Temporal.PlainDate, quiet: QuietHours, zone: string): { from: number; until: number } {
	const start = plainTimeOf(quiet.start);
	const end = plainTimeOf(quiet.end);
	const endDate = Temporal.PlainTime.compare(end, start) > 0 ? date : date.add({ days: 1 });
	return { from: instantOf(date, start, zone), until: instantOf(endDate, end, zone) };
}

/** The quiet period `at` is in, if any: the one begun on its local date or on the day before. */
function periodAt(at: number, quiet: QuietHours, zone: string): { from: number; until: number } | undefined {
	const today = Temporal.Instant.fromEpochMilliseconds(Math.floor(at)).toZonedDateTimeISO(zone).toPlainDate();
	for (const date of [today.subtract({ days: 1 }), today]) {
		const period = quietPeriod(date, quiet, zone);
		if (period.from <= at && at < period.until) return period;
	}
	return undefined;
}

/** Whether `at` is within quiet hours in `zone` (none: never). Quiet at `start`, no longer at `end`. */
export function isQuiet(at: number, quiet: QuietHours | null, zone: string): boolean {
	return quiet !== null && periodAt(at, quiet, zone) !== undefined;
}

/** The first instant ≥ `at` outside quiet hours: `at` itself when it is not quiet. */
export function quietEndsAt(at: number, quiet: QuietHours | null, zone: string): number {
	if (quiet === null) return at;
	let instant = at;
	// One period ends where the next may begin (both ends in one spring gap): step on; a few days at most.
	for (let step = 0; step < 4; step++) {
		const period = periodAt(instant, quiet, zone);
		if (!period) return instant;
		instant = period.until;
	}
	return instant;
}

export interface BatchTiming {
	now: number;
	/** When the user's previous batch DM went; null before the first. */
	lastBatchAt: number | null;
	/** When the oldest waiting notification was queued; null when none waits. */
	oldestQueuedAt: number | null;
	everyMs: number;
	quiet: QuietHours | null;
	tz: string;
}

/**
 * When the next batch may go: null when nothing is queued; else as soon as allowed: at most one
 * DM per `every` (not before `lastBatchAt + everyMs`), never before now, and out of quiet hours
 * (it waits to their end). `now` itself means "due now".
 */
export function nextBatchAt(timing: BatchTiming): number | null {
	if (timing.oldestQueuedAt === null) return null;
	const earliest = Math.max(
		timing.now,
		timing.oldestQueuedAt,
		timing.lastBatchAt === null ? Number.NEGATIVE_INFINITY : timing.lastBatchAt + timing.everyMs,
	);
	return quietEndsAt(earliest, timing.quiet, timing.tz);
}
