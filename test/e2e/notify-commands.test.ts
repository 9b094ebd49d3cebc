/**
 * /notify end to end (personal notifications, issue #13): follows with the user's own link and
 * imgpile username, tags, settings, status, resume, in a server and in DMs, in en-US and zh-CN,
 * and the one notice after Discord refused a notification DM. The real bot on both emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { translator } from "../../src/i18n/index.js";
import { NOTIFY_DEFAULT_EVERY_MS, type NotifyProfile } from "../../src/store/index.js";
import type { Channel, Interaction, OptionValue, User } from "../emulators/discord/index.js";
import { Harness, IMGPILE_USERS } from "./harness.js";

const en = translator("en-US");
const zh = translator("zh-CN");
const MIN = 60_000;
/** The bot's clock (handlers and the feed scheduler): 13:00 in Paris, out of the quiet hours set below. */
let clock = Date.parse("2031-01-15T12:00:00.000Z");

let h: Harness;

interface Run {
	user?: User;
	channel?: Channel;
	locale?: string;
	group?: string;
	/** Through the user's own install of the app (a user app) instead of the guild's. */
	via?: "guild" | "user";
}

/** `/notify <subcommand>` (in `group`), answered and done with. */
async function notify(subcommand: string, options: Record<string, OptionValue> = {}, run: Run = {}) {
	const ix = await h.discord.slash({
		user: run.user ?? h.alice,
		channel: run.channel ?? h.general,
		command: "notify",
		group: run.group,
		subcommand,
		options,
		locale: run.locale,
		via: run.via,
	});
	return h.finished(ix);
}

const tag = (subcommand: "add" | "remove" | "list", value?: string, run: Run = {}) =>
	notify(subcommand, value === undefined ? {} : { tag: value }, { ...run, group: "tag" });

/** What the user saw: the answer (one ephemeral message, nothing more). */
function answer(ix: Interaction): string {
	expect(ix.ephemeral, ix.describe()).toBe(true);
	expect(ix.followups, ix.describe()).toHaveLength(0);
	return String(ix.reply?.content ?? "");
}

function profile(user: User = h.alice): Promise<NotifyProfile | undefined> {
	return h.store.notify.get(user.id);
}

/** `user`'s imgpile account follows `username`, through the bot's /follow. */
async function follow(user: User, username: string) {
	const ix = await h.finished(
		await h.discord.slash({ user, channel: h.general, command: "follow", options: { user: username } }),
	);
	expect(ix.reply?.content).toContain(username);
}

beforeAll(async () => {
	h = await Harness.start({ feeds: { now: () => clock } });
	expect((await h.link(h.alice, IMGPILE_USERS.alice)).reply?.content).toContain("Linked");
	await follow(h.alice, "bob");
	await follow(h.alice, "carol");
});

afterAll(async () => {
	h?.discord.assertNoViolations();
	await h?.close();
});

describe("/notify follows", () => {
	it("needs the user's own linked token", async () => {
		const ix = await notify("follows", { enabled: true, username: "bob" }, { user: h.bob });
		expect(answer(ix)).toBe(en("identity.needsLink"));
		expect(await profile(h.bob)).toBeUndefined();
	});

	it("asks for the imgpile username once, and refuses one imgpile does not know", async () => {
		expect(answer(await notify("follows", { enabled: true }))).toBe(en("notify.follows.needUsername"));
		const unknown = await notify("follows", { enabled: true, username: "nobody-here" });
		expect(answer(unknown)).toBe(en("notify.follows.unknownUser", { username: "**nobody-here**" }));
		const bad = await notify("follows", { enabled: true, username: "no spaces" });
		expect(answer(bad)).toContain("is not an imgpile username");
		expect(await profile()).toBeUndefined();
	});

	it("turns on: reads whom the user follows at once, says how many, remembers the username", async () => {
		const ix = await notify("follows", { enabled: true, username: "alice" });
		expect(answer(ix)).toBe(en("notify.follows.on", { username: "**alice**", count: 2 }));
		expect(await profile()).toMatchObject({
			follows: true,
			username: "alice",
			following: ["carol", "bob"],
			followingAt: new Date(clock).toISOString(),
			since: new Date(clock).toISOString(),
			locale: "en-US",
		});
		// Given once: the next time needs no username, and `since` stays (something was on already).
		clock += MIN;
		expect(answer(await notify("follows", { enabled: true }))).toContain("2 imgpile users **alice** follows");
		expect((await profile())?.since).toBe(new Date(clock - MIN).toISOString());
		expect((await profile())?.followingAt).toBe(new Date(clock).toISOString());
	});
});

