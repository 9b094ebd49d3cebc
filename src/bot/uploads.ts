/**
 * Discord files → imgpile, as /upload and "Rehost to imgpile" share it: running the transfers
 * (with a throttled progress message and one retry after a short 429), the per-file reasons,
 * recording what was uploaded, making the post, and the answers (one media, or a post with a
 * gallery), with the Delete and Make post buttons of a single upload.
 */
import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
	type ActionRowData,
	type APIEmbed,
	ButtonStyle,
	ComponentType,
	type MessageActionRowComponentData,
} from "discord.js";
import {
	customId,
	linkButton,
	mayPreview,
	mediaPreviewUrl,
	postUrl,
	quoteInput,
	safeText,
	safeUrl,
} from "../discord/index.js";
import type { MessageKey, Params, Translate } from "../i18n/index.js";
import { type ImgpileClient, ImgpileForbiddenError, type ImgpileRateLimitError, type Media } from "../imgpile/index.js";
import type { UploadRecord } from "../store/index.js";
import { loggableUrl, TransferError, type TransferSource } from "../transfer/index.js";
import { isImgpileError, UserError, userErrorFromImgpile } from "./errors.js";
import { type Identity, recordUploads } from "./identity.js";
import type { MadePost } from "./posts.js";
import type { HandlerContext } from "./types.js";

/** custom_id names: `upload-delete:{slug}`, `upload-post:{slug}[:{postSlug}]` (button and modal). */
export const UPLOAD_DELETE_BUTTON = "upload-delete";
export const UPLOAD_POST_BUTTON = "upload-post";
export const UPLOAD_POST_MODAL = "upload-post";

/** Progress edits of one interaction are at least this far apart (the final answer too). */
export const PROGRESS_INTERVAL_MS = 1_500;
/** An upload refused with 429 is tried once more when imgpile asks to wait at most this long. */
export const UPLOAD_RETRY_MAX_WAIT_MS = 30_000;
/** Longer than this, a 429 is the daily quota, not the per-minute limit. */
const QUOTA_RETRY_AFTER_MS = 60_000;
const CONTENT_MAX = 2_000;
const EMBEDS_MAX = 10;

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

type Done = Extract<FileResult, { kind: "uploaded" | "reused" }>;

export function succeeded(results: readonly FileResult[]): Done[] {
	return results.filter((result): result is Done => result.kind !== "failed");
}

export function failed(results: readonly FileResult[]): Extract<FileResult, { kind: "failed" }>[] {
	return results.filter((result): result is Extract<FileResult, { kind: "failed" }> => result.kind === "failed");
}

/** The store key of a file for rehost idempotency: a Discord attachment id, else a hash of the URL's path. */
export function sourceKey(url: string): string {
	const attachment = /^\/(?:ephemeral-)?attachments\/\d+\/(\d+)\//.exec(safePath(url));
	if (attachment?.[1]) return attachment[1];
	return `url-${createHash("sha256").update(loggableUrl(url)).digest("hex").slice(0, 32)}`;
}

function safePath(url: string): string {
	try {
		return new URL(url).pathname;
	} catch {
		return "";
	}
}

// ── Why a file failed ───────────────────────────────────────────────────────

/** The user-facing reason of a failed file (TransferError, or anything else). */
export function failureOf(ctx: HandlerContext, error: unknown): FileFailure {
	if (error instanceof TransferError) {
		switch (error.reason) {
			case "too_large":
				return { key: "upload.fail.tooLarge", params: {} };
			case "wrong_type":
				return { key: "upload.fail.wrongType", params: {} };
			case "bad_host":
				return { key: "upload.fail.badHost", params: {} };
			case "download_failed":
				return { key: "upload.fail.download", params: {} };
			case "aborted":
				return { key: "upload.fail.stopped", params: {} };
			case "imgpile":
				if (error.imgpileError) return imgpileFailure(error.imgpileError);
				return { key: "upload.fail.imgpile", params: {} };
		}
	}
	if (isImgpileError(error)) return imgpileFailure(error);
	const id = randomBytes(4).toString("hex");
	ctx.log.error({ err: error, errorId: id }, "upload failed unexpectedly");
	return { key: "upload.fail.unexpected", params: { id } };
}

