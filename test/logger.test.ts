import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, SecretRegistry } from "../src/logger.js";
import { secretFormsIn } from "./support/secrets.js";

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

	it("finds a secret in each form a log could carry it", () => {
		const forms = (text: string) => secretFormsIn(text, IMGPILE_TOKEN);
		const bytes = Buffer.from(`{"a":"${IMGPILE_TOKEN}"}`);
		expect(forms(`x ${IMGPILE_TOKEN} y`)).toEqual(["plain"]);
		expect(forms(Buffer.from(`ab${IMGPILE_TOKEN}`).toString("base64"))).toEqual(["base64", "base64url"]);
		expect(forms(Buffer.from(`a${IMGPILE_TOKEN}`).toString("base64url"))).toContain("base64url");
		expect(forms(bytes.toString("hex").toUpperCase())).toEqual(["hex"]);
		expect(forms(JSON.stringify(bytes))).toEqual(["bytes"]);
		expect(forms(JSON.stringify({ ...bytes }))).toEqual(["bytes"]);
		expect(forms([...bytes].join(", "))).toEqual(["bytes"]);
		expect(forms("nothing here 1,2,3")).toEqual([]);
	});

	it("writes bytes as their length and never a request body, at any depth", () => {
		const { lines, destination } = capture();
		const logger = createLogger({ destination });
		const sxcu = Buffer.from(JSON.stringify({ Headers: { Authorization: `Bearer ${IMGPILE_TOKEN}` } }));
		// The shape of @discordjs/rest's DiscordAPIError/HTTPError: the request kept whole, files as Buffers.
		const error = Object.assign(new Error("Missing Permissions"), {
			url: "https://discord.com/api/v10/channels/1/messages",
			requestBody: { files: [{ name: "imgpile.sxcu", data: sxcu }], json: { content: "ready" } },
		});
		logger.error({ err: error }, "interaction failed");
		logger.info({ deep: { list: [{ bytes: new Uint8Array(5) }], raw: new ArrayBuffer(7) }, buf: sxcu }, "bytes");

		expect(secretFormsIn(lines.join("\n"), IMGPILE_TOKEN)).toEqual([]);
		const failed = JSON.parse(lines[0] ?? "{}");
		expect(failed.err).toMatchObject({ message: "Missing Permissions", requestBody: "[omitted]" });
		expect(failed.err.url).toContain("/channels/1/messages");
		expect(JSON.parse(lines[1] ?? "{}")).toMatchObject({
			deep: { list: [{ bytes: "[5 bytes]" }], raw: "[7 bytes]" },
			buf: `[${sxcu.length} bytes]`,
		});
	});

	it("redacts interaction and webhook tokens in Discord URLs", () => {
		const { lines, destination } = capture();
		const logger = createLogger({ destination });
		const interactionToken = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZg";
		const webhookToken = "Xy9_kQ-3vT8mN2pL5wR7zA1cE4gH6jK0oS";
		const base = "https://discord.com/api/v10";
		logger.warn(
			{
				err: Object.assign(new Error("Unknown interaction"), {
					url: `${base}/interactions/111/${interactionToken}/callback`,
				}),
			},
			"interaction failed",
		);
		logger.info({ url: `${base}/webhooks/222/${webhookToken}/messages/@original?with_components=true` }, "edit");
		logger.info(`PATCH /webhooks/222/${webhookToken}`);

		const output = lines.join("\n");
		expect(output).not.toContain(interactionToken);
		expect(output).not.toContain(webhookToken);
		// Ids and the rest of the route stay readable.
		expect(JSON.parse(lines[0] ?? "{}").err.url).toBe(`${base}/interactions/111/[redacted]/callback`);
		expect(JSON.parse(lines[1] ?? "{}").url).toBe(
			`${base}/webhooks/222/[redacted]/messages/@original?with_components=true`,
		);
		expect(JSON.parse(lines[2] ?? "{}").msg).toBe("PATCH /webhooks/222/[redacted]");
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
