/**
 * What `/notify` may ask of the feed scheduler (personal notifications ride on its polls and are
 * delivered by its leader; see docs/ARCHITECTURE.md "Personal notifications").
 */
import type { NotifyProfile } from "../store/index.js";

export interface NotifyStatus {
	profile: NotifyProfile;
	/** Posts queued for the user's next batch. */
	waiting: number;
	/** When the next batch DM may go (epoch ms: `every` and quiet hours applied); null when nothing waits. */
	nextBatchAt: number | null;
}

export interface NotifyControl {
	/** A user's tags or follows changed: the polls are re-read before the next cycle. */
	changed(): void;
	status(userId: string): Promise<NotifyStatus>;
	/**
	 * Reads whom `username` follows on imgpile now (a few requests at most, within the feeds'
	 * budget) and stores it on the user's profile; how many. Throws the imgpile client's
	 * ImgpileNotFoundError for an unknown username.
	 */
	refreshFollowing(userId: string, username: string): Promise<number>;
}
