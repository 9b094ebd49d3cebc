/**
 * Text within Discord's limits, and untrusted text (from imgpile or users) made safe where
 * Discord renders Markdown.
 */
import { escapeMarkdown } from "discord.js";

/** Length as imgpile and Discord count it (code points), for the 255-character title limit. */
export function charLength(text: string): number {
	let n = 0;
	for (const _ of text) n++;
	return n;
}

/**
 * At most `max` code points (as Discord counts its limits), `…` marking a cut; never splits a
 * surrogate pair.
 */
export function truncate(text: string, max: number): string {
	if (text.length <= max) return text;
	const points = [...text];
	return points.length > max ? `${points.slice(0, max - 1).join("")}…` : text;
}

/**
 * Untrusted text (from imgpile or users) for anything Discord renders as Markdown: shown as
 * typed, never formatting, linking or mentioning. discord.js' escapeMarkdown covers emphasis,
 * code, spoilers and, when asked, `#`-headings and lists; on top of it: every bracket (its
 * masked-link escape handles one link per line only), subtext `-# `, quotes and headings at any
 * indent, and mentions (`@everyone`, `@here`, `<@id>`, `<@&id>`, `<#id>`, `</cmd:id>`, `<t:…>`).
 */
export function escapeText(text: string): string {
	return escapeMarkdown(text, { heading: true, bulletedList: true, numberedList: true })
		.replace(/[[\]]/g, "\\$&")
		.replace(/^([ \t]*)(-#|>|#)/gm, "$1\\$2")
		.replace(/[<@]/g, "\\$&");
}

/** `escapeText`, then at most `max` code points; a cut never leaves a dangling `\\` escaping the `…`. */
export function safeText(text: string, max: number): string {
	const escaped = escapeText(text);
	if (escaped.length <= max) return escaped;
	const points = [...escaped];
	if (points.length <= max) return escaped;
	const kept = points.slice(0, max - 1);
	let slashes = 0;
	while (slashes < kept.length && kept[kept.length - 1 - slashes] === "\\") slashes++;
	if (slashes % 2 === 1) kept.pop();
	return `${kept.join("")}…`;
}

/** Bold, markdown-escaped user text for message content (titles in prompts). */
export function boldText(text: string, max = 200): string {
	return `**${safeText(text, max)}**`;
}

/** A username in message text: bold, markdown-safe. */
export function boldName(username: string): string {
	return `**${escapeText(username)}**`;
}

/** User input (or a file name) echoed back in a message inside inline code: code-safe, and short. */
export function quoteInput(text: string, max = 60): string {
	const clean = text.replace(/[`\n\r]/g, "'");
	return charLength(clean) > max ? `${[...clean].slice(0, max - 1).join("")}…` : clean;
}

/** An embed `timestamp` from imgpile's `created_at`; none when it is not a date. */
export function embedTimestamp(value: string): string | undefined {
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
