/**
 * Runs scenario lines against the sandbox world: acts as a Discord user, waits until the bot has
 * settled, then emits what the bot did since the previous line (see output.ts), errors and
 * Discord emulator violations included.
 */
import { statSync } from "node:fs";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileFromPath, type Media } from "../../src/imgpile/index.js";
import { guessContentType } from "../../test/emulators/discord/cdn.js";
import type {
	AttachmentSpec,
	Channel,
	Interaction,
	Json,
	Message,
	OptionValue,
	User,
} from "../../test/emulators/discord/index.js";
import { formatEvent, type OutputLine } from "./output.js";
import { type Action, HELP, ParseError, parseLine, resolvePath, splitOption, type Word } from "./parse.js";
import type { SandboxWorld } from "./world.js";

export interface RunnerOptions {
	world: SandboxWorld;
	/** Receives every output line (JSON-ready). */
	emit: (line: OutputLine) => void;
	/** Human notes (interactive feedback, help); default: dropped. */
	note?: (text: string) => void;
	/** Relative paths in lines are resolved from here. */
	baseDir: string;
	/** How long an interaction may take to settle (default 15 s). */
	timeoutMs?: number;
	/** How long to wait for a bot reaction to `say` (default 300 ms; there may be none). */
	sayWaitMs?: number;
	/** Quiet time (no new bot event, nothing in flight) that ends the wait after an action (default 60 ms). */
	quietMs?: number;
}

export const REHOST_COMMAND = "Rehost to imgpile";

/** Lines that only change the sandbox's own state: no need to wait for the bot after them. */
const LOCAL_ACTIONS = new Set<Action["kind"]>(["as", "in", "locale", "help"]);

const OPTION_TYPE = { subcommand: 1, group: 2 } as const;

export class Runner {
	readonly #world: SandboxWorld;
	readonly #emit: (line: OutputLine) => void;
	readonly #note: (text: string) => void;
	readonly #baseDir: string;
	readonly #timeoutMs: number;
	readonly #sayWaitMs: number;
	readonly #quietMs: number;
	readonly #placeholders: Record<string, string>;
	#eventCursor: number;
	#violationCursor: number;
	user: User;
	channel: Channel;
	/** Error lines emitted so far (unknown lines, failed actions, violations). */
	errors = 0;

	constructor(options: RunnerOptions) {
		const world = options.world;
		this.#world = world;
		this.#emit = options.emit;
		this.#note = options.note ?? (() => undefined);
		this.#baseDir = options.baseDir;
		this.#timeoutMs = options.timeoutMs ?? 15_000;
		this.#sayWaitMs = options.sayWaitMs ?? 300;
		this.#quietMs = options.quietMs ?? 60;
		this.#placeholders = placeholders(world);
		this.#eventCursor = world.discord.events.length;
		this.#violationCursor = world.discord.violations.length;
		this.user = world.user("alice");
		const general = world.channel("general");
		if (!general) throw new Error("the sandbox guild has no #general");
		this.channel = general;
	}

