/**
 * When a notification DM may go (pure): quiet hours as a user in their time zone reads the clock,
 * across midnight and DST changes, the one-DM-per-interval rule, and the settings as typed.
 */
import { describe, expect, it } from "vitest";
import {
	formatQuiet,
	isQuiet,
	NOTIFY_DEFAULT_EVERY_MS,
	nextBatchAt,
	parseEvery,
	parseQuiet,
	parseTimeZone,
	type QuietHours,
	quietEndsAt,
	timeZoneChoices,
} from "../../src/feeds/notify-schedule.js";

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const night: QuietHours = { start: "23:00", end: "08:00" };
const lunch: QuietHours = { start: "13:00", end: "14:00" };

describe("quiet hours across midnight (23:00-08:00)", () => {
	it("is quiet from the start instant, and no longer at the end instant", () => {
		expect(isQuiet(at("2026-12-01T22:59:59.999Z"), night, "UTC")).toBe(false);
		expect(isQuiet(at("2026-12-01T23:00:00Z"), night, "UTC")).toBe(true);
		expect(isQuiet(at("2026-12-02T03:00:00Z"), night, "UTC")).toBe(true);
		expect(isQuiet(at("2026-12-02T07:59:59.999Z"), night, "UTC")).toBe(true);
		expect(isQuiet(at("2026-12-02T08:00:00Z"), night, "UTC")).toBe(false);
		expect(isQuiet(at("2026-12-02T12:00:00Z"), night, "UTC")).toBe(false);
	});

	it("ends at 08:00 the next morning from the evening, and the same morning after midnight", () => {
		expect(quietEndsAt(at("2026-12-01T23:30:00Z"), night, "UTC")).toBe(at("2026-12-02T08:00:00Z"));
		expect(quietEndsAt(at("2026-12-02T02:00:00Z"), night, "UTC")).toBe(at("2026-12-02T08:00:00Z"));
		expect(quietEndsAt(at("2026-12-01T23:00:00Z"), night, "UTC")).toBe(at("2026-12-02T08:00:00Z"));
	});

	it("leaves an instant outside quiet hours as it is, and so does no quiet hours at all", () => {
		expect(quietEndsAt(at("2026-12-02T08:00:00Z"), night, "UTC")).toBe(at("2026-12-02T08:00:00Z"));
		expect(quietEndsAt(at("2026-12-02T15:00:00Z"), night, "UTC")).toBe(at("2026-12-02T15:00:00Z"));
		expect(isQuiet(at("2026-12-02T03:00:00Z"), null, "UTC")).toBe(false);
		expect(quietEndsAt(at("2026-12-02T03:00:00Z"), null, "UTC")).toBe(at("2026-12-02T03:00:00Z"));
	});
});

describe("a same-day window (13:00-14:00)", () => {
	it("is quiet within the hour only", () => {
		expect(isQuiet(at("2026-12-02T12:59:00Z"), lunch, "UTC")).toBe(false);
		expect(isQuiet(at("2026-12-02T13:00:00Z"), lunch, "UTC")).toBe(true);
		expect(isQuiet(at("2026-12-02T13:59:59Z"), lunch, "UTC")).toBe(true);
		expect(isQuiet(at("2026-12-02T14:00:00Z"), lunch, "UTC")).toBe(false);
		expect(isQuiet(at("2026-12-02T23:30:00Z"), lunch, "UTC")).toBe(false);
		expect(isQuiet(at("2026-12-02T00:30:00Z"), lunch, "UTC")).toBe(false);
	});

	it("ends at 14:00 the same day", () => {
		expect(quietEndsAt(at("2026-12-02T13:10:00Z"), lunch, "UTC")).toBe(at("2026-12-02T14:00:00Z"));
	});
});

