/**
 * Scenario lines: comments, placeholders, shell-like words, and one action per line.
 * Pure text work; what a slash command's words mean is decided later, against the commands the
 * bot registered (see runner.ts).
 */
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";

/** One word of a line: its value (quotes removed) and how it was written. */
export interface Word {
	value: string;
	raw: string;
	/** Whether any part of it was quoted. */
	quoted: boolean;
}

export type Action =
	| { kind: "as"; name: string }
	| { kind: "in"; channel: string }
	| { kind: "slash"; command: string; words: Word[] }
	| { kind: "modal"; fields: Record<string, string> }
	| { kind: "click"; label: string }
	| { kind: "say"; content: string; files: string[] }
	| { kind: "rehost" }
	| { kind: "tick" }
	| { kind: "imgpile"; user: string; op: "upload" | "post"; files: string[] }
	| { kind: "locale"; locale: string }
	| { kind: "help" }
	| { kind: "exit" };

export class ParseError extends Error {}

/**
 * Drops a comment: a line whose first non-blank character is `#`, or a `#` standing alone as a
 * word (blank before and after) outside quotes. `#general` is a channel, not a comment.
 */
export function stripComment(line: string): string {
	if (line.trimStart().startsWith("#")) return "";
	let quote: string | null = null;
	for (let i = 0; i < line.length; i++) {
		const c = line[i];
		if (quote) {
			if (c === "\\" && quote === '"') i++;
			else if (c === quote) quote = null;
			continue;
		}
		if (c === '"' || c === "'") quote = c;
		else if (c === "#" && /\s/.test(line[i - 1] ?? "") && /^(\s|$)/.test(line.slice(i + 1, i + 2))) {
			return line.slice(0, i);
		}
	}
	return line;
}

/** Replaces TOKEN_A, TOKEN_B, ... (whole words) by their values; unknown ones are left alone. */
export function substitute(line: string, placeholders: Readonly<Record<string, string>>): string {
	return line.replace(/\bTOKEN_[A-Z0-9_]+\b/g, (name) => placeholders[name] ?? name);
}

/** Shell-like words: blanks separate, "double" and 'single' quotes group (`\"` inside double quotes). */
export function tokenize(line: string): Word[] {
	const words: Word[] = [];
	let value = "";
	let raw = "";
	let quoted = false;
	let inWord = false;
	let quote: string | null = null;
	for (let i = 0; i < line.length; i++) {
		const c = line[i] as string;
		if (quote) {
			raw += c;
			if (c === quote) quote = null;
			else if (c === "\\" && quote === '"' && (line[i + 1] === '"' || line[i + 1] === "\\")) {
				value += line[i + 1];
				raw += line[i + 1];
				i++;
			} else value += c;
			continue;
		}
		if (/\s/.test(c)) {
			if (inWord) words.push({ value, raw, quoted });
			value = "";
			raw = "";
			quoted = false;
			inWord = false;
			continue;
		}
		inWord = true;
		raw += c;
		if (c === '"' || c === "'") {
			quote = c;
			quoted = true;
		} else value += c;
	}
	if (quote) throw new ParseError(`unclosed ${quote} quote`);
	if (inWord) words.push({ value, raw, quoted });
	return words;
}

/** `name:value` (slash options): the name, and the value with quotes removed. */
export function splitOption(word: Word): { name: string; value: string } | undefined {
	const match = /^([\p{L}\p{N}_-]+):/u.exec(word.raw);
	if (!match?.[1]) return undefined;
	return { name: match[1], value: word.value.slice(match[1].length + 1) };
}

/** Whether an unquoted word names a file: ./x, ../x, /x or ~/x. */
export function isPathWord(word: Word): boolean {
	return !word.quoted && /^(\.{1,2}\/|\/|~\/)/.test(word.value);
}

