/**
 * Personal notifications (issue #13) end to end: the real bot on both emulators, its feed
 * scheduler on a clock the test moves by hand. Users' settings are written to the store as
 * `/notify` writes them (the command has its own tests); what is checked here is what the users
 * get in their DMs: batches at most every `every`, up to 10 posts and "and N more", quiet hours
 * in their time zone (across midnight and a DST change), NSFW only when asked and never
 * previewed, nothing twice across a crash, and a DM refusal pausing the user.
 *
 * One clock for the whole file, only ever moving forward: it starts on Friday 2027-03-26, 12:00
 * UTC, so the quiet-hours tests fall on the nights before and after Europe/Paris moves to summer
 * time (Sunday 2027-03-28, 02:00 CET → 03:00 CEST).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NotifyProfile } from "../../src/store/index.js";
import type { Message, User } from "../emulators/discord/index.js";
import { CrashSwitch, startFeedHarness } from "./feed-world.js";
import { type Harness, IMGPILE_USERS } from "./harness.js";

const FEED_TOKEN = "ip-feedbot-3b8e1d0c6a2f9475";
const INTERVAL = 60_000;
const MINUTE = 60_000;

let now = Date.parse("2027-03-26T12:00:00Z");
const clock = () => now;
const crash = new CrashSwitch();
let h: Harness;

beforeAll(async () => {
	h = await startFeedHarness({ clock, token: FEED_TOKEN, intervalMs: INTERVAL, crash });
	// alice (on Discord and imgpile) follows carol; the firehose is seeded (its first read
	// announces nothing) before any test's posts.
	await follow("alice", "carol");
	await watch(h.alice, { follows: true, username: "alice" });
	await cycle(); // reads whom alice follows
	expect((await h.store.notify.get(h.alice.id))?.following).toEqual(["carol"]);
	await cycle(); // the firehose's first read
});

afterAll(async () => {
	await h?.close();
});

afterEach(async () => {
	crash.at = null;
	h.discord.assertNoViolations();
});

/** `follower` follows `followee` on imgpile (through its API, as the site would). */
async function follow(follower: keyof typeof IMGPILE_USERS, followee: string): Promise<void> {
	const res = await fetch(`${h.imgpileEmulator.apiUrl}/users/${followee}/follow`, {
		method: "POST",
		headers: { Authorization: `Bearer ${IMGPILE_USERS[follower]}`, Accept: "application/json" },
	});
	expect(res.status).toBe(200);
}

/** Settings as `/notify` stores them (everything on since now). */
async function watch(user: User, settings: Partial<NotifyProfile>): Promise<void> {
	await h.store.notify.update(user.id, (current) => ({ ...current, since: new Date(now).toISOString(), ...settings }));
	h.bot.feeds.changed();
}

async function cycle(ms = INTERVAL) {
	now += ms;
	return h.bot.tick();
}

/**
 * Runs cycles until the clock reaches `iso`: two hours at a time (a cycle takes the SQLite lease's
 * round, so minutes would be slow), then one a minute for the last `fine` minutes, where a test
 * expects a DM; returns the time of the cycle that sent `user` a DM first, if any.
 */
async function runUntil(iso: string, user: User, fine = 0): Promise<number | undefined> {
	const target = Date.parse(iso);
	const before = dms(user).length;
	let arrived: number | undefined;
	while (now < target) {
		const coarse = target - fine * MINUTE - now;
		await cycle(coarse > 0 ? Math.min(2 * 60 * MINUTE, coarse) : MINUTE);
		if (arrived === undefined && dms(user).length > before) arrived = now;
	}
	return arrived;
}

/** What the bot DMed `user`, oldest first. */
const dms = (user: User): Message[] =>
	h.discord.messages(h.discord.dmChannel(user)).filter((m) => m.author.id === h.discord.botUser.id);

const last = (user: User): Message => {
	const all = dms(user);
	const message = all[all.length - 1];
	if (!message) throw new Error(`no DM to ${user.username}`);
	return message;
};

