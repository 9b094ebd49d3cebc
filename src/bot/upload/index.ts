/**
 * Discord files → imgpile, as /upload and "Rehost to imgpile" share it: the files and their
 * results (files), why one failed (failures), the progress message (progress), the transfers
 * with one retry after a short 429 (transfer), what is recorded (records), the answers
 * (answers), how both commands end (finish), and the text limits they keep (text).
 */
export {
	type Answer,
	failureLine,
	mediaLink,
	mediaListAnswer,
	type PostAnswerOptions,
	postAnswer,
	type SingleAnswerOptions,
	sendable,
	singleAnswer,
	singleButtons,
	UPLOAD_DELETE_BUTTON,
	UPLOAD_POST_BUTTON,
	UPLOAD_POST_MODAL,
} from "./answers.js";
export { failureOf, refusedUpFront, unauthorizedLines } from "./failures.js";
export {
	attachmentSource,
	type Done,
	type Failed,
	type FileFailure,
	type FileResult,
	type FileSource,
	failed,
	sourceKey,
	succeeded,
	urlPath,
} from "./files.js";
export { editWithError, type PostOrListOptions, postOrMediaList, replyAllRefused } from "./finish.js";
export { collectSources, earlierUploads } from "./message.js";
export { type FileState, PROGRESS_INTERVAL_MS, ProgressBoard } from "./progress.js";
export { mediaFromRecord, recordResults } from "./records.js";
export { CONTENT_MAX, fitLines, formatBytes } from "./text.js";
export { type TransferAllOptions, transferAll, UPLOAD_RETRY_MAX_WAIT_MS } from "./transfer.js";
