import { type Dispatcher, request } from "undici";
import { errorCode } from "../imgpile/errors.js";
import { TransferError } from "./errors.js";
import type { HostAllowList } from "./urls.js";

/** Redirects followed (each one checked against the allowed hosts). */
export const MAX_REDIRECTS = 3;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = "imgpile-bot (+https://github.com/imgpile-bot)";

/** GET from the CDN with redirects followed by hand, each one back on an allowed host. */
export async function download(
	start: URL,
	agent: Dispatcher,
	hosts: HostAllowList,
	signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
	let url = start;
	for (let redirects = 0; ; redirects++) {
		let response: Dispatcher.ResponseData;
		try {
			response = await request(url, {
				method: "GET",
				dispatcher: agent,
				signal,
				headers: { "user-agent": USER_AGENT, accept: "image/*,video/*,*/*" },
			});
		} catch (error) {
			throw downloadError(error);
		}
		const status = response.statusCode;
		if (status === 200) return response;
		response.body.on("error", () => undefined);
		await response.body.dump().catch(() => undefined);
		const location = response.headers.location;
		if (REDIRECT_STATUSES.has(status) && typeof location === "string") {
			if (redirects >= MAX_REDIRECTS) {
				throw new TransferError("download_failed", `the CDN redirected more than ${MAX_REDIRECTS} times`, {
					downloadStatus: status,
				});
			}
			const next = hosts.check(new URL(location, url));
			if (!next.ok) {
				throw new TransferError("bad_host", `the CDN redirected off the allowed hosts: ${next.why}`, {
					downloadStatus: status,
				});
			}
			url = next.url;
			continue;
		}
		const hint = status === 404 || status === 403 ? " (the link may have expired)" : "";
		throw new TransferError("download_failed", `the CDN answered ${status}${hint}`, { downloadStatus: status });
	}
}

const TIMEOUTS: Record<string, string> = {
	UND_ERR_CONNECT_TIMEOUT: "timed out connecting to the CDN",
	UND_ERR_HEADERS_TIMEOUT: "timed out waiting for the CDN's answer",
	UND_ERR_BODY_TIMEOUT: "the download stalled (timed out)",
};

/** Any failure while reading from the CDN, as a "download_failed" TransferError (timeouts named). */
export function downloadError(error: unknown): TransferError {
	if (error instanceof TransferError) return error;
	const code = errorCode(error);
	const message =
		(code && TIMEOUTS[code]) ?? `the download failed: ${code ? `network error (${code})` : describe(error)}`;
	return new TransferError("download_failed", message, { cause: error });
}

export function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
