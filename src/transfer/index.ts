export { SNIFF_BYTES } from "./body.js";
export { MAX_REDIRECTS } from "./download.js";
export { TransferError, type TransferErrorOptions, type TransferFailureReason } from "./errors.js";
export {
	type TransferOptions,
	TransferPipeline,
	type TransferPipelineOptions,
	type TransferSource,
} from "./pipeline.js";
export { type Release, SlotPool } from "./pool.js";
export { HostAllowList, loggableUrl, uploadFilename } from "./urls.js";
