/**
 * Routes of the upload/CDN listener: `POST /api/v1/media` (upload) and the files at
 * `/f/{filename}.{ext}`, `/f/{filename}_{xs|sm|md|lg|xl}.{ext}` (images) and
 * `/f/{filename}_thumb.jpg` (videos), streamed from disk.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { Core } from "./core.js";
import { type Ctx, notFound, sendRaw } from "./http.js";
import { VIDEO_THUMBNAIL_JPEG } from "./images.js";
import { Router } from "./router.js";
import { VARIANT_SIZES } from "./state.js";
import { handleUpload } from "./upload.js";

const FILE_NAME = /^([A-Za-z0-9]+)(?:_([a-z]+))?\.([A-Za-z0-9]+)$/;
const CACHE_CONTROL = "public, max-age=31536000, immutable";

/** Whether a CDN path is a static file (not rate limited, no X-RateLimit headers). */
export function isCdnFilePath(path: string): boolean {
	return path.startsWith("/f/");
}

async function serveFile(ctx: Ctx, core: Core, name: string): Promise<void> {
	const match = FILE_NAME.exec(name);
	if (!match) throw notFound();
	const [, slug = "", variant, ext] = match;
	const m = core.state.mediaBySlug.get(slug);
	if (!m) throw notFound();

	if (variant === "thumb") {
		if (m.kind !== "video" || !m.processed || ext !== "jpg") throw notFound();
		sendRaw(ctx, 200, VIDEO_THUMBNAIL_JPEG, { "Content-Type": "image/jpeg", "Cache-Control": CACHE_CONTROL });
		return;
	}
	if (ext !== m.ext) throw notFound();
	if (variant !== undefined) {
		const known = (VARIANT_SIZES as readonly string[]).includes(variant);
		if (!known || m.kind !== "image" || !m.processed) throw notFound();
	}
	const info = await stat(m.file).catch(() => null);
	if (!info) throw notFound();
	ctx.record.status = 200;
	ctx.res.writeHead(200, {
		"Content-Type": m.mime,
		"Content-Length": String(info.size),
		"Cache-Control": CACHE_CONTROL,
	});
	if (ctx.method === "HEAD") {
		ctx.res.end();
		return;
	}
	await pipeline(createReadStream(m.file), ctx.res).catch(() => {
		ctx.res.destroy();
	});
}

export function buildCdnRouter(core: Core): Router {
	return new Router()
		.add("POST", "/api/v1/media", (ctx) => handleUpload(ctx, core))
		.add("GET", "/f/:name", (ctx, { name }) => serveFile(ctx, core, name ?? ""));
}
