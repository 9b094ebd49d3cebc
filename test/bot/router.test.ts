import { Writable } from "node:stream";
import type { ChatInputCommandInteraction, Interaction } from "discord.js";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/bot/errors.js";
import { InteractionRouter } from "../../src/bot/router.js";
import { commandsHash } from "../../src/bot/sync.js";
import type { CommandModule, HandlerContext, Services } from "../../src/bot/types.js";
import { ImgpileUnauthorizedError } from "../../src/imgpile/index.js";
import { createLogger, SecretRegistry } from "../../src/logger.js";
import { Metrics } from "../../src/metrics.js";
import { metricValue } from "../support/metrics.js";

describe("commandsHash", () => {
	it("ignores what Discord adds and the order of commands", () => {
		const local = [
			{ name: "b", description: "B", options: [{ type: 3, name: "x", description: "X", required: false }] },
			{ name: "a", description: "A", contexts: [1, 0] },
		];
		const remote = [
			{
				id: "1",
				version: "9",
				application_id: "5",
				type: 1,
				name: "a",
				description: "A",
				contexts: [0, 1],
				nsfw: false,
			},
			{
				id: "2",
				type: 1,
				name: "b",
				description: "B",
				integration_types: [0],
				default_member_permissions: null,
				options: [{ type: 3, name: "x", description: "X" }],
			},
		];
		expect(commandsHash(remote)).toBe(commandsHash(local));
		expect(commandsHash([{ ...local[1], description: "changed" }, local[0] as object])).not.toBe(commandsHash(local));
	});
});

// ── the router, with hand-made interactions (the e2e tests drive it through real discord.js) ──

interface Call {
	method: string;
	payload: unknown;
}

function fakeInteraction(
	kind: "button" | "command",
	options: { customId?: string; command?: string; locale?: string },
) {
	const calls: Call[] = [];
	const record = (method: string) => async (payload?: unknown) => {
		calls.push({ method, payload });
	};
	const interaction = {
		id: "1",
		user: { id: "7" },
		guildId: "100",
		locale: options.locale ?? "en-US",
		guildLocale: "en-US",
		customId: options.customId,
		commandName: options.command,
		isAutocomplete: () => false,
		isRepliable: () => true,
		isChatInputCommand: () => kind === "command",
		isMessageContextMenuCommand: () => false,
		isCommand: () => kind === "command",
		isButton: () => kind === "button",
		isModalSubmit: () => false,
		isMessageComponent: () => kind === "button",
		reply: record("reply"),
		deferReply: record("deferReply"),
		editReply: record("editReply"),
		followUp: record("followUp"),
	};
	return { interaction: interaction as unknown as Interaction, calls };
}

function services() {
	const lines: string[] = [];
	const destination = new Writable({
		write(chunk, _e, callback) {
			lines.push(String(chunk));
			callback();
		},
	});
	const logger = createLogger({ destination, level: "debug" });
	return { services: { logger, secrets: new SecretRegistry() } as unknown as Services, lines };
}

function contentOf(call: Call | undefined): string {
	return String((call?.payload as { content?: string } | undefined)?.content);
}

