export { FeedBudget } from "./budget.js";
export { type FeedControl, FeedControlApi } from "./control.js";
export { ClientFeedDiscord, classifyDiscordError, type FeedDiscord } from "./discord.js";
export { DigestBusyError, FeedSendError } from "./failures.js";
export { type FilterRule, filteredBy } from "./match.js";
export * from "./notify-render.js";
export * from "./notify-schedule.js";
export { newAmong, pollQuery } from "./poller.js";
export * from "./render.js";
export {
	type DeliveryInfo,
	FEED_LEASE,
	type FeedHooks,
	type FeedRuntime,
	type FeedServiceOptions,
	type TickReport,
} from "./runtime.js";
export * from "./schedule.js";
export { FeedService, groupByPoll } from "./scheduler.js";
export { type FeedSource, type FetchedPage, ImgpileFeedSource } from "./source.js";
