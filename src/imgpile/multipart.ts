import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { ImgpileFileTooLargeError, type RequestInfo } from "./errors.js";

/** A file to upload: a stream of bytes (from disk, or from another HTTP response) and what we know of it. */
export interface UploadFile {
	/** The bytes. Consumed once: an upload is never replayed. */
	stream: AsyncIterable<Uint8Array>;
	filename: string;
	/** Sent as the part's Content-Type; imgpile sniffs the real type from the bytes anyway. */
	contentType?: string | undefined;
	/** Exact byte count when known: the request then carries a Content-Length. */
	size?: number | undefined;
}

/**
 * Bytes per read of a file from disk. Each chunk costs a round trip through libuv's thread pool
 * and a socket write: at 64 KiB a 100 MB upload is ~1,500 of each, and the client used 2-4x the
 * CPU it does at 1 MiB (npm run bench:upload). Larger chunks did not help. At most a chunk or two
 * is in memory at a time.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** An UploadFile that streams a file from disk, with its size. */
export async function fileFromPath(path: string, contentType?: string): Promise<UploadFile> {
	const { size } = await stat(path);
	return {
		stream: createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES }),
		filename: basename(path),
		contentType,
		size,
	};
}

export interface MultipartBody {
	contentType: string;
	/** Total length when the file's size is known. */
	length: number | undefined;
	body: AsyncIterable<Uint8Array>;
}

export interface MultipartOptions {
	fields: Record<string, string>;
	file: UploadFile;
	/** The file field's name. */
	fileField: string;
	maxFileBytes: number;
	/** Told the file bytes handed to the socket so far, and the total when known. */
	onProgress?: ((sent: number, total: number | undefined) => void) | undefined;
	request: RequestInfo;
}

/**
 * A multipart/form-data body as a stream: the preamble, the file's own chunks as they come,
 * and the closing boundary. Nothing but the current chunk is held in memory. A stream that
 * runs past `maxFileBytes` is cut off with ImgpileFileTooLargeError, which aborts the request.
 */
export function multipartBody(options: MultipartOptions): MultipartBody {
	const { file, maxFileBytes, request } = options;
	if (file.size !== undefined && file.size > maxFileBytes) {
		throw new ImgpileFileTooLargeError(request, maxFileBytes, file.size);
	}
	const boundary = `----imgpile-bot-${randomBytes(12).toString("hex")}`;
	let head = "";
	for (const [name, value] of Object.entries(options.fields)) {
		head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`;
	}
	head +=
		`--${boundary}\r\nContent-Disposition: form-data; name="${quote(options.fileField)}"; filename="${quote(file.filename)}"\r\n` +
		`Content-Type: ${file.contentType ?? "application/octet-stream"}\r\n\r\n`;
	const preamble = Buffer.from(head, "utf8");
	const trailer = Buffer.from(`\r\n--${boundary}--\r\n`, "utf8");

	async function* body(): AsyncGenerator<Uint8Array> {
		yield preamble;
		let sent = 0;
		for await (const chunk of file.stream) {
			sent += chunk.byteLength;
			if (sent > maxFileBytes) throw new ImgpileFileTooLargeError(request, maxFileBytes, file.size);
			yield chunk;
			options.onProgress?.(sent, file.size);
		}
		if (file.size !== undefined && sent !== file.size) {
			throw new Error(`the file stream ended after ${sent} of ${file.size} bytes`);
		}
		yield trailer;
	}

	return {
		contentType: `multipart/form-data; boundary=${boundary}`,
		length: file.size === undefined ? undefined : preamble.byteLength + file.size + trailer.byteLength,
		body: body(),
	};
}

/** A header parameter value: no quotes, no line breaks, ASCII only (a file name comes from users). */
function quote(value: string): string {
	// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
	return value.replace(/["\\\u0000-\u001f\u007f]|[^\u0020-\u007e]/g, "_") || "file";
}
