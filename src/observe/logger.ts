import { pino, type Logger as PinoLogger } from "pino";
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

export function createLogger({ level, format, destination = process.stderr }: LoggerOptions): Logger {
  if (format === "json") return fromPino(pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination));
  const threshold = logLevels.indexOf(level);
  const write = (lvl: LogLevel) => (component: Component, message: string, fields: Fields = {}) => {
    if (logLevels.indexOf(lvl) < threshold) return;
    const context = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" && !/\s|"/.test(v) ? v : JSON.stringify(v)}`)
      .join(" ");
    destination.write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${component}: ${message}${context ? ` ${context}` : ""}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

function fromPino(p: PinoLogger): Logger {
  const write = (lvl: LogLevel) => (component: Component, message: string, fields: Fields = {}) => p[lvl]({ component, ...fields }, message);
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A logger that drops everything (library use, tests that do not read logs). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

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
