/**
 * Helpers for the emulator's own tests (vitest): not part of the emulator, not exported by index.ts.
 */
import { DiscordAPIError } from "discord.js";
import { expect } from "vitest";

/** The Discord error a request ends with (fails the test when it succeeds or fails otherwise). */
export async function refusal(request: Promise<unknown>): Promise<DiscordAPIError> {
	const error = await request.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(DiscordAPIError);
	return error as DiscordAPIError;
}
