import type { Logger } from "pino";
import { Agent, type Dispatcher } from "undici";
import type { ImgpileClient } from "../imgpile/client.js";
import { ImgpileError } from "../imgpile/errors.js";
import { IMGPILE_LIMITS, type Media } from "../imgpile/types.js";
import { sniffMedia } from "../media/sniff.js";
import type { Metrics } from "../metrics.js";
import { type Attempt, parseLength, readHead, SNIFF_BYTES, tooLarge, uploadBody } from "./body.js";
import { describe, download, downloadError } from "./download.js";
import { TransferError } from "./errors.js";
import { SlotPool } from "./pool.js";
import { HostAllowList, loggableUrl, uploadFilename } from "./urls.js";

export interface TransferSource {
	/** A Discord attachment or embed URL (signed: its query is never logged). */
	url: string;
	filename: string;
	/** Discord's attachment size, when known. */
	size?: number | undefined;
	/** Discord's claim; not trusted (the bytes are sniffed). */
	contentType?: string | null | undefined;
	/** A stable id for idempotency and logs (the attachment id). */
	key?: string | undefined;
}

export interface TransferPipelineOptions {
	/** Hosts downloads may come from, `host` or `host:port`, e.g. ["cdn.discordapp.com", "media.discordapp.net"]. */
	allowedHosts: string[];
	/**
	 * Hosts that may also be downloaded from over plain http, e.g. a local Discord emulator's CDN.
	 * Default none: everything else is https only.
	 */
	httpHosts?: string[] | undefined;
	/** Transfers running at once across the whole bot; the rest wait in a FIFO queue. */
	maxConcurrent: number;
	/** Largest file accepted. Default 100 MiB (imgpile's limit). */
	maxBytes?: number | undefined;
	logger: Logger;
	/** Counts the files and bytes that reached imgpile. */
	metrics?: Metrics | undefined;
	timeouts?:
		| {
				/** TCP/TLS connect to the CDN. Default 10 s. */
				connectMs?: number | undefined;
				/** Request sent → response headers. Default 30 s. */
				headersMs?: number | undefined;
				/** Longest silence while reading the download. Default 30 s. */
				bodyMs?: number | undefined;
		  }
		| undefined;
}

export interface TransferOptions {
	/** Attach the new media to an existing imgpile post. */
	postId?: number | undefined;
	/** Cancels the transfer wherever it is (queue, download, upload): reason "aborted". */
	signal?: AbortSignal | undefined;
	/** File bytes handed to imgpile so far, and the total when known. */
	onProgress?: ((sent: number, total: number | undefined) => void) | undefined;
	/** The 1-based queue position, when the transfer has to wait for a slot and each time it moves up. */
	onQueued?: ((position: number) => void) | undefined;
	/** The transfer got its slot and starts downloading. */
	onStart?: (() => void) | undefined;
}

/**
 * Discord CDN → imgpile, streaming: the download is peeked to sniff the real type, then the
 * peeked head and the rest of the download go to imgpile as one stream while it arrives. Memory
 * stays at a few chunks per transfer, whatever the file size. A bounded FIFO pool caps how many
 * transfers run at once.
 */
export class TransferPipeline {
	readonly #hosts: HostAllowList;
	readonly #pool: SlotPool;
	readonly #maxBytes: number;
	readonly #logger: Logger;
	readonly #metrics: Metrics | undefined;
	readonly #agent: Dispatcher;
	readonly #running = new Set<Promise<unknown>>();
	readonly #attempts = new Set<Attempt>();
	#closed = false;

