export * from "./client.js";
export * from "./errors.js";
export type { HttpMethod, ImgpileHttpOptions, RetryPolicy } from "./http.js";
export { ImgpileHttp } from "./http.js";
export { fileFromPath, type UploadFile } from "./multipart.js";
export { parseRetryAfter, type SharedBudget } from "./rate-limit.js";
export * from "./types.js";
