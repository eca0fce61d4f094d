import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { durationValue, parseWait, type Quiescence } from "./duration.js";
import { loadConfigFile, type LoadedConfig } from "./load-file.js";
import { resolveCommon, type CommonFlags } from "./resolve-common.js";
import type { ResolvedRenderConfig, ResolvedTemplate } from "./resolved.js";
import type { RenderFileConfig } from "./schema.js";
import { parseTemplateSpec } from "./template-spec.js";

/** What the user wrote on the command line (commander's parsed flags). */
export interface RenderFlags extends CommonFlags {
  template?: string[];
  exec?: string;
  check?: string;
  config?: string;
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
  onUnsafe?: string;
  haproxySocket?: string;
  haproxyDrain?: string;
  maxValueLength?: string;
}

type Where = LoadedConfig<RenderFileConfig>["where"];

/**
 * Consul allows 200 connections per client address (`http_max_conns_per_client`). 180 leaves
 * room for a registrator on the same host (16) and the CLI: up to 160 services are each a
 * blocking query of their own. Past that, 40 keep theirs and the rest share the probe pool.
 * Consul 1.8 keeps a blocking query's connection until the query returns, even after the client
 * has gone: a restarted consulate finds its predecessor's queries still there, and the watches
 * the agent then refuses share the pool until those have ended (the watcher's `#refuse`).
 */
export const defaultMaxConnections = 180;

/** How long a server that left may finish its requests in HAProxy before it is deleted. */
const defaultDrainMs = 10_000;

/** The flag if given, else the config file's key (named with its line), else the fallback. */
function durationSetting(flag: string | undefined, flagName: string, fileValue: string | number | undefined, where: Where, key: string, fallback: number): number {
  if (flag !== undefined) return durationValue(flag, flagName);
  return fileValue === undefined ? fallback : durationValue(fileValue, where(key));
}

function resolveWait(flag: string | undefined, file: RenderFileConfig["wait"], where: Where): Quiescence {
  if (flag !== undefined) return parseWait(flag);
  if (file === undefined) return { minMs: 0, maxMs: 0 };
  if (typeof file === "string") return parseWait(file, where("wait"));
  const minMs = durationValue(file.min, where("wait", "min"));
  const maxMs = file.max === undefined ? minMs * 4 : durationValue(file.max, where("wait", "max"));
  if (maxMs < minMs) throw new ConfigError(`${where("wait", "max")}: max (${file.max}) must not be less than min (${file.min})`);
  return { minMs, maxMs };
}

function resolveGuard(flags: RenderFlags, file: RenderFileConfig, where: Where): ResolvedRenderConfig["guard"] {
  if (flags.guardShrink === undefined) return file.guard ? { maxShrinkPercent: file.guard.maxShrinkPercent, holdMs: durationValue(file.guard.hold, where("guard", "hold")) } : undefined;
  const maxShrinkPercent = Number(flags.guardShrink);
  if (!Number.isFinite(maxShrinkPercent) || maxShrinkPercent < 0 || maxShrinkPercent > 100) {
    throw new ConfigError(`--guard-shrink: expected a percentage from 0 to 100, got "${flags.guardShrink}"`);
  }
  return { maxShrinkPercent, holdMs: flags.guardHold === undefined ? 30_000 : durationValue(flags.guardHold, "--guard-hold") };
}

function resolveOnUnsafe(flag: string | undefined, file: RenderFileConfig["onUnsafe"]): "skip" | "fail" {
  const value = flag ?? file ?? "skip";
  if (value !== "skip" && value !== "fail") throw new ConfigError(`--on-unsafe: expected skip or fail, got "${value}"`);
  return value;
}

function resolveMaxValueLength(flag: string | undefined, file: number | undefined): number {
  const value = flag === undefined ? (file ?? 1024) : Number(flag);
  if (!Number.isInteger(value) || value < 16 || value > 65_536) throw new ConfigError(`--max-value-length: expected a whole number from 16 to 65536, got "${flag}"`);
  return value;
}

/**
 * Merges flags over the config file over the environment over defaults, validates every value
 * and returns frozen settings with absolute paths and durations in ms.
 */
export async function resolveRenderConfig(flags: RenderFlags, env: NodeJS.ProcessEnv, cwd: string, isTTY: boolean): Promise<ResolvedRenderConfig> {
  const loaded: LoadedConfig<RenderFileConfig> = flags.config ? await loadConfigFile(flags.config, (await import("./schema.js")).renderFileSchema) : { data: {}, where: (...path) => path.join(".") };
  const { data: file, where } = loaded;
  const fileDir = flags.config ? resolve(cwd, flags.config, "..") : cwd;

  const flagDrainMs = flags.haproxyDrain === undefined ? defaultDrainMs : durationValue(flags.haproxyDrain, "--haproxy-drain");
  const templates: ResolvedTemplate[] = [
    ...(file.templates ?? []).map((t, i) => ({
      source: resolve(fileDir, t.source),
      destination: resolve(fileDir, t.destination),
      command: t.command,
      check: t.check,
      haproxy: t.haproxySocket === undefined ? undefined : { socket: resolve(fileDir, t.haproxySocket), drainMs: t.haproxyDrain === undefined ? flagDrainMs : durationValue(t.haproxyDrain, where("templates", i, "haproxyDrain")) },
    })),
    ...(flags.template ?? []).map(parseTemplateSpec).map((t) => ({
      source: resolve(cwd, t.source),
      destination: resolve(cwd, t.destination),
      command: t.command,
      check: undefined,
      haproxy: flags.haproxySocket === undefined ? undefined : { socket: resolve(cwd, flags.haproxySocket), drainMs: flagDrainMs },
    })),
  ];
  if (templates.length === 0) throw new ConfigError("no templates: give at least one --template <source>:<destination>[:<command>] (or templates in --config)");

  const { connection, listen, log } = resolveCommon(flags, { consul: file.consul, listen: file.listen, logLevel: file.logLevel, logFormat: file.logFormat, where }, env, isTTY);
  const maxConnections = flags.maxConnections === undefined ? (file.consul?.maxConnections ?? defaultMaxConnections) : Number(flags.maxConnections);
  if (!Number.isInteger(maxConnections) || maxConnections < 4 || maxConnections > 190) {
    throw new ConfigError(`--max-connections: expected a whole number from 4 to 190 (Consul allows 200 per client IP), got "${flags.maxConnections}"`);
  }

  return Object.freeze({
    consul: Object.freeze({ ...connection, maxConnections }),
    templates: Object.freeze(templates.map((t) => Object.freeze(t))),
    exec: flags.exec ?? file.exec,
    check: flags.check ?? file.check,
    commandTimeoutMs: durationSetting(flags.commandTimeout, "--command-timeout", file.commandTimeout, where, "commandTimeout", 30_000),
    wait: resolveWait(flags.wait, file.wait, where),
    once: flags.once ?? false,
    onceTimeoutMs: durationSetting(flags.onceTimeout, "--once-timeout", file.onceTimeout, where, "onceTimeout", 60_000),
    dry: flags.dry ?? false,
    maxStaleMs: durationSetting(flags.maxStale, "--max-stale", file.maxStale, where, "maxStale", 0),
    guard: resolveGuard(flags, file, where),
    blockingWaitMs: durationSetting(flags.blockingWait, "--blocking-wait", file.blockingWait, where, "blockingWait", 60_000),
    onUnsafe: resolveOnUnsafe(flags.onUnsafe, file.onUnsafe),
    maxValueLength: resolveMaxValueLength(flags.maxValueLength, file.maxValueLength),
    listen,
    log,
  });
}
