/**
 * Time arithmetic of the feeds, pure and clock-free: the slot of a query in the poll interval,
 * digest intervals as users type them, and the next digest time in a guild's time zone.
 */

import { Temporal } from "temporal-polyfill";

/** 32-bit FNV-1a: stable across processes and restarts (the slot of a query must not move). */
function hash32(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return h >>> 0;
}

/** Where in each period a query is polled: spreads queries evenly over the interval. */
export function slotOffset(queryKey: string, periodMs: number): number {
	return periodMs <= 0 ? 0 : hash32(queryKey) % Math.floor(periodMs);
}

/**
 * Whether a slot (offset + k·period) fell in (lastPolledAt, now]: a query is due once per period,
 * at its own moment, however irregular the ticks are. Never polled: due now.
 */
export function slotPassed(lastPolledAt: number | null, now: number, periodMs: number, offset: number): boolean {
	if (lastPolledAt === null) return true;
	if (now <= lastPolledAt) return false;
	return Math.floor((now - offset) / periodMs) > Math.floor((lastPolledAt - offset) / periodMs);
}

const UNIT_MS: Record<string, number> = {
	m: 60_000,
	min: 60_000,
	mins: 60_000,
	minute: 60_000,
	minutes: 60_000,
	h: 3_600_000,
	hr: 3_600_000,
	hrs: 3_600_000,
	hour: 3_600_000,
	hours: 3_600_000,
	d: 86_400_000,
	day: 86_400_000,
	days: 86_400_000,
	w: 604_800_000,
	week: 604_800_000,
	weeks: 604_800_000,
	分: 60_000,
	分钟: 60_000,
	小时: 3_600_000,
	时: 3_600_000,
	天: 86_400_000,
	日: 86_400_000,
	周: 604_800_000,
};

/**
 * A digest interval as typed: `30m`, `2h`, `1d`, `1h30m`, `90 minutes`, `12小时`; a bare number
 * means minutes. Undefined when unreadable.
 */
export function parseInterval(text: string): number | undefined {
	const clean = text.trim().toLowerCase().replace(/\s+/g, "");
	if (clean === "") return undefined;
	if (/^\d+$/.test(clean)) return Number(clean) * 60_000;
	let total = 0;
	let rest = clean;
	while (rest.length > 0) {
		const match = /^(\d+(?:\.\d+)?)([a-z]+|[分钟小时天日周]+)/u.exec(rest);
		const unit = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
		if (!match?.[1] || unit === undefined) return undefined;
		total += Number(match[1]) * unit;
		rest = rest.slice(match[0].length);
	}
	return Number.isFinite(total) && total > 0 ? Math.round(total) : undefined;
}

/** `90 min`, `2 h`, `1 d 6 h` (for lists and answers; language-neutral units). */
export function formatInterval(ms: number): string {
	const minutes = Math.round(ms / 60_000);
	if (minutes < 60) return `${Math.max(1, minutes)} min`;
	const days = Math.floor(minutes / 1440);
	const hours = Math.floor((minutes % 1440) / 60);
	const mins = minutes % 60;
	const parts: string[] = [];
	if (days > 0) parts.push(`${days} d`);
	if (hours > 0) parts.push(`${hours} h`);
	if (mins > 0) parts.push(`${mins} min`);
	return parts.join(" ");
}

const HH_MM = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** "9:05" → "09:05"; undefined when not a time of day. */
export function normalizeTimeOfDay(text: string): string | undefined {
	const match = HH_MM.exec(text.trim());
	if (!match?.[1] || !match[2]) return undefined;
	return `${match[1].padStart(2, "0")}:${match[2]}`;
}

/**
 * The instant the zone's clocks show `time` on `date`. A time skipped by a spring change runs at
 * the first valid minute after it (02:30 → 03:00, not shifted by the gap's length); a time shown
 * twice in autumn is its first occurrence, so each day's digest runs once (and a night's quiet
 * hours end once: notify-schedule.ts).
 */
export function instantOf(date: Temporal.PlainDate, time: Temporal.PlainTime, timeZone: string): number {
	const wall = date.toPlainDateTime(time);
	const first = wall.toZonedDateTime(timeZone, { disambiguation: "earlier" });
	if (first.toPlainDateTime().equals(wall)) return first.epochMilliseconds;
	// In a gap, "earlier" lands before it: the transition that follows is the first valid minute.
	const transition = first.getTimeZoneTransition("next") ?? wall.toZonedDateTime(timeZone);
	return transition.epochMilliseconds;
}

/** "HH:MM" (as normalizeTimeOfDay gives it) as a wall-clock time. */
export function plainTimeOf(hhmm: string): Temporal.PlainTime {
	const [hour = 0, minute = 0] = hhmm.split(":").map(Number);
	return new Temporal.PlainTime(hour, minute);
}

/** The first time after `after` that the zone's clocks show `hhmm` (daily digests). */
export function nextDailyAt(hhmm: string, timeZone: string, after: number): number {
	const time = plainTimeOf(hhmm);
	const today = Temporal.Instant.fromEpochMilliseconds(Math.floor(after)).toZonedDateTimeISO(timeZone).toPlainDate();
	const at = instantOf(today, time, timeZone);
	// Tomorrow's is always later: it is on a later local date than `after`.
	return at > after ? at : instantOf(today.add({ days: 1 }), time, timeZone);
}

/**
 * When a digest subscription sends next, after `now`: daily at `at` (zone time), or every
 * `everyMs` keeping the rhythm of `previous` (without catching up missed periods one by one).
 */
export function nextDigestTime(
	schedule: { everyMs: number | null; at: string | null },
	timeZone: string,
	now: number,
	previous?: number | null,
): number {
	if (schedule.at) return nextDailyAt(schedule.at, timeZone, now);
	const every = schedule.everyMs ?? 86_400_000;
	if (previous === undefined || previous === null || previous > now) return previous ?? now + every;
	const periods = Math.floor((now - previous) / every) + 1;
	return previous + periods * every;
}