function seed(title: string, extra: { username?: string; tags?: string[]; isNsfw?: boolean } = {}) {
	return h.imgpileEmulator.seedPost({
		username: extra.username ?? "carol",
		tags: extra.tags ?? ["misc"],
		title,
		isNsfw: extra.isNsfw,
	});
}

describe("batches", () => {
	it("sends at most one DM per `every`: the first post at once, what follows in the next period's batch", async () => {
		const start = dms(h.alice).length;
		seed("Carol's lake");
		await cycle();
		expect(dms(h.alice)).toHaveLength(start + 1);
		expect(last(h.alice).content).toContain("Carol's lake");

		seed("Carol's heron");
		seed("Carol's reeds");
		// Within the 15 minutes: queued, not sent.
		for (let i = 0; i < 13; i++) await cycle(MINUTE);
		expect(dms(h.alice)).toHaveLength(start + 1);
		expect(await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id })).toHaveLength(2);

		await cycle(MINUTE);
		await cycle(MINUTE);
		expect(dms(h.alice)).toHaveLength(start + 2);
		const second = String(last(h.alice).content);
		expect(second).toContain("Carol's heron");
		expect(second).toContain("Carol's reeds");
		expect(second).not.toContain("Carol's lake");
		expect(await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id })).toEqual([]);
		// Nothing more without new posts.
		await cycle(20 * MINUTE);
		expect(dms(h.alice)).toHaveLength(start + 2);
	});

	it("turning everything off drops what waits: no DM after", async () => {
		await cycle(20 * MINUTE);
		seed("Sent at once");
		await cycle();
		const start = dms(h.alice).length;
		seed("Waiting when turned off");
		await cycle();
		expect(await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id })).toHaveLength(1);
		await watch(h.alice, { follows: false });
		await cycle(20 * MINUTE);
		expect(dms(h.alice)).toHaveLength(start);
		expect(await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id })).toEqual([]);
		await watch(h.alice, { follows: true });
	});

	it("lists 10 posts and says how many more, all in one DM", async () => {
		await cycle(20 * MINUTE);
		const start = dms(h.alice).length;
		for (let i = 1; i <= 12; i++) seed(`Sketch ${i}`);
		await cycle();
		expect(dms(h.alice)).toHaveLength(start + 1);
		const content = String(last(h.alice).content);
		const listed = [...content.matchAll(/Sketch (\d+)/g)].map((m) => Number(m[1]));
		expect(new Set(listed).size).toBe(10);
		expect(content).toMatch(/and 2 more/);
		expect(content.length).toBeLessThanOrEqual(2000);
		expect(await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id })).toEqual([]);
	});

	it("a tag no feed uses gets its own poll, and a post followed and tagged comes once", async () => {
		await watch(h.bob, { tags: ["herons"], username: "bob" });
		await cycle(20 * MINUTE); // the tag's first poll only reads
		const alice = dms(h.alice).length;
		const bob = dms(h.bob).length;
		seed("Grey heron", { tags: ["herons"] });
		seed("Bob's own heron", { username: "bob", tags: ["herons"] });
		await cycle();
		await cycle();
		expect(dms(h.bob)).toHaveLength(bob + 1);
		expect(last(h.bob).content).toContain("Grey heron");
		// Bob is not told of his own post.
		expect(last(h.bob).content).not.toContain("Bob's own heron");
		expect(dms(h.alice)).toHaveLength(alice + 1);
		expect(last(h.alice).content).toContain("Grey heron");
		expect(await h.store.notifyOutbox.pending()).toEqual([]);
	});
});

describe("NSFW", () => {
	it("is sent only with the nsfw setting, and never with a preview", async () => {
		await cycle(20 * MINUTE);
		const start = dms(h.bob).length;
		seed("Figure study", { tags: ["herons"], isNsfw: true });
		await cycle();
		await cycle(20 * MINUTE);
		expect(dms(h.bob)).toHaveLength(start);

		await watch(h.bob, { nsfw: true });
		seed("Second figure study", { tags: ["herons"], isNsfw: true });
		await cycle();
		await cycle();
		expect(dms(h.bob)).toHaveLength(start + 1);
		const message = last(h.bob);
		expect(message.content).toContain("Second figure study");
		expect(message.content).not.toContain("Figure study\n");
		expect(JSON.stringify(message.embeds)).not.toMatch(/"(image|thumbnail)"/);
		await watch(h.bob, { nsfw: false });
	});
});

