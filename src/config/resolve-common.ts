import { ConfigError } from "../errors.js";
import { logLevels, type LogLevel } from "../observe/log-level.js";
import type { ListenAddress } from "../observe/status.js";
import { parseListen } from "./listen.js";
import { resolveConsulConnection, type ConsulFileSettings, type ConsulFlags, type ResolvedConsulConnection } from "./resolve-consul.js";

/** The flags every long-running command takes: the Consul connection, logging, `--listen`. */
export interface CommonFlags extends ConsulFlags {
  logLevel?: string;
  logFormat?: string;
  listen?: string;
}

/** The same settings from a config file; `where` names a key's file and line. */
export interface CommonFileSettings {
  readonly consul?: Omit<ConsulFileSettings, "where">;
  readonly logLevel?: string;
  readonly logFormat?: string;
  readonly listen?: string;
  where?(...path: string[]): string;
}

export interface ResolvedCommon {
  readonly connection: ResolvedConsulConnection;
  readonly listen: ListenAddress | undefined;
  readonly log: { readonly level: LogLevel; readonly format: "json" | "text" };
}

/** The first value given, with where it came from: the flag, else the config file's key. */
function pick(flag: string | undefined, flagName: string, file: string | undefined, fileKey: string): [string, string] | undefined {
  if (flag !== undefined) return [flag, flagName];
  return file === undefined ? undefined : [file, fileKey];
}

/**
 * Resolves the shared flags over the config file over the environment, for `render` and
 * `registrator` alike. Errors name where the bad value came from (`--listen`,
 * `consulate.yaml:3: listen`, `CONSUL_HTTP_ADDR`).
 */
export function resolveCommon(flags: CommonFlags, file: CommonFileSettings, env: NodeJS.ProcessEnv, isTTY: boolean): ResolvedCommon {
  const where = (...path: string[]) => file.where?.(...path) ?? path.join(".");
  const connection = resolveConsulConnection(flags, { ...file.consul, where: (key) => where("consul", key) }, env);

  const [level, levelSource] = pick(flags.logLevel, "--log-level", file.logLevel, where("logLevel")) ?? ["info", "the default"];
  if (!(logLevels as readonly string[]).includes(level)) throw new ConfigError(`${levelSource}: expected debug, info, warn or error, got "${level}"`);
  const [format, formatSource] = pick(flags.logFormat, "--log-format", file.logFormat, where("logFormat")) ?? [isTTY ? "text" : "json", "the default"];
  if (format !== "json" && format !== "text") throw new ConfigError(`${formatSource}: expected json or text, got "${format}"`);

  const listenText = pick(flags.listen, "--listen", file.listen, where("listen"));
  const listen = listenText ? parseListen(...listenText) : undefined;
  return { connection, listen, log: Object.freeze({ level: level as LogLevel, format }) };
}