	/** Runs one line (numbered from 1). Returns "exit" for an `exit` line. Never throws. */
	async run(lineNo: number, text: string): Promise<"exit" | undefined> {
		let action: Action | undefined;
		try {
			action = parseLine(text, this.#placeholders);
		} catch (error) {
			this.#error(lineNo, error instanceof ParseError ? error.message : String(error), text);
			return undefined;
		}
		if (!action) return undefined;
		if (action.kind === "exit") return "exit";
		let failure: string | undefined;
		try {
			failure = await this.#do(action, lineNo);
		} catch (error) {
			failure = error instanceof Error ? error.message : String(error);
		}
		if (!LOCAL_ACTIONS.has(action.kind)) await this.#quiet();
		this.#flush(lineNo);
		if (failure !== undefined) this.#error(lineNo, failure, text);
		return undefined;
	}

	/** Performs an action; returns an error message when it failed without throwing. */
	async #do(action: Exclude<Action, { kind: "exit" }>, lineNo: number): Promise<string | undefined> {
		const world = this.#world;
		const discord = world.discord;
		switch (action.kind) {
			case "as":
				this.user = world.user(action.name);
				this.#note(`acting as ${this.user.username} (locale ${this.user.locale})`);
				return undefined;
			case "in": {
				const channel = world.channel(action.channel);
				if (!channel) return `no channel #${action.channel} (channels: ${world.channelNames().join(", ")})`;
				this.channel = channel;
				this.#note(`in #${channel.name}${channel.nsfw ? " (age-restricted)" : ""}`);
				return undefined;
			}
			case "locale":
				this.user.locale = action.locale;
				this.#note(`${this.user.username}'s locale is ${action.locale}`);
				return undefined;
			case "help":
				this.#note(HELP);
				return undefined;
			case "slash": {
				const input = this.#slashInput(action.command, action.words);
				return this.#settle(
					await discord.slash({ user: this.user, channel: this.channel, command: action.command, ...input }),
				);
			}
			case "modal": {
				const from = this.#lastModal();
				if (!from) return `the bot has not opened a modal for ${this.user.username}`;
				return this.#settle(await discord.submitModal({ user: this.user, from, fields: action.fields }));
			}
			case "click": {
				const message = this.#buttonMessage(action.label);
				return this.#settle(await discord.clickButton({ user: this.user, message, label: action.label }));
			}
			case "say": {
				const before = discord.events.length;
				await discord.postUserMessage({
					user: this.user,
					channel: this.channel,
					content: action.content,
					attachments: action.files.map((f) => this.#attachment(f)),
				});
				await discord.waitFor(() => discord.events.length > before, { timeoutMs: this.#sayWaitMs }).catch(() => null);
				return undefined;
			}
			case "rehost": {
				const message = this.channel
					.messages()
					.filter((m) => !m.deleted && m.author.id !== discord.botUser.id)
					.at(-1);
				if (!message) return `no user message in #${this.channel.name} to rehost`;
				return this.#settle(await discord.messageCommand({ user: this.user, message, name: REHOST_COMMAND }));
			}
			case "tick":
				await world.tick();
				return undefined;
			case "imgpile":
				await this.#imgpile(action, lineNo);
				return undefined;
		}
	}

	/** Group, subcommand and typed options from the words after `/command`, per the registered command. */
	#slashInput(
		command: string,
		words: Word[],
	): { group?: string; subcommand?: string; options: Record<string, OptionValue> } {
		const discord = this.#world.discord;
		const registered = [
			...discord.registeredCommands({ guildId: this.#world.guild.id }),
			...discord.registeredCommands(),
		].filter((c) => (c.type ?? 1) === 1);
		const json = registered.find((c) => c.name === command);
		if (!json) {
			const names = registered.map((c) => `/${String(c.name)}`).join(", ");
			throw new Error(`the bot has no slash command /${command} (registered: ${names || "none"})`);
		}
		let defs = optionsOf(json);
		let group: string | undefined;
		let subcommand: string | undefined;
		let i = 0;
		const plain = (w: Word | undefined) => (w && !splitOption(w) ? w.value : undefined);
		const groupDef = defs.find((d) => d.type === OPTION_TYPE.group && d.name === plain(words[i]));
		if (groupDef) {
			group = String(groupDef.name);
			defs = optionsOf(groupDef);
			i++;
		}
		const subDef = defs.find((d) => d.type === OPTION_TYPE.subcommand && d.name === plain(words[i]));
		if (subDef) {
			subcommand = String(subDef.name);
			defs = optionsOf(subDef);
			i++;
		} else if (defs.some((d) => d.type === OPTION_TYPE.subcommand || d.type === OPTION_TYPE.group)) {
			const path = `/${[command, group].filter(Boolean).join(" ")}`;
			const choices = defs.map((d) => String(d.name)).join(", ");
			const got = words[i] ? ` "${words[i]?.raw}" is not one of them` : "";
			throw new Error(`${path} needs a subcommand${group ? "" : " or group"} (${choices});${got || " none given"}`);
		}
		const options: Record<string, OptionValue> = {};
		for (const word of words.slice(i)) {
			const option = splitOption(word);
			if (!option) throw new Error(`"${word.raw}" is not an option (options are name:value)`);
			const def = defs.find((d) => d.name === option.name);
			if (!def) {
				const names = defs.map((d) => String(d.name)).join(", ");
				throw new Error(`no option "${option.name}" here (options: ${names || "none"})`);
			}
			options[option.name] = this.#optionValue(def, option.value);
		}
		return { ...(group ? { group } : {}), ...(subcommand ? { subcommand } : {}), options };
	}

	#optionValue(def: Json, value: string): OptionValue {
		const name = String(def.name);
		switch (def.type) {
			case 4:
			case 10: {
				const n = Number(value);
				if (value.trim() === "" || !Number.isFinite(n) || (def.type === 4 && !Number.isInteger(n))) {
					throw new Error(`option ${name} needs ${def.type === 4 ? "an integer" : "a number"}, got "${value}"`);
				}
				return n;
			}
			case 5: {
				const v = value.toLowerCase();
				if (["true", "yes", "on", "1"].includes(v)) return true;
				if (["false", "no", "off", "0"].includes(v)) return false;
				throw new Error(`option ${name} needs true or false, got "${value}"`);
			}
			case 6:
			case 9:
				if (def.type === 9 && value.startsWith("@&")) return this.#role(value.slice(2));
				return this.#world.user(value.replace(/^@/, ""));
			case 7: {
				const channel = this.#world.channel(value);
				if (!channel) throw new Error(`option ${name}: no channel ${value}`);
				return channel;
			}
			case 8:
				return this.#role(value.replace(/^@&?/, ""));
			case 11:
				return this.#attachment(value);
			default:
				return value;
		}
	}

	#role(name: string) {
		const role = [...this.#world.guild.roles.values()].find((r) => r.name === name || r.name === `@${name}`);
		if (!role) throw new Error(`no role "${name}"`);
		return role;
	}

	/** An attachment from a file path (Discord emulator spec, content type by extension). */
	#attachment(path: string): AttachmentSpec {
		const full = resolvePath(path, this.#baseDir);
		try {
			if (!statSync(full).isFile()) throw new Error("not a file");
		} catch {
			throw new Error(`no file ${path} (looked at ${full})`);
		}
		const filename = basename(full);
		return { filename, source: { path: full }, contentType: guessContentType(filename) };
	}

	/** The acting user's latest interaction on which the bot opened a modal. */
	#lastModal(): Interaction | undefined {
		const all = [...this.#world.discord.interactions.values()];
		return all.reverse().find((ix) => ix.modal && ix.user.id === this.user.id);
	}

	/**
	 * The bot's last message visible to the acting user with a button labelled `label`: first the
	 * responses and followups to this user's interactions in this channel, then any bot message in
	 * the channel (ephemeral ones only if they answered this user).
	 */
	#buttonMessage(label: string): Message {
		const discord = this.#world.discord;
		const botId = discord.botUser.id;
		const visible = [...discord.world.messages.values()]
			.filter(
				(m) =>
					m.channel.id === this.channel.id &&
					!m.deleted &&
					m.author.id === botId &&
					(!m.ephemeral || m.interaction?.user.id === this.user.id),
			)
			.reverse();
		const mine = visible.filter((m) => m.interaction?.user.id === this.user.id);
		const found = [...mine, ...visible].find((m) => buttonLabels(m).includes(label));
		if (found) return found;
		const last = mine[0] ?? visible[0];
		if (!last) throw new Error(`no bot message in #${this.channel.name} for ${this.user.username} to click on`);
		const labels = buttonLabels(last);
		throw new Error(
			`no button "${label}" on the bot's last message here (its buttons: ${labels.length ? labels.map((l) => `"${l}"`).join(", ") : "none"})`,
		);
	}

	/** Waits for an interaction to settle; returns an error message when it did not. */
	async #settle(ix: Interaction): Promise<string | undefined> {
		try {
			await ix.settled({ timeoutMs: this.#timeoutMs });
			return undefined;
		} catch (error) {
			return error instanceof Error ? error.message : String(error);
		}
	}

	async #imgpile(action: Extract<Action, { kind: "imgpile" }>, lineNo: number): Promise<void> {
		const token = this.#world.imgpileToken(action.user);
		if (!token) {
			const names = this.#world.imgpileUsers.map((u) => u.name).join(", ");
			throw new Error(`no imgpile user "${action.user}" (users: ${names})`);
		}
		const client = this.#world.direct.as(token);
		const media: Media[] = [];
		for (const path of action.files) {
			const full = resolvePath(path, this.#baseDir);
			let file: Awaited<ReturnType<typeof fileFromPath>>;
			try {
				file = await fileFromPath(full, guessContentType(full));
			} catch {
				throw new Error(`no file ${path} (looked at ${full})`);
			}
			const uploaded = await client.uploadMedia(file);
			media.push(uploaded);
			if (action.op === "upload") {
				this.#emit({ kind: "imgpile", user: action.user, action: "upload", media: mediaLine(uploaded), line: lineNo });
			}
		}
		if (action.op === "post") {
			const post = await client.createPost(media.map((m) => m.id));
			this.#emit({
				kind: "imgpile",
				user: action.user,
				action: "post",
				post: { id: post.id, slug: post.slug },
				media: media.map(mediaLine),
				line: lineNo,
			});
		}
	}

