/** The HTTP details of Consul's API that every request shares: query strings, headers. */
import { ConsulRequestError } from "../errors.js";

export type Query = Record<string, string | number | boolean | undefined>;

/** One answer, whichever transport carried it. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** `?a=1&stale&index=7`: Consul's flags (true) go without a value; undefined and false are left out. */
export function searchOf(query: Query | undefined): string {
  let search = "";
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === false) continue;
    search += `${search ? "&" : "?"}${encodeURIComponent(k)}${v === true ? "" : `=${encodeURIComponent(String(v))}`}`;
  }
  return search;
}

export function readIndex(headers: Headers): number {
  return readHeaderNumber(headers, "x-consul-index");
}

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Newer agents say when the token hid part of an answer: a partial view is not data. */
export function refuseFilteredAnswer(headers: Headers, where: string): void {
  if (readHeader(headers, "x-consul-results-filtered-by-acls") === "true") {
    throw new ConsulRequestError(`${where}: results filtered by ACLs (the token may not read all of it); give the token read access`, 403);
  }
}

export function readHeader(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function readHeaderNumber(headers: Headers, name: string): number {
  const n = Number(readHeader(headers, name));
  return Number.isFinite(n) ? n : 0;
}
