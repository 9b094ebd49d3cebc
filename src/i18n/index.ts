import { enUS, type MessageKey, type Messages, type Plural } from "./en-US.js";
import { zhCN } from "./zh-CN.js";

export type { MessageKey, Plural } from "./en-US.js";

/** Discord locale codes we have strings for; en-US is the fallback. */
export const LOCALES = { "en-US": enUS, "zh-CN": zhCN } as const satisfies Record<string, Messages>;
export type Locale = keyof typeof LOCALES;
export const DEFAULT_LOCALE: Locale = "en-US";

export type Params = Record<string, string | number>;

export function isLocale(value: string | null | undefined): value is Locale {
	return typeof value === "string" && value in LOCALES;
}

/** Our locale of the same language (`zh-TW`, `zh-HK`, `zh` → zh-CN; `en-GB` → en-US), if any. */
function sameLanguage(code: string): Locale | undefined {
	const language = code.split("-")[0]?.toLowerCase();
	return (Object.keys(LOCALES) as Locale[]).find((locale) => locale.split("-")[0]?.toLowerCase() === language);
}

/**
 * The locale to answer in: the user's client locale, else the guild's, else en-US. A code we
 * have no strings for falls back by language (Discord's `en-GB` and `zh-TW`, or any `zh-*` an
 * interaction may carry).
 */
export function pickLocale(userLocale?: string | null, guildLocale?: string | null): Locale {
	for (const candidate of [userLocale, guildLocale]) {
		if (isLocale(candidate)) return candidate;
		const close = typeof candidate === "string" ? sameLanguage(candidate) : undefined;
		if (close) return close;
	}
	return DEFAULT_LOCALE;
}

const pluralRules = new Map<Locale, Intl.PluralRules>();

/** The form of a plural message for the number in its param (not a number: `other`). */
function pluralForm(locale: Locale, message: Plural, params: Params): string {
	let rules = pluralRules.get(locale);
	if (!rules) {
		rules = new Intl.PluralRules(locale);
		pluralRules.set(locale, rules);
	}
	const count = Number(params[message.plural]);
	return (Number.isFinite(count) ? message[rules.select(count)] : undefined) ?? message.other;
}

/** A localized string, in the plural form its count needs, with `{name}` placeholders filled. */
export function t(locale: Locale, key: MessageKey, params: Params = {}): string {
	const message: string | Plural = LOCALES[locale][key] ?? enUS[key];
	const template = typeof message === "string" ? message : pluralForm(locale, message, params);
	return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match));
}

/** Discord takes one string per locale for command texts: a plural message there is a bug. */
function single(message: string | Plural, key: MessageKey): string {
	if (typeof message !== "string") throw new Error(`${key} has plural forms and cannot be a command text`);
	return message;
}

/** Discord's `*_localizations` map for a key: every locale but the default one. */
export function localizations(key: MessageKey): Partial<Record<Locale, string>> {
	const out: Partial<Record<Locale, string>> = {};
	for (const locale of Object.keys(LOCALES) as Locale[]) {
		if (locale !== DEFAULT_LOCALE) out[locale] = single(LOCALES[locale][key], key);
	}
	return out;
}

/** `description` plus `description_localizations` for a command or option, from one key. */
export function describe(key: MessageKey): {
	description: string;
	description_localizations: Partial<Record<Locale, string>>;
} {
	return { description: single(enUS[key], key), description_localizations: localizations(key) };
}

/** `name` plus `name_localizations` from one key: a choice's label (commands and options have literal names). */
export function named(key: MessageKey): { name: string; name_localizations: Partial<Record<Locale, string>> } {
	return { name: single(enUS[key], key), name_localizations: localizations(key) };
}

/** A translator bound to one locale, as handlers receive it. */
export type Translate = (key: MessageKey, params?: Params) => string;

export function translator(locale: Locale): Translate {
	return (key, params) => t(locale, key, params);
}
