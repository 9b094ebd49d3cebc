/**
 * docker-compose.yml, read structurally: the services a scaled deployment needs, wired to each
 * other as the code expects (the proxy's port and path, the shared store and key, the shards),
 * each healthy only when it is, and stopped gracefully. No Docker runs in CI, and there is no
 * YAML dependency: `readYaml` below reads the subset compose files use here (block maps and
 * lists, flow lists written as JSON, quoted scalars, anchors and `<<` merges) and throws on
 * anything else, so the file cannot drift out of what this test understands.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig, parseProxyConfig } from "../src/config.js";

type Yaml = string | Yaml[] | { [key: string]: Yaml };
type YamlMap = { [key: string]: Yaml };

function readYaml(text: string): Yaml {
	const lines = text
		.split("\n")
		.map((raw, index) => ({ raw, number: index + 1 }))
		.filter(({ raw }) => raw.trim() !== "" && !raw.trim().startsWith("#"))
		.map(({ raw, number }) => ({ indent: raw.length - raw.trimStart().length, text: raw.trim(), number }));
	const anchors = new Map<string, Yaml>();
	let at = 0;

	const scalar = (value: string, number: number): Yaml => {
		if (value.startsWith("[") || value.startsWith('"')) return JSON.parse(value) as Yaml;
		if (/^[*&'{|>]/.test(value) || value.includes(" #")) throw new Error(`line ${number}: unsupported YAML: ${value}`);
		return value;
	};

	function block(indent: number): Yaml {
		const first = lines[at];
		if (!first || first.indent !== indent) throw new Error(`line ${first?.number}: expected indent ${indent}`);
		if (first.text.startsWith("- ")) {
			const list: Yaml[] = [];
			while (lines[at]?.indent === indent && lines[at]?.text.startsWith("- ")) {
				const line = lines[at++] as (typeof lines)[number];
				list.push(scalar(line.text.slice(2), line.number));
			}
			return list;
		}
		const map: YamlMap = {};
		while (lines[at]?.indent === indent) {
			const line = lines[at++] as (typeof lines)[number];
			const pair = /^([\w.-]+|<<):(?: (.*))?$/.exec(line.text);
			if (!pair?.[1]) throw new Error(`line ${line.number}: unsupported YAML: ${line.text}`);
			const [, key, rest = ""] = pair;
			if (key === "<<") {
				const merged = anchors.get(rest.replace(/^\*/, ""));
				if (!rest.startsWith("*") || typeof merged !== "object" || Array.isArray(merged)) {
					throw new Error(`line ${line.number}: unknown anchor ${rest}`);
				}
				Object.assign(map, merged);
				continue;
			}
			const anchor = /^&([\w-]+)$/.exec(rest)?.[1];
			const nested = (rest === "" || anchor) && (lines[at]?.indent ?? 0) > indent;
			const value = nested ? block(lines[at]?.indent ?? 0) : rest === "" ? "" : scalar(rest, line.number);
			if (anchor) anchors.set(anchor, value);
			map[key] = value;
		}
		return map;
	}

	const document = block(0);
	if (at !== lines.length) throw new Error(`line ${lines[at]?.number}: unexpected indentation`);
	return document;
}

const compose = readYaml(readFileSync("docker-compose.yml", "utf8")) as YamlMap;
const services = compose.services as { [name: string]: YamlMap };
const env = (service: YamlMap) => service.environment as { [name: string]: string };
const BOTS = ["bot-0", "bot-1"];

/** The port a healthcheck command fetches /healthz from. */
function healthcheckPort(service: YamlMap): string | undefined {
	const test = (service.healthcheck as YamlMap | undefined)?.test as string[] | undefined;
	return /127\.0\.0\.1:(\d+)\/healthz/.exec(test?.join(" ") ?? "")?.[1];
}

