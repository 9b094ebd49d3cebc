export { FeedBudget } from "./budget.js";
export { ClientFeedDiscord, classifyDiscordError, type FeedDiscord } from "./discord.js";
export { pollQuery } from "./poller.js";
export * from "./render.js";
export * from "./schedule.js";
export {
	type DeliveryInfo,
	FEED_LEASE,
	type FeedControl,
	type FeedHooks,
	FeedSendError,
	FeedService,
	type FeedServiceOptions,
	type TickReport,
} from "./service.js";
export { type FeedSource, type FetchedPage, ImgpileFeedSource } from "./source.js";
