/**
 * Helpers for building config files. Pure functions of their arguments; Handlebars passes an
 * `options` object last, which `args()` strips.
 */
import { RefusedValueError } from "../errors.js";
import { UnsafeValue } from "../untrusted.js";
import { defaultMaxValueLength } from "./contexts.js";

type HelperFn = (...args: unknown[]) => unknown;

/** Drops the trailing Handlebars options argument. */
export function args(all: unknown[]): unknown[] {
  return all.slice(0, -1);
}

function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof UnsafeValue) return v.toString();
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return v === undefined || v === null || typeof v !== "object" ? "" : JSON.stringify(v);
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "" || value === false || (Array.isArray(value) && value.length === 0);
}

/** A helper's one argument, refused when longer than --max-value-length. */
function boundedName(a: unknown[]): unknown {
  const value = args(a)[0];
  const max = (a.at(-1) as { data?: { consulate?: { maxValueLength?: number } } }).data?.consulate?.maxValueLength ?? defaultMaxValueLength;
  const length = (value instanceof UnsafeValue ? value.raw : str(value)).length;
  if (length > max) throw new RefusedValueError(`an identifier is ${length} characters long, more than ${max}`);
  return value;
}

/**
 * Any string → a safe identifier for HAProxy backends, nginx upstreams and the like: letters,
 * digits and `_` only, never starting with a digit, never empty.
 * @example identifier("my.web-app") // "my_web_app"
 */
export function identifier(value: unknown): string {
  const id = (value instanceof UnsafeValue ? value.raw : str(value)).replace(/[^A-Za-z0-9_]/g, "_");
  return id === "" ? "_" : /^[0-9]/.test(id) ? `_${id}` : id;
}

/**
 * Like `identifier`, but two different values never give the same name: a value that is not an
 * identifier already gets `-` and a short hash of the original (an identifier never holds `-`).
 * For names that must stay unique and stable, such as HAProxy servers named after instance IDs.
 * @example uniqueId("web-1") // "web_1-76b7b71f"
 */
export function uniqueId(value: unknown): string {
  const raw = value instanceof UnsafeValue ? value.raw : str(value);
  const id = identifier(raw);
  return id === raw ? id : `${id}-${fnv1a(raw)}`;
}

/** 32-bit FNV-1a of the UTF-16 code units, as 8 hex digits: short, stable, and no crypto module to load. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** Groups service instances by tag: `{{#each (byTag (service "web"))}}{{@key}}…{{/each}}`. */
export function byTag(instances: unknown): Record<string, unknown[]> {
  const groups: Record<string, unknown[]> = {};
  for (const item of Array.isArray(instances) ? instances : []) {
    const tags = (item as { Tags?: unknown }).Tags;
    for (const tag of Array.isArray(tags) ? tags : []) (groups[str(tag)] ??= []).push(item);
  }
  return Object.fromEntries(Object.entries(groups).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export const textHelpers: Record<string, HelperFn> = {
  byTag: (...a) => byTag(args(a)[0]),
  join: (...a) => {
    const [list, sep = ","] = args(a);
    return (Array.isArray(list) ? list : []).map(str).join(str(sep));
  },
  split: (...a) => {
    const [text, sep = ","] = args(a);
    const s = str(text);
    return s === "" ? [] : s.split(str(sep));
  },
  contains: (...a) => {
    const [haystack, needle] = args(a);
    return Array.isArray(haystack) ? haystack.map(str).includes(str(needle)) : str(haystack).includes(str(needle));
  },
  eq: (...a) => args(a)[0] === args(a)[1],
  ne: (...a) => args(a)[0] !== args(a)[1],
  lt: (...a) => Number(args(a)[0]) < Number(args(a)[1]),
  le: (...a) => Number(args(a)[0]) <= Number(args(a)[1]),
  gt: (...a) => Number(args(a)[0]) > Number(args(a)[1]),
  ge: (...a) => Number(args(a)[0]) >= Number(args(a)[1]),
  and: (...a) => args(a).every((v) => !isEmpty(v)),
  or: (...a) => args(a).some((v) => !isEmpty(v)),
  not: (...a) => isEmpty(args(a)[0]),
  default: (...a) => {
    const [value, fallback] = args(a);
    return isEmpty(value) ? fallback : value;
  },
  toJSON: (...a) => JSON.stringify(args(a)[0] ?? null),
  env: (...a) => process.env[str(args(a)[0])] ?? "",
  replace: (...a) => {
    const [text, from, to] = args(a);
    return str(text).split(str(from)).join(str(to));
  },
  toLower: (...a) => str(args(a)[0]).toLowerCase(),
  toUpper: (...a) => str(args(a)[0]).toUpperCase(),
  trim: (...a) => str(args(a)[0]).trim(),
  hasPrefix: (...a) => str(args(a)[0]).startsWith(str(args(a)[1])),
  trimPrefix: (...a) => {
    const [text, prefix] = args(a).map(str) as [string, string];
    return text.startsWith(prefix) ? text.slice(prefix.length) : text;
  },
  /** Values of `key=value` style tags: `(tagValues Tags "path=")` → ["/api"]. */
  tagValues: (...a) => {
    const [tags, prefix] = args(a);
    const p = str(prefix);
    return (Array.isArray(tags) ? tags : []).map(str).filter((t) => t.startsWith(p)).map((t) => t.slice(p.length));
  },
  identifier: (...a) => identifier(boundedName(a)),
  uniqueId: (...a) => uniqueId(boundedName(a)),
  /** Opt-in: emits a value even when it holds control characters. */
  raw: (...a) => {
    const v = args(a)[0];
    return v instanceof UnsafeValue ? v.raw : v;
  },
};
