/** Running the transfers of an upload: all at once, with one retry after a short 429. */
import { setTimeout as sleep } from "node:timers/promises";
import type { ImgpileClient, ImgpileRateLimitError, Media } from "../../imgpile/index.js";
import { TransferError } from "../../transfer/index.js";
import type { BotContext } from "../types.js";
import { failureOf } from "./failures.js";
import type { FileFailure, FileResult, FileSource } from "./files.js";
import type { ProgressBoard } from "./progress.js";

/** An upload refused with 429 is tried once more when imgpile asks to wait at most this long. */
export const UPLOAD_RETRY_MAX_WAIT_MS = 30_000;

export interface TransferAllOptions {
	/** Files known already (rehost idempotency), by index: not transferred again. */
	reused?: ReadonlyMap<number, { media: Media; size: number }>;
	/** Failures known before any download (`transfers.check`), by index. */
	refused?: ReadonlyMap<number, FileFailure>;
	board?: ProgressBoard | undefined;
}

/**
 * Transfers every file not reused or refused, all at once (the pipeline's pool bounds them and
 * queues the rest). A 429 on an upload is waited out and tried once more when imgpile asks for
 * at most UPLOAD_RETRY_MAX_WAIT_MS (the file is downloaded again from Discord's CDN). A 401
 * stops the files not yet done: they would be refused too. Results are in `sources` order.
 */
export async function transferAll(
	ctx: BotContext,
	sources: readonly FileSource[],
	client: ImgpileClient,
	options: TransferAllOptions = {},
): Promise<FileResult[]> {
	const stop = new AbortController();
	const board = options.board;
	const run = async (source: FileSource, index: number): Promise<FileResult> => {
		const reused = options.reused?.get(index);
		if (reused) {
			board?.set(index, { state: "reused" });
			return { kind: "reused", source, media: reused.media, size: reused.size };
		}
		const refused = options.refused?.get(index);
		if (refused) {
			board?.set(index, { state: "failed" });
			return { kind: "failed", source, failure: refused };
		}
		for (let attempt = 0; ; attempt++) {
			try {
				const media = await ctx.transfers.transfer(source, client, {
					signal: stop.signal,
					onQueued: (position) => board?.set(index, { state: "queued", position }),
					onStart: () => board?.set(index, { state: "starting" }),
					onProgress: (sent, total) => board?.set(index, { state: "uploading", sent, total: total ?? source.size }),
				});
				board?.set(index, { state: "done" });
				return { kind: "uploaded", source, media, size: source.size ?? 0 };
			} catch (error) {
				const wait = attempt === 0 && !stop.signal.aborted ? shortRateLimit(error) : undefined;
				if (wait !== undefined) {
					ctx.log.info({ key: source.key, waitMs: wait }, "upload rate limited; trying again once");
					board?.set(index, { state: "retrying", seconds: Math.max(1, Math.ceil(wait / 1000)) });
					const slept = await sleep(wait + 50, true, { signal: stop.signal }).catch(() => false);
					if (slept) continue;
				}
				const failure = failureOf(ctx, error);
				if (failure.unauthorized) stop.abort(new Error("imgpile refused the token"));
				board?.set(index, { state: "failed" });
				return { kind: "failed", source, failure };
			}
		}
	};
	return Promise.all(sources.map(run));
}

/** How long to wait before the one retry: a 429 on the upload that asks for at most UPLOAD_RETRY_MAX_WAIT_MS. */
function shortRateLimit(error: unknown): number | undefined {
	if (!(error instanceof TransferError) || error.imgpileError?.kind !== "rate_limited") return undefined;
	const ms = (error.imgpileError as ImgpileRateLimitError).retryAfterMs ?? 1_000;
	return ms <= UPLOAD_RETRY_MAX_WAIT_MS ? ms : undefined;
}
