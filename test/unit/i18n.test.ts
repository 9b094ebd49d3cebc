import { describe, expect, it } from "vitest";
import { LOCALES, localizations, pickLocale, t } from "../../src/i18n/index.js";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("i18n", () => {
	it("every locale has every key, with the same placeholders as en-US", () => {
		const reference = LOCALES["en-US"];
		for (const [locale, messages] of Object.entries(LOCALES)) {
			expect(Object.keys(messages).sort(), locale).toEqual(Object.keys(reference).sort());
			for (const [key, text] of Object.entries(messages)) {
				expect(text.trim(), `${locale} ${key}`).not.toBe("");
				expect(placeholders(text), `${locale} ${key}`).toEqual(placeholders(reference[key as keyof typeof reference]));
			}
		}
	});

	it("command names are valid Discord names in every locale", () => {
		for (const [locale, messages] of Object.entries(LOCALES)) {
			for (const [key, text] of Object.entries(messages)) {
				if (key.startsWith("cmd.") && key.endsWith(".name")) {
					expect(text, `${locale} ${key}`).toMatch(/^[-_\p{L}\p{N}]{1,32}$/u);
					expect(text, `${locale} ${key}`).toBe(text.toLowerCase());
				}
				if (key.startsWith("cmd.") && key.endsWith(".description")) expect(text.length).toBeLessThanOrEqual(100);
			}
		}
	});

	it("picks the user's locale, then the guild's, then English", () => {
		expect(pickLocale("zh-CN", "en-US")).toBe("zh-CN");
		expect(pickLocale("fr", "zh-CN")).toBe("zh-CN");
		expect(pickLocale("en-GB", "zh-CN")).toBe("en-US");
		expect(pickLocale("de", "fr")).toBe("en-US");
		expect(pickLocale(undefined, null)).toBe("en-US");
	});

	it("fills placeholders and feeds Discord localizations", () => {
		expect(t("en-US", "imgpile.rateLimited", { seconds: 5 })).toBe("imgpile is rate limiting us. Try again in 5 s.");
		expect(localizations("cmd.imgpile.link.name")).toEqual({ "zh-CN": "关联" });
	});
});
