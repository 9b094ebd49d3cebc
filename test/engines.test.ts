import { readFile } from "node:fs/promises";
import semver from "semver";
import { describe, expect, it } from "vitest";

interface LockPackage {
	engines?: { node?: string };
	dev?: boolean;
	optional?: boolean;
}

describe("engines", () => {
	it("every package the bot runs with accepts Node 20.18, as package.json promises", async () => {
		const manifest = JSON.parse(await readFile("package.json", "utf8")) as { engines: { node: string } };
		expect(manifest.engines.node).toBe(">=20.18");
		const lock = JSON.parse(await readFile("package-lock.json", "utf8")) as { packages: Record<string, LockPackage> };
		const refusing = Object.entries(lock.packages)
			.filter(([path, info]) => path !== "" && !info.dev && info.engines?.node)
			.filter(([, info]) => !semver.satisfies("20.18.0", info.engines?.node ?? "*"))
			.map(([path, info]) => `${path} wants node ${info.engines?.node}`);
		expect(refusing).toEqual([]);
	});

	it("every development tool accepts Node 20.19, the floor the test toolchain sets (README)", async () => {
		const lock = JSON.parse(await readFile("package-lock.json", "utf8")) as { packages: Record<string, LockPackage> };
		const refusing = Object.entries(lock.packages)
			.filter(([path, info]) => path !== "" && info.dev && !info.optional && info.engines?.node)
			.filter(([, info]) => !semver.satisfies("20.19.0", info.engines?.node ?? "*"))
			.map(([path, info]) => `${path} wants node ${info.engines?.node}`);
		expect(refusing).toEqual([]);
	});
});
