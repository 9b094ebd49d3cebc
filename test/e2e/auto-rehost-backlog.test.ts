/**
 * Auto-rehost channels catch up what was posted while the bot was not listening: stopped, or
 * a gateway session that could not be resumed. Rehosted once, never twice, within the bound
 * (100 messages and 24 h per channel). Discord's clock and the bot's jump ahead together.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Channel, Message } from "../emulators/discord/index.js";
import { handled, postImage, repliesTo, settings, startAutoRehostWorld, uploads } from "./auto-rehost-world.js";
import type { Harness } from "./harness.js";

const HOUR = 60 * 60 * 1000;

describe("auto-rehost catch-up", () => {
	let h: Harness;
	let gallery: Channel;
	// Real time, moved ahead by `shift`: Discord's ids and the bot's clock agree, windows still pass.
	const clock = { shift: 0, now: () => Date.now() + clock.shift };

	beforeAll(async () => {
		({ h, gallery } = await startAutoRehostWorld({ discord: { clock }, feeds: { now: clock.now } }));
		expect((await settings(h, h.alice, gallery, { enabled: true })).reply?.content).toContain("Auto-rehost is on");
	});

	afterAll(async () => {
		await h?.close();
	});

	/** Restarts the bot and waits for its startup work (pending messages, the backlog) to be done. */
	async function restart(whileStopped: () => Promise<void> = async () => {}) {
		await h.stopBot();
		await whileStopped();
		await h.startBot();
		await h.bot.autoRehost?.recovered;
	}

	let live: Message;
	let missed: Message[] = [];

	it("messages posted while the bot was stopped are rehosted at the next start, each answered once; one handled before is left alone", async () => {
		live = await postImage(h, h.alice, gallery, "live.png", 61);
		expect(await handled(h, live)).toEqual([{ trigger: "create", outcome: "replied" }]);
		const before = uploads(h).length;
		await restart(async () => {
			missed = [
				await postImage(h, h.alice, gallery, "missed-1.png", 62),
				await h.discord.postUserMessage({ user: h.alice, channel: gallery, content: "no picture" }),
				await postImage(h, h.alice, gallery, "missed-2.png", 63),
			];
		});
		const [first, words, second] = missed as [Message, Message, Message];
		expect(h.bot.autoRehost?.outcomes(first.id)).toEqual([{ trigger: "backlog", outcome: "replied" }]);
		expect(h.bot.autoRehost?.outcomes(second.id)).toEqual([{ trigger: "backlog", outcome: "replied" }]);
		expect(h.bot.autoRehost?.outcomes(words.id)).toEqual([]);
		expect(h.bot.autoRehost?.outcomes(live.id)).toEqual([]);
		expect(uploads(h).length).toBe(before + 2);
		expect((await h.store.uploads.byAttachment(first.attachments[0]?.id ?? ""))?.width).toBe(62);
		expect((await h.store.uploads.byAttachment(second.attachments[0]?.id ?? ""))?.width).toBe(63);
		for (const message of [live, first, second]) expect(repliesTo(h, message)).toHaveLength(1);
		h.discord.assertNoViolations();
	});

	it("the next start reads nothing again; a cursor set back before them answers nothing twice", async () => {
		const before = uploads(h).length;
		await restart();
		for (const message of [live, ...missed]) expect(h.bot.autoRehost?.outcomes(message.id)).toEqual([]);
		// As if the cursor had not been written before a crash: the records still know each message.
		await h.store.autoRehost.dropCursor(gallery.id);
		await h.store.autoRehost.advanceCursor(gallery.id, (BigInt(live.id) - 1n).toString());
		await restart();
		for (const message of [live, missed[0], missed[2]] as Message[]) {
			expect(h.bot.autoRehost?.outcomes(message.id)).toEqual([{ trigger: "backlog", outcome: "nothing-new" }]);
			expect(repliesTo(h, message)).toHaveLength(1);
		}
		expect(uploads(h).length).toBe(before);
	});

	it("after a gateway session that could not be resumed, what was posted in between is caught up", async () => {
		const ready = h.discord.nextDispatch("READY");
		h.discord.invalidateSession({ resumable: false });
		// Posted while no session is live: Discord delivers it to no one.
		const gap = await postImage(h, h.alice, gallery, "gap.png", 64);
		await ready;
		expect(await handled(h, gap)).toEqual([{ trigger: "backlog", outcome: "replied" }]);
		expect(repliesTo(h, gap)).toHaveLength(1);
		const after = await postImage(h, h.alice, gallery, "after.png", 65);
		expect(await handled(h, after)).toEqual([{ trigger: "create", outcome: "replied" }]);
		h.discord.assertNoViolations();
	});

	it("reads back forum posts too: a new one, and an older one's new messages after its own cursor", async () => {
		const art = h.guild.createChannel({ name: "art", type: "forum" });
		expect((await settings(h, h.alice, h.general, { enabled: true, channel: art })).reply?.content).toContain(
			"Auto-rehost is on",
		);
		const older = art.createThread({ name: "sketches", owner: h.alice });
		const seen = await postImage(h, h.alice, older, "seen.png", 69);
		expect(await handled(h, seen)).toEqual([{ trigger: "create", outcome: "replied" }]);
		let inOlder: Message | undefined;
		let inNew: Message | undefined;
		await restart(async () => {
			inOlder = await postImage(h, h.alice, older, "later.png", 70);
			inNew = await postImage(h, h.alice, art.createThread({ name: "paintings", owner: h.alice }), "new.png", 71);
		});
		expect(h.bot.autoRehost?.outcomes(seen.id)).toEqual([]);
		for (const message of [inOlder, inNew] as Message[]) {
			expect(h.bot.autoRehost?.outcomes(message.id)).toEqual([{ trigger: "backlog", outcome: "replied" }]);
			expect(repliesTo(h, message)).toHaveLength(1);
		}
		h.discord.assertNoViolations();
	});

	it("what a forum post got while its forum was off is not read back when it is on again, what came after is", async () => {
		const forum = h.guild.createChannel({ name: "photos", type: "forum" });
		const turn = async (enabled: boolean) =>
			expect((await settings(h, h.alice, h.general, { enabled, channel: forum })).reply?.content).toContain(
				enabled ? "is on" : "is off",
			);
		await turn(true);
		const post = forum.createThread({ name: "holiday", owner: h.alice });
		expect(await handled(h, await postImage(h, h.alice, post, "on.png", 72))).toEqual([
			{ trigger: "create", outcome: "replied" },
		]);
		await turn(false);
		const whileOff = await postImage(h, h.alice, post, "off.png", 73);
		expect(await handled(h, whileOff)).toEqual([{ trigger: "create", outcome: "not-enabled" }]);
		await turn(true);
		let whileDown: Message | undefined;
		await restart(async () => {
			whileDown = await postImage(h, h.alice, post, "down.png", 74);
		});
		expect(h.bot.autoRehost?.outcomes(whileDown?.id ?? "")).toEqual([{ trigger: "backlog", outcome: "replied" }]);
		expect(h.bot.autoRehost?.outcomes(whileOff.id)).toEqual([]);
		expect(repliesTo(h, whileOff)).toEqual([]);
	});

	it("reads back at most 24 h and 100 messages per channel, and says what it skipped", async () => {
		let stale: Message | undefined;
		let recent: Message | undefined;
		let past: Message | undefined;
		// A channel of its own: a restarted bot does not know the reply bucket the earlier tests used up.
		const archive = h.guild.createChannel({ name: "archive" });
		expect((await settings(h, h.alice, h.general, { enabled: true, channel: archive })).reply?.content).toContain(
			"Auto-rehost is on",
		);
		const logged = h.logs.length;
		await restart(async () => {
			stale = await postImage(h, h.alice, archive, "stale.png", 66);
			clock.shift += 25 * HOUR;
			recent = await postImage(h, h.alice, archive, "recent.png", 67);
			for (let i = 0; i < 99; i++) await h.discord.postUserMessage({ user: h.bob, channel: archive, content: `${i}` });
			past = await postImage(h, h.alice, archive, "past-the-bound.png", 68);
		});
		expect(h.bot.autoRehost?.outcomes(recent?.id ?? "")).toEqual([{ trigger: "backlog", outcome: "replied" }]);
		expect(h.bot.autoRehost?.outcomes(stale?.id ?? "")).toEqual([]);
		expect(h.bot.autoRehost?.outcomes(past?.id ?? "")).toEqual([]);
		const lines = h.logs.slice(logged).map((line) => JSON.parse(line) as { msg: string });
		expect(lines.some((line) => line.msg.includes("older than 24 h and skipped"))).toBe(true);
		expect(lines.some((line) => line.msg.includes("at most 100 messages per channel"))).toBe(true);
		h.discord.assertNoViolations();
	});
});
