/**
 * Tiny, valid image files built in code: the emulator's seeded media and video thumbnail,
 * and test fixtures. No external tools, no binary files in the repository.
 */
import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

function crc32(data: Uint8Array): number {
	let c = 0xffffffff;
	for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
	const head = Buffer.alloc(8);
	head.writeUInt32BE(data.length, 0);
	head.write(type, 4, "latin1");
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
	return Buffer.concat([head, data, crc]);
}

/** A complete, decodable RGB PNG of one colour. */
export function pngBytes(width: number, height: number, rgb: [number, number, number] = [200, 80, 40]): Buffer {
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(width, 0);
	ihdr.writeUInt32BE(height, 4);
	ihdr[8] = 8; // bit depth
	ihdr[9] = 2; // colour type RGB
	const row = Buffer.alloc(1 + width * 3);
	for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
	const raw = Buffer.concat(Array.from({ length: height }, () => row));
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		pngChunk("IHDR", ihdr),
		pngChunk("IDAT", deflateSync(raw)),
		pngChunk("IEND", Buffer.alloc(0)),
	]);
}

function segment(marker: number, payload: Buffer): Buffer {
	const head = Buffer.from([0xff, marker, 0, 0]);
	head.writeUInt16BE(payload.length + 2, 2);
	return Buffer.concat([head, payload]);
}

/**
 * A complete, decodable baseline greyscale JPEG of uniform mid-grey. Every 8x8 block has
 * DC difference 0 and an immediate end-of-block, so with one-symbol Huffman tables each
 * block costs two zero bits. `exifBytes` adds an APP1 "Exif" segment of that payload size
 * before the frame header (to exercise segment walking).
 */
export function jpegBytes(width: number, height: number, opts: { exifBytes?: number } = {}): Buffer {
	const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
	parts.push(segment(0xe0, Buffer.from("JFIF\0\x01\x01\0\0\x01\0\x01\0\0", "latin1")));
	if (opts.exifBytes) {
		const exif = Buffer.alloc(Math.max(opts.exifBytes, 6));
		exif.write("Exif\0\0", 0, "latin1");
		parts.push(segment(0xe1, exif));
	}
	parts.push(segment(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])));
	const sof = Buffer.from([8, 0, 0, 0, 0, 1, 1, 0x11, 0]);
	sof.writeUInt16BE(height, 1);
	sof.writeUInt16BE(width, 3);
	parts.push(segment(0xc0, sof));
	const oneSymbolTable = (classAndId: number) => {
		const counts = Buffer.alloc(16);
		counts[0] = 1; // one code of length 1 ("0")
		return segment(0xc4, Buffer.concat([Buffer.from([classAndId]), counts, Buffer.from([0])]));
	};
	parts.push(oneSymbolTable(0x00), oneSymbolTable(0x10));
	parts.push(segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])));
	const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
	const bits = blocks * 2;
	const scan = Buffer.alloc(Math.ceil(bits / 8));
	if (bits % 8) scan[scan.length - 1] = 0xff >> (bits % 8); // pad the last byte with 1 bits
	parts.push(scan, Buffer.from([0xff, 0xd9]));
	return Buffer.concat(parts);
}

/** A GIF89a with a 2-colour palette and a one-pixel LZW image; screen size as given. */
export function gifBytes(width: number, height: number): Buffer {
	const b = Buffer.from([
		0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0, 0, 0, 0, 0x80, 0, 0, 0xff, 0xff, 0xff, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0,
		0, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
	]);
	b.writeUInt16LE(width, 6);
	b.writeUInt16LE(height, 8);
	return b;
}

function riff(form: string, chunks: Buffer[]): Buffer {
	const body = Buffer.concat([Buffer.from(form, "latin1"), ...chunks]);
	const head = Buffer.alloc(8);
	head.write("RIFF", 0, "latin1");
	head.writeUInt32LE(body.length, 4);
	return Buffer.concat([head, body]);
}

function riffChunk(type: string, data: Buffer): Buffer {
	const head = Buffer.alloc(8);
	head.write(type, 0, "latin1");
	head.writeUInt32LE(data.length, 4);
	return Buffer.concat([head, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

/** WebP headers (enough for sniffing and dimensions, not a decodable bitstream). */
export function webpBytes(width: number, height: number, variant: "VP8" | "VP8L" | "VP8X" = "VP8"): Buffer {
	if (variant === "VP8") {
		const data = Buffer.alloc(10);
		data.set([0x9d, 0x01, 0x2a], 3);
		data.writeUInt16LE(width & 0x3fff, 6);
		data.writeUInt16LE(height & 0x3fff, 8);
		return riff("WEBP", [riffChunk("VP8 ", data)]);
	}
	if (variant === "VP8L") {
		const w = width - 1;
		const h = height - 1;
		const data = Buffer.from([
			0x2f,
			w & 0xff,
			((w >> 8) & 0x3f) | ((h & 0x03) << 6),
			(h >> 2) & 0xff,
			(h >> 10) & 0x0f,
		]);
		return riff("WEBP", [riffChunk("VP8L", data)]);
	}
	const data = Buffer.alloc(10);
	data.writeUIntLE(width - 1, 4, 3);
	data.writeUIntLE(height - 1, 7, 3);
	return riff("WEBP", [riffChunk("VP8X", data)]);
}

/** An MP4 `ftyp` box followed by an empty `mdat` (enough for sniffing). */
export function mp4Bytes(major = "isom", compatible: string[] = ["isom", "iso2", "mp41"]): Buffer {
	const ftyp = Buffer.alloc(16 + compatible.length * 4);
	ftyp.writeUInt32BE(ftyp.length, 0);
	ftyp.write("ftyp", 4, "latin1");
	ftyp.write(major, 8, "latin1");
	compatible.forEach((b, i) => {
		ftyp.write(b, 16 + i * 4, "latin1");
	});
	const mdat = Buffer.from([0, 0, 0, 8, 0x6d, 0x64, 0x61, 0x74]);
	return Buffer.concat([ftyp, mdat]);
}

/** The fixed thumbnail served at `/f/{filename}_thumb.jpg` for videos (160x90 grey JPEG). */
export const VIDEO_THUMBNAIL_JPEG: Buffer = jpegBytes(160, 90);
