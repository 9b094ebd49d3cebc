import { crc32 } from "node:zlib";

function chunk(type: string, data: Buffer): Buffer {
	const length = Buffer.alloc(4);
	length.writeUInt32BE(data.length);
	const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(body));
	return Buffer.concat([length, body, crc]);
}

/** A PNG with the given dimensions (header-valid; the pixel data is not meant to decode). */
export function pngBytes(width: number, height: number, extraBytes = 0): Buffer {
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(width, 0);
	ihdr.writeUInt32BE(height, 4);
	ihdr.writeUInt8(8, 8); // bit depth
	ihdr.writeUInt8(6, 9); // RGBA
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk("IHDR", ihdr),
		chunk("IDAT", Buffer.alloc(16 + extraBytes, 7)),
		chunk("IEND", Buffer.alloc(0)),
	]);
}

/** A minimal MP4 header (ftyp box) followed by filler. */
export function mp4Bytes(extraBytes = 1024): Buffer {
	const ftyp = Buffer.alloc(24);
	ftyp.writeUInt32BE(24, 0);
	ftyp.write("ftypisom", 4, "ascii");
	ftyp.writeUInt32BE(0x200, 12);
	ftyp.write("isomiso2", 16, "ascii");
	return Buffer.concat([ftyp, Buffer.alloc(extraBytes, 1)]);
}

/** `size` bytes of a repeating pattern, streamed in chunks, never held whole. */
export async function* generatedStream(size: number, head: Uint8Array = new Uint8Array(0), chunkSize = 64 * 1024) {
	let left = size;
	if (head.byteLength > 0) {
		const first = head.subarray(0, Math.min(head.byteLength, left));
		left -= first.byteLength;
		yield first;
	}
	const block = Buffer.alloc(chunkSize, 0x5a);
	while (left > 0) {
		const n = Math.min(chunkSize, left);
		left -= n;
		yield n === chunkSize ? block : block.subarray(0, n);
	}
}
