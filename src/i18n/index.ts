import { enUS, type MessageKey, type Messages } from "./en-US.js";
import { zhCN } from "./zh-CN.js";

export type { MessageKey } from "./en-US.js";

/** Discord locale codes we have strings for; en-US is the fallback. */
export const LOCALES = { "en-US": enUS, "zh-CN": zhCN } as const satisfies Record<string, Messages>;
export type Locale = keyof typeof LOCALES;
export const DEFAULT_LOCALE: Locale = "en-US";

export type Params = Record<string, string | number>;

export function isLocale(value: string | null | undefined): value is Locale {
	return typeof value === "string" && value in LOCALES;
}

/**
 * The locale to answer in: the user's client locale, else the guild's, else en-US.
 * Discord's `en-GB` and `zh-TW` fall back by language where we have a close match.
 */
export function pickLocale(userLocale?: string | null, guildLocale?: string | null): Locale {
	for (const candidate of [userLocale, guildLocale]) {
		if (isLocale(candidate)) return candidate;
		if (candidate?.startsWith("en")) return "en-US";
	}
	return DEFAULT_LOCALE;
}

/** A localized string with `{name}` placeholders filled. */
export function t(locale: Locale, key: MessageKey, params: Params = {}): string {
	const template = LOCALES[locale][key] ?? enUS[key];
	return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match));
}

/** Discord's `*_localizations` map for a key: every locale but the default one. */
export function localizations(key: MessageKey): Partial<Record<Locale, string>> {
	const out: Partial<Record<Locale, string>> = {};
	for (const locale of Object.keys(LOCALES) as Locale[]) {
		if (locale !== DEFAULT_LOCALE) out[locale] = LOCALES[locale][key];
	}
	return out;
}

/** `description` plus `description_localizations` for a command or option, from one key. */
export function describe(key: MessageKey): {
	description: string;
	description_localizations: Partial<Record<Locale, string>>;
} {
	return { description: enUS[key], description_localizations: localizations(key) };
}

/** `name` plus `name_localizations` for a command or option, from one key. */
export function named(key: MessageKey): { name: string; name_localizations: Partial<Record<Locale, string>> } {
	return { name: enUS[key], name_localizations: localizations(key) };
}

/** A translator bound to one locale, as handlers receive it. */
export type Translate = (key: MessageKey, params?: Params) => string;

export function translator(locale: Locale): Translate {
	return (key, params) => t(locale, key, params);
}
