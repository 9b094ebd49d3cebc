/**
 * URLs Discord refuses in an embed or a link button (400, 50035), as imgpile might send them for
 * an avatar or a preview: each kind once.
 */
export const MALFORMED_URLS = {
	javascript: "javascript:alert(1)",
	space: "https://cdn.imgpile.com/f/two words_lg.png",
	relative: "/f/abc1234_lg.png",
	tooLong: `https://cdn.imgpile.com/f/${"x".repeat(2048)}_lg.png`,
	ftp: "ftp://cdn.imgpile.com/f/abc1234_lg.png",
	noHost: "https:/cdn.imgpile.com/f/abc1234_lg.png",
} as const;

/** An avatar that passes a naive `^https?://` test, and Discord still refuses. */
export const MALFORMED_AVATAR = "https://cdn.imgpile.com/avatars/mal lory.png";