function imgpileFailure(error: Parameters<typeof userErrorFromImgpile>[0]): FileFailure {
	if (error.kind === "unauthorized") return { key: "upload.fail.unauthorized", params: {}, unauthorized: true };
	if (error.kind === "rate_limited") {
		const ms = (error as ImgpileRateLimitError).retryAfterMs;
		if (ms !== undefined && ms > QUOTA_RETRY_AFTER_MS) {
			return { key: "upload.fail.quota", params: { hours: Math.max(1, Math.ceil(ms / 3_600_000)) } };
		}
		return { key: "upload.fail.rateLimited", params: { seconds: Math.max(1, Math.ceil((ms ?? 60_000) / 1000)) } };
	}
	const shown = userErrorFromImgpile(error);
	return { key: shown.key, params: shown.params };
}

function shortRateLimit(error: unknown): number | undefined {
	if (!(error instanceof TransferError) || error.imgpileError?.kind !== "rate_limited") return undefined;
	const ms = (error.imgpileError as ImgpileRateLimitError).retryAfterMs ?? 1_000;
	return ms <= UPLOAD_RETRY_MAX_WAIT_MS ? ms : undefined;
}

// ── Progress ────────────────────────────────────────────────────────────────

type FileState =
	| { state: "pending" }
	| { state: "queued"; position: number }
	| { state: "starting" }
	| { state: "uploading"; sent: number; total: number | undefined }
	| { state: "retrying"; seconds: number }
	| { state: "done" }
	| { state: "reused" }
	| { state: "failed" };

/**
 * The deferred reply as a progress board: one line per file. Edits go out at most once every
 * PROGRESS_INTERVAL_MS (the first one that long after the start, so quick uploads never show
 * one), each timed from the moment Discord accepted the previous one; `finish` keeps that
 * spacing for the final answer too.
 */
export class ProgressBoard {
	readonly #ctx: HandlerContext;
	readonly #names: string[];
	readonly #states: FileState[];
	readonly #interval: number;
	#timer: NodeJS.Timeout | undefined;
	#editing: Promise<void> | undefined;
	#dirty = false;
	#stopped = false;
	#lastEdit: number;
	#edits = 0;

	constructor(ctx: HandlerContext, names: readonly string[], intervalMs = PROGRESS_INTERVAL_MS) {
		this.#ctx = ctx;
		this.#names = [...names];
		this.#states = names.map(() => ({ state: "pending" }));
		this.#interval = intervalMs;
		this.#lastEdit = Date.now();
	}

