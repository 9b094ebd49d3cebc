import { randomBytes } from "node:crypto";
import { open, stat } from "node:fs/promises";
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
 * CPU it does at 1 MiB (npm run bench:upload).
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/**
 * An UploadFile that streams a file from disk, with its size.
 *
 * The file is read into two buffers used in turn, not a fresh one per chunk: fresh 1 MiB buffers
 * cost the kernel a page fault per 4 KiB and the GC a full collection every ~30 MB, which on a
 * busy machine made the client 1.5x slower than curl. So a chunk is only valid until the one
 * after next is asked for. That is safe for the upload: undici's request body writer asks for the
 * next chunk only once the socket took the previous one whole (Writable.write returned true, or
 * 'drain' fired), and the client test "keeps a large file byte for byte" guards it. Any other
 * consumer must copy chunks it keeps.
 */
export async function fileFromPath(path: string, contentType?: string): Promise<UploadFile> {
	const { size } = await stat(path);
	return { stream: readChunks(path, FILE_CHUNK_BYTES), filename: basename(path), contentType, size };
}

async function* readChunks(path: string, chunkBytes: number): AsyncGenerator<Uint8Array> {
	const file = await open(path, "r");
	try {
		const buffers = [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)];
		for (let turn = 0; ; turn++) {
			const buffer = buffers[turn % 2] as Buffer;
			const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
			if (bytesRead === 0) return;
			yield buffer.subarray(0, bytesRead);
		}
	} finally {
		await file.close();
	}
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
