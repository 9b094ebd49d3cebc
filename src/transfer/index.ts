export { TransferError, type TransferErrorOptions, type TransferFailureReason } from "./errors.js";
export {
	MAX_REDIRECTS,
	SNIFF_BYTES,
	type TransferOptions,
	TransferPipeline,
	type TransferPipelineOptions,
	type TransferSource,
} from "./pipeline.js";
export { type Release, SlotPool } from "./pool.js";
export { HostAllowList, loggableUrl, uploadFilename } from "./urls.js";
