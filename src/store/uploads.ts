import { Repository } from "./repository.js";
import { assertId, isoAt } from "./util.js";

/** What the bot remembers of one file it put on imgpile. */
export interface UploadRecord {
	/** imgpile media id (for `media_ids`) and slug. */
	mediaId: number;
	slug: string;
	/** Direct CDN link. */
	url: string;
	type: string;
	width: number;
	height: number;
	size: number;
	filename: string;
	/** Discord user who uploaded it through the bot (owns the Delete button). */
	userId: string;
	guildId: string | null;
	/** The Discord attachment it came from, for rehost idempotency. */
	attachmentKey: string | null;
	createdAt: string;
}

export type NewUpload = Omit<UploadRecord, "createdAt">;

const RECENT_PER_USER = 25;

/**
 * Files uploaded through the bot (namespace `uploads`).
 * Keys: `media:<slug>` → UploadRecord; `attachment:<key>` → slug (a rehosted Discord attachment);
 * `recent:<userId>` → slugs, newest first (autocomplete), at most 25.
 */
export class UploadsRepository extends Repository {
	async record(input: NewUpload): Promise<UploadRecord> {
		assertId("userId", input.userId);
		const record: UploadRecord = { ...input, createdAt: isoAt(this.clock) };
		await this.kv.set(`media:${record.slug}`, record);
		// The first upload of an attachment stays its rehost (atomic on every engine): one that
		// raced it (two processes, a failover) never replaces it.
		if (record.attachmentKey) {
			await this.kv.modify<string, void>(`attachment:${record.attachmentKey}`, (current) => ({
				value: current ?? record.slug,
				result: undefined,
			}));
		}
		await this.kv.modify<string[], void>(`recent:${record.userId}`, (current) => ({
			value: [record.slug, ...(current ?? []).filter((slug) => slug !== record.slug)].slice(0, RECENT_PER_USER),
			result: undefined,
		}));
		return record;
	}

	get(slug: string): Promise<UploadRecord | undefined> {
		return this.kv.get<UploadRecord>(`media:${slug}`);
	}

	/** The earlier upload of a Discord attachment, if it is still known (see `forget`). */
	async byAttachment(attachmentKey: string): Promise<UploadRecord | undefined> {
		const slug = await this.kv.get<string>(`attachment:${attachmentKey}`);
		return slug === undefined ? undefined : this.get(slug);
	}

	/** A user's recent uploads, newest first. */
	async recent(userId: string, limit = RECENT_PER_USER): Promise<UploadRecord[]> {
		assertId("userId", userId);
		const slugs = (await this.kv.get<string[]>(`recent:${userId}`)) ?? [];
		const records = await this.kv.getAll<UploadRecord>(slugs.slice(0, limit).map((slug) => `media:${slug}`));
		return records.filter((record): record is UploadRecord => record !== undefined);
	}

	/** The media was deleted on imgpile: forget it, so a rehost uploads it again. */
	async forget(slug: string): Promise<void> {
		const record = await this.get(slug);
		if (!record) return;
		if (record.attachmentKey) {
			await this.kv.modify<string, void>(`attachment:${record.attachmentKey}`, (current) => ({
				value: current === slug ? undefined : current,
				result: undefined,
			}));
		}
		await this.kv.delete(`media:${slug}`);
		await this.kv.modify<string[], void>(`recent:${record.userId}`, (current) => ({
			value: current?.filter((s) => s !== slug),
			result: undefined,
		}));
	}
}