describe("crash safety", () => {
	it("a crash after Discord took the batch sends nothing again", async () => {
		await cycle(20 * MINUTE);
		const start = dms(h.alice).length;
		seed("Across the crash");
		crash.at = "afterAccepted";
		await expect(cycle()).rejects.toThrow(/simulated crash/);
		expect(dms(h.alice)).toHaveLength(start + 1);
		await cycle();
		await cycle(20 * MINUTE);
		expect(dms(h.alice)).toHaveLength(start + 1);
		expect(await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id })).toEqual([]);
	});

	it("a crash while the batch's entries were being done finishes them without sending again", async () => {
		await cycle(20 * MINUTE);
		const start = dms(h.alice).length;
		seed("Done one");
		seed("Done two");
		seed("Done three");
		crash.at = "afterAccepted";
		await expect(cycle()).rejects.toThrow(/simulated crash/);
		expect(dms(h.alice)).toHaveLength(start + 1);
		// What the delivery had written when it stopped: the message recorded on the marker's
		// (oldest) entry, then one of the others done.
		const [marker, second] = await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id });
		await h.store.notifyOutbox.recordSent(marker?.key ?? "", last(h.alice).id);
		await h.store.notifyOutbox.done(second?.key ?? "");
		await cycle();
		await cycle(20 * MINUTE);
		expect(dms(h.alice)).toHaveLength(start + 1);
		expect(await h.store.notifyOutbox.pending({ subscriptionId: h.alice.id })).toEqual([]);
	});

	it("a crash before the DM went sends it once at the next cycle", async () => {
		await cycle(20 * MINUTE);
		const start = dms(h.alice).length;
		seed("Before the crash");
		crash.at = "beforeSend";
		await expect(cycle()).rejects.toThrow(/simulated crash/);
		expect(dms(h.alice)).toHaveLength(start);
		await cycle();
		expect(dms(h.alice)).toHaveLength(start + 1);
		expect(last(h.alice).content).toContain("Before the crash");
		await cycle(20 * MINUTE);
		expect(dms(h.alice)).toHaveLength(start + 1);
	});
});

describe("a DM Discord refuses", () => {
	it("pauses the user (nothing more queued, what waits kept) until resumed, then sends it once", async () => {
		await watch(h.carol, { tags: ["herons"], username: "carol" });
		await cycle(20 * MINUTE);
		h.carol.closeDMs();
		seed("Heron at dusk", { username: "alice", tags: ["herons"] });
		const refused = await cycle();
		expect(refused.deliveryFailures).toBeGreaterThan(0);
		expect((await h.store.notify.get(h.carol.id))?.paused).toMatchObject({ reason: "dm_closed", toldAt: null });
		expect(dms(h.carol)).toHaveLength(0);

		// Paused: later posts are not queued, and nothing is tried again.
		seed("Heron at night", { username: "alice", tags: ["herons"] });
		await cycle();
		const after = await cycle(20 * MINUTE);
		expect(after.deliveryFailures).toBe(0);
		const waiting = await h.store.notifyOutbox.pending({ subscriptionId: h.carol.id });
		expect(waiting.map((entry) => (entry.payload as { post: { title: string } }).post.title)).toEqual([
			"Heron at dusk",
		]);

		// `/notify resume` (its own test) clears the pause: the batch refused goes out, once.
		h.carol.openDMs();
		await watch(h.carol, { paused: null });
		await cycle();
		expect(dms(h.carol)).toHaveLength(1);
		expect(last(h.carol).content).toContain("Heron at dusk");
		await cycle(20 * MINUTE);
		expect(dms(h.carol)).toHaveLength(1);
		await watch(h.carol, { tags: [] });
	});
});

