/**
 * Laravel-style length-aware pagination: `{ data, links, meta }` with absolute links on the
 * emulator's API base that keep the request's other query parameters (withQueryString).
 */
import type { Page } from "../../../src/imgpile/types.js";
import { IMGPILE_LIMITS } from "../../../src/imgpile/types.js";
import { parseInteger, type ValidationErrors } from "./http.js";

export interface PageParams {
	page: number;
	limit: number;
}

/**
 * `limit` (integer 1..250, default 10) is validated into `errors`; `page` is resolved the way
 * Laravel's paginator does: anything that is not an integer >= 1 means page 1.
 */
export function readPageParams(query: URLSearchParams, errors: ValidationErrors): PageParams {
	let limit: number = IMGPILE_LIMITS.defaultPageSize;
	const rawLimit = query.get("limit");
	if (rawLimit !== null && rawLimit !== "") {
		const n = parseInteger(rawLimit);
		if (n === undefined) errors.add("limit", "The limit field must be an integer.");
		else if (n < 1) errors.add("limit", "The limit field must be at least 1.");
		else if (n > IMGPILE_LIMITS.maxPageSize)
			errors.add("limit", `The limit field must not be greater than ${IMGPILE_LIMITS.maxPageSize}.`);
		else limit = n;
	}
	const rawPage = query.get("page");
	const p = rawPage === null ? undefined : parseInteger(rawPage);
	const page = p !== undefined && p >= 1 ? p : 1;
	return { page, limit };
}

/** `baseUrl` is the absolute URL of the listing without query, e.g. `http://127.0.0.1:1234/api/v1/posts`. */
export function paginate<T, R>(
	items: readonly T[],
	{ page, limit }: PageParams,
	baseUrl: string,
	query: URLSearchParams,
	map: (item: T) => R,
): Page<R> {
	const total = items.length;
	const lastPage = Math.max(1, Math.ceil(total / limit));
	const start = (page - 1) * limit;
	const slice = items.slice(start, start + limit);
	const url = (n: number): string => {
		const q = new URLSearchParams(query);
		q.set("page", String(n));
		return `${baseUrl}?${q.toString()}`;
	};
	return {
		data: slice.map(map),
		links: {
			first: url(1),
			last: url(lastPage),
			prev: page > 1 ? url(page - 1) : null,
			next: page < lastPage ? url(page + 1) : null,
		},
		meta: {
			current_page: page,
			from: slice.length > 0 ? start + 1 : null,
			to: slice.length > 0 ? start + slice.length : null,
			per_page: limit,
			total,
			last_page: lastPage,
		},
	};
}
