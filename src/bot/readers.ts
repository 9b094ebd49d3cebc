/**
 * Reading imgpile and the store on behalf of a handler: a 404 named in the user's words, and
 * autocomplete from the user's recent uploads (the client to read with: `readerFor` in identity.ts).
 */
import type { AutocompleteInteraction } from "discord.js";
import { truncate } from "../discord/index.js";
import { ImgpileNotFoundError } from "../imgpile/index.js";
import { UserError } from "./errors.js";
import { splitList } from "./input.js";
import type { HandlerContext } from "./types.js";

/** Runs an imgpile call; a 404 names the thing looked up ("post `abc1234`"). */
export async function naming<T>(what: string, call: () => Promise<T>): Promise<T> {
	try {
		return await call();
	} catch (error) {
		if (error instanceof ImgpileNotFoundError) throw new UserError("imgpile.notFound", { what });
		throw error;
	}
}

interface RecentMedia {
	slug: string;
	filename: string;
}

/**
 * Autocomplete choices from recent uploads: `filename (slug)`. With `multiple`, the text typed so
 * far is a list: the finished items are kept and the last one is completed.
 */
function recentMediaChoices(
	recent: readonly RecentMedia[],
	typed: string,
	options: { multiple?: boolean } = {},
): { name: string; value: string }[] {
	const items = options.multiple ? splitList(typed) : [typed.trim()];
	const endsWithSeparator = options.multiple && /[\s,，、]$/u.test(typed);
	const done = endsWithSeparator ? items : items.slice(0, -1);
	const partial = (endsWithSeparator ? "" : (items.at(-1) ?? "")).toLowerCase();
	const chosen = new Set(done);
	const prefix = done.join(" ");
	const choices: { name: string; value: string }[] = [];
	for (const record of recent) {
		if (chosen.has(record.slug)) continue;
		const label = `${record.filename} (${record.slug})`;
		if (partial && !label.toLowerCase().includes(partial)) continue;
		const value = prefix ? `${prefix} ${record.slug}` : record.slug;
		if (value.length > 100) continue;
		const name = prefix ? `${truncate(prefix, 40)} + ${label}` : label;
		choices.push({ name: truncate(name, 100), value });
		if (choices.length === 25) break;
	}
	return choices;
}

/** Suggestions from the user's recent uploads for a `media` option. */
export async function recentMediaAutocomplete(
	ctx: HandlerContext,
	interaction: AutocompleteInteraction,
	multiple: boolean,
): Promise<void> {
	const focused = interaction.options.getFocused(true);
	if (focused.name !== "media") {
		await interaction.respond([]);
		return;
	}
	const recent = await ctx.store.uploads.recent(interaction.user.id);
	await interaction.respond(recentMediaChoices(recent, String(focused.value), { multiple }));
}
