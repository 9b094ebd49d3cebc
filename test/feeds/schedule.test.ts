import { Temporal } from "temporal-polyfill";
import { describe, expect, it } from "vitest";
import { nextDailyAt, nextDigestTime } from "../../src/feeds/index.js";

/** An instant as the zone's clocks show it, with the offset: "2026-03-08T03:00:00-04:00". */
function local(ms: number, timeZone: string): string {
	return Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(timeZone).toString({ timeZoneName: "never" });
}

/** Every run of a daily `at` digest in [from, to), as the scheduler chains them (each after the last). */
function runs(at: string, timeZone: string, from: string, to: string): string[] {
	const out: string[] = [];
	const end = Date.parse(to);
	for (let next = nextDailyAt(at, timeZone, Date.parse(from) - 1); next < end; next = nextDailyAt(at, timeZone, next)) {
		out.push(local(next, timeZone));
	}
	return out;
}

describe("daily digests across DST (2026)", () => {
	it("America/New_York, spring forward on Mar 8: a skipped time runs at 03:00, the first valid minute", () => {
		const tz = "America/New_York";
		expect(runs("02:30", tz, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z")).toEqual([
			"2026-03-07T02:30:00-05:00",
			"2026-03-08T03:00:00-04:00",
			"2026-03-09T02:30:00-04:00",
		]);
		expect(runs("02:00", tz, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z")).toEqual(["2026-03-08T03:00:00-04:00"]);
		expect(runs("02:59", tz, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z")).toEqual(["2026-03-08T03:00:00-04:00"]);
		// Just outside the gap: untouched.
		expect(runs("01:59", tz, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z")).toEqual(["2026-03-08T01:59:00-05:00"]);
		expect(runs("03:00", tz, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z")).toEqual(["2026-03-08T03:00:00-04:00"]);
		expect(runs("09:00", tz, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z")).toEqual(["2026-03-08T09:00:00-04:00"]);
	});

	it("America/New_York, fall back on Nov 1: a repeated time runs once, at its first occurrence", () => {
		const tz = "America/New_York";
		expect(runs("01:30", tz, "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z")).toEqual([
			"2026-10-31T01:30:00-04:00",
			"2026-11-01T01:30:00-04:00",
			"2026-11-02T01:30:00-05:00",
		]);
		// Asked between the two 01:30s (a restart, a new feed): that day's run has passed; not again.
		const between = Date.parse("2026-11-01T06:00:00Z"); // 01:00 EST, the second time round
		expect(local(nextDailyAt("01:30", tz, between), tz)).toBe("2026-11-02T01:30:00-05:00");
		// Times outside the repeated hour are as on any day.
		expect(runs("00:30", tz, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")).toEqual(["2026-11-01T00:30:00-04:00"]);
		expect(runs("02:00", tz, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")).toEqual(["2026-11-01T02:00:00-05:00"]);
	});

	it("Europe/Paris, spring forward on Mar 29: a skipped time runs at 03:00", () => {
		const tz = "Europe/Paris";
		expect(runs("02:30", tz, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z")).toEqual([
			"2026-03-28T02:30:00+01:00",
			"2026-03-29T03:00:00+02:00",
			"2026-03-30T02:30:00+02:00",
		]);
		expect(runs("09:00", tz, "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z")).toEqual([
			"2026-03-28T09:00:00+01:00",
			"2026-03-29T09:00:00+02:00",
		]);
	});

	it("Europe/Paris, fall back on Oct 25: a repeated time runs once, at its first occurrence", () => {
		const tz = "Europe/Paris";
		expect(runs("02:30", tz, "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z")).toEqual([
			"2026-10-24T02:30:00+02:00",
			"2026-10-25T02:30:00+02:00",
			"2026-10-26T02:30:00+01:00",
		]);
		const between = Date.parse("2026-10-25T01:00:00Z"); // 02:00 CET, the second time round
		expect(local(nextDailyAt("02:30", tz, between), tz)).toBe("2026-10-26T02:30:00+01:00");
	});

	it("ordinary days and a zone without DST keep the same wall time every day", () => {
		expect(runs("09:00", "America/New_York", "2026-01-14T00:00:00Z", "2026-01-16T00:00:00Z")).toEqual([
			"2026-01-14T09:00:00-05:00",
			"2026-01-15T09:00:00-05:00",
		]);
		expect(runs("18:45", "Europe/Paris", "2026-07-14T00:00:00Z", "2026-07-16T00:00:00Z")).toEqual([
			"2026-07-14T18:45:00+02:00",
			"2026-07-15T18:45:00+02:00",
		]);
		// Tokyo has no DST: the US and EU change days are ordinary there.
		for (const day of ["2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01"]) {
			const next = nextDailyAt("02:30", "Asia/Tokyo", Date.parse(`${day}T00:00:00+09:00`));
			expect(local(next, "Asia/Tokyo")).toBe(`${day}T02:30:00+09:00`);
		}
		expect(runs("00:00", "UTC", "2026-03-08T00:00:00Z", "2026-03-10T00:00:00Z")).toEqual([
			"2026-03-08T00:00:00+00:00",
			"2026-03-09T00:00:00+00:00",
		]);
	});

	it("a digest due now runs strictly later, and `at` schedules take this rule", () => {
		const slot = Date.parse("2026-03-08T07:00:00Z"); // 03:00 EDT, the skipped 02:30's run
		expect(local(nextDailyAt("02:30", "America/New_York", slot), "America/New_York")).toBe("2026-03-09T02:30:00-04:00");
		expect(nextDigestTime({ everyMs: null, at: "02:30" }, "America/New_York", slot - 1)).toBe(slot);
	});
});
