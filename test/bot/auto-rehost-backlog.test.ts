import { SnowflakeUtil } from "discord.js";
import { describe, expect, it } from "vitest";
import { snowflakeAt, Watermarks } from "../../src/bot/auto-rehost-backlog.js";

describe("auto-rehost cursors", () => {
	it("move only past messages whose handling ended with nothing older still running", () => {
		const marks = new Watermarks();
		marks.open("1", "c", "100");
		marks.open("1", "c", "200");
		// The newer one ends first: a crash now must leave 100 after the cursor.
		expect(marks.settle("c", "200")).toBeUndefined();
		expect(marks.settle("c", "100")).toBe("200");
		marks.open("1", "c", "300");
		expect(marks.settle("c", "300")).toBe("300");
	});

	it("a message queued twice (created, then edited) holds the cursor until both runs end", () => {
		const marks = new Watermarks();
		marks.open("1", "c", "100");
		marks.open("1", "c", "100");
		expect(marks.settle("c", "100")).toBeUndefined();
		expect(marks.settle("c", "100")).toBe("100");
	});

	it("a failed run (never settled) keeps the cursor before it; other channels move on", () => {
		const marks = new Watermarks();
		marks.open("1", "c", "100");
		marks.open("1", "c", "200");
		marks.open("1", "d", "150");
		expect(marks.settle("c", "200")).toBeUndefined();
		expect(marks.settle("d", "150")).toBe("150");
	});

	it("held (a catch-up queuing its backlog), nothing moves; released, every channel moves as far as it may", () => {
		const marks = new Watermarks();
		marks.hold();
		marks.open("1", "c", "500");
		marks.open("2", "d", "600");
		marks.open("2", "d", "700");
		expect(marks.settle("c", "500")).toBeUndefined();
		expect(marks.settle("d", "700")).toBeUndefined();
		expect(marks.release()).toEqual([{ guildId: "1", channelId: "c", messageId: "500" }]);
		expect(marks.settle("d", "600")).toBe("700");
	});

	it("a cursor for a time is below every message posted from then on", () => {
		const at = Date.UTC(2026, 11, 2, 8, 0, 0);
		const first = SnowflakeUtil.generate({ timestamp: at, increment: 0n }).toString();
		expect(BigInt(snowflakeAt(at))).toBeLessThanOrEqual(BigInt(first));
		expect(BigInt(snowflakeAt(at + 1))).toBeGreaterThan(BigInt(first));
	});
});
