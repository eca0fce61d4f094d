/**
 * What a value may be in each syntactic place of a config file. A catalog value (service name,
 * tag, meta, address, KV value) is attacker-controlled: `}`, `;`, spaces, `#` or a keyword change
 * HAProxy or nginx structure while `haproxy -c` / `nginx -t` still accept the file. So each place
 * accepts only what is valid there, and everything else is refused, never "cleaned up".
 *
 * Pure functions: each returns the text to emit or throws RefusedValueError with the reason.
 */
import { isIPv4, isIPv6 } from "node:net";
import { RefusedValueError } from "../errors.js";

/** RFC 1123: at most 253 characters in all. */
export const maxHostnameLength = 253;
/** Bound for every other context unless the user sets another (`--max-value-length`). */
export const defaultMaxValueLength = 1024;

// RFC 1123 labels, and `_`: service names often hold one (`my_service`), and it means nothing
// to HAProxy or nginx, where this lands. Nothing else outside letters, digits and inner hyphens.
const label = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;
// A URL path prefix: unreserved characters, `/`, percent-escapes and a few sub-delimiters that
// mean nothing to HAProxy or nginx. No quotes, spaces, `;`, `{`, `}`, `#`, `$`, `\`, `*`, `?`.
const pathPattern = /^\/(?:[A-Za-z0-9._~/+=:@,-]|%[0-9A-Fa-f]{2})*$/;

function show(value: string): string {
  const text = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return JSON.stringify(text);
}

function bounded(value: string, max: number, what: string): void {
  if (value.length > max) throw new RefusedValueError(`${what} is ${value.length} characters long, more than ${max}`);
}

/**
 * An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens (and `_`),
 * ASCII only (so no Unicode look-alikes), 253 characters at most. A trailing dot is refused.
 * @example checkHostname("web.example.com") // "web.example.com"
 */
export function checkHostname(value: string): string {
  bounded(value, maxHostnameLength, "a host name");
  if (value === "" || !value.split(".").every((part) => label.test(part))) {
    throw new RefusedValueError(`${show(value)} is not a host name (RFC 1123: letters, digits, '-', '_' and '.')`);
  }
  return value;
}

/**
 * An IPv4 or IPv6 address, or a host name. IPv6 comes back in brackets, so that
 * `{{address Address}}:{{port Port}}` is valid in HAProxy and nginx alike.
 * @example checkAddress("::1") // "[::1]"
 */
export function checkAddress(value: string): string {
  if (isIPv4(value)) return value;
  const bare = value.replace(/^\[(.*)\]$/, "$1");
  if (isIPv6(bare) && !bare.includes("%")) return `[${bare}]`;
  try {
    return checkHostname(value);
  } catch {
    throw new RefusedValueError(`${show(value)} is not an IP address or host name`);
  }
}

/**
 * A TCP/UDP port: a whole number from 1 to 65535 (a number, or a string of digits).
 * @example checkPort("8080") // "8080"
 */
export function checkPort(value: unknown): string {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value : "";
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new RefusedValueError(`${typeof value === "string" ? show(value) : String(value)} is not a port (1 to 65535)`);
  }
  return String(Number(text));
}

/**
 * A URL path prefix: starts with `/`, then letters, digits, `._~/+=:@,-` and `%XX` escapes.
 * @example checkPath("/api/v2") // "/api/v2"
 */
export function checkPath(value: string, max = defaultMaxValueLength): string {
  bounded(value, max, "a path");
  if (!pathPattern.test(value)) throw new RefusedValueError(`${show(value)} is not a URL path prefix (/ then letters, digits, ._~/+=:@,- or %XX)`);
  return value;
}

/**
 * An identifier as it is: letters, digits, `_`, `-` and `.`, starting with a letter or `_`.
 * (`identifier` maps any string to one instead; this one refuses what is not one already.)
 * @example checkIdentifier("web_1") // "web_1"
 */
export function checkIdentifier(value: string, max = defaultMaxValueLength): string {
  bounded(value, max, "an identifier");
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(value)) throw new RefusedValueError(`${show(value)} is not an identifier (a letter or _, then letters, digits, _ - .)`);
  return value;
}

/**
 * A double-quoted string for HAProxy and nginx: `"` and `\` are escaped with a backslash; control
 * characters are refused, and so is `$`, which both expand inside double quotes (`${ENV}`, `$var`).
 * @example quoteString('say "hi"') // "\"say \\\"hi\\\"\""
 */
export function quoteString(value: string, max = defaultMaxValueLength): string {
  bounded(value, max, "a quoted string");
  const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.exec(value);
  if (control) throw new RefusedValueError(`${show(value)} contains a control character (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")})`);
  if (value.includes("$")) throw new RefusedValueError(`${show(value)} contains '$', which HAProxy and nginx expand inside quotes`);
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}