/** A path from a scenario, relative to `baseDir` (`~/` is the home directory). */
export function resolvePath(path: string, baseDir: string): string {
	if (path.startsWith("~/")) return resolve(homedir(), path.slice(2));
	return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Parses one line; undefined for blank lines and comments. Throws ParseError. */
export function parseLine(line: string, placeholders: Readonly<Record<string, string>> = {}): Action | undefined {
	const words = tokenize(substitute(stripComment(line), placeholders));
	const [head, ...rest] = words;
	if (!head) return undefined;
	const verb = head.quoted ? "" : head.value;
	const one = (what: string): string => {
		const [only, extra] = rest;
		if (!only || extra) throw new ParseError(`${verb} takes one ${what}, e.g. ${EXAMPLES[verb] ?? verb}`);
		return only.value;
	};
	if (verb.startsWith("/") && verb.length > 1) return { kind: "slash", command: verb.slice(1), words: rest };
	switch (verb) {
		case "as":
			return { kind: "as", name: one("user name").replace(/^@/, "") };
		case "in":
			return { kind: "in", channel: one("channel").replace(/^#/, "") };
		case "modal": {
			const fields: Record<string, string> = {};
			for (const word of rest) {
				const match = /^([^=\s"']+)=/.exec(word.raw);
				if (!match?.[1]) throw new ParseError(`modal fields are custom_id=value, got "${word.raw}"`);
				fields[match[1]] = word.value.slice(match[1].length + 1);
			}
			return { kind: "modal", fields };
		}
		case "click": {
			if (rest.length === 0) throw new ParseError(`click needs a button label, e.g. ${EXAMPLES.click}`);
			return { kind: "click", label: rest.map((w) => w.value).join(" ") };
		}
		case "say": {
			const files = rest.filter(isPathWord).map((w) => w.value);
			const content = rest
				.filter((w) => !isPathWord(w))
				.map((w) => w.value)
				.join(" ");
			if (!content && files.length === 0) throw new ParseError(`say needs text or files, e.g. ${EXAMPLES.say}`);
			return { kind: "say", content, files };
		}
		case "rehost":
		case "tick":
		case "help":
			if (rest.length > 0) throw new ParseError(`${verb} takes no arguments`);
			return { kind: verb };
		case "exit":
		case "quit":
			return { kind: "exit" };
		case "locale":
			return { kind: "locale", locale: one("locale") };
		case "imgpile": {
			const [user, op, ...files] = rest;
			if (!user || (op?.value !== "upload" && op?.value !== "post") || files.length === 0) {
				throw new ParseError(`imgpile lines are "imgpile USER upload FILE..." or "imgpile USER post FILE..."`);
			}
			return { kind: "imgpile", user: user.value, op: op.value, files: files.map((w) => w.value) };
		}
	}
	throw new ParseError(`unknown action "${head.value}" (try "help")`);
}

const EXAMPLES: Record<string, string> = {
	as: "as alice",
	in: "in #general",
	click: 'click "Delete"',
	say: 'say "look" ./cat.png',
	locale: "locale zh-CN",
};

export const HELP = `Scenario lines (one action each; # starts a comment):
  as alice                        act as this Discord user (created on first use)
  in #general                     act in this channel (#nsfw-art is age-restricted)
  /imgpile link                   slash command: group/subcommand words, then name:value options,
  /imgpile server-token set cap:7   "quoted values", attachment options as name:./path
  modal token=TOKEN_A             submit the last modal the bot opened for you (custom_id=value)
  click "Delete"                  click a button by label on the bot's last message you can see
  say "look" ./cat.png            post a message, with files (words starting ./ ../ / ~/)
  rehost                          "Rehost to imgpile" on the last user message in the channel
  tick                            run one feed scheduler cycle now
  imgpile bob upload ./dog.png    upload straight to imgpile as bob (also: imgpile bob post ./a.png ./b.png)
  locale zh-CN                    switch your Discord client locale
  exit                            stop
TOKEN_A, TOKEN_B, TOKEN_C stand for alice's, bob's and carol's imgpile tokens.`;
