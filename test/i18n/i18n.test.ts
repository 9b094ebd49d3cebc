import { describe, expect, it } from "vitest";
import { LOCALES, localizations, type Plural, pickLocale, t } from "../../src/i18n/index.js";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
/** Every text of a message: itself, or each of its plural forms. */
const texts = (message: string | Plural) =>
	typeof message === "string"
		? [message]
		: Object.entries(message).flatMap(([name, text]) => (name === "plural" || text === undefined ? [] : [text]));
/** The `other` form (the one with every placeholder) of a plural message. */
const full = (message: string | Plural) => (typeof message === "string" ? message : message.other);

describe("i18n", () => {
	it("every locale has every key, with the same placeholders as en-US", () => {
		const reference = LOCALES["en-US"];
		for (const [locale, messages] of Object.entries(LOCALES)) {
			expect(Object.keys(messages).sort(), locale).toEqual(Object.keys(reference).sort());
			for (const [key, message] of Object.entries(messages) as [keyof typeof reference, string | Plural][]) {
				const wanted = placeholders(full(reference[key]));
				expect(placeholders(full(message)), `${locale} ${key}`).toEqual(wanted);
				// A form may leave the number out ("The latest post"), nothing else.
				for (const text of texts(message)) {
					expect(text.trim(), `${locale} ${key}`).not.toBe("");
					for (const name of placeholders(text)) expect(wanted, `${locale} ${key}`).toContain(name);
				}
				if (typeof message !== "string") expect(wanted, `${locale} ${key}`).toContain(message.plural);
			}
		}
	});

	it("command names are valid Discord names in every locale", () => {
		for (const [locale, messages] of Object.entries(LOCALES)) {
			for (const [key, text] of Object.entries(messages)) {
				if (key.startsWith("cmd.")) expect(typeof text, `${locale} ${key}: Discord takes one string`).toBe("string");
				if (typeof text !== "string") continue;
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
		// Chinese of any region reads zh-CN rather than English.
		expect(pickLocale("zh-TW", "en-US")).toBe("zh-CN");
		expect(pickLocale("zh-HK", null)).toBe("zh-CN");
		expect(pickLocale("de", "zh-TW")).toBe("zh-CN");
		expect(pickLocale("zh", "en-US")).toBe("zh-CN");
		expect(pickLocale("ja", "ko")).toBe("en-US");
		expect(pickLocale("de", "fr")).toBe("en-US");
		expect(pickLocale(undefined, null)).toBe("en-US");
	});

	it("says counts in the plural form of the language, never 'file(s)'", () => {
		expect(t("en-US", "upload.progress.header", { count: 1 })).toBe("Uploading 1 file to imgpile…");
		expect(t("en-US", "upload.progress.header", { count: 2 })).toBe("Uploading 2 files to imgpile…");
		expect(t("en-US", "upload.progress.header", { count: 0 })).toBe("Uploading 0 files to imgpile…");
		expect(t("en-US", "serverToken.set", { last4: "abcd", cap: 1 })).toContain("may upload 1 file a day");
		expect(t("en-US", "status.serverToken", { remaining: 0 })).toContain("upload 0 more files today");
		expect(t("en-US", "feed.add.backfill", { count: 1 })).toBe("The latest matching post is on its way.");
		expect(t("en-US", "feed.add.backfill", { count: 3 })).toBe("The 3 latest matching posts are on their way.");
		expect(t("en-US", "feed.digest.sent", { count: 1, channel: "#news" })).toBe(
			"📰 A digest of 1 post was sent to #news.",
		);
		// Chinese has one form for every number.
		expect(t("zh-CN", "upload.progress.header", { count: 1 })).toBe("正在上传 1 个文件到 imgpile…");
		expect(t("zh-CN", "upload.progress.header", { count: 2 })).toBe("正在上传 2 个文件到 imgpile…");
		for (const [locale, messages] of Object.entries(LOCALES)) {
			for (const [key, message] of Object.entries(messages)) {
				for (const text of texts(message)) expect(text, `${locale} ${key}`).not.toMatch(/\(s\)|（s）/);
			}
		}
	});

	it("fills placeholders and feeds Discord localizations", () => {
		expect(t("en-US", "imgpile.rateLimited", { seconds: 5 })).toBe("imgpile is rate limiting us. Try again in 5 s.");
		expect(localizations("cmd.imgpile.link.name")).toEqual({ "zh-CN": "关联" });
	});
});
