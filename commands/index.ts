import type { CommandModule } from "../src/bot/types.js";
import comment from "./comment.js";
import feed from "./feed.js";
import { followCommand, followersCommand, followingCommand, unfollowCommand } from "./follow.js";
import imgpile from "./imgpile.js";
import media from "./media.js";
import notify from "./notify.js";
import post from "./post.js";
import profile from "./profile.js";
import rehost from "./rehost.js";
import upload from "./upload.js";
import vote from "./vote.js";

/** Every command the bot registers, with the buttons and modals each owns. */
export const commandModules: readonly CommandModule[] = [
	imgpile,
	post,
	media,
	upload,
	rehost,
	vote,
	followCommand,
	unfollowCommand,
	followersCommand,
	followingCommand,
	comment,
	profile,
	feed,
	notify,
];
