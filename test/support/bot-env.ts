import type { DiscordEmulator } from "../emulators/discord/index.js";
import type { ImgpileEmulator } from "../emulators/imgpile/index.js";

/** The environment of a bot process (as `npm start` runs it) against both emulators, at home in `dir`. */
export function botEnv(
	world: { discord: DiscordEmulator; imgpile: ImgpileEmulator; dir: string },
	extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
	return {
		PATH: process.env.PATH,
		HOME: world.dir,
		DISCORD_TOKEN: world.discord.botToken,
		DISCORD_API_URL: world.discord.restUrl,
		IMGPILE_API_URL: world.imgpile.apiUrl,
		IMGPILE_UPLOAD_URL: world.imgpile.uploadUrl,
		LOG_LEVEL: "info",
		...extra,
	};
}