describe("docker-compose.yml", () => {
	it("reads the subset of YAML it is written in, and refuses what it cannot read", () => {
		expect(readYaml('a:\n  b: "x"\n  c:\n    - one\nd: &d\n  e: f\ng:\n  <<: *d\n  h: ["i"]\n')).toEqual({
			a: { b: "x", c: ["one"] },
			d: { e: "f" },
			g: { e: "f", h: ["i"] },
		});
		expect(() => readYaml("a: {b: c}\n")).toThrow(/unsupported/);
		expect(() => readYaml("a: b # comment\n")).toThrow(/unsupported/);
	});

	it("has Redis, the REST proxy and two bot shards", () => {
		expect(Object.keys(services).sort()).toEqual(["bot-0", "bot-1", "redis", "rest-proxy"]);
		expect(services.redis?.image).toMatch(/^redis:7/);
		expect((services.redis?.healthcheck as YamlMap | undefined)?.test).toEqual(["CMD", "redis-cli", "ping"]);
	});

	it("runs the proxy from the bot's image, on the port its healthcheck and the bots use", () => {
		const proxy = services["rest-proxy"] as YamlMap;
		expect(proxy.image).toBe(services["bot-0"]?.image);
		expect(proxy.build).toBe(services["bot-0"]?.build);
		// The image builds src/ into dist/src/: the command is the compiled src/proxy.ts.
		expect(proxy.command).toEqual(["node", "--enable-source-maps", "dist/src/proxy.js"]);
		expect(existsSync("src/proxy.ts")).toBe(true);
		const config = parseProxyConfig({ DISCORD_TOKEN: "aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbb.ccc", ...env(proxy) });
		expect(healthcheckPort(proxy)).toBe(String(config.PROXY_PORT));
		for (const bot of BOTS) {
			expect(env(services[bot] as YamlMap).DISCORD_API_URL).toBe(`http://rest-proxy:${config.PROXY_PORT}/api`);
		}
	});

	it("gives both bots the shared store and one encryption key, required from .env", () => {
		for (const bot of BOTS) {
			const service = services[bot] as YamlMap;
			expect(service.env_file).toBe(".env");
			expect(env(service).STORE_URL).toBe("redis://redis:6379");
			expect(env(service).TOKEN_ENCRYPTION_KEY).toMatch(/^\$\{TOKEN_ENCRYPTION_KEY:\?.+\}$/);
		}
		expect(services["rest-proxy"]?.env_file).toBe(".env");
	});

	it("gives each bot an environment the bot accepts (with .env's token and key)", () => {
		for (const bot of BOTS) {
			const config = parseConfig({
				DISCORD_TOKEN: "aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbb.ccc",
				...env(services[bot] as YamlMap),
				TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
			});
			expect(config.STORE_URL).toBe("redis://redis:6379");
			expect(config.SHARD_COUNT).toBe(2);
			expect(healthcheckPort(services[bot] as YamlMap)).toBe(String(config.HEALTH_PORT));
		}
	});

	it("makes each bot one of two shards", () => {
		expect(BOTS.map((bot) => env(services[bot] as YamlMap).SHARD_COUNT)).toEqual(["2", "2"]);
		expect(BOTS.map((bot) => env(services[bot] as YamlMap).SHARD_IDS)).toEqual(["0", "1"]);
	});

	it("starts the bots once Redis and the proxy are healthy, checks their /healthz, and stops everything gracefully", () => {
		for (const bot of BOTS) {
			const service = services[bot] as YamlMap;
			expect(service.depends_on).toEqual({
				redis: { condition: "service_healthy" },
				"rest-proxy": { condition: "service_healthy" },
			});
			expect(healthcheckPort(service)).toBe(env(service).HEALTH_PORT);
		}
		for (const name of [...BOTS, "rest-proxy"]) {
			expect(services[name]?.stop_grace_period, name).toBe("30s");
		}
		for (const [name, service] of Object.entries(services)) {
			expect(service.restart, name).toBe("unless-stopped");
		}
	});
});
