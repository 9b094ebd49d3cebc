import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, SecretRegistry } from "../../src/logger.js";

const IMGPILE_TOKEN = "ip_live_7f3a9c2e4b1d8f6a0c5e";
const DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB";

function capture() {
	const lines: string[] = [];
	const destination = new Writable({
		write(chunk, _encoding, callback) {
			lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
			callback();
		},
	});
	return { lines, destination };
}

describe("logger", () => {
	it("never prints a token, wherever it hides", () => {
		const { lines, destination } = capture();
		const secrets = new SecretRegistry();
		secrets.add(IMGPILE_TOKEN);
		const logger = createLogger({ destination, secrets, level: "trace" });

		logger.info({ headers: { Authorization: `Bearer ${IMGPILE_TOKEN}`, accept: "application/json" } }, "request");
		logger.info({ user: { imgpileToken: IMGPILE_TOKEN, id: "42" } }, "linked");
		logger.info({ nested: { deeper: [{ note: `the token is ${IMGPILE_TOKEN} ok` }] } }, "free text");
		logger.warn(`message with ${IMGPILE_TOKEN} and Bot ${DISCORD_TOKEN}`);
		logger.error({ err: new Error(`request failed: Authorization: Bearer ${IMGPILE_TOKEN}`) }, "boom");
		logger.info({ url: "https://imgpile.com/api/v1/posts/abc?key=s3cretKey99&mediaPage=2" }, "private post");
		logger.info({ discord: DISCORD_TOKEN }, "unregistered discord token shape");
		logger.info({ access_key: "ab12cd34ef", TOKEN_ENCRYPTION_KEY: "00ff".repeat(16) }, "keys");

		const output = lines.join("\n");
		expect(lines).toHaveLength(8);
		expect(output).not.toContain(IMGPILE_TOKEN);
		expect(output).not.toContain(DISCORD_TOKEN);
		expect(output).not.toContain("s3cretKey99");
		expect(output).not.toContain("ab12cd34ef");
		expect(output).not.toContain("00ff00ff");
		// What is not secret stays readable.
		const first = JSON.parse(lines[0] ?? "{}");
		expect(first.headers.accept).toBe("application/json");
		expect(first.msg).toBe("request");
		expect(JSON.parse(lines[1] ?? "{}").user.id).toBe("42");
		expect(JSON.parse(lines[5] ?? "{}").url).toContain("mediaPage=2");
		expect(JSON.parse(lines[4] ?? "{}").err.message).toContain("request failed");
	});

	it("writes structured JSON with level labels", () => {
		const { lines, destination } = capture();
		const logger = createLogger({ destination, level: "info" });
		logger.debug("hidden");
		logger.info("bot ready, Bearer of good news");
		logger.info({ guildId: "1" }, "visible");
		expect(lines).toHaveLength(2);
		expect(JSON.parse(lines[0] ?? "{}").msg).toBe("bot ready, Bearer of good news");
		expect(JSON.parse(lines[1] ?? "{}")).toMatchObject({ level: "info", guildId: "1", msg: "visible" });
	});
});