describe("Europe/Paris, spring forward (2027-03-28, 02:00 CET → 03:00 CEST)", () => {
	const paris = "Europe/Paris";

	it("an end the clocks skip (02:30) is the first instant after the gap (03:00 CEST)", () => {
		const quiet = { start: "23:00", end: "02:30" };
		expect(isQuiet(at("2027-03-27T21:59:00Z"), quiet, paris)).toBe(false); // 22:59 CET
		expect(isQuiet(at("2027-03-27T22:00:00Z"), quiet, paris)).toBe(true); // 23:00 CET
		expect(isQuiet(at("2027-03-28T00:59:59Z"), quiet, paris)).toBe(true); // 01:59:59 CET
		expect(isQuiet(at("2027-03-28T01:00:00Z"), quiet, paris)).toBe(false); // 03:00 CEST
		expect(quietEndsAt(at("2027-03-27T22:30:00Z"), quiet, paris)).toBe(at("2027-03-28T01:00:00Z"));
	});

	it("a night over the change ends at 08:00 summer time", () => {
		expect(quietEndsAt(at("2027-03-27T22:30:00Z"), night, paris)).toBe(at("2027-03-28T06:00:00Z"));
		expect(isQuiet(at("2027-03-28T05:59:00Z"), night, paris)).toBe(true);
		expect(isQuiet(at("2027-03-28T06:00:00Z"), night, paris)).toBe(false);
	});

	it("a start the clocks skip begins quiet at 03:00 CEST", () => {
		const quiet = { start: "02:30", end: "06:00" };
		expect(isQuiet(at("2027-03-28T00:59:00Z"), quiet, paris)).toBe(false); // 01:59 CET
		expect(isQuiet(at("2027-03-28T01:00:00Z"), quiet, paris)).toBe(true); // 03:00 CEST
		expect(quietEndsAt(at("2027-03-28T01:00:00Z"), quiet, paris)).toBe(at("2027-03-28T04:00:00Z"));
	});
});

describe("Europe/Paris, fall back (2026-10-25, 03:00 CEST → 02:00 CET)", () => {
	const paris = "Europe/Paris";

	it("an end the clocks show twice (02:30) is its first occurrence, and the repeated hour is not quiet again", () => {
		const quiet = { start: "23:00", end: "02:30" };
		expect(quietEndsAt(at("2026-10-24T22:00:00Z"), quiet, paris)).toBe(at("2026-10-25T00:30:00Z")); // 02:30 CEST
		expect(isQuiet(at("2026-10-25T00:29:00Z"), quiet, paris)).toBe(true);
		expect(isQuiet(at("2026-10-25T00:30:00Z"), quiet, paris)).toBe(false);
		expect(isQuiet(at("2026-10-25T01:15:00Z"), quiet, paris)).toBe(false); // 02:15 CET, the second time
	});

	it("a night over the change starts at 23:00 summer time and ends at 08:00 winter time (11 hours)", () => {
		expect(isQuiet(at("2026-10-24T20:59:00Z"), night, paris)).toBe(false);
		expect(isQuiet(at("2026-10-24T21:00:00Z"), night, paris)).toBe(true); // 23:00 CEST
		expect(quietEndsAt(at("2026-10-24T21:00:00Z"), night, paris)).toBe(at("2026-10-25T07:00:00Z")); // 08:00 CET
	});
});

describe("other zones", () => {
	it("America/New_York: quiet from 22:00 to 07:00 Eastern, in winter and in summer", () => {
		const quiet = { start: "22:00", end: "07:00" };
		const ny = "America/New_York";
		expect(isQuiet(at("2026-01-16T02:59:00Z"), quiet, ny)).toBe(false); // 21:59 EST
		expect(isQuiet(at("2026-01-16T03:00:00Z"), quiet, ny)).toBe(true); // 22:00 EST
		expect(quietEndsAt(at("2026-01-16T05:00:00Z"), quiet, ny)).toBe(at("2026-01-16T12:00:00Z"));
		expect(quietEndsAt(at("2026-07-16T05:00:00Z"), quiet, ny)).toBe(at("2026-07-16T11:00:00Z")); // 07:00 EDT
		// The spring change (2026-03-08, 02:00 EST → 03:00 EDT) falls inside the night.
		expect(quietEndsAt(at("2026-03-08T04:00:00Z"), quiet, ny)).toBe(at("2026-03-08T11:00:00Z"));
	});

	it("Asia/Kolkata (UTC+05:30): the half-hour offset is kept", () => {
		const kolkata = "Asia/Kolkata";
		expect(isQuiet(at("2026-12-02T17:29:00Z"), night, kolkata)).toBe(false); // 22:59 IST
		expect(isQuiet(at("2026-12-02T17:30:00Z"), night, kolkata)).toBe(true); // 23:00 IST
		expect(quietEndsAt(at("2026-12-02T20:00:00Z"), night, kolkata)).toBe(at("2026-12-03T02:30:00Z"));
		expect(isQuiet(at("2026-12-03T02:30:00Z"), night, kolkata)).toBe(false);
	});
});