describe("/notify tag", () => {
	it("adds tags as feeds read them, refuses a duplicate and the 11th, removes and lists them", async () => {
		expect(answer(await tag("add", "#Cats"))).toBe(en("notify.tag.added", { tag: "cats", count: 1, max: 10 }));
		expect(answer(await tag("add", "cats"))).toBe(en("notify.tag.already", { tag: "cats" }));
		expect(answer(await tag("add", "not a tag!"))).toContain("is not a tag");
		expect(answer(await tag("add", "big_cats"))).toBe(en("notify.tag.added", { tag: "big_cats", count: 2, max: 10 }));
		expect(answer(await tag("add", "big_cats"))).toContain("`#big_cats`");
		for (let i = 3; i <= 10; i++) await tag("add", `t${i}`);
		expect((await profile())?.tags).toHaveLength(10);
		expect(answer(await tag("add", "eleven"))).toBe(en("notify.tag.tooMany", { max: 10 }));
		expect((await profile())?.tags).toHaveLength(10);
		expect((await profile())?.tags).not.toContain("eleven");

		expect(answer(await tag("remove", "dogs"))).toBe(en("notify.tag.notFound", { tag: "dogs" }));
		expect(answer(await tag("remove", "#T10"))).toBe(en("notify.tag.removed", { tag: "t10" }));
		const listed = answer(await tag("list"));
		expect(listed).toContain("Tags (9/10): `#cats` `#big_cats` `#t3`");
		expect(listed).not.toContain("t10");
		const choices = await h.discord.autocomplete({
			user: h.alice,
			channel: h.general,
			command: "notify",
			group: "tag",
			subcommand: "remove",
			options: { tag: "ca" },
			focused: "tag",
		});
		expect(choices).toEqual([
			{ name: "#cats", value: "cats" },
			{ name: "#big_cats", value: "big_cats" },
		]);
	});
});

describe("/notify settings", () => {
	it("refuses nothing to change and bad values, changing nothing", async () => {
		const before = await profile();
		expect(answer(await notify("settings"))).toBe(en("notify.settings.nothing"));
		expect(answer(await notify("settings", { every: "2x" }))).toBe(en("notify.every.invalid", { input: "2x" }));
		expect(answer(await notify("settings", { every: "1h", quiet: "25-99" }))).toBe(
			en("notify.quiet.invalid", { input: "25-99" }),
		);
		expect(answer(await notify("settings", { nsfw: true, tz: "Mars/Olympus" }))).toBe(
			en("notify.tz.invalid", { input: "Mars/Olympus" }),
		);
		const after = await profile();
		expect(after).toMatchObject({ everyMs: NOTIFY_DEFAULT_EVERY_MS, quiet: null, tz: null, nsfw: false });
		expect(after?.updatedAt).toBe(before?.updatedAt);
	});

	it("changes only what is given and shows the settings; NSFW never with a preview", async () => {
		const ix = await notify("settings", { every: "1h", quiet: "23:00-08:00", tz: "europe/paris", nsfw: true });
		const text = answer(ix);
		expect(text).toContain(en("notify.status.every", { every: "1 h" }));
		expect(text).toContain(en("notify.status.quiet", { quiet: "23:00–08:00", tz: "Europe/Paris" }));
		expect(text).toContain(en("notify.settings.nsfwNote"));
		expect(await profile()).toMatchObject({
			everyMs: 3_600_000,
			quiet: { start: "23:00", end: "08:00" },
			tz: "Europe/Paris",
			nsfw: true,
		});
		const again = answer(await notify("settings", { nsfw: false }));
		expect(again).not.toContain(en("notify.settings.nsfwNote"));
		expect(await profile()).toMatchObject({ everyMs: 3_600_000, tz: "Europe/Paris", nsfw: false });
		const zones = await h.discord.autocomplete({
			user: h.alice,
			channel: h.general,
			command: "notify",
			subcommand: "settings",
			options: { tz: "paris" },
			focused: "tz",
		});
		expect(zones.map((choice) => choice.value)).toContain("Europe/Paris");
	});

	it("answers in the user's language (zh-CN) and writes their DMs in it", async () => {
		const ix = await notify("settings", { every: "30m" }, { locale: "zh-CN" });
		expect(answer(ix)).toContain(zh("notify.settings.done"));
		expect((await profile())?.locale).toBe("zh-CN");
		await tag("add", "t10", { locale: "zh-CN" });
		const refused = await tag("add", "eleven", { locale: "zh-CN" });
		expect(answer(refused)).toBe(zh("notify.tag.tooMany", { max: 10 }));
		await notify("settings", { every: "1h" });
	});
});

