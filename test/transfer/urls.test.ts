import { describe, expect, it } from "vitest";
import { HostAllowList, loggableUrl, uploadFilename } from "../../src/transfer/index.js";

describe("HostAllowList", () => {
	const hosts = new HostAllowList(
		["cdn.discordapp.com", "media.discordapp.net", "127.0.0.1:4000", "[::1]:5000"],
		["127.0.0.1:4000", "[::1]:5000"],
	);
	const ok = (url: string) => hosts.check(url).ok;

	it("admits the listed hosts on their scheme's default port, or the listed port", () => {
		expect(ok("https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=3")).toBe(true);
		expect(ok("https://CDN.DiscordApp.com:443/attachments/1/2/a.png")).toBe(true);
		expect(ok("https://media.discordapp.net/attachments/1/2/a.png")).toBe(true);
		expect(ok("http://127.0.0.1:4000/x")).toBe(true);
		expect(ok("http://[::1]:5000/x")).toBe(true);
	});

	it("is https only unless a host is explicitly listed for plain http", () => {
		const production = new HostAllowList(["cdn.discordapp.com", "media.discordapp.net", "127.0.0.1:4000"]);
		for (const url of [
			"http://cdn.discordapp.com/attachments/1/2/a.png",
			"http://media.discordapp.net/attachments/1/2/a.png",
			"http://127.0.0.1:4000/x",
		]) {
			const checked = production.check(url);
			expect(checked.ok, url).toBe(false);
			expect(checked.ok ? "" : checked.why, url).toMatch(/https only/);
		}
		expect(ok("http://media.discordapp.net/attachments/1/2/a.png")).toBe(false);
		// Listed for http, but not as a download host at all: refused either way.
		const httpOnly = new HostAllowList([], ["127.0.0.1:4000"]);
		expect(httpOnly.check("https://127.0.0.1:4000/x").ok).toBe(false);
		expect(httpOnly.check("http://127.0.0.1:4000/x").ok).toBe(false);
		expect(() => new HostAllowList([], ["http://127.0.0.1:4000"])).toThrow(RangeError);
	});

	it("refuses other hosts, ports, schemes, credentials and look-alikes", () => {
		for (const url of [
			"https://cdn.discordapp.com.evil.com/a.png",
			"https://evilcdn.discordapp.com/a.png",
			"https://cdn.discordapp.com:8443/a.png",
			"http://127.0.0.1:4001/x",
			"http://127.0.0.1/x",
			"ftp://cdn.discordapp.com/a.png",
			"file:///etc/passwd",
			"https://user:pass@cdn.discordapp.com/a.png",
			"cdn.discordapp.com/a.png",
		]) {
			expect(ok(url), url).toBe(false);
		}
	});

	it("keeps an explicit default port explicit", () => {
		const explicit = new HostAllowList(["example.test:80"], ["example.test:80"]);
		expect(explicit.check("http://example.test/x").ok).toBe(true);
		expect(explicit.check("https://example.test/x").ok).toBe(false);
	});

	it("rejects entries that are not host[:port]", () => {
		expect(() => new HostAllowList(["https://cdn.discordapp.com/"])).toThrow(RangeError);
		expect(() => new HostAllowList(["cdn.discordapp.com/path"])).toThrow(RangeError);
	});
});

describe("loggableUrl", () => {
	it("drops the query and the fragment", () => {
		expect(loggableUrl("https://cdn.discordapp.com/attachments/1/2/a.png?ex=65&is=64&hm=abcdef#x")).toBe(
			"https://cdn.discordapp.com/attachments/1/2/a.png",
		);
		expect(loggableUrl("::")).toBe("(invalid URL)");
	});
});

describe("uploadFilename", () => {
	it("keeps the base name, swaps in the sniffed extension", () => {
		expect(uploadFilename("holiday.PNG", "jpg")).toBe("holiday.jpg");
		expect(uploadFilename("clip.mov", "mp4")).toBe("clip.mp4");
		expect(uploadFilename("no_extension", "png")).toBe("no_extension.png");
		expect(uploadFilename("my.photo.final.png", "png")).toBe("my.photo.final.png");
	});

	it("sanitizes", () => {
		expect(uploadFilename("cat photo (1).png", "png")).toBe("cat_photo_(1).png");
		expect(uploadFilename("../../etc/passwd", "png")).toBe("passwd.png");
		expect(uploadFilename("C:\\Users\\me\\x.gif", "gif")).toBe("x.gif");
		expect(uploadFilename('a"b\r\nc.png', "png")).toBe("a_b_c.png");
		expect(uploadFilename("café.webp", "webp")).toBe("cafe.webp");
		expect(uploadFilename(".hidden.png", "png")).toBe("hidden.png");
		expect(uploadFilename("猫.png", "png")).toBe("file.png");
		expect(uploadFilename("", "png")).toBe("file.png");
		expect(uploadFilename(`${"a".repeat(300)}.png`, "png")).toBe(`${"a".repeat(100)}.png`);
	});
});