describe("nextBatchAt", () => {
	const base = { everyMs: NOTIFY_DEFAULT_EVERY_MS, quiet: null, tz: "UTC" };
	const now = at("2026-12-02T12:00:00Z");

	it("is null while nothing is queued", () => {
		expect(nextBatchAt({ ...base, now, lastBatchAt: now - 60 * MIN, oldestQueuedAt: null })).toBeNull();
	});

	it("goes now for a first batch, or once `every` has passed since the last", () => {
		expect(nextBatchAt({ ...base, now, lastBatchAt: null, oldestQueuedAt: now - MIN })).toBe(now);
		expect(nextBatchAt({ ...base, now, lastBatchAt: now - 60 * MIN, oldestQueuedAt: now - MIN })).toBe(now);
		expect(nextBatchAt({ ...base, now, lastBatchAt: now - 15 * MIN, oldestQueuedAt: now - MIN })).toBe(now);
	});

	it("waits for the end of the interval after the last batch, not longer", () => {
		expect(nextBatchAt({ ...base, now, lastBatchAt: now - 5 * MIN, oldestQueuedAt: now - MIN })).toBe(now + 10 * MIN);
		expect(nextBatchAt({ ...base, everyMs: 60 * MIN, now, lastBatchAt: now - MIN, oldestQueuedAt: now })).toBe(
			now + 59 * MIN,
		);
	});

	it("waits to the end of quiet hours when the batch would fall in them", () => {
		const evening = at("2026-12-02T22:55:00Z");
		const late = { ...base, quiet: night, now: evening, oldestQueuedAt: evening };
		expect(nextBatchAt({ ...late, lastBatchAt: evening - 5 * MIN })).toBe(at("2026-12-03T08:00:00Z"));
		expect(nextBatchAt({ ...late, lastBatchAt: null })).toBe(evening);
		const small = at("2026-12-03T03:00:00Z");
		expect(
			nextBatchAt({ ...base, quiet: night, now: small, lastBatchAt: null, oldestQueuedAt: small - 60 * MIN }),
		).toBe(at("2026-12-03T08:00:00Z"));
	});

	it("never names a past instant: a batch due long ago during quiet hours still waits for their end", () => {
		const small = at("2026-12-03T03:00:00Z");
		const timing = {
			...base,
			quiet: night,
			now: small,
			lastBatchAt: small - 10 * 60 * MIN,
			oldestQueuedAt: small - 9 * 60 * MIN,
		};
		expect(nextBatchAt(timing)).toBe(at("2026-12-03T08:00:00Z"));
	});
});

describe("parseQuiet", () => {
	it.each([
		["23:00-08:00", "23:00", "08:00"],
		["23-8", "23:00", "08:00"],
		["23:00–08:00", "23:00", "08:00"],
		[" 22:30 - 7 ", "22:30", "07:00"],
		["13:00—14:00", "13:00", "14:00"],
		["9:05 to 17:45", "09:05", "17:45"],
	])("reads %j", (text, start, end) => {
		expect(parseQuiet(text)).toEqual({ ok: true, value: { start, end } });
	});

	it.each(["off", "OFF", "none", " None "])("%j turns quiet hours off", (text) => {
		expect(parseQuiet(text)).toEqual({ ok: true, value: null });
	});

	it.each(["", "23:00", "25:00-08:00", "23:60-08:00", "23:00-08:00-09:00", "tonight", "-1-8", "23:0-8"])(
		"refuses %j as unreadable",
		(text) => {
			expect(parseQuiet(text)).toMatchObject({ ok: false, key: "notify.quiet.invalid" });
		},
	);

	it("refuses a window that starts when it ends, quoting the input", () => {
		expect(parseQuiet("8-08:00")).toEqual({ ok: false, key: "notify.quiet.same", params: { input: "8-08:00" } });
	});

	it("quotes the input code-safely in the error", () => {
		const result = parseQuiet("`@everyone`\n-8");
		expect(result).toMatchObject({ ok: false, params: { input: "'@everyone''-8" } });
	});

	it("formats a window back", () => {
		expect(formatQuiet(night)).toBe("23:00–08:00");
	});
});