describe("/notify status", () => {
	it("says what is on, how many posts wait and when the next DM goes", async () => {
		const lastBatchAt = clock - 5 * MIN;
		await h.store.notify.update(h.alice.id, (p) => ({ ...p, lastBatchAt: new Date(lastBatchAt).toISOString() }));
		for (const postId of [11, 12, 13]) {
			await h.store.notifyOutbox.put({ subscriptionId: h.alice.id, postId, payload: { id: postId } });
		}
		const text = answer(await notify("status"));
		expect(text).toContain(en("notify.status.followsOn", { username: "**alice**", count: 2 }));
		expect(text).toContain("Tags (10/10)");
		expect(text).toContain(en("notify.status.quiet", { quiet: "23:00–08:00", tz: "Europe/Paris" }));
		expect(text).toContain(en("notify.status.nsfwOff"));
		expect(text).toContain(en("notify.status.waiting", { count: 3 }));
		// One DM an hour: the next goes an hour after the last.
		const next = Math.ceil((lastBatchAt + 60 * MIN) / 1000);
		expect(text).toContain(en("notify.status.next", { time: `<t:${next}:R>` }));

		// At 23:30 in Paris the hour is up, but it waits for the quiet hours' end (08:00 Paris = 07:00 UTC).
		clock = Date.parse("2031-01-15T22:30:00.000Z");
		const quiet = answer(await notify("status"));
		expect(quiet).toContain(`<t:${Date.parse("2031-01-16T07:00:00.000Z") / 1000}:R>`);
		clock = Date.parse("2031-01-15T12:10:00.000Z");
	});

	it("for someone who never used it: nothing on, nothing waiting", async () => {
		const text = answer(await notify("status", {}, { user: h.carol }));
		expect(text).toContain(en("notify.status.followsOff"));
		expect(text).toContain(en("notify.tag.listEmpty"));
		expect(text).toContain(en("notify.nothingOn"));
		expect(text).not.toContain("Next DM");
		expect(await profile(h.carol)).toBeUndefined();
	});
});

describe("after Discord refused a notification DM", () => {
	const paused = (since: number) => ({
		reason: "dm_closed" as const,
		since: new Date(since).toISOString(),
		toldAt: null,
	});

	it("tells the user once, after the answer of the next interaction they run, whatever it is", async () => {
		await h.store.notify.update(h.alice.id, (p) => ({ ...p, paused: paused(clock - 10 * MIN) }));
		const first = await h.finished(
			await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "status" }),
		);
		expect(first.reply?.content).toContain("Linked in this server");
		expect(first.followups, first.describe()).toHaveLength(1);
		expect(first.followups[0]?.ephemeral).toBe(true);
		expect(first.followups[0]?.content).toBe(en("notify.dmClosed"));
		expect((await profile())?.paused?.toldAt).toBe(new Date(clock).toISOString());

		const second = await notify("status");
		const text = answer(second);
		expect(text).toContain(en("notify.status.paused", { since: `<t:${Math.floor((clock - 10 * MIN) / 1000)}:R>` }));
		expect(text).not.toContain("Next DM");
	});

	it("tells once when interactions race, and in the user's language", async () => {
		await h.store.notify.update(h.alice.id, (p) => ({ ...p, paused: paused(clock) }));
		const runs = await Promise.all(
			[1, 2, 3].map(async () =>
				h.finished(
					await h.discord.slash({
						user: h.alice,
						channel: h.general,
						command: "notify",
						group: "tag",
						subcommand: "list",
						locale: "zh-CN",
					}),
				),
			),
		);
		const told = runs.flatMap((ix) => ix.followups);
		expect(told.map((m) => m.content)).toEqual([zh("notify.dmClosed")]);
		expect(runs.every((ix) => String(ix.reply?.content).startsWith("标签"))).toBe(true);
	});

	it("never tells instead of an answer: not after a modal opened, but after the modal's submit", async () => {
		await h.store.notify.update(h.alice.id, (p) => ({ ...p, paused: paused(clock) }));
		const opened = await h.discord.slash({ user: h.alice, channel: h.general, command: "imgpile", subcommand: "link" });
		await opened.settled();
		expect(opened.modal).not.toBeNull();
		const submitted = await h.finished(
			await h.discord.submitModal({ user: h.alice, from: opened, fields: { token: IMGPILE_USERS.alice } }),
		);
		expect(opened.followups).toHaveLength(0);
		expect(submitted.reply?.content).toContain("Linked");
		expect(submitted.followups.map((m) => m.content)).toEqual([en("notify.dmClosed")]);
	});

	it("/notify resume turns the DMs back on, saying to open DMs first", async () => {
		expect(answer(await notify("resume"))).toBe(en("notify.resume.done"));
		expect((await profile())?.paused).toBeNull();
		expect(answer(await notify("resume"))).toBe(en("notify.resume.notPaused"));
	});
});

