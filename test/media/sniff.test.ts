import { describe, expect, it } from "vitest";
import { readImageDimensions, sniffMedia } from "../../src/media/sniff.js";
import {
	gifBytes,
	jpegBytes,
	mp4Bytes,
	pngBytes,
	VIDEO_THUMBNAIL_JPEG,
	webpBytes,
} from "../emulators/imgpile/images.js";

const bytes = (...parts: Array<string | number[] | Uint8Array>): Uint8Array =>
	Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

function ftyp(major: string, ...compatible: string[]): Uint8Array {
	const b = Buffer.alloc(16 + compatible.length * 4);
	b.writeUInt32BE(b.length, 0);
	b.write("ftyp", 4, "latin1");
	b.write(major, 8, "latin1");
	compatible.forEach((c, i) => {
		b.write(c, 16 + i * 4, "latin1");
	});
	return b;
}

function bmp(width: number, height: number, dib = 40): Uint8Array {
	const b = Buffer.alloc(14 + dib);
	b.write("BM", 0, "latin1");
	b.writeUInt32LE(b.length, 2);
	b.writeUInt32LE(14 + dib, 10);
	b.writeUInt32LE(dib, 14);
	if (dib === 12) {
		b.writeUInt16LE(width, 18);
		b.writeUInt16LE(height, 20);
	} else {
		b.writeInt32LE(width, 18);
		b.writeInt32LE(height, 22);
	}
	return b;
}

function ebml(docType: string): Uint8Array {
	// EBML header: 1A45DFA3, size, then EBMLVersion (4286) = 1, DocType (4282) = docType
	const body = bytes([0x42, 0x86, 0x81, 0x01], [0x42, 0x82, 0x80 | docType.length], docType);
	return bytes([0x1a, 0x45, 0xdf, 0xa3, 0x80 | body.length], body);
}

describe("sniffMedia", () => {
	it.each([
		["PNG", pngBytes(2, 2), { mime: "image/png", ext: "png", kind: "image" }],
		["JPEG", jpegBytes(8, 8), { mime: "image/jpeg", ext: "jpg", kind: "image" }],
		["GIF89a", gifBytes(1, 1), { mime: "image/gif", ext: "gif", kind: "image" }],
		["GIF87a", bytes("GIF87a", [1, 0, 1, 0]), { mime: "image/gif", ext: "gif", kind: "image" }],
		["WebP", webpBytes(3, 3), { mime: "image/webp", ext: "webp", kind: "image" }],
		["BMP", bmp(4, 4), { mime: "image/bmp", ext: "bmp", kind: "image" }],
		["AVIF", ftyp("avif", "mif1", "miaf"), { mime: "image/avif", ext: "avif", kind: "image" }],
		["AVIF via mif1", ftyp("mif1", "avif"), { mime: "image/avif", ext: "avif", kind: "image" }],
		["HEIC", ftyp("heic", "mif1"), { mime: "image/heic", ext: "heic", kind: "image" }],
		["HEIC via mif1", ftyp("mif1", "heic"), { mime: "image/heic", ext: "heic", kind: "image" }],
		["MP4", mp4Bytes(), { mime: "video/mp4", ext: "mp4", kind: "video" }],
		["MP4 mp42", ftyp("mp42", "isom"), { mime: "video/mp4", ext: "mp4", kind: "video" }],
		["MOV", ftyp("qt  ", "qt  "), { mime: "video/quicktime", ext: "mov", kind: "video" }],
		["M4V", ftyp("M4V ", "M4V ", "mp42"), { mime: "video/x-m4v", ext: "m4v", kind: "video" }],
		["unknown major, mp4 compatible", ftyp("zzzz", "mp41"), { mime: "video/mp4", ext: "mp4", kind: "video" }],
		["WebM", ebml("webm"), { mime: "video/webm", ext: "webm", kind: "video" }],
		["MKV", ebml("matroska"), { mime: "video/x-matroska", ext: "mkv", kind: "video" }],
		["AVI", bytes("RIFF", [0, 0, 0, 0], "AVI LIST"), { mime: "video/x-msvideo", ext: "avi", kind: "video" }],
	])("detects %s", (_name, head, expected) => {
		expect(sniffMedia(head)).toEqual(expected);
	});

	it.each([
		["empty", new Uint8Array()],
		["text", bytes("hello, this is not an image\n")],
		["HTML", bytes("<!doctype html><html>")],
		["PDF", bytes("%PDF-1.7\n")],
		["ZIP", bytes([0x50, 0x4b, 0x03, 0x04])],
		["WAV (RIFF but not WEBP/AVI)", bytes("RIFF", [0, 0, 0, 0], "WAVEfmt ")],
		["M4A audio", ftyp("M4A ", "isom")],
		["truncated PNG signature", bytes([0x89, 0x50, 0x4e])],
		["BM text", bytes("BMW is a car brand, not a bitmap")],
	])("refuses %s", (_name, head) => {
		expect(sniffMedia(head)).toBeNull();
	});
});