	set(index: number, state: FileState): void {
		if (this.#stopped || index < 0 || index >= this.#states.length) return;
		this.#states[index] = state;
		this.#dirty = true;
		this.#schedule();
	}

	render(): string {
		const t = this.#ctx.t;
		const lines = [t("upload.progress.header", { count: this.#names.length })];
		this.#states.forEach((state, index) => {
			const name = quoteInput(this.#names[index] ?? "", 60);
			lines.push(`${ICONS[state.state]} \`${name}\` — ${describeState(t, state)}`);
		});
		return fitLines(lines, CONTENT_MAX);
	}

	/** Stops the edits; resolves once the last one is done and the interval since it has passed. */
	async finish(): Promise<void> {
		this.#stopped = true;
		clearTimeout(this.#timer);
		this.#timer = undefined;
		await this.#editing;
		if (this.#edits > 0) {
			const wait = this.#lastEdit + this.#interval - Date.now();
			if (wait > 0) await sleep(wait);
		}
	}

	#schedule(): void {
		if (this.#stopped || this.#timer || this.#editing || !this.#dirty) return;
		const wait = Math.max(0, this.#lastEdit + this.#interval - Date.now());
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			this.#flush();
		}, wait);
	}

	#flush(): void {
		if (this.#stopped || !this.#dirty) return;
		this.#dirty = false;
		this.#edits++;
		this.#editing = this.#ctx.respond
			.edit({ content: this.render(), allowedMentions: { parse: [] } })
			.catch((error: unknown) => this.#ctx.log.warn({ err: error }, "progress edit failed"))
			.finally(() => {
				this.#lastEdit = Date.now();
				this.#editing = undefined;
				this.#schedule();
			});
	}
}

const ICONS: Record<FileState["state"], string> = {
	pending: "⏳",
	queued: "⏳",
	starting: "⏳",
	uploading: "⬆️",
	retrying: "⏳",
	done: "✅",
	reused: "♻️",
	failed: "❌",
};

function describeState(t: Translate, state: FileState): string {
	switch (state.state) {
		case "pending":
			return t("upload.progress.pending");
		case "queued":
			return t("upload.progress.queued", { position: state.position });
		case "starting":
			return t("upload.progress.starting");
		case "uploading":
			if (state.total === undefined || state.total <= 0) {
				return t("upload.progress.uploadingUnknown", { sent: formatBytes(state.sent) });
			}
			return t("upload.progress.uploading", {
				percent: Math.min(100, Math.floor((state.sent / state.total) * 100)),
				sent: formatBytes(state.sent),
				total: formatBytes(state.total),
			});
		case "retrying":
			return t("upload.progress.retrying", { seconds: state.seconds });
		case "done":
			return t("upload.progress.done");
		case "reused":
			return t("upload.progress.reused");
		case "failed":
			return t("upload.progress.failed");
	}
}

// ── Transfers ───────────────────────────────────────────────────────────────

export interface TransferAllOptions {
	/** Files known already (rehost idempotency), by index: not transferred again. */
	reused?: ReadonlyMap<number, { media: Media; size: number }>;
	/** Failures known before any download (`transfers.check`), by index. */
	refused?: ReadonlyMap<number, FileFailure>;
	board?: ProgressBoard | undefined;
}

/**
 * Transfers every file not reused or refused, all at once (the pipeline's pool bounds them and
 * queues the rest). A 429 on an upload is waited out and tried once more when imgpile asks for
 * at most UPLOAD_RETRY_MAX_WAIT_MS (the file is downloaded again from Discord's CDN). A 401
 * stops the files not yet done: they would be refused too. Results are in `sources` order.
 */
export async function transferAll(
	ctx: HandlerContext,
	sources: readonly FileSource[],
	client: ImgpileClient,
	options: TransferAllOptions = {},
): Promise<FileResult[]> {
	const stop = new AbortController();
	const board = options.board;
	const run = async (source: FileSource, index: number): Promise<FileResult> => {
		const reused = options.reused?.get(index);
		if (reused) {
			board?.set(index, { state: "reused" });
			return { kind: "reused", source, media: reused.media, size: reused.size };
		}
		const refused = options.refused?.get(index);
		if (refused) {
			board?.set(index, { state: "failed" });
			return { kind: "failed", source, failure: refused };
		}
		for (let attempt = 0; ; attempt++) {
			try {
				const media = await ctx.transfers.transfer(source, client, {
					signal: stop.signal,
					onQueued: (position) => board?.set(index, { state: "queued", position }),
					onStart: () => board?.set(index, { state: "starting" }),
					onProgress: (sent, total) => board?.set(index, { state: "uploading", sent, total: total ?? source.size }),
				});
				board?.set(index, { state: "done" });
				return { kind: "uploaded", source, media, size: source.size ?? 0 };
			} catch (error) {
				const wait = attempt === 0 && !stop.signal.aborted ? shortRateLimit(error) : undefined;
				if (wait !== undefined) {
					ctx.log.info({ key: source.key, waitMs: wait }, "upload rate limited; trying again once");
					board?.set(index, { state: "retrying", seconds: Math.max(1, Math.ceil(wait / 1000)) });
					const slept = await sleep(wait + 50, true, { signal: stop.signal }).catch(() => false);
					if (slept) continue;
				}
				const failure = failureOf(ctx, error);
				if (failure.unauthorized) stop.abort(new Error("imgpile refused the token"));
				board?.set(index, { state: "failed" });
				return { kind: "failed", source, failure };
			}
		}
	};
	return Promise.all(sources.map(run));
}

/** Remembers each new upload (Delete button, rehost idempotency, recent media) and counts them. */
export async function recordResults(
	ctx: HandlerContext,
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

// ── Posts ───────────────────────────────────────────────────────────────────

/**
 * Runs `call` as the owner of an upload: the user's own token (this server, else DMs), then the
 * server's shared token (a file uploaded with it belongs to that account). imgpile's 403 moves
 * on to the next; nothing linked at all asks for `/imgpile link`.
 */
export async function asUploader<T>(
	ctx: HandlerContext,
	who: { guildId: string | null; user: { id: string } },
	call: (client: ImgpileClient) => Promise<T>,
): Promise<T> {
	const tokens: string[] = [];
	const linked = await ctx.store.tokens.resolve(who.guildId, who.user.id);
	if (linked) tokens.push(linked.token);
	if (who.guildId) {
		const server = await ctx.store.guilds.getServerToken(who.guildId);
		if (server && !tokens.includes(server)) tokens.push(server);
	}
	if (tokens.length === 0) throw new UserError("identity.needsLink");
	for (const [index, token] of tokens.entries()) {
		try {
			return await call(ctx.imgpile.as(token));
		} catch (error) {
			if (error instanceof ImgpileForbiddenError && index < tokens.length - 1) continue;
			throw error;
		}
	}
	throw new UserError("identity.needsLink");
}

// ── Answers ─────────────────────────────────────────────────────────────────

export interface Answer {
	content: string;
	embeds: APIEmbed[];
	components: ActionRowData<MessageActionRowComponentData>[];
}

/** What `respond.edit` and channel messages take, with mentions off. */
export function sendable(answer: Answer) {
	return { ...answer, allowedMentions: { parse: [] as [] } };
}

/** A line naming a file that did not make it, and why. */
export function failureLine(t: Translate, name: string, failure: FileFailure): string {
	return t("upload.line.failed", { name: quoteInput(name, 60), reason: t(failure.key, failure.params) });
}

export function mediaLink(media: Media, spoiler: boolean): string {
	return spoiler ? `||${media.urls.original}||` : `<${media.urls.original}>`;
}

export interface SingleAnswerOptions {
	result: Done;
	/** Whether the channel is age-restricted (NSFW media are previewed only there). */
	nsfwAllowed: boolean;
	/** Lines before the answer (e.g. "rehosted by"), and after it (notes, refused files). */
	before?: string[];
	after?: string[];
	/** The post made from it later with the Make post button. */
	postSlug?: string | undefined;
}

/**
 * One media: an embed with its preview (image; a video's thumbnail, with the link in the content
 * so Discord's player shows it), the direct link, dimensions and size; buttons Open, Delete and
 * Make post (Edit post once a post exists).
 */
export function singleAnswer(t: Translate, options: SingleAnswerOptions): Answer {
	const { media, source, size } = options.result;
	const video = media.type.startsWith("video/");
	const preview = !source.spoiler && mayPreview(media.moderation_status, options.nsfwAllowed);
	const fields = [];
	if (media.width > 0 && media.height > 0) {
		fields.push({ name: t("upload.field.dimensions"), value: `${media.width} × ${media.height}`, inline: true });
	}
	if (size > 0) fields.push({ name: t("upload.field.size"), value: formatBytes(size), inline: true });
	fields.push({ name: t("upload.field.type"), value: media.type || "?", inline: true });
	const embed: APIEmbed = {
		title: safeText(source.name || media.slug, 256),
		url: safeUrl(media.urls.original),
		description: source.spoiler ? `||${media.urls.original}||` : media.urls.original,
		fields,
		footer: { text: media.slug },
	};
	const previewUrl = preview ? safeUrl(mediaPreviewUrl(media)) : undefined;
	if (previewUrl) {
		if (video) embed.thumbnail = { url: previewUrl };
		else embed.image = { url: previewUrl };
	}
	const lines = [...(options.before ?? [])];
	if (video || source.spoiler) lines.push(source.spoiler ? `||${media.urls.original}||` : media.urls.original);
	if (options.postSlug) lines.push(t("upload.postLine", { link: `<${postUrl(options.postSlug)}>` }));
	lines.push(...(options.after ?? []));
	return {
		content: fitLines(lines, CONTENT_MAX),
		embeds: [embed],
		components: [singleButtons(t, media, options.postSlug)],
	};
}

export function singleButtons(
	t: Translate,
	media: Pick<Media, "slug" | "urls">,
	postSlug?: string,
): ActionRowData<MessageActionRowComponentData> {
	const open = linkButton(t("upload.button.open"), media.urls.original);
	return {
		type: ComponentType.ActionRow,
		components: [
			...(open ? [open] : []),
			{
				type: ComponentType.Button,
				style: ButtonStyle.Danger,
				label: t("upload.button.delete"),
				customId: customId(UPLOAD_DELETE_BUTTON, media.slug),
			},
			{
				type: ComponentType.Button,
				style: ButtonStyle.Secondary,
				label: t(postSlug ? "upload.button.editPost" : "upload.button.makePost"),
				customId: postSlug
					? customId(UPLOAD_POST_BUTTON, media.slug, postSlug)
					: customId(UPLOAD_POST_BUTTON, media.slug),
			},
		],
	};
}

export interface PostAnswerOptions {
	post: MadePost;
	/** Show the private key: only in an answer nobody else sees. */
	showKey: boolean;
	title?: string | null | undefined;
	results: readonly FileResult[];
	nsfwAllowed: boolean;
	/** The post is marked NSFW: no previews outside age-restricted channels. */
	nsfwPost: boolean;
	before?: string[];
	after?: string[];
}

/** A post: its link, then the files that did not make it (and the ones that did, as links), and a gallery. */
export function postAnswer(t: Translate, options: PostAnswerOptions): Answer {
	const { post } = options;
	const key = options.showKey ? post.key : undefined;
	const link = postUrl(post.slug, key);
	const done = succeeded(options.results);
	const lines = [...(options.before ?? [])];
	lines.push(key ? t("post.created.private", { link: `<${link}>` }) : t("post.created", { link: `<${link}>` }));
	lines.push(...post.notes);
	// The media are listed when something failed (nothing hidden), or to show spoilers as `||link||`.
	const listMedia = failed(options.results).length > 0 || done.some((result) => result.source.spoiler);
	lines.push(...resultLines(t, options.results, listMedia));
	lines.push(...(options.after ?? []));
	const open = linkButton(t("post.button.open"), link);
	const embeds = gallery(t, done, {
		url: link,
		title: options.title || t("upload.gallery.title", { count: done.length }),
		nsfwAllowed: options.nsfwAllowed,
		hideAll: options.nsfwPost && !options.nsfwAllowed,
	});
	return {
		content: fitLines(lines, CONTENT_MAX),
		embeds,
		components: open ? [{ type: ComponentType.ActionRow, components: [open] }] : [],
	};
}

/** No post (nothing new to make one of, or it failed): the media as links, a gallery, the failures. */
export function mediaListAnswer(
	t: Translate,
	options: { results: readonly FileResult[]; nsfwAllowed: boolean; before?: string[]; after?: string[] },
): Answer {
	const done = succeeded(options.results);
	const lines = [...(options.before ?? [])];
	lines.push(...resultLines(t, options.results, true));
	if (done.length === 0) lines.push(t("upload.noneUploaded"));
	lines.push(...(options.after ?? []));
	const first = done[0];
	const embeds = first
		? gallery(t, done, {
				url: first.media.urls.original,
				title: t("upload.gallery.media", { count: done.length }),
				nsfwAllowed: options.nsfwAllowed,
				hideAll: false,
			})
		: [];
	return { content: fitLines(lines, CONTENT_MAX), embeds, components: [] };
}

/** The failed files with their reasons, then (when `withLinks`) the uploaded ones with their links. */
function resultLines(t: Translate, results: readonly FileResult[], withLinks: boolean): string[] {
	const lines: string[] = [];
	const failures = failed(results);
	if (failures.length > 0) {
		lines.push(t("upload.failedHeader"));
		for (const { source, failure } of failures) lines.push(failureLine(t, source.name, failure));
	}
	const done = succeeded(results);
	if (withLinks && done.length > 0) {
		lines.push(t("upload.uploadedHeader"));
		for (const { source, media, kind } of done) {
			lines.push(
				t(kind === "reused" ? "upload.line.reused" : "upload.line.uploaded", {
					name: quoteInput(source.name, 60),
					link: mediaLink(media, source.spoiler),
				}),
			);
		}
	}
	return lines;
}

/** Up to ten embeds sharing one url (Discord shows them as a gallery); spoilers and hidden NSFW left out. */
function gallery(
	t: Translate,
	done: readonly Done[],
	options: { url: string; title: string; nsfwAllowed: boolean; hideAll: boolean },
): APIEmbed[] {
	const embeds: APIEmbed[] = [];
	const url = safeUrl(options.url);
	let hidden = 0;
	for (const { media, source } of done) {
		if (options.hideAll || source.spoiler || !mayPreview(media.moderation_status, options.nsfwAllowed)) {
			hidden++;
			continue;
		}
		// Nothing to show (no preview, or one Discord would refuse) is not "hidden".
		const preview = safeUrl(mediaPreviewUrl(media));
		if (preview && embeds.length < EMBEDS_MAX) embeds.push({ url, image: { url: preview } });
	}
	const first = embeds[0] ?? { url };
	first.title = safeText(options.title, 256);
	if (hidden > 0) first.footer = { text: t("upload.gallery.hidden", { count: hidden }) };
	if (embeds.length === 0) embeds.push(first);
	else embeds[0] = first;
	return embeds;
}

// ── Small helpers ───────────────────────────────────────────────────────────

/** 1.5 MB, 12 KB, 100 MB (binary units, as imgpile's 100 MB limit). */
export function formatBytes(bytes: number): string {
	if (bytes < 1024) return `${bytes} B`;
	if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
	if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
	return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** Lines joined, cut to `max` characters at a line boundary ("…" marks the cut). */
export function fitLines(lines: readonly string[], max: number): string {
	const out: string[] = [];
	let length = 0;
	for (const [index, line] of lines.entries()) {
		const add = (out.length > 0 ? 1 : 0) + line.length;
		const reserve = index < lines.length - 1 ? 2 : 0;
		if (length + add + reserve > max) {
			out.push("…");
			break;
		}
		out.push(line);
		length += add;
	}
	const text = out.join("\n");
	return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A UserError or an imgpile error as text for the user; anything else is not ours to show. */
export function errorText(t: Translate, error: unknown): string | undefined {
	if (error instanceof UserError) return t(error.key, error.params);
	if (isImgpileError(error)) {
		const shown = userErrorFromImgpile(error);
		return t(shown.key, shown.params);
	}
	return undefined;
}
