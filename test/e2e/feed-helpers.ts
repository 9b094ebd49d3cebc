/**
 * What feed e2e tests do over and over, on a harness and a hand-moved clock: add a feed as a
 * manager, run a cycle one poll period later, make a channel the bot knows, read what it posted.
 */
import { expect } from "vitest";
import type { TickReport } from "../../src/feeds/index.js";
import type { Channel, Message, OptionValue } from "../emulators/discord/index.js";
import type { Harness } from "./harness.js";

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