	/** Waits until nothing is in flight in the bot and no new event came for a moment. */
	async #quiet(): Promise<void> {
		const discord = this.#world.discord;
		const router = this.#world.bot.router;
		const deadline = Date.now() + this.#timeoutMs;
		let seen = -1;
		while (Date.now() < deadline) {
			if (router.inFlight === 0 && discord.events.length === seen) return;
			seen = discord.events.length;
			await sleep(this.#quietMs);
		}
	}

	/** Emits the bot's events and the emulator's violations since the last flush. */
	#flush(lineNo: number): void {
		const discord = this.#world.discord;
		const events = discord.events.slice(this.#eventCursor);
		this.#eventCursor += events.length;
		for (const event of events) {
			const line = formatEvent(this.#world, event);
			if (line) this.#emit({ ...line, line: lineNo });
		}
		const violations = discord.violations.slice(this.#violationCursor);
		this.#violationCursor += violations.length;
		for (const v of violations) {
			this.errors++;
			this.#emit({
				kind: "violation",
				violation: v.kind,
				request: v.request,
				status: v.status,
				code: v.code,
				message: v.message,
				line: lineNo,
			});
		}
	}

	#error(lineNo: number, message: string, text: string): void {
		this.errors++;
		this.#emit({ kind: "error", line: lineNo, message: `line ${lineNo}: ${message}`, text: text.trim() });
	}
}

