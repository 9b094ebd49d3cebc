/**
 * A Discord message as files to rehost, as "Rehost to imgpile" and auto-rehost channels share
 * it: its sources (attachments, then embedded images and videos) and the ones rehosted before.
 */
import type { Message } from "discord.js";
import { ImgpileNotFoundError, type Media } from "../../imgpile/index.js";
import { loggableUrl } from "../../transfer/index.js";
import { readerFor } from "../identity.js";
import type { BotContext } from "../types.js";
import { attachmentSource, type FileSource, sourceKey, urlPath } from "./files.js";
import { mediaFromRecord } from "./records.js";

const SPOILER_TEXT = /\|\|[\s\S]+?\|\|/;

/**
 * Every attachment, then every embed image, thumbnail and video, once each (an embed showing one
 * of the message's own attachments is the same file). Embed URLs keep their host: one off the
 * Discord CDN is refused up front, and named by its URL.
 */
export function collectSources(message: Message): FileSource[] {
	const spoilerText = SPOILER_TEXT.test(message.content ?? "");
	const sources: FileSource[] = [];
	const seen = new Set<string>();
	for (const attachment of message.attachments.values()) {
		const source = attachmentSource(attachment);
		seen.add(source.key ?? source.url);
		sources.push(source);
	}
	for (const embed of message.embeds) {
		for (const asset of [embed.image, embed.thumbnail, embed.video]) {
			const url = asset?.url;
			if (!url) continue;
			const key = sourceKey(url);
			if (seen.has(key)) continue;
			seen.add(key);
			const last = decodeURIComponent(urlPath(url).split("/").pop() ?? "");
			sources.push({
				url,
				filename: last || "embed",
				name: last || loggableUrl(url),
				key,
				spoiler: spoilerText,
			});
		}
	}
	return sources;
}

/**
 * Files rehosted before (by attachment id, or embed URL): their earlier media, unless imgpile
 * says it is gone (then the record is forgotten and the file uploaded again).
 */
export async function earlierUploads(
	ctx: BotContext,
	who: { guildId: string | null; user: { id: string } },
	sources: readonly FileSource[],
	refused: ReadonlyMap<number, unknown>,
): Promise<Map<number, { media: Media; size: number }>> {
	const reused = new Map<number, { media: Media; size: number }>();
	const reader = await readerFor(ctx, who);
	await Promise.all(
		sources.map(async (source, index) => {
			if (refused.has(index) || !source.key) return;
			const record = await ctx.store.uploads.byAttachment(source.key);
			if (!record) return;
			try {
				reused.set(index, { media: await reader.getMedia(record.slug), size: record.size });
			} catch (error) {
				if (error instanceof ImgpileNotFoundError) {
					ctx.log.info({ slug: record.slug }, "rehosted media was deleted on imgpile; uploading again");
					await ctx.store.uploads.forget(record.slug);
					return;
				}
				// imgpile could not say: keep the earlier upload rather than spend quota on a copy.
				ctx.log.warn({ err: error, slug: record.slug }, "could not check an earlier rehost; reusing it");
				reused.set(index, { media: mediaFromRecord(record), size: record.size });
			}
		}),
	);
	return reused;
}
