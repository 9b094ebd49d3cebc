/**
 * Finds a secret in text in every form a log could carry it: plain, base64 / base64url (also
 * inside a longer encoded blob, at any of the three byte alignments), hex, and as a list of byte
 * values (`105,112,45`, `[105, 112]`, or a Buffer's `{"0":105,"1":112}`).
 */
export function secretFormsIn(text: string, secret: string): string[] {
	const bytes = Buffer.from(secret, "utf8");
	const found: string[] = [];
	if (text.includes(secret)) found.push("plain");
	for (const encoding of ["base64", "base64url"] as const) {
		if (encodedAtAnyAlignment(bytes, encoding).some((form) => text.includes(form))) found.push(encoding);
	}
	const lower = text.toLowerCase();
	if (lower.includes(bytes.toString("hex"))) found.push("hex");
	// Unquoted numbers only, so a Buffer's object keys ("0", "1", …) do not split the sequence.
	const numbers = (text.match(/(?<!["\w])\d+(?!["\w])/g) ?? []).join(",");
	if (`,${numbers},`.includes(`,${[...bytes].join(",")},`)) found.push("bytes");
	return found;
}

/** The part of the encoding that depends only on the secret's bytes, for 0, 1 and 2 bytes before it. */
function encodedAtAnyAlignment(bytes: Buffer, encoding: "base64" | "base64url"): string[] {
	return [0, 1, 2].map((offset) => {
		const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding);
		return encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6));
	});
}
