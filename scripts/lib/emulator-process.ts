import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * The URLs an `npm run emulator:imgpile` child prints on its first lines ("imgpile API  URL",
 * "imgpile CDN  URL (uploads: …)"), for benchmarks that run the emulator as a process of its own.
 */
export async function imgpileEmulatorUrls(child: ChildProcess): Promise<{ apiUrl: string; uploadUrl: string }> {
	const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
	let apiUrl = "";
	let cdnUrl = "";
	for await (const line of lines) {
		const url = line.match(/https?:\/\/\S+/)?.[0];
		if (!url) continue;
		if (/api/i.test(line.split("http")[0] ?? "")) apiUrl = url;
		else cdnUrl = url;
		if (apiUrl && cdnUrl) break;
	}
	if (!apiUrl || !cdnUrl) throw new Error("the imgpile emulator did not print its URLs");
	return { apiUrl, uploadUrl: `${cdnUrl.replace(/\/+$/, "")}/api/v1/media` };
}
