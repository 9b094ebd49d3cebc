import type { CommandModule } from "../src/bot/types.js";
import imgpile from "./imgpile.js";
import media from "./media.js";
import post from "./post.js";

/** Every command the bot registers, with the buttons and modals each owns. */
export const commandModules: readonly CommandModule[] = [imgpile, post, media];