describe("/notify in DMs", () => {
	it("works in the bot's DMs, with the same profile as in servers", async () => {
		const dm = h.discord.dmChannel(h.carol);
		const ix = await tag("add", "dogs", { user: h.carol, channel: dm });
		expect(answer(ix)).toBe(en("notify.tag.added", { tag: "dogs", count: 1, max: 10 }));
		expect(await profile(h.carol)).toMatchObject({ tags: ["dogs"], since: new Date(clock).toISOString() });
		expect(answer(await tag("list", undefined, { user: h.carol }))).toContain("`#dogs`");
		// Turning the last thing off: nothing is on any more.
		const off = answer(await tag("remove", "dogs", { user: h.carol, channel: dm }));
		expect(off).toContain(en("notify.nothingOn"));
		expect(await h.store.notify.listActive()).toEqual([expect.objectContaining({ userId: h.alice.id })]);
	});

	it("turns follows off, keeping the tags", async () => {
		const text = answer(await notify("follows", { enabled: false }));
		expect(text).toBe(en("notify.follows.off"));
		expect(await profile()).toMatchObject({ follows: false, username: "alice" });
		expect((await profile())?.tags).toHaveLength(10);
	});
});

describe("/notify as a user-installed app", () => {
	let erin: User;

	beforeAll(() => {
		// Shares no server with the bot: only her own install of the app reaches it.
		erin = h.discord.createUser({ username: "erin" });
		h.discord.installUserApp(erin);
	});

	it("works in the bot's DM through the user's install", async () => {
		const ix = await tag("add", "foxes", { user: erin, channel: h.discord.dmChannel(erin), via: "user" });
		expect(ix.payload).toMatchObject({ context: 1, authorizing_integration_owners: { "1": erin.id } });
		expect(answer(ix)).toBe(en("notify.tag.added", { tag: "foxes", count: 1, max: 10 }));
		expect(await profile(erin)).toMatchObject({ tags: ["foxes"] });
	});

	it("works in a private channel the bot is not in (context 2), the notice included", async () => {
		const friend = h.discord.createUser({ username: "frank" });
		const group = h.discord.createPrivateChannel([erin, friend]);
		const ix = await notify("status", {}, { user: erin, channel: group, via: "user" });
		expect(ix.payload).toMatchObject({ context: 2, authorizing_integration_owners: { "1": erin.id } });
		expect(answer(ix)).toContain("Tags (1/10): `#foxes`");

		await h.store.notify.update(erin.id, (p) => ({
			...p,
			paused: { reason: "dm_closed", since: new Date(clock).toISOString(), toldAt: null },
		}));
		const told = await notify("settings", { every: "2h" }, { user: erin, channel: group, via: "user" });
		expect(told.reply?.content).toContain(en("notify.status.every", { every: "2 h" }));
		expect(told.followups.map((m) => [m.content, m.ephemeral])).toEqual([[en("notify.dmClosed"), true]]);
		expect(await profile(erin)).toMatchObject({ everyMs: 2 * 60 * MIN });
	});

	it("works in a server the bot is not in", async () => {
		const elsewhere = h.discord.createGuild({ name: "Elsewhere", owner: erin, withBot: false });
		const chat = elsewhere.createChannel({ name: "chat" });
		const ix = await tag("list", undefined, { user: erin, channel: chat, via: "user" });
		expect(ix.payload).toMatchObject({ context: 0, authorizing_integration_owners: { "1": erin.id } });
		expect(answer(ix)).toContain("`#foxes`");
		// Personal: her own link, which she has nowhere.
		const refused = await notify(
			"follows",
			{ enabled: true, username: "erin" },
			{ user: erin, channel: chat, via: "user" },
		);
		expect(answer(refused)).toBe(en("identity.needsLink"));
	});

	it("is the only command offered to user installs so far", async () => {
		await expect(
			h.discord.slash({
				user: erin,
				channel: h.discord.dmChannel(erin),
				command: "imgpile",
				subcommand: "status",
				via: "user",
			}),
		).rejects.toThrow(/not available to user installs/);
	});
});
