/** What is kept of uploads: the records behind the Delete button, rehost idempotency and recent media. */
import type { Media } from "../../imgpile/index.js";
import type { UploadRecord } from "../../store/index.js";
import { type Identity, recordUploads } from "../identity.js";
import type { BotContext } from "../types.js";
import type { Done, FileResult } from "./files.js";

/** Remembers each new upload (Delete button, rehost idempotency, recent media) and counts them. */
export async function recordResults(
	ctx: BotContext,
	who: { guildId: string | null; user: { id: string } },
	identity: Identity | undefined,
	results: readonly FileResult[],
): Promise<void> {
	const uploaded = results.filter((result) => result.kind === "uploaded") as Done[];
	for (const { media, source, size } of uploaded) {
		await ctx.store.uploads.record({
			mediaId: media.id,
			slug: media.slug,
			url: media.urls.original,
			type: media.type,
			width: media.width,
			height: media.height,
			size,
			filename: source.name,
			userId: who.user.id,
			guildId: who.guildId,
			attachmentKey: source.key ?? null,
		});
	}
	if (identity) await recordUploads(ctx, who, identity, uploaded.length);
}

/** A Media as far as the store knows it, when imgpile could not be asked (reused uploads). */
export function mediaFromRecord(record: UploadRecord): Media {
	return {
		id: record.mediaId,
		slug: record.slug,
		filename: record.slug,
		title: null,
		description: null,
		type: record.type,
		width: record.width,
		height: record.height,
		moderation_status: "approved",
		processed: true,
		created_at: record.createdAt,
		urls: { original: record.url },
		user: null,
	};
}