describe("InteractionRouter", () => {
	const seen: string[][] = [];
	let release: () => void = () => {};
	const gate = new Promise<void>((resolve) => {
		release = resolve;
	});
	const module: CommandModule = {
		command: {
			data: { name: "demo", description: "Demo" },
			execute: async (ctx: HandlerContext, interaction: ChatInputCommandInteraction) => {
				if (interaction.locale === "zh-CN") throw new UserError("error.guildOnly");
				await ctx.respond.reply({ content: "hello" });
			},
		},
		buttons: {
			vote: async (ctx, _interaction, args) => {
				seen.push(args);
				await ctx.respond.reply({ content: "voted", ephemeral: true });
			},
			stale: async () => {
				throw new ImgpileUnauthorizedError(
					"unauthorized",
					401,
					{ message: "Unauthenticated." },
					{ method: "POST", path: "/x" },
				);
			},
			crash: async () => {
				throw new TypeError("cannot read properties of undefined");
			},
			slow: async (ctx) => {
				await gate;
				await ctx.respond.reply({ content: "finally" });
			},
		},
	};

	it("routes buttons by custom_id name with their arguments", async () => {
		const { services: s } = services();
		const router = new InteractionRouter({ modules: [module], services: s });
		const { interaction, calls } = fakeInteraction("button", { customId: "vote:post:42:up" });
		await router.handle(interaction);
		expect(seen).toEqual([["post", "42", "up"]]);
		expect(calls).toEqual([{ method: "reply", payload: { content: "voted", flags: 64 } }]);
	});

	it("answers unknown custom_ids, user errors and imgpile errors privately, in the user's language", async () => {
		const { services: s } = services();
		const router = new InteractionRouter({ modules: [module], services: s });
		const unknown = fakeInteraction("button", { customId: "gone:1" });
		await router.handle(unknown.interaction);
		expect(contentOf(unknown.calls[0])).toContain("no longer supported");
		expect(unknown.calls[0]?.payload).toMatchObject({ flags: 64 });

		const zh = fakeInteraction("command", { command: "demo", locale: "zh-CN" });
		await router.handle(zh.interaction);
		expect(contentOf(zh.calls[0])).toBe("此操作只能在服务器中使用。");

		const stale = fakeInteraction("button", { customId: "stale" });
		await router.handle(stale.interaction);
		expect(contentOf(stale.calls[0])).toContain("/imgpile link");
	});

	it("logs an unexpected error with an id, and shows the user only the id", async () => {
		const { services: s, lines } = services();
		const router = new InteractionRouter({ modules: [module], services: s });
		const { interaction, calls } = fakeInteraction("button", { customId: "crash" });
		await router.handle(interaction);
		const id = contentOf(calls[0]).match(/`([0-9a-f]{8})`/)?.[1];
		expect(id).toBeTruthy();
		expect(contentOf(calls[0])).not.toContain("undefined");
		expect(lines.join("")).toContain(`"errorId":"${id}"`);
		expect(lines.join("")).toContain("cannot read properties of undefined");
	});

	it("defers a slow handler for it, then fills in the deferred reply; drains before stopping", async () => {
		const { services: s } = services();
		const router = new InteractionRouter({ modules: [module], services: s, autoDeferMs: 20 });
		const { interaction, calls } = fakeInteraction("button", { customId: "slow" });
		const handled = router.handle(interaction);
		await expect.poll(() => calls.map((c) => c.method)).toEqual(["deferReply"]);
		const drained = router.drain(5_000);
		const late = fakeInteraction("command", { command: "demo" });
		await router.handle(late.interaction);
		expect(contentOf(late.calls[0])).toContain("restarting");
		release();
		await handled;
		expect(await drained).toBe(true);
		expect(calls.map((c) => c.method)).toEqual(["deferReply", "editReply"]);
		expect(contentOf(calls[1])).toBe("finally");
	});

	it("counts each interaction by route and how it ended, and times its first response", async () => {
		const { services: s } = services();
		const metrics = new Metrics({ processMetrics: false });
		const router = new InteractionRouter({ modules: [module], services: { ...s, metrics } });
		for (const [kind, options] of [
			["command", { command: "demo" }],
			["command", { command: "demo", locale: "zh-CN" }],
			["button", { customId: "vote:post:1:up" }],
			["button", { customId: "stale" }],
			["button", { customId: "crash" }],
			["button", { customId: "gone:123456789012345678" }],
		] as const) {
			await router.handle(fakeInteraction(kind, options).interaction);
		}
		const text = await metrics.text();
		const count = (labels: Record<string, string>) => metricValue(text, "imgpile_bot_interactions_total", labels);
		expect(count({ type: "command", command: "demo", outcome: "ok" })).toBe(1);
		expect(count({ type: "command", command: "demo", outcome: "user_error" })).toBe(1);
		expect(count({ type: "button", command: "vote", outcome: "ok" })).toBe(1);
		expect(count({ type: "button", command: "stale", outcome: "imgpile_error" })).toBe(1);
		expect(count({ type: "button", command: "crash", outcome: "failed" })).toBe(1);
		// A custom id the bot does not serve is not a label value (its arguments never are).
		expect(count({ type: "button", command: "unknown", outcome: "user_error" })).toBe(1);
		expect(text).not.toMatch(/gone|123456789012345678/);
		const answered = "imgpile_bot_interaction_first_response_seconds_count";
		expect(metricValue(text, answered, { type: "command", command: "demo" })).toBe(2);
		expect(metricValue(text, answered, { type: "button", command: "crash" })).toBe(1);
	});

	it("refuses two handlers with one name", () => {
		const { services: s } = services();
		expect(() => new InteractionRouter({ modules: [module, module], services: s })).toThrow(/two command handlers/);
	});
});
