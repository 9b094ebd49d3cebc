import { ApplicationCommandOptionType, type ChatInputCommandInteraction } from "discord.js";
import { describe, expect, it, vi } from "vitest";
import { commandModules } from "../../commands/index.js";
import { data as rehostData } from "../../commands/rehost.js";
import { data as uploadData } from "../../commands/upload.js";
import { data as voteData } from "../../commands/vote.js";
import { type OptionDefinition, optionKey, optionsOf } from "../../src/bot/definitions.js";
import { enUS } from "../../src/i18n/en-US.js";
import { t } from "../../src/i18n/index.js";

/** Every `cmd.*` name key the registered commands localize from, with the literal name it localizes. */
function literalNames(): Map<string, string> {
	const names = new Map<string, string>([
		// Shared across commands, localized where it is declared (src/bot/options.ts).
		["cmd.social.option.user.name", "user"],
	]);
	const walk = (command: string, path: readonly string[], options: readonly OptionDefinition[] = []) => {
		for (const option of options) {
			names.set(`${optionKey(command, path, option)}.name`, option.name);
			const nested =
				option.type === ApplicationCommandOptionType.Subcommand ||
				option.type === ApplicationCommandOptionType.SubcommandGroup;
			walk(command, nested ? [...path, option.name] : path, option.options);
		}
	};
	for (const { command } of commandModules) {
		if (command.data.type === 3 || !("options" in command.data)) continue;
		names.set(`cmd.${command.data.name}.name`, command.data.name);
		walk(command.data.name, [], command.data.options as readonly OptionDefinition[] | undefined);
	}
	return names;
}

describe("command definitions", () => {
	it("every en-US command name equals the literal name handlers and the router read", () => {
		const names = literalNames();
		const keys = Object.keys(enUS).filter((key) => key.startsWith("cmd.") && key.endsWith(".name"));
		expect(keys.length).toBeGreaterThan(50);
		for (const key of keys) {
			// Discord sends the literal (en-US) name whatever the user's locale, and handlers and the
			// router look options up by it: an en-US text that differs would rename nothing (the
			// definition wins) but would no longer describe the command. Change both or neither.
			expect(enUS[key as keyof typeof enUS], `${key}: en-US must equal the name in commands/`).toBe(names.get(key));
		}
	});

	it("the en-US template of /upload's file2 … file10 gives the names the handler reads", () => {
		const upload = uploadData as unknown as { options: { name: string }[] };
		const more = upload.options.filter((option) => /^file\d+$/.test(option.name));
		expect(more.map((option) => option.name)).toEqual([
			"file2",
			"file3",
			"file4",
			"file5",
			"file6",
			"file7",
			"file8",
			"file9",
			"file10",
		]);
		for (const [i, option] of more.entries()) {
			expect(t("en-US", "cmd.upload.option.fileN.nameTemplate", { n: i + 2 })).toBe(option.name);
		}
	});

	it("the en-US name of the message command is its literal name", () => {
		expect(enUS["cmd.rehost.menuName"], "cmd.rehost.menuName: en-US must equal the name in commands/rehost.ts").toBe(
			rehostData.name,
		);
	});

	it("registers the literal names, not the translation", () => {
		type Node = { name: string; description: string; options?: Node[] };
		const vote = voteData as unknown as Node & { name_localizations: object };
		expect(vote.name).toBe("vote");
		expect(vote.options?.map((option) => option.name)).toEqual(["post", "comment"]);
		expect(vote.options?.[0]?.options?.map((option) => option.name)).toEqual(["target", "direction"]);
		expect(vote.name_localizations).toEqual({ "zh-CN": expect.any(String) });
		expect(vote.options?.[0]?.options?.[1]?.description).toBe(enUS["cmd.vote.option.direction.description"]);
	});

	it("an edited en-US translation renames nothing that handlers or the router read", async () => {
		vi.resetModules();
		const fresh: Record<string, unknown> = (await import("../../src/i18n/en-US.js")).enUS;
		fresh["cmd.vote.name"] = "ballot";
		fresh["cmd.vote.post.name"] = "entry";
		fresh["cmd.vote.option.direction.name"] = "way";
		try {
			const { data } = await import("../../commands/vote.js");
			const json = JSON.stringify(data);
			expect(data.name).toBe("vote");
			expect(json).toContain('"name":"post"');
			expect(json).toContain('"name":"direction"');
			expect(json).not.toMatch(/"name":"(ballot|entry|way)"/);
		} finally {
			vi.resetModules();
		}
	});

	it("types option reads by the definition", () => {
		const read = (interaction: ChatInputCommandInteraction) => {
			const options = optionsOf(voteData, interaction);
			const direction: string = options.getString("direction", true);
			// @ts-expect-error: a misspelt option name does not compile
			options.getString("directoin", true);
			// @ts-expect-error: `id` is an integer option, not a string one
			options.getString("id");
			const sub: "post" | "comment" = options.getSubcommand(true);
			return [direction, sub];
		};
		expect(typeof read).toBe("function");
	});
});