/** TOKEN_A/B/C for alice/bob/carol, and TOKEN_<NAME> for every imgpile user. */
function placeholders(world: SandboxWorld): Record<string, string> {
	const out: Record<string, string> = {};
	for (const user of world.imgpileUsers) out[`TOKEN_${user.name.toUpperCase()}`] = user.token;
	const letters: Record<string, string> = { A: "alice", B: "bob", C: "carol" };
	for (const [letter, name] of Object.entries(letters)) {
		const token = world.imgpileToken(name);
		if (token) out[`TOKEN_${letter}`] = token;
	}
	return out;
}

function optionsOf(def: Json): Json[] {
	return Array.isArray(def.options) ? (def.options as Json[]) : [];
}

function buttonLabels(message: Message): string[] {
	const labels: string[] = [];
	const visit = (x: unknown) => {
		if (typeof x !== "object" || x === null || Array.isArray(x)) return;
		const j = x as Json;
		if (j.type === 2 && typeof j.label === "string") labels.push(j.label);
		for (const key of ["components", "items"]) if (Array.isArray(j[key])) for (const c of j[key] as unknown[]) visit(c);
		visit(j.accessory);
		visit(j.component);
	};
	for (const c of message.components) visit(c);
	return labels;
}

function mediaLine(media: Media): OutputLine {
	return {
		id: media.id,
		slug: media.slug,
		type: media.type,
		width: media.width,
		height: media.height,
		urls: { original: media.urls.original },
	};
}
