import type { ImgpileError } from "../imgpile/errors.js";

/**
 * Why a transfer failed, for the caller to pick the user-facing message:
 * - `too_large`: over the size limit (Discord's size, the CDN's Content-Length, or counted while streaming).
 * - `wrong_type`: the bytes are not an image or a video (whatever the name or Discord's content type say).
 * - `bad_host`: the URL (or a redirect) leaves the allowed Discord CDN hosts, or is not http(s).
 * - `download_failed`: the CDN answered an error (`downloadStatus`; 404 = expired signed URL), or the
 *   download broke (network, timeout, fewer or more bytes than announced).
 * - `imgpile`: imgpile refused or failed; `imgpileError` says how (401/403/422/429/451/5xx, too large,
 *   network, timeout).
 * - `aborted`: the caller's signal fired, or the pipeline closed.
 */
export type TransferFailureReason = "too_large" | "wrong_type" | "bad_host" | "download_failed" | "imgpile" | "aborted";

export interface TransferErrorOptions extends ErrorOptions {
	imgpileError?: ImgpileError | undefined;
	downloadStatus?: number | undefined;
	uploadStarted?: boolean | undefined;
}

export class TransferError extends Error {
	override name = "TransferError";
	readonly reason: TransferFailureReason;
	/** Set when `reason` is "imgpile" and the failure came from the imgpile client (always, in practice). */
	readonly imgpileError: ImgpileError | undefined;
	/** The CDN's HTTP status when it answered an error (`download_failed`), or the redirect status (`bad_host`). */
	readonly downloadStatus: number | undefined;
	/** Whether the upload request was started: some bytes may have reached imgpile (quota may be used). */
	uploadStarted: boolean;

	constructor(reason: TransferFailureReason, message: string, options: TransferErrorOptions = {}) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.reason = reason;
		this.imgpileError = options.imgpileError;
		this.downloadStatus = options.downloadStatus;
		this.uploadStarted = options.uploadStarted ?? false;
	}
}
