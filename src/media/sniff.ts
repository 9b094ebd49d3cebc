/**
 * Media type detection from magic bytes, and image dimensions from file headers.
 *
 * Both functions only look at the first bytes of a file (`head`); they never trust a
 * client-supplied content type or file name. Callers should pass at least the first
 * 64 KiB (JPEG dimensions can sit behind a large EXIF block; 256 KiB is plenty).
 */

export type MediaKind = "image" | "video";

export interface SniffedMedia {
	mime: string;
	/** File extension without the dot, e.g. "jpg", "mp4". */
	ext: string;
	kind: MediaKind;
}

export interface ImageDimensions {
	width: number;
	height: number;
}

const image = (mime: string, ext: string): SniffedMedia => ({ mime, ext, kind: "image" });
const video = (mime: string, ext: string): SniffedMedia => ({ mime, ext, kind: "video" });

function startsWith(head: Uint8Array, bytes: readonly number[], offset = 0): boolean {
	if (head.length < offset + bytes.length) return false;
	for (let i = 0; i < bytes.length; i++) {
		if (head[offset + i] !== bytes[i]) return false;
	}
	return true;
}

function ascii(head: Uint8Array, offset: number, length: number): string {
	if (head.length < offset + length) return "";
	let s = "";
	for (let i = offset; i < offset + length; i++) s += String.fromCharCode(head[i] ?? 0);
	return s;
}

function u16be(b: Uint8Array, o: number): number {
	return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}
function u16le(b: Uint8Array, o: number): number {
	return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}
function u24le(b: Uint8Array, o: number): number {
	return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16);
}
function u32be(b: Uint8Array, o: number): number {
	return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}