describe("parseTimeZone and timeZoneChoices", () => {
	it.each([
		["europe/paris", "Europe/Paris"],
		["Europe/Paris", "Europe/Paris"],
		["UTC", "UTC"],
		["utc", "UTC"],
		["america/new york", "America/New_York"],
		[" Asia/Kolkata ", "Asia/Kolkata"],
	])("reads %j as %j", (text, zone) => {
		expect(parseTimeZone(text)).toEqual({ ok: true, value: zone });
	});

	it.each(["Mars/Olympus_Mons", "+05:30", "", "Paris"])("refuses %j", (text) => {
		expect(parseTimeZone(text)).toEqual({ ok: false, key: "notify.tz.invalid", params: { input: text } });
	});

	it("suggests at most 25 zones, those starting with the query first", () => {
		const all = timeZoneChoices("");
		expect(all).toHaveLength(25);
		expect(all[0]).toEqual({ name: "UTC", value: "UTC" });
		expect(timeZoneChoices("paris")[0]?.value).toBe("Europe/Paris");
		expect(timeZoneChoices("new y")[0]?.value).toBe("America/New_York");
		const america = timeZoneChoices("america");
		expect(america).toHaveLength(25);
		expect(america.every((choice) => choice.value.startsWith("America/"))).toBe(true);
		expect(timeZoneChoices("no such place")).toEqual([]);
	});

	it("offers zones by their current names, and a valid alias typed in full", () => {
		expect(timeZoneChoices("kolkata")[0]?.value).toBe("Asia/Kolkata");
		expect(timeZoneChoices("kyiv")[0]?.value).toBe("Europe/Kyiv");
		expect(timeZoneChoices("calcutta")).toEqual([]);
		expect(timeZoneChoices("us/eastern")[0]?.value).toBe("US/Eastern");
	});

	it("shows each zone's offset at the given instant, within Discord's 100 characters", () => {
		expect(timeZoneChoices("Europe/Paris", at("2026-12-02T12:00:00Z"))[0]?.name).toBe("Europe/Paris (UTC+01:00)");
		expect(timeZoneChoices("Europe/Paris", at("2026-07-02T12:00:00Z"))[0]?.name).toBe("Europe/Paris (UTC+02:00)");
		expect(timeZoneChoices("kolkata", at("2026-12-02T12:00:00Z"))[0]?.name).toBe("Asia/Kolkata (UTC+05:30)");
		expect(timeZoneChoices("UTC", at("2026-12-02T12:00:00Z"))[0]?.name).toBe("UTC (UTC)");
		const names = timeZoneChoices("a", at("2026-12-02T12:00:00Z")).map((choice) => choice.name.length);
		expect(Math.max(...names)).toBeLessThanOrEqual(100);
	});
});

describe("parseEvery", () => {
	it.each([
		["15m", 15 * MIN],
		["15 min", 15 * MIN],
		["1h", 60 * MIN],
		["1h30m", 90 * MIN],
		["90m", 90 * MIN],
		["2 hours", 120 * MIN],
		["5m", 5 * MIN],
		["24h", 24 * 60 * MIN],
	])("reads %j", (text, ms) => {
		expect(parseEvery(text)).toEqual({ ok: true, value: ms });
	});

	it("defaults to 15 minutes", () => {
		expect(NOTIFY_DEFAULT_EVERY_MS).toBe(15 * MIN);
	});

	it.each(["4m", "24h1m", "2d"])("refuses %j as out of range, naming the bounds", (text) => {
		expect(parseEvery(text)).toEqual({
			ok: false,
			key: "notify.every.range",
			params: { input: text, min: "5 min", max: "1 d" },
		});
	});

	it.each(["", "soon", "15x", "h"])("refuses %j as unreadable", (text) => {
		expect(parseEvery(text)).toEqual({ ok: false, key: "notify.every.invalid", params: { input: text } });
	});
});
