/**
 * `/feed add` and `/feed edit` with the announcement options (style, role mention, publish, score
 * gate, what happens to removed posts), and `/feed list` showing them: what an admin sets is what
 * is stored and shown, every bad input is refused with a clear, localized message and changes
 * nothing. (How each option changes deliveries is tested with the deliveries.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { OptionValue, User } from "../emulators/discord/index.js";
import { feedSteps, removeAllFeeds } from "./feed-world.js";
import { Harness } from "./harness.js";

const INTERVAL = 60_000;
let now = Date.now();
const clock = () => now;
let h: Harness;

beforeAll(async () => {
	h = await Harness.start({ imgpile: { now: clock }, feeds: { now: clock, intervalMs: INTERVAL, pageSize: 10 } });
});

afterAll(async () => {
	await h?.close();
});

afterEach(async () => {
	await removeAllFeeds(h);
	h.discord.assertNoViolations();
});

async function run(
	subcommand: string,
	options: Record<string, OptionValue>,
	extra: { user?: User; locale?: string } = {},
) {
	const ix = await h.discord.slash({
		user: extra.user ?? h.alice,
		channel: h.general,
		command: "feed",
		subcommand,
		options,
		...(extra.locale ? { locale: extra.locale } : {}),
	});
	await ix.settled();
	return ix;
}

const { addFeed, cycle, channel } = feedSteps(
	() => h,
	{
		advance: (ms) => {
			now += ms;
		},
	},
	INTERVAL,
);

const listText = async (): Promise<string> => {
	const ix = await run("list", {});
	expect(ix.ephemeral).toBe(true);
	return String(ix.reply?.embeds?.[0]?.description ?? "");
};

describe("/feed add with announcement options", () => {
	it("stores style, role ping, score gate and removal note; the reply and /feed list show them", async () => {
		const ch = await channel("options-add");
		const role = h.guild.createRole({ name: "art-fans", mentionable: true });
		const ix = await run("add", {
			channel: ch,
			tag: "opts",
			style: "compact",
			mention: role,
			"min-score": 5,
			within: "12h",
			removed: "note",
		});
		expect(ix.ephemeral).toBe(true);
		const id = /Feed `([a-z0-9]+)` added/.exec(ix.reply?.content ?? "")?.[1] ?? "";
		const options = `Options: compact · pings <@&${role.id}> · score ≥ 5 within 12 h · removed posts leave a note`;
		expect(ix.reply?.content).toContain(options);
		// Shown, never pinged: the reply mentions nobody.
		expect(h.discord.pings.filter((ping) => ping.id === role.id)).toEqual([]);
		expect(await h.store.subscriptions.get(id)).toMatchObject({
			style: "compact",
			mentionRoleId: role.id,
			publish: false,
			minScore: 5,
			withinMs: 12 * 3_600_000,
			removed: "note",
		});
		expect(await listText()).toContain(options);
	});

	it("a feed with no options says nothing of them, and keeps the defaults", async () => {
		const ch = await channel("options-none");
		const id = await addFeed({ channel: ch, tag: "plain" });
		expect(await h.store.subscriptions.get(id)).toMatchObject({
			style: "full",
			mentionRoleId: null,
			publish: false,
			minScore: null,
			withinMs: null,
			removed: "delete",
		});
		expect(await listText()).not.toContain("Options:");
	});

	it("refuses a bad window, or a window without a score, in the user's language, and adds nothing", async () => {
		const ch = await channel("options-bad");
		const bad = await run("add", { channel: ch, tag: "bad", "min-score": 3, within: "forever" });
		expect(bad.ephemeral).toBe(true);
		expect(bad.reply?.content).toBe("`forever` is not a valid window: e.g. 12h, 3d or 90m (1 hour to 7 days).");
		const tooLong = await run("add", { channel: ch, tag: "bad", "min-score": 3, within: "30d" });
		expect(tooLong.reply?.content).toContain("is not a valid window");
		const alone = await run("add", { channel: ch, tag: "bad", within: "6h" });
		expect(alone.reply?.content).toBe(
			"`within` only goes with `min-score`: add a score to reach, or leave `within` out.",
		);
		const zh = await run("add", { channel: ch, tag: "bad", within: "6h" }, { locale: "zh-CN" });
		expect(zh.reply?.content).toContain("`within` 只能配合 `min-score` 使用");
		// Markdown in the echoed input cannot break out of its code span.
		const tricky = await run("add", { channel: ch, tag: "bad", "min-score": 3, within: "`@everyone`" });
		expect(tricky.reply?.content).not.toContain("`@everyone`");
		expect(await h.store.subscriptions.listAll()).toEqual([]);
	});
});

describe("/feed edit", () => {
	it("changes only what is given, clears what is asked, and says what the feed is now", async () => {
		const ch = await channel("edit-one");
		const other = await channel("edit-two");
		const role = h.guild.createRole({ name: "pinged", mentionable: true });
		const id = await addFeed({ channel: ch, tag: "edits", mention: role, "min-score": 10 });

		const styled = await run("edit", { id, style: "image", removed: "note" });
		expect(styled.ephemeral).toBe(true);
		expect(styled.reply?.content).toContain(`✅ Feed \`${id}\` updated: #edits → <#${ch.id}>, live.`);
		expect(await h.store.subscriptions.get(id)).toMatchObject({
			style: "image",
			removed: "note",
			mentionRoleId: role.id,
			minScore: 10,
			filters: { tag: "edits", username: null, nsfw: false },
		});

		await run("edit", { id, clear: "mention", channel: other });
		await run("edit", { id, clear: "min-score" });
		const sub = await h.store.subscriptions.get(id);
		expect(sub).toMatchObject({ channelId: other.id, mentionRoleId: null, minScore: null, withinMs: null });
		expect(await listText()).toContain(`<#${other.id}>`);
	});

	it("new filters are a new query: what was published before the edit is not announced, what comes after is", async () => {
		const ch = await channel("edit-filters");
		const id = await addFeed({ channel: ch, tag: "before" });
		await cycle();
		h.imgpileEmulator.seedPost({ username: "alice", tags: ["after"], title: "Published before the edit" });
		await run("edit", { id, tag: "after" });
		await cycle();
		h.imgpileEmulator.seedPost({ username: "alice", tags: ["after"], title: "Published after the edit" });
		await cycle();
		await cycle();
		const titles = h.discord
			.messages(ch)
			.filter((m) => m.author.id === h.discord.botUser.id)
			.map((m) => m.embeds[0]?.title);
		expect(titles).toEqual(["Published after the edit"]);
	});

	it("refuses nothing to change, a twin of another feed, a window without score, and unknown ids", async () => {
		const ch = await channel("edit-refusals");
		const first = await addFeed({ channel: ch, tag: "one" });
		const second = await addFeed({ channel: ch, tag: "two" });
		const before = await h.store.subscriptions.listAll();

		expect((await run("edit", { id: first })).reply?.content).toBe(
			"Nothing to change: give at least one option to change.",
		);
		expect((await run("edit", { id: first, tag: "one" })).reply?.content).toContain("Nothing to change");
		expect((await run("edit", { id: second, tag: "one" })).reply?.content).toContain(
			`Feed \`${first}\` already announces exactly these posts in <#${ch.id}>`,
		);
		expect((await run("edit", { id: first, within: "2h" })).reply?.content).toContain("`within` only goes with");
		expect((await run("edit", { id: "nope", style: "compact" })).reply?.content).toContain("nope");
		expect((await run("edit", { id: first }, { locale: "zh-CN" })).reply?.content).toBe(
			"没有要修改的内容：请至少填写一个要修改的选项。",
		);
		expect(await h.store.subscriptions.listAll()).toEqual(before);
	});
});

describe("/feed add backfill with a score gate", () => {
	it("backfills only posts that already reached the score", async () => {
		const ch = await channel("gate-backfill");
		const low = h.imgpileEmulator.seedPost({ username: "alice", tags: ["gatefill"], title: "Low" });
		const high = h.imgpileEmulator.seedPost({ username: "alice", tags: ["gatefill"], title: "High" });
		h.imgpileEmulator.setScore(low.slug, 1);
		h.imgpileEmulator.setScore(high.slug, 8);
		const ix = await run("add", { channel: ch, tag: "gatefill", "min-score": 5, backfill: 5 });
		expect(ix.reply?.content).toContain("The latest matching post is on its way.");
		await cycle();
		const titles = h.discord
			.messages(ch)
			.filter((m) => m.author.id === h.discord.botUser.id)
			.map((m) => m.embeds[0]?.title);
		expect(titles).toEqual(["High"]);
	});
});