function i32le(b: Uint8Array, o: number): number {
	return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;
const BMP_DIB_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEIC_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"]);
const HEIF_BRANDS = new Set(["mif1", "msf1", "mif2"]);
const MOV_BRANDS = new Set(["qt  "]);
const M4V_BRANDS = new Set(["M4V ", "M4VH", "M4VP"]);
const THREEGP_BRANDS = /^3g[p2]/;
const MP4_BRANDS = new Set([
	"isom",
	"iso2",
	"iso3",
	"iso4",
	"iso5",
	"iso6",
	"iso7",
	"iso8",
	"iso9",
	"mp41",
	"mp42",
	"mp71",
	"avc1",
	"dash",
	"mmp4",
	"MSNV",
	"NDAS",
	"NDSC",
	"NDSH",
	"NDSM",
	"NDSP",
	"NDSS",
	"NDXC",
	"NDXH",
	"NDXM",
	"NDXP",
	"NDXS",
	"F4V ",
	"F4P ",
	"XAVC",
]);
/** Audio-only ISO-BMFF brands: neither image nor video. */
const AUDIO_BRANDS = new Set(["M4A ", "M4B ", "M4P "]);

function classifyBrand(brand: string): SniffedMedia | "audio" | null {
	if (AVIF_BRANDS.has(brand)) return image("image/avif", "avif");
	if (HEIC_BRANDS.has(brand)) return image("image/heic", "heic");
	if (MOV_BRANDS.has(brand)) return video("video/quicktime", "mov");
	if (M4V_BRANDS.has(brand)) return video("video/x-m4v", "m4v");
	if (AUDIO_BRANDS.has(brand)) return "audio";
	if (THREEGP_BRANDS.test(brand)) return video(brand.startsWith("3g2") ? "video/3gpp2" : "video/3gpp", "3gp");
	if (MP4_BRANDS.has(brand)) return video("video/mp4", "mp4");
	return null;
}

/** ISO base media file (`ftyp` box at offset 4): AVIF, HEIC/HEIF, MP4, MOV, M4V, 3GP. */
function sniffFtyp(head: Uint8Array): SniffedMedia | null {
	if (ascii(head, 4, 4) !== "ftyp") return null;
	const boxSize = u32be(head, 0);
	const major = ascii(head, 8, 4);
	const compatible: string[] = [];
	const end = Math.min(head.length, Math.max(boxSize, 16));
	for (let o = 16; o + 4 <= end; o += 4) compatible.push(ascii(head, o, 4));

	// HEIF containers (mif1/msf1) are images; the compatible brands say which codec.
	if (HEIF_BRANDS.has(major)) {
		if (compatible.some((b) => AVIF_BRANDS.has(b))) return image("image/avif", "avif");
		if (compatible.some((b) => HEIC_BRANDS.has(b))) return image("image/heic", "heic");
		return image("image/heif", "heif");
	}
	const byMajor = classifyBrand(major);
	if (byMajor === "audio") return null;
	if (byMajor) return byMajor;
	// Unknown major brand: fall back to the compatible brands (images first, then video).
	let fallback: SniffedMedia | null = null;
	for (const b of compatible) {
		const c = classifyBrand(b);
		if (c === null || c === "audio") continue;
		if (c.kind === "image") return c;
		fallback ??= c;
	}
	return fallback;
}

/** Reads an EBML variable-length integer (size); returns [value, length] or null. */
function readVint(b: Uint8Array, o: number): [number, number] | null {
	const first = b[o];
	if (first === undefined || first === 0) return null;
	let len = 1;
	while (len <= 8 && !(first & (0x80 >> (len - 1)))) len++;
	if (len > 8 || o + len > b.length) return null;
	let value = first & (0xff >> len);
	for (let i = 1; i < len; i++) value = value * 256 + (b[o + i] ?? 0);
	return [value, len];
}

/** WebM vs Matroska from the EBML header's DocType (element id 0x4282). */
function sniffEbml(head: Uint8Array): SniffedMedia {
	const limit = Math.min(head.length - 2, 64);
	for (let o = 4; o < limit; o++) {
		if (head[o] === 0x42 && head[o + 1] === 0x82) {
			const size = readVint(head, o + 2);
			if (!size) break;
			const docType = ascii(head, o + 2 + size[1], Math.min(size[0], 16)).replace(/\0+$/, "");
			if (docType === "webm") return video("video/webm", "webm");
			if (docType === "matroska") return video("video/x-matroska", "mkv");
			break;
		}
	}
	// An EBML file without a recognisable DocType: Matroska is the general container.
	return video("video/x-matroska", "mkv");
}

/**
 * Detects image/video files by their magic bytes. Returns null for anything else
 * (text, audio, archives, truncated headers...).
 */
export function sniffMedia(head: Uint8Array): SniffedMedia | null {
	if (startsWith(head, PNG_SIGNATURE)) return image("image/png", "png");
	if (startsWith(head, [0xff, 0xd8, 0xff])) return image("image/jpeg", "jpg");
	const gif = ascii(head, 0, 6);
	if (gif === "GIF87a" || gif === "GIF89a") return image("image/gif", "gif");
	if (ascii(head, 0, 4) === "RIFF") {
		const form = ascii(head, 8, 4);
		if (form === "WEBP") return image("image/webp", "webp");
		if (form === "AVI ") return video("video/x-msvideo", "avi");
		return null;
	}
	if (ascii(head, 0, 2) === "BM" && head.length >= 26 && BMP_DIB_SIZES.has(i32le(head, 14))) {
		return image("image/bmp", "bmp");
	}
	if (startsWith(head, EBML_MAGIC)) return sniffEbml(head);
	return sniffFtyp(head);
}

const JPEG_SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegDimensions(b: Uint8Array): ImageDimensions | null {
	let o = 2;
	while (o < b.length) {
		// Each marker is 0xFF followed by a code; any number of 0xFF fill bytes may precede it.
		if (b[o] !== 0xff) return null;
		while (b[o] === 0xff) o++;
		const marker = b[o];
		if (marker === undefined) return null;
		o++;
		// Standalone markers without a length: TEM, RSTn, SOI.
		if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
		if (marker === 0xd9 || marker === 0xda) return null; // EOI / start of scan before any SOF
		if (o + 2 > b.length) return null;
		const len = u16be(b, o);
		if (len < 2) return null;
		if (JPEG_SOF_MARKERS.has(marker)) {
			if (o + 7 > b.length) return null;
			const height = u16be(b, o + 3);
			const width = u16be(b, o + 5);
			return width > 0 && height > 0 ? { width, height } : null;
		}
		o += len;
	}
	return null;
}

function webpDimensions(b: Uint8Array): ImageDimensions | null {
	const chunk = ascii(b, 12, 4);
	if (chunk === "VP8 ") {
		// Frame tag (3 bytes) at 20, start code 9D 01 2A at 23, then 14-bit width/height.
		if (!startsWith(b, [0x9d, 0x01, 0x2a], 23) || b.length < 30) return null;
		return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
	}
	if (chunk === "VP8L") {
		if (b[20] !== 0x2f || b.length < 25) return null;
		const b1 = b[21] ?? 0;
		const b2 = b[22] ?? 0;
		const b3 = b[23] ?? 0;
		const b4 = b[24] ?? 0;
		return {
			width: 1 + (b1 | ((b2 & 0x3f) << 8)),
			height: 1 + ((b2 >> 6) | (b3 << 2) | ((b4 & 0x0f) << 10)),
		};
	}
	if (chunk === "VP8X") {
		if (b.length < 30) return null;
		return { width: 1 + u24le(b, 24), height: 1 + u24le(b, 27) };
	}
	return null;
}

/** AVIF/HEIC: the first `ispe` (image spatial extents) property box. */
function ispeDimensions(b: Uint8Array): ImageDimensions | null {
	for (let o = 4; o + 16 <= b.length; o++) {
		if (b[o] === 0x69 && b[o + 1] === 0x73 && b[o + 2] === 0x70 && b[o + 3] === 0x65 && u32be(b, o - 4) >= 20) {
			const width = u32be(b, o + 8);
			const height = u32be(b, o + 12);
			if (width > 0 && height > 0) return { width, height };
		}
	}
	return null;
}

/**
 * Pixel dimensions from an image header: PNG, JPEG (any SOFn, skipping EXIF and other
 * segments), GIF, WebP (VP8, VP8L, VP8X), BMP, and AVIF/HEIC (`ispe`). Null when the
 * format is not one of these or the header is truncated.
 */
export function readImageDimensions(head: Uint8Array): ImageDimensions | null {
	const media = sniffMedia(head);
	if (media?.kind !== "image") return null;
	switch (media.ext) {
		case "png":
			if (ascii(head, 12, 4) !== "IHDR" || head.length < 24) return null;
			return { width: u32be(head, 16), height: u32be(head, 20) };
		case "jpg":
			return jpegDimensions(head);
		case "gif":
			if (head.length < 10) return null;
			return { width: u16le(head, 6), height: u16le(head, 8) };
		case "webp":
			return webpDimensions(head);
		case "bmp": {
			const dib = i32le(head, 14);
			if (dib === 12) return { width: u16le(head, 18), height: u16le(head, 20) };
			return { width: Math.abs(i32le(head, 18)), height: Math.abs(i32le(head, 22)) };
		}
		case "avif":
		case "heic":
		case "heif":
			return ispeDimensions(head);
		default:
			return null;
	}
}
