/** The files of an upload or a rehost: where each comes from, and how it ended. */
import { createHash } from "node:crypto";
import type { Attachment } from "discord.js";
import type { MessageKey, Params } from "../../i18n/index.js";
import type { Media } from "../../imgpile/index.js";
import { loggableUrl, type TransferSource } from "../../transfer/index.js";

/** One file to put on imgpile. */
export interface FileSource extends TransferSource {
	/** The name users see (the attachment's file name, or the last part of an embed URL). */
	name: string;
	/** Shown as `||link||`, never previewed. */
	spoiler: boolean;
}

/** Why a file did not make it, as a message key for the user. */
export interface FileFailure {
	key: MessageKey;
	params: Params;
	/** imgpile refused the token: every other file would fail too. */
	unauthorized?: boolean;
}

export type FileResult =
	| { kind: "uploaded" | "reused"; source: FileSource; media: Media; size: number }
	| { kind: "failed"; source: FileSource; failure: FileFailure };

export type Done = Extract<FileResult, { kind: "uploaded" | "reused" }>;
export type Failed = Extract<FileResult, { kind: "failed" }>;

export function succeeded(results: readonly FileResult[]): Done[] {
	return results.filter((result): result is Done => result.kind !== "failed");
}

export function failed(results: readonly FileResult[]): Failed[] {
	return results.filter((result): result is Failed => result.kind === "failed");
}

export function attachmentSource(attachment: Attachment): FileSource {
	return {
		url: attachment.url,
		filename: attachment.name,
		name: attachment.name,
		size: attachment.size,
		contentType: attachment.contentType,
		key: attachment.id,
		// Discord names spoilered files SPOILER_…; newer clients also set the IS_SPOILER flag.
		spoiler: attachment.name.startsWith("SPOILER_") || attachment.spoiler,
	};
}

/** The store key of a file for rehost idempotency: a Discord attachment id, else a hash of the URL's path. */
export function sourceKey(url: string): string {
	const attachment = /^\/(?:ephemeral-)?attachments\/\d+\/(\d+)\//.exec(urlPath(url));
	if (attachment?.[1]) return attachment[1];
	return `url-${createHash("sha256").update(loggableUrl(url)).digest("hex").slice(0, 32)}`;
}

/** The path of a URL; empty when it is not one. */
export function urlPath(url: string): string {
	try {
		return new URL(url).pathname;
	} catch {
		return "";
	}
}