describe("readImageDimensions", () => {
	it("reads PNG IHDR", () => {
		expect(readImageDimensions(pngBytes(640, 3))).toEqual({ width: 640, height: 3 });
		// header only: signature + IHDR is enough
		expect(readImageDimensions(pngBytes(300, 200).subarray(0, 24))).toEqual({ width: 300, height: 200 });
	});

	it("walks JPEG segments to SOF0, past JFIF and a large EXIF APP1", () => {
		expect(readImageDimensions(jpegBytes(1920, 1080))).toEqual({ width: 1920, height: 1080 });
		expect(readImageDimensions(jpegBytes(33, 17, { exifBytes: 60_000 }))).toEqual({ width: 33, height: 17 });
		expect(readImageDimensions(VIDEO_THUMBNAIL_JPEG)).toEqual({ width: 160, height: 90 });
	});

	it("reads progressive JPEG (SOF2) and tolerates fill bytes", () => {
		const sof2 = bytes([0xff, 0xd8], [0xff, 0xff, 0xc2, 0x00, 0x11, 8, 0x01, 0x2c, 0x02, 0x58, 3]);
		expect(readImageDimensions(sof2)).toEqual({ width: 600, height: 300 });
	});

	it("ignores DHT/DAC-like markers that are not SOF and stops at SOS", () => {
		const noSof = bytes([0xff, 0xd8, 0xff, 0xc4, 0x00, 0x04, 0, 0, 0xff, 0xda, 0x00, 0x08]);
		expect(readImageDimensions(noSof)).toBeNull();
		// truncated inside an APP segment
		expect(readImageDimensions(jpegBytes(10, 10, { exifBytes: 5000 }).subarray(0, 2000))).toBeNull();
	});

	it("reads GIF logical screen", () => {
		expect(readImageDimensions(gifBytes(500, 281))).toEqual({ width: 500, height: 281 });
	});

	it.each(["VP8", "VP8L", "VP8X"] as const)("reads WebP %s", (variant) => {
		expect(readImageDimensions(webpBytes(1023, 769, variant))).toEqual({ width: 1023, height: 769 });
		expect(readImageDimensions(webpBytes(1, 1, variant))).toEqual({ width: 1, height: 1 });
	});

	it("reads WebP VP8L at its 14-bit maximum", () => {
		expect(readImageDimensions(webpBytes(16384, 16384, "VP8L"))).toEqual({ width: 16384, height: 16384 });
	});

	it("reads BMP (INFO and CORE headers, top-down)", () => {
		expect(readImageDimensions(bmp(64, 48))).toEqual({ width: 64, height: 48 });
		expect(readImageDimensions(bmp(64, -48))).toEqual({ width: 64, height: 48 });
		expect(readImageDimensions(bmp(12, 7, 12))).toEqual({ width: 12, height: 7 });
	});

	it("reads AVIF ispe", () => {
		const ispe = Buffer.alloc(20);
		ispe.writeUInt32BE(20, 0);
		ispe.write("ispe", 4, "latin1");
		ispe.writeUInt32BE(1280, 12);
		ispe.writeUInt32BE(720, 16);
		expect(readImageDimensions(bytes(ftyp("avif", "mif1"), ispe))).toEqual({ width: 1280, height: 720 });
		expect(readImageDimensions(ftyp("avif", "mif1"))).toBeNull();
	});

	it("is null for videos and non-media", () => {
		expect(readImageDimensions(mp4Bytes())).toBeNull();
		expect(readImageDimensions(bytes("not an image"))).toBeNull();
	});
});
