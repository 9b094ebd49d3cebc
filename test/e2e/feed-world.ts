/**
 * What the feed e2e tests share: a harness whose feeds (and imgpile) run on a clock the test
 * moves by hand, a switch that kills the next delivery at one of the two moments a crash matters
 * (the scheduler's test hooks: throwing there stops the cycle as a kill would), and a clean slate
 * between tests; and what the tests do over and over (`feedSteps`): add a feed as a manager, run a
 * cycle one poll period later, make a channel the bot knows, read what it posted.
 */
import { expect } from "vitest";
import type { FeedHooks, TickReport } from "../../src/feeds/index.js";
import type { Channel, DiscordEmulatorOptions, Message, OptionValue } from "../emulators/discord/index.js";
import { Harness, imgpileUsers } from "./harness.js";

export type CrashMoment = "beforeSend" | "afterAccepted";

class SimulatedCrash extends Error {}

export class CrashSwitch {
	/** Where the next delivery stops ("simulated crash <moment>"); reset once it did. */
	at: CrashMoment | null = null;

	readonly hooks: FeedHooks = {
		beforeSend: () => this.#hit("beforeSend"),
		afterAccepted: () => this.#hit("afterAccepted"),
	};

	#hit(moment: CrashMoment): void {
		if (this.at !== moment) return;
		this.at = null;
		throw new SimulatedCrash(`simulated crash ${moment}`);
	}
}

/**
 * The real bot on both emulators, its feeds polling as `token` every `intervalMs` of `clock`,
 * 10 posts a page, `crash` at its hooks. Deliveries of a burst to one channel do not wait out
 * Discord's 5 per 5 s here.
 */
export function startFeedHarness(options: {
	clock: () => number;
	token: string;
	intervalMs: number;
	crash: CrashSwitch;
	discord?: DiscordEmulatorOptions;
}): Promise<Harness> {
	const { clock, token } = options;
	return Harness.start({
		imgpile: { now: clock, users: imgpileUsers({ username: "feedbot", token }) },
		discord: {
			...options.discord,
			rateLimits: { routes: { "POST /channels/{channel_id}/messages": { limit: 500, windowMs: 1000 } } },
		},
		feeds: { now: clock, intervalMs: options.intervalMs, token, pageSize: 10, hooks: options.crash.hooks },
	});
}

/** Each test starts without the previous tests' feeds (nor an armed crash). */
export async function removeAllFeeds(h: Harness, crash?: CrashSwitch): Promise<void> {
	for (const sub of await h.store.subscriptions.listAll()) {
		await h.store.subscriptions.remove(sub.id);
		await h.store.outbox.removeForSubscription(sub.id);
	}
	h.bot.feeds.changed();
	if (crash) crash.at = null;
}

export function feedSteps(h: () => Harness, clock: { advance(ms: number): void }, intervalMs: number) {
	/** `/feed add` by alice from #general; returns the new feed's id. */
	async function addFeed(options: Record<string, OptionValue>): Promise<string> {
		const ix = await h().discord.slash({
			user: h().alice,
			channel: h().general,
			command: "feed",
			subcommand: "add",
			options,
		});
		await ix.settled();
		const id = /Feed `([a-z0-9]+)` added/.exec(ix.reply?.content ?? "")?.[1];
		expect(id, ix.describe()).toBeTruthy();
		return id ?? "";
	}
	/** One poll period later (or `ms`), one scheduler cycle. */
	async function cycle(ms = intervalMs): Promise<TickReport> {
		clock.advance(ms);
		return h().bot.tick();
	}
	async function channel(name: string, nsfw = false): Promise<Channel> {
		const created = h().guild.createChannel({ name, nsfw });
		await h().discord.waitFor(() => h().bot.client.channels.cache.has(created.id), {
			what: `#${name} in the bot's cache`,
		});
		return created;
	}
	const botMessages = (ch: Channel): Message[] =>
		h()
			.discord.messages(ch)
			.filter((m) => m.author.id === h().discord.botUser.id);
	/** The titles of the bot's announcements in `ch`, oldest first. */
	const titles = (ch: Channel): string[] => botMessages(ch).map((m) => String(m.embeds[0]?.title ?? ""));
	return { addFeed, cycle, channel, botMessages, titles };
}
