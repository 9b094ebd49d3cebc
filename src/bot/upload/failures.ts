/** Why a file failed, as the user is told: per file, and for the whole answer. */
import { randomBytes } from "node:crypto";
import type { ImgpileError, ImgpileRateLimitError } from "../../imgpile/index.js";
import { TransferError } from "../../transfer/index.js";
import { isImgpileError, userErrorFromImgpile } from "../errors.js";
import type { Identity } from "../identity.js";
import type { BotContext } from "../types.js";
import { type FileFailure, type FileResult, type FileSource, failed } from "./files.js";

/** Longer than this, a 429 is the daily quota, not the per-minute limit. */
const QUOTA_RETRY_AFTER_MS = 60_000;

/** The user-facing reason of a failed file (TransferError, or anything else). */
export function failureOf(ctx: BotContext, error: unknown): FileFailure {
	ctx.metrics?.uploadFailed(
		error instanceof TransferError ? error.reason : isImgpileError(error) ? "imgpile" : "unexpected",
	);
	if (error instanceof TransferError) {
		switch (error.reason) {
			case "too_large":
				return { key: "upload.fail.tooLarge", params: {} };
			case "wrong_type":
				return { key: "upload.fail.wrongType", params: {} };
			case "bad_host":
				return { key: "upload.fail.badHost", params: {} };
			case "download_failed":
				return { key: "upload.fail.download", params: {} };
			case "aborted":
				return { key: "upload.fail.stopped", params: {} };
			case "imgpile":
				if (error.imgpileError) return imgpileFailure(error.imgpileError);
				return { key: "upload.fail.imgpile", params: {} };
		}
	}
	if (isImgpileError(error)) return imgpileFailure(error);
	const id = randomBytes(4).toString("hex");
	ctx.log.error({ err: error, errorId: id }, "upload failed unexpectedly");
	return { key: "upload.fail.unexpected", params: { id } };
}

function imgpileFailure(error: ImgpileError): FileFailure {
	if (error.kind === "unauthorized") return { key: "upload.fail.unauthorized", params: {}, unauthorized: true };
	if (error.kind === "rate_limited") {
		const ms = (error as ImgpileRateLimitError).retryAfterMs;
		if (ms !== undefined && ms > QUOTA_RETRY_AFTER_MS) {
			return { key: "upload.fail.quota", params: { hours: Math.max(1, Math.ceil(ms / 3_600_000)) } };
		}
		return { key: "upload.fail.rateLimited", params: { seconds: Math.max(1, Math.ceil((ms ?? 60_000) / 1000)) } };
	}
	const shown = userErrorFromImgpile(error);
	return { key: shown.key, params: shown.params };
}

/** Files refused without any request (not a Discord CDN URL, over 100 MB), by index. */
export function refusedUpFront(ctx: BotContext, sources: readonly FileSource[]): Map<number, FileFailure> {
	const refused = new Map<number, FileFailure>();
	sources.forEach((source, index) => {
		try {
			ctx.transfers.check(source);
		} catch (error) {
			refused.set(index, failureOf(ctx, error));
		}
	});
	return refused;
}

/** The lines to open an answer with when imgpile refused the token. */
export function unauthorizedLines(ctx: BotContext, identity: Identity, results: readonly FileResult[]): string[] {
	if (!failed(results).some((result) => result.failure.unauthorized)) return [];
	return [ctx.t(identity.via === "server" ? "upload.unauthorized.server" : "imgpile.unauthorized")];
}