	constructor(options: TransferPipelineOptions) {
		this.#hosts = new HostAllowList(options.allowedHosts, options.httpHosts);
		this.#pool = new SlotPool(options.maxConcurrent);
		this.#maxBytes = options.maxBytes ?? IMGPILE_LIMITS.maxFileBytes;
		this.#logger = options.logger.child({ module: "transfer" });
		this.#metrics = options.metrics;
		const headersTimeout = options.timeouts?.headersMs ?? 30_000;
		const bodyTimeout = options.timeouts?.bodyMs ?? 30_000;
		this.#agent = new Agent({
			connect: { timeout: options.timeouts?.connectMs ?? 10_000 },
			headersTimeout,
			bodyTimeout,
			keepAliveTimeout: 10_000,
		});
	}

	/** Transfers running now. */
	get active(): number {
		return this.#pool.active;
	}

	/** Transfers waiting for a slot. */
	get queued(): number {
		return this.#pool.queued;
	}

	/**
	 * Refuses, without any request, a URL that is not http(s) on an allowed host ("bad_host") and a
	 * file whose known size is over the limit ("too_large"). Throws TransferError.
	 */
	check(source: TransferSource): void {
		this.#checkedUrl(source);
	}

	/**
	 * Waits for a slot, downloads `source`, checks the real type from the first bytes and streams
	 * the file to imgpile through `client`. Rejects with TransferError only.
	 */
	transfer(source: TransferSource, client: ImgpileClient, options: TransferOptions = {}): Promise<Media> {
		const run = this.#transfer(source, client, options);
		this.#running.add(run);
		const forget = () => this.#running.delete(run);
		run.then(forget, forget);
		return run;
	}

	/**
	 * Stops taking transfers: queued ones fail with "aborted". Running ones finish (their timeouts
	 * bound this) unless `abortActive`, which aborts them too. Then the download connections close.
	 */
	async close(options: { abortActive?: boolean } = {}): Promise<void> {
		this.#closed = true;
		this.#pool.close(() => new TransferError("aborted", "the transfer pipeline is closing"));
		if (options.abortActive) {
			for (const attempt of this.#attempts) attempt.abort.abort(new Error("the transfer pipeline is closing"));
		}
		await Promise.allSettled([...this.#running]);
		await this.#agent.close();
	}

	async #transfer(source: TransferSource, client: ImgpileClient, options: TransferOptions): Promise<Media> {
		const url = this.#checkedUrl(source);
		const log = this.#logger.child({ key: source.key, url: loggableUrl(url) });
		if (this.#closed) throw new TransferError("aborted", "the transfer pipeline is closing");

		const attempt: Attempt = {
			abort: new AbortController(),
			uploadStarted: false,
			downloadFailure: undefined,
			uploadSettled: false,
			sent: 0,
		};
		const onCallerAbort = () => attempt.abort.abort(options.signal?.reason);
		if (options.signal?.aborted) throw new TransferError("aborted", "the transfer was cancelled");
		options.signal?.addEventListener("abort", onCallerAbort, { once: true });
		this.#attempts.add(attempt);
		try {
			let release: () => void;
			try {
				release = await this.#pool.acquire({
					signal: attempt.abort.signal,
					onQueued: options.onQueued && this.#guard(log, "onQueued", options.onQueued),
				});
			} catch (error) {
				if (error instanceof TransferError) throw error;
				throw new TransferError("aborted", "the transfer was cancelled while queued");
			}
			const started = performance.now();
			try {
				if (options.onStart) this.#guard(log, "onStart", options.onStart)();
				log.debug({ size: source.size }, "transfer started");
				const media = await this.#run(source, url, client, options, attempt, log);
				this.#metrics?.uploaded(attempt.sent);
				log.info(
					{ mediaId: media.id, slug: media.slug, type: media.type, ms: Math.round(performance.now() - started) },
					"transfer done",
				);
				return media;
			} catch (error) {
				const failure = this.#classify(error, attempt);
				const level = failure.reason === "imgpile" || failure.reason === "download_failed" ? "warn" : "info";
				log[level](
					{
						reason: failure.reason,
						status: failure.downloadStatus,
						imgpile: failure.imgpileError?.kind,
						uploadStarted: failure.uploadStarted,
						ms: Math.round(performance.now() - started),
						err: failure.message,
					},
					"transfer failed",
				);
				throw failure;
			} finally {
				release();
			}
		} finally {
			options.signal?.removeEventListener("abort", onCallerAbort);
			this.#attempts.delete(attempt);
		}
	}

	async #run(
		source: TransferSource,
		url: URL,
		client: ImgpileClient,
		options: TransferOptions,
		attempt: Attempt,
		log: Logger,
	): Promise<Media> {
		const response = await download(url, this.#agent, this.#hosts, attempt.abort.signal);
		const body = response.body;
		// Errors reach us through the iterator; a listener keeps a destroy() from becoming an uncaught 'error'.
		body.on("error", () => undefined);
		try {
			const length = parseLength(response.headers["content-length"]);
			if (length !== undefined && length > this.#maxBytes) {
				throw new TransferError("too_large", `the file is ${length} bytes, over the limit of ${this.#maxBytes}`);
			}
			const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
			const head = await readHead(chunks, SNIFF_BYTES).catch((error: unknown) => {
				throw downloadError(error);
			});
			const sniffed = sniffMedia(head.bytes);
			if (!sniffed) {
				throw new TransferError(
					"wrong_type",
					`the file is not an image or a video (Discord said ${source.contentType ?? "nothing"})`,
				);
			}
			const size = length ?? source.size;
			const filename = uploadFilename(source.filename, sniffed.ext);
			log.debug({ mime: sniffed.mime, size, filename }, "transfer sniffed, uploading");
			const onProgress = options.onProgress && this.#guard(log, "onProgress", options.onProgress);
			try {
				return await client.uploadMedia(
					{
						stream: uploadBody(head, chunks, size, this.#maxBytes, attempt),
						filename,
						contentType: sniffed.mime,
						size,
					},
					{ postId: options.postId, signal: attempt.abort.signal, onProgress },
				);
			} finally {
				attempt.uploadSettled = true;
			}
		} finally {
			// Done or not, the download goes: a no-op once it was read to the end.
			body.destroy();
		}
	}

	#checkedUrl(source: TransferSource): URL {
		const checked = this.#hosts.check(source.url);
		if (!checked.ok) throw new TransferError("bad_host", `refusing to download ${source.filename}: ${checked.why}`);
		if (source.size !== undefined && source.size > this.#maxBytes) throw tooLarge(source.size, this.#maxBytes);
		return checked.url;
	}

	#classify(error: unknown, attempt: Attempt): TransferError {
		let failure: TransferError;
		if (attempt.abort.signal.aborted) {
			failure = new TransferError("aborted", "the transfer was cancelled", { cause: error });
		} else if (attempt.downloadFailure) {
			failure = attempt.downloadFailure;
		} else if (error instanceof TransferError) {
			failure = error;
		} else if (error instanceof ImgpileError) {
			failure = new TransferError("imgpile", error.message, { imgpileError: error, cause: error });
		} else if (attempt.uploadStarted) {
			failure = new TransferError("imgpile", `the upload failed: ${describe(error)}`, { cause: error });
		} else {
			failure = downloadError(error);
		}
		failure.uploadStarted = attempt.uploadStarted;
		return failure;
	}

	/** A caller's callback that cannot break the pipeline by throwing. */
	#guard<A extends unknown[]>(log: Logger, name: string, callback: (...args: A) => void): (...args: A) => void {
		return (...args) => {
			try {
				callback(...args);
			} catch (error) {
				log.error({ err: error, callback: name }, "transfer callback threw");
			}
		};
	}
}