describe("users who installed the app on their account", () => {
	it("get their DMs without sharing a server with the bot; without the install, Discord refuses", async () => {
		const dana = h.discord.createUser({ username: "dana" });
		const erin = h.discord.createUser({ username: "erin" });
		h.discord.installUserApp(dana);
		await watch(dana, { tags: ["herons"] });
		await watch(erin, { tags: ["herons"] });
		await cycle(20 * MINUTE);
		seed("Heron for strangers", { username: "alice", tags: ["herons"] });
		await cycle();
		expect(dms(dana)).toHaveLength(1);
		expect(last(dana).content).toContain("Heron for strangers");
		expect(dms(erin)).toHaveLength(0);
		expect((await h.store.notify.get(erin.id))?.paused?.reason).toBe("dm_closed");
		await watch(dana, { tags: [] });
		await watch(erin, { tags: [], paused: null });
	});
});

describe("the following list", () => {
	const followingReads = () =>
		h.imgpileEmulator.requests.filter((r) => r.listener === "api" && r.path === "/api/v1/users/carol/following");

	it("is read again hourly, no sooner: a follow made between reads counts from the next read on", async () => {
		const frank = h.discord.createUser({ username: "frank" });
		h.discord.installUserApp(frank);
		await follow("carol", "alice");
		await watch(frank, { follows: true, username: "carol", following: null, followingAt: null });
		await cycle(20 * MINUTE);
		expect(followingReads()).toHaveLength(1);
		expect((await h.store.notify.get(frank.id))?.following).toEqual(["alice"]);
		const reads = followingReads().length;

		await follow("carol", "bob");
		seed("Bob before the refresh", { username: "bob" });
		seed("Alice's morning", { username: "alice" });
		await cycle();
		await cycle();
		expect(dms(frank)).toHaveLength(1);
		expect(last(frank).content).toContain("Alice's morning");
		expect(last(frank).content).not.toContain("Bob before the refresh");

		// No read before the hour is up, whatever happens meanwhile.
		for (let i = 0; i < 5; i++) await cycle(10 * MINUTE);
		expect(followingReads()).toHaveLength(reads);
		await cycle(10 * MINUTE);
		expect(followingReads()).toHaveLength(reads + 1);
		expect((await h.store.notify.get(frank.id))?.following).toEqual(["bob", "alice"]);

		seed("Bob after the refresh", { username: "bob" });
		await cycle();
		await cycle();
		expect(dms(frank)).toHaveLength(2);
		expect(last(frank).content).toContain("Bob after the refresh");
		// The post from before the refresh is never sent late.
		expect(dms(frank).some((m) => m.content.includes("Bob before the refresh"))).toBe(false);
		await watch(frank, { follows: false });
	});
});

describe("quiet hours in the user's time zone", () => {
	it("across midnight: a post at 23:10 in Paris waits for 08:00 there", async () => {
		await watch(h.alice, { quiet: { start: "23:00", end: "08:00" }, tz: "Europe/Paris" });
		await runUntil("2027-03-26T22:10:00Z", h.alice); // 23:10 CET
		const start = dms(h.alice).length;
		seed("Night owl");
		const arrived = await runUntil("2027-03-27T07:03:00Z", h.alice, 8);
		// 08:00 CET is 07:00 UTC: the first cycle from then on sends it.
		expect(arrived).toBeDefined();
		expect(new Date(arrived ?? 0).toISOString()).toBe("2027-03-27T07:00:00.000Z");
		expect(dms(h.alice)).toHaveLength(start + 1);
		expect(last(h.alice).content).toContain("Night owl");
	});

	it("across the change to summer time: the night is an hour shorter in UTC", async () => {
		await runUntil("2027-03-27T22:10:00Z", h.alice); // 23:10 CET, Saturday
		const start = dms(h.alice).length;
		seed("Spring forward");
		const arrived = await runUntil("2027-03-28T06:03:00Z", h.alice, 8);
		// 08:00 CEST on Sunday is 06:00 UTC.
		expect(new Date(arrived ?? 0).toISOString()).toBe("2027-03-28T06:00:00.000Z");
		expect(dms(h.alice)).toHaveLength(start + 1);
		await watch(h.alice, { quiet: null, tz: null });
	});
});
