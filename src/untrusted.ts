import { RefusedValueError } from "./errors.js";

/**
 * Catalog data is untrusted: anyone who can register a service writes its name, tags and meta.
 * A string holding a control character (newline, carriage return, NUL, …) could inject lines into
 * a config file, so it reaches templates wrapped in an UnsafeValue, which refuses to become text:
 * it throws a RefusedValueError naming where the value came from, which leaves out the item being
 * iterated (or, with `--on-unsafe fail`, the whole render). This is the floor under templates that
 * print values bare; the context helpers (`hostname`, `address`, `port`, …) check far more.
 * `{{raw x}}` is the explicit opt-in; `toJSON` and `identifier` are safe and accept it.
 */
// C0 controls (tab included), DEL, C1 controls, and the Unicode line/paragraph separators.
const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export class UnsafeValue {
  constructor(
    readonly raw: string,
    readonly where: string,
  ) {}

  /** Why the value is refused. */
  reason(): string {
    const code = this.raw.codePointAt(this.raw.search(unsafe)) ?? 0;
    return `contains a control character (U+${code.toString(16).toUpperCase().padStart(4, "0")}); refusing to render it (use {{raw …}} to emit it anyway)`;
  }

  describe(): string {
    return `${this.where} ${this.reason()}`;
  }

  toString(): string {
    throw new RefusedValueError(this.reason(), undefined, this.where);
  }

  [Symbol.toPrimitive](): string {
    throw new RefusedValueError(this.reason(), undefined, this.where);
  }

  toJSON(): string {
    return this.raw;
  }
}

function hasUnsafe(value: unknown): boolean {
  if (typeof value === "string") return unsafe.test(value);
  if (Array.isArray(value)) return value.some(hasUnsafe);
  if (value && typeof value === "object" && !(value instanceof UnsafeValue)) {
    for (const key in value) if (hasUnsafe((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function label(item: unknown, index: number): string {
  if (item && typeof item === "object") {
    const o = item as Record<string, unknown>;
    for (const key of ["ID", "Key", "Name", "Node"]) if (typeof o[key] === "string" && !unsafe.test(o[key])) return `${key} "${o[key]}"`;
  }
  return `[${index}]`;
}

/**
 * Returns `data` with every string that holds a control character replaced by an UnsafeValue
 * naming `source` and the field. Values without one are returned as they are (same objects).
 */
export function markUnsafe<T>(data: T, source: string): T {
  // Almost all data is clean: a scan without building field paths decides whether to walk.
  if (!hasUnsafe(data)) return data;
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === "string") return unsafe.test(value) ? new UnsafeValue(value, `${source}: ${path || "value"}`) : value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        const next = walk(item, `${path}${path && !path.endsWith(" ") ? " " : ""}${label(item, i)}`);
        if (next !== item) (copy ??= [...(value as unknown[])])[i] = next;
      });
      return copy ?? value;
    }
    if (value && typeof value === "object" && !(value instanceof UnsafeValue)) {
      let copy: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(value)) {
        const next = walk(item, path ? `${path}, field ${key}` : `field ${key}`);
        if (next !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
      }
      return copy ?? value;
    }
    return value;
  };
  return walk(data, "") as T;
}
