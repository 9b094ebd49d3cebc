/**
 * Which URLs a transfer may download from, and how they appear in logs.
 *
 * An allowed host is `name` or `name:port`. Without a port it stands for the scheme's default port
 * (443 for https, 80 for http), so `cdn.discordapp.com` does not admit `cdn.discordapp.com:8443`.
 * Downloads are https only: plain http is admitted only for allowed hosts also listed as
 * cleartext hosts (a local Discord emulator), never by default.
 */

interface AllowedHost {
	hostname: string;
	port: string | undefined;
}

export class HostAllowList {
	readonly #hosts: AllowedHost[];
	readonly #httpHosts: AllowedHost[];

	/** `httpHosts`: allowed hosts that may also be fetched over plain http (local emulators only). */
	constructor(hosts: readonly string[], httpHosts: readonly string[] = []) {
		this.#hosts = hosts.map(parseHost);
		this.#httpHosts = httpHosts.map(parseHost);
	}

	/** The URL when it is https (http for a cleartext host), carries no credentials, and its host is allowed; else why not. */
	check(raw: string | URL): { ok: true; url: URL } | { ok: false; why: string } {
		let url: URL;
		try {
			url = new URL(raw);
		} catch {
			return { ok: false, why: "not a valid URL" };
		}
		if (url.protocol !== "https:" && url.protocol !== "http:") {
			return { ok: false, why: `scheme ${url.protocol.replace(/:$/, "")} is not http(s)` };
		}
		if (url.username || url.password) return { ok: false, why: "URL carries credentials" };
		const port = url.port || (url.protocol === "https:" ? "443" : "80");
		const matches = (host: AllowedHost) =>
			host.hostname === url.hostname && (host.port === undefined ? url.port === "" : host.port === port);
		const allowed = this.#hosts.some(matches);
		if (allowed && url.protocol === "http:" && !this.#httpHosts.some(matches)) {
			return { ok: false, why: `plain http is refused (https only): ${url.host}` };
		}
		return allowed ? { ok: true, url } : { ok: false, why: `host ${url.host} is not an allowed Discord CDN host` };
	}
}

function parseHost(entry: string): AllowedHost {
	const trimmed = entry.trim();
	let url: URL;
	try {
		url = new URL(`http://${trimmed}`);
	} catch {
		throw new RangeError(`not a host name (host or host:port): "${entry}"`);
	}
	if (url.pathname !== "/" || url.search || url.hash || url.username || url.password || !url.hostname) {
		throw new RangeError(`not a host name (host or host:port): "${entry}"`);
	}
	// `new URL("http://h:80")` drops the default port: an explicit :80 must stay explicit.
	const explicit = /:(\d+)$/.exec(trimmed)?.[1];
	return { hostname: url.hostname, port: explicit === undefined ? undefined : String(Number(explicit)) };
}

/** A URL for logs and error messages: origin and path, never the query (Discord's ex/is/hm signature). */
export function loggableUrl(url: URL | string): string {
	try {
		const parsed = typeof url === "string" ? new URL(url) : url;
		return `${parsed.origin}${parsed.pathname}`;
	} catch {
		return "(invalid URL)";
	}
}

/**
 * The name to upload under: the original base name (path, extension, and anything but ASCII
 * letters, digits, `.`, `_`, `-`, `(`, `)` removed; at most 100 characters), with the extension of
 * the sniffed type. "cat photo.PNG" sniffed as JPEG → "cat_photo.jpg"; "猫.png" → "file.png".
 */
export function uploadFilename(original: string, ext: string): string {
	let base = original.split(/[\\/]/).pop() ?? "";
	base = base.normalize("NFKD").replace(/\p{M}+/gu, ""); // é → e
	base = base.replace(/\.[A-Za-z0-9]{1,5}$/, "");
	base = base
		.replace(/[^A-Za-z0-9._()-]+/g, "_")
		.replace(/_{2,}/g, "_")
		.replace(/^[._-]+|[._-]+$/g, "")
		.slice(0, 100)
		.replace(/[._-]+$/, "");
	if (!/[A-Za-z0-9]/.test(base)) base = "file";
	return `${base}.${ext}`;
}
