export {
	type AnnouncedPost,
	type AnnouncementMessage,
	type AnnouncementOptions,
	AnnouncementRepository,
	type WatchEntry,
	type WatchIndex,
} from "./announcements.js";
export {
	AUTO_REHOST_MAX_ATTEMPTS,
	type AutoRehostReply,
	AutoRehostRepository,
	type PendingAutoRehost,
	PendingRepository,
} from "./auto-rehost.js";
export type { CounterAdd, Fence, KvBackend } from "./backend.js";
export {
	KEY_ENV_NAME,
	KEY_FILE_NAME,
	keyIdOf,
	type LoadKeyOptions,
	loadOrCreateKey,
	parseKey,
	TokenCipher,
} from "./crypto.js";
export {
	StoreConfigError,
	StoreFencedError,
	StoreKeyError,
	StoreValidationError,
	TokenDecryptError,
	type TokenDecryptReason,
} from "./errors.js";
export {
	EMPTY_CURSOR,
	type FeedCursor,
	type FeedFrontier,
	type FeedStateOptions,
	FeedStateRepository,
} from "./feed-state.js";
export {
	AUTO_REHOST_CHANNELS_MAX,
	type AutoRehostChannel,
	type AutoRehostReplyMode,
	DEFAULT_GUILD_SETTINGS,
	type GuildSettings,
	type GuildSettingsPatch,
	GuildSettingsRepository,
	isValidTimeZone,
	type RehostReply,
	type ServerTokenInfo,
} from "./guilds.js";
export { type LeaseOptions, type LeaseRecord, LeaseRepository, type LeaseState, type Leases } from "./lease.js";
export { KeyedMutex } from "./mutex.js";
export {
	NOTIFY_DEFAULT_EVERY_MS,
	NOTIFY_MAX_TAGS,
	type NotifyChange,
	type NotifyPause,
	type NotifyProfile,
	type NotifyQuiet,
	NotifyRepository,
	notifyWanted,
} from "./notify.js";
export {
	type Outbox,
	type OutboxEntry,
	type OutboxOptions,
	type OutboxPut,
	OutboxRepository,
	type OutboxState,
	outboxKeyOf,
	type PendingQuery,
	parseOutboxKey,
} from "./outbox.js";
export {
	openStore,
	parseStoreUrl,
	STORE_NAMESPACES,
	type Store,
	type StoreLocation,
	type StoreOptions,
} from "./store.js";
export {
	DEFAULT_SCORE_WINDOW_MS,
	type FeedFilters,
	type FeedMode,
	type FeedStyle,
	type FeedSubscription,
	type FeedSubscriptionPatch,
	FIREHOSE_POLL_KEY,
	type NewFeedSubscription,
	pollFiltersOf,
	pollFiltersOfKey,
	pollKeyOf,
	queryKeyOf,
	type RemovedAction,
	SUBSCRIPTION_DEFAULTS,
	SubscriptionRepository,
	tagPollKeyOf,
} from "./subscriptions.js";
export { type LinkedToken, type LinkedTokenInfo, type TokenRef, TokenRepository, type TokenScope } from "./tokens.js";
export { type NewUpload, type UploadRecord, UploadsRepository } from "./uploads.js";
export { type CapReservation, type ReserveResult, UsageRepository, type UsageToday } from "./usage.js";
export type { Clock } from "./util.js";
