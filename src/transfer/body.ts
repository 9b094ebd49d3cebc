import { downloadError } from "./download.js";
import { TransferError } from "./errors.js";

/** Bytes read before deciding what the file is (enough for every format sniffMedia knows). */
export const SNIFF_BYTES = 4100;

/** One transfer's state, shared by the pipeline and the upload's body stream. */
export interface Attempt {
	/** Aborted by the caller's signal or by close(): the transfer ends as "aborted". */
	readonly abort: AbortController;
	/** Set once the upload body is first pulled: bytes may have reached imgpile. */
	uploadStarted: boolean;
	/** A failure seen on the download side while imgpile was reading it; wins over the upload's error. */
	downloadFailure: TransferError | undefined;
	/** The upload call returned or threw: download errors after this (our own cleanup) are not the cause. */
	uploadSettled: boolean;
	/** File bytes the upload body handed out, once it ended. */
	sent: number;
}

export interface Head {
	bytes: Buffer;
	/** The download ended within the head. */
	done: boolean;
}

export async function readHead(chunks: AsyncIterator<Uint8Array>, want: number): Promise<Head> {
	const parts: Uint8Array[] = [];
	let length = 0;
	while (length < want) {
		const next = await chunks.next();
		if (next.done) return { bytes: Buffer.concat(parts), done: true };
		parts.push(next.value);
		length += next.value.byteLength;
	}
	return { bytes: Buffer.concat(parts), done: false };
}

/**
 * The upload's file stream: the peeked head, then the rest of the download as it arrives,
 * counted against the limit and the announced size. A download failure is kept in `attempt`
 * (the upload only sees its own error for it).
 */
export async function* uploadBody(
	head: Head,
	chunks: AsyncIterator<Uint8Array>,
	size: number | undefined,
	maxBytes: number,
	attempt: Attempt,
): AsyncGenerator<Uint8Array> {
	attempt.uploadStarted = true;
	const fail = (failure: TransferError) => {
		if (!attempt.uploadSettled) attempt.downloadFailure ??= failure;
		return failure;
	};
	let count = head.bytes.byteLength;
	if (count > maxBytes) throw fail(tooLarge(count, maxBytes));
	yield head.bytes;
	if (!head.done) {
		for (;;) {
			let next: IteratorResult<Uint8Array>;
			try {
				next = await chunks.next();
			} catch (error) {
				throw fail(downloadError(error));
			}
			if (next.done) break;
			count += next.value.byteLength;
			if (count > maxBytes) throw fail(tooLarge(count, maxBytes));
			if (size !== undefined && count > size) {
				throw fail(new TransferError("download_failed", `the download is longer than the announced ${size} bytes`));
			}
			yield next.value;
		}
	}
	if (size !== undefined && count !== size) {
		throw fail(new TransferError("download_failed", `the download ended after ${count} of ${size} bytes`));
	}
	attempt.sent = count;
}

export function parseLength(value: string | string[] | undefined): number | undefined {
	if (typeof value !== "string" || !/^\d+$/.test(value.trim())) return undefined;
	return Number(value);
}

export function tooLarge(size: number, limit: number): TransferError {
	return new TransferError("too_large", `the file is over the limit of ${limit} bytes (${size} bytes)`);
}
