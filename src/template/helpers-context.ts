/**
 * Context helpers: the way a catalog value reaches a config file in a safe template. Each knows
 * the syntactic place its output lands in and refuses anything else (see contexts.ts):
 *
 *     server {{identifier ID}} {{address Address}}:{{port Port}} check
 *     use_backend web if { hdr(host) -i {{hostname (key "web/host")}} }
 *
 * A refusal leaves out the item being iterated and is reported with the field it came from.
 */
import { RefusedValueError } from "../errors.js";
import { UnsafeValue } from "../untrusted.js";
import { checkAddress, checkHostname, checkIdentifier, checkPath, checkPort, defaultMaxValueLength, quoteString } from "./contexts.js";
import type { BlockOptions } from "./iterate.js";

type ContextHelper = (this: unknown, ...args: unknown[]) => string;

/** The field of the current item that holds `value` (`Address`, `Port`, …), for the report. */
function fieldOf(self: unknown, value: unknown): string | undefined {
  if (!self || typeof self !== "object" || value === undefined) return undefined;
  return Object.keys(self).find((key) => (self as Record<string, unknown>)[key] === value);
}

function text(value: unknown): string {
  if (value instanceof UnsafeValue) return value.raw;
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new RefusedValueError(value === undefined || value === null ? "no value" : `expected text, got ${Array.isArray(value) ? "a list" : typeof value}`);
}

function contextHelper(check: (value: unknown, max: number) => string): ContextHelper {
  return function (this: unknown, ...all: unknown[]): string {
    const value = all[0];
    const options = all.at(-1) as BlockOptions;
    try {
      return check(value, options.data?.consulate?.maxValueLength ?? defaultMaxValueLength);
    } catch (error) {
      if (error instanceof RefusedValueError) throw error.located(undefined, fieldOf(this, value));
      throw error;
    }
  };
}

/**
 * The routes of a service in the shipped templates' convention: `host=<name>` tags, `path=<prefix>`
 * tags, or, with neither, `<service>.<domain>`. Every value is checked for its place; one bad
 * routing tag refuses the whole service, so it is left out of frontends and backends alike.
 */
export function httpRoutes(service: unknown, domain: unknown): { hosts: string[]; paths: string[] } {
  const { Name, Tags } = (service ?? {}) as { Name?: unknown; Tags?: unknown };
  const tags = (Array.isArray(Tags) ? Tags : []).map((tag) => (tag instanceof UnsafeValue ? tag.raw : String(tag)));
  const located = (error: unknown, field: string) => (error instanceof RefusedValueError ? error.located(undefined, field) : error);
  const hosts: string[] = [];
  const paths: string[] = [];
  for (const tag of tags) {
    try {
      if (tag.startsWith("host=")) hosts.push(checkHostname(tag.slice(5)));
      else if (tag.startsWith("path=")) paths.push(checkPath(tag.slice(5)));
    } catch (error) {
      throw located(error, `tag ${JSON.stringify(tag.length > 60 ? `${tag.slice(0, 60)}…` : tag)}`);
    }
  }
  if (hosts.length === 0 && paths.length === 0) {
    try {
      hosts.push(checkHostname(`${text(Name)}.${text(domain)}`));
    } catch (error) {
      throw located(error, "Name (with the domain)");
    }
  }
  return { hosts, paths };
}

export const contextHelpers: Record<string, ContextHelper> = {
  hostname: contextHelper((v) => checkHostname(text(v))),
  address: contextHelper((v) => checkAddress(text(v))),
  port: contextHelper((v) => checkPort(v instanceof UnsafeValue ? v.raw : v)),
  path: contextHelper((v, max) => checkPath(text(v), max)),
  quote: contextHelper((v, max) => quoteString(text(v), max)),
  checkIdentifier: contextHelper((v, max) => checkIdentifier(text(v), max)),
  httpRoutes: function (this: unknown, ...all: unknown[]) {
    return httpRoutes(all[0], all.length > 2 ? all[1] : "localhost") as unknown as string;
  },
};
