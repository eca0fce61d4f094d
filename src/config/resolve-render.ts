import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import type { LogLevel } from "../observe/logger.js";
import { parseConsulAddress } from "./consul-address.js";
import { parseDuration, parseWait, type Quiescence } from "./duration.js";
import { loadConfigFile } from "./load-file.js";
import type { ResolvedRenderConfig, ResolvedTemplate } from "./resolved.js";
import { renderFileSchema, type RenderFileConfig } from "./schema.js";
import { parseTemplateSpec } from "./template-spec.js";

/** What the user wrote on the command line (commander's parsed flags). */
export interface RenderFlags {
  template?: string[];
  exec?: string;
  check?: string;
  config?: string;
  consul?: string;
  token?: string;
  tokenFile?: string;
  wait?: string;
  once?: boolean;
  onceTimeout?: string;
  dry?: boolean;
  maxStale?: string;
  guardShrink?: string;
  guardHold?: string;
  maxConnections?: string;
  commandTimeout?: string;
  blockingWait?: string;
  logLevel?: string;
  logFormat?: string;
}

const durationOf = (value: string | number | undefined, option: string, fallback: number): number =>
  value === undefined ? fallback : typeof value === "number" ? value * 1000 : parseDuration(value, option);

function readToken(file: string, option: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new ConfigError(`${option}: cannot read token file ${file} (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
}

function resolveWait(flag: string | undefined, file: RenderFileConfig["wait"]): Quiescence {
  if (flag !== undefined) return parseWait(flag);
  if (file === undefined) return { minMs: 0, maxMs: 0 };
  if (typeof file === "string") return parseWait(file, "wait");
  const minMs = durationOf(file.min, "wait.min", 0);
  return { minMs, maxMs: durationOf(file.max, "wait.max", minMs * 4) };
}

function resolveGuard(flags: RenderFlags, file: RenderFileConfig): ResolvedRenderConfig["guard"] {
  if (flags.guardShrink === undefined) return file.guard ? { maxShrinkPercent: file.guard.maxShrinkPercent, holdMs: durationOf(file.guard.hold, "guard.hold", 0) } : undefined;
  const maxShrinkPercent = Number(flags.guardShrink);
  if (!Number.isFinite(maxShrinkPercent) || maxShrinkPercent < 0 || maxShrinkPercent > 100) {
    throw new ConfigError(`--guard-shrink: expected a percentage from 0 to 100, got "${flags.guardShrink}"`);
  }
  return { maxShrinkPercent, holdMs: durationOf(flags.guardHold, "--guard-hold", 30_000) };
}

function resolveLogLevel(value: string | undefined): LogLevel {
  const level = value ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) throw new ConfigError(`--log-level: expected debug, info, warn or error, got "${level}"`);
  return level as LogLevel;
}

/**
 * Merges flags over the config file over the environment over defaults, validates every value
 * and returns frozen settings with absolute paths and durations in ms.
 */
export async function resolveRenderConfig(flags: RenderFlags, env: NodeJS.ProcessEnv, cwd: string, isTTY: boolean): Promise<ResolvedRenderConfig> {
  const file: RenderFileConfig = flags.config ? await loadConfigFile(flags.config, renderFileSchema) : {};
  const fileDir = flags.config ? resolve(cwd, flags.config, "..") : cwd;

  const templates: ResolvedTemplate[] = [
    ...(file.templates ?? []).map((t) => ({ source: resolve(fileDir, t.source), destination: resolve(fileDir, t.destination), command: t.command, check: t.check })),
    ...(flags.template ?? []).map(parseTemplateSpec).map((t) => ({ source: resolve(cwd, t.source), destination: resolve(cwd, t.destination), command: t.command, check: undefined })),
  ];
  if (templates.length === 0) throw new ConfigError("no templates: give at least one --template <source>:<destination>[:<command>] (or templates in --config)");

  const addressText = flags.consul ?? file.consul?.address ?? env.CONSUL_HTTP_ADDR ?? "127.0.0.1:8500";
  const tokenFile = flags.tokenFile ?? file.consul?.tokenFile ?? env.CONSUL_HTTP_TOKEN_FILE;
  const token = flags.token ?? file.consul?.token ?? (tokenFile ? readToken(tokenFile, "--token-file") : undefined) ?? env.CONSUL_HTTP_TOKEN;
  const maxConnections = flags.maxConnections === undefined ? (file.consul?.maxConnections ?? 48) : Number(flags.maxConnections);
  if (!Number.isInteger(maxConnections) || maxConnections < 4 || maxConnections > 190) {
    throw new ConfigError(`--max-connections: expected a whole number from 4 to 190 (Consul allows 200 per client IP), got "${flags.maxConnections}"`);
  }
  const format = flags.logFormat ?? file.logFormat ?? (isTTY ? "text" : "json");
  if (format !== "json" && format !== "text") throw new ConfigError(`--log-format: expected json or text, got "${format}"`);

  return Object.freeze({
    consul: Object.freeze({ address: parseConsulAddress(addressText), token: token || undefined, maxConnections }),
    templates: Object.freeze(templates.map((t) => Object.freeze(t))),
    exec: flags.exec ?? file.exec,
    check: flags.check ?? file.check,
    commandTimeoutMs: durationOf(flags.commandTimeout ?? file.commandTimeout, "--command-timeout", 30_000),
    wait: resolveWait(flags.wait, file.wait),
    once: flags.once ?? false,
    onceTimeoutMs: durationOf(flags.onceTimeout ?? file.onceTimeout, "--once-timeout", 60_000),
    dry: flags.dry ?? false,
    maxStaleMs: durationOf(flags.maxStale ?? file.maxStale, "--max-stale", 0),
    guard: resolveGuard(flags, file),
    blockingWaitMs: durationOf(flags.blockingWait ?? file.blockingWait, "--blocking-wait", 60_000),
    log: Object.freeze({ level: resolveLogLevel(flags.logLevel ?? file.logLevel), format }),
  });
}
