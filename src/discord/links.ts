/** Links to imgpile in Discord messages: post pages, and URLs Discord accepts in embeds and buttons. */
import { type APIButtonComponentWithURL, ButtonStyle, ComponentType } from "discord.js";

/** imgpile's public site (post pages). A later change may make it configurable. */
const IMGPILE_WEB_URL = "https://imgpile.com";

/** A post's public page; `key` (a private post's access key) adds `?key=`. */
export function postUrl(slug: string, key?: string | null): string {
	const url = `${IMGPILE_WEB_URL}/p/${encodeURIComponent(slug)}`;
	return key ? `${url}?key=${encodeURIComponent(key)}` : url;
}

/** Whether a URL points at imgpile's site or CDN (what a pasted post or media link may name). */
export function isImgpileHost(url: URL): boolean {
	const site = new URL(IMGPILE_WEB_URL).hostname;
	const host = url.hostname.toLowerCase();
	return host === site || host === `www.${site}` || host === `cdn.${site}`;
}

/** Discord's limits on a URL in an embed, and on a link button's. */
const EMBED_URL_MAX = 2048;
const BUTTON_URL_MAX = 512;

/**
 * `value` when Discord takes it as an embed or button URL: a string, http(s) with `//` and a host,
 * no whitespace or control characters, at most `max` long. Anything else (from imgpile: a
 * malformed avatar or preview) is left out, so the message goes without it instead of being
 * refused whole with 50035.
 */
export function safeUrl(value: unknown, max = EMBED_URL_MAX): string | undefined {
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
	if (typeof value !== "string" || value.length > max || /[\s\u0000-\u001f\u007f]/.test(value)) return undefined;
	if (!/^https?:\/\/[^/?#]/i.test(value)) return undefined;
	try {
		return new URL(value).hostname === "" ? undefined : value;
	} catch {
		return undefined;
	}
}

/** A link button to `url`, or none when Discord would refuse the URL. */
export function linkButton(label: string, url: string): APIButtonComponentWithURL | undefined {
	const safe = safeUrl(url, BUTTON_URL_MAX);
	return safe ? { type: ComponentType.Button, style: ButtonStyle.Link, label, url: safe } : undefined;
}
