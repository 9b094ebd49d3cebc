/** Text limits of upload messages. */

/** Discord's limit on a message's content. */
export const CONTENT_MAX = 2_000;

/** 1.5 MB, 12 KB, 100 MB (binary units, as imgpile's 100 MB limit). */
export function formatBytes(bytes: number): string {
	if (bytes < 1024) return `${bytes} B`;
	if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
	if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
	return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** Lines joined, cut to `max` characters at a line boundary ("…" marks the cut). */
export function fitLines(lines: readonly string[], max: number): string {
	const out: string[] = [];
	let length = 0;
	for (const [index, line] of lines.entries()) {
		const add = (out.length > 0 ? 1 : 0) + line.length;
		const reserve = index < lines.length - 1 ? 2 : 0;
		if (length + add + reserve > max) {
			out.push("…");
			break;
		}
		out.push(line);
		length += add;
	}
	const text = out.join("\n");
	return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
