import { inspect } from "node:util";
import { logLevels, type LogLevel } from "./log-level.js";

export type Component = "cli" | "runner" | "watch" | "render" | "template" | "child" | "registrator" | "docker" | "consul" | "haproxy";
export type Fields = Record<string, unknown>;

/** One line per event, with the component and structured context. Tokens are never passed in. */
export interface Logger {
  debug(component: Component, message: string, fields?: Fields): void;
  info(component: Component, message: string, fields?: Fields): void;
  warn(component: Component, message: string, fields?: Fields): void;
  error(component: Component, message: string, fields?: Fields): void;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: "json" | "text";
  /** Where lines go; stderr by default so stdout stays free for --dry diffs. */
  readonly destination?: NodeJS.WritableStream;
}

/** pino's level numbers, so that log shippers configured for pino read these lines as they are. */
const levelNumbers: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** A value JSON cannot hold (a BigInt, a cycle) is written as Node shows it, rather than losing the line. */
function jsonLine(entry: Record<string, unknown>): string {
  try {
    return JSON.stringify(entry);
  } catch {
    const safe = (v: unknown) => {
      try {
        JSON.stringify(v);
        return v;
      } catch {
        return inspect(v, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
      }
    };
    return JSON.stringify(Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, safe(v)])));
  }
}

/**
 * JSON lines (`{"level":30,"time":"…","component":"…",…,"msg":"…"}`, pino's shape) or text
 * lines, each written whole with one write: stderr is synchronous on Linux for files, pipes and
 * terminals, so a line is out before the process can exit. (pino did this for us; it took
 * ≈ 33 ms to load on every start, a tenth of a first render at everyday scale.)
 */
export function createLogger({ level, format, destination = process.stderr }: LoggerOptions): Logger {
  const threshold = logLevels.indexOf(level);
  const write = (lvl: LogLevel) => (component: Component, message: string, fields: Fields = {}) => {
    if (logLevels.indexOf(lvl) < threshold) return;
    const time = new Date().toISOString();
    if (format === "json") {
      destination.write(`${jsonLine({ level: levelNumbers[lvl], time, component, ...fields, msg: message })}\n`);
      return;
    }
    const context = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" && !/\s|"/.test(v) ? v : JSON.stringify(v)}`)
      .join(" ");
    destination.write(`${time} ${lvl.toUpperCase().padEnd(5)} ${component}: ${message}${context ? ` ${context}` : ""}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

export interface RecentEvent {
  readonly time: string;
  readonly level: LogLevel;
  readonly component: Component;
  readonly message: string;
  readonly fields: Fields;
}

/** Wraps a logger and keeps its last `size` info-or-worse lines for the status page. */
export function recordingLogger(inner: Logger, size = 50): { logger: Logger; recent: () => RecentEvent[] } {
  const events: RecentEvent[] = [];
  const wrap = (level: LogLevel) => (component: Component, message: string, fields: Fields = {}) => {
    inner[level](component, message, fields);
    if (level === "debug") return;
    events.push({ time: new Date().toISOString(), level, component, message, fields });
    if (events.length > size) events.shift();
  };
  return { logger: { debug: wrap("debug"), info: wrap("info"), warn: wrap("warn"), error: wrap("error") }, recent: () => [...events].reverse() };
}

function redact(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") return secrets.reduce((text, secret) => text.split(secret).join("[redacted]"), value);
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, secrets)]));
  return value;
}

/**
 * Replaces every occurrence of a secret (the ACL token) in messages and fields with
 * `[redacted]`: a failing command may print its environment or a curl line with the token.
 */
export function redactingLogger(inner: Logger, secrets: readonly (string | undefined)[]): Logger {
  const known = secrets.filter((s): s is string => typeof s === "string" && s.length >= 4);
  if (known.length === 0) return inner;
  const wrap = (level: LogLevel) => (component: Component, message: string, fields: Fields = {}) =>
    inner[level](component, redact(message, known) as string, redact(fields, known) as Fields);
  return { debug: wrap("debug"), info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
}

/** A duration for a log line: milliseconds to one decimal. */
export function logMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
