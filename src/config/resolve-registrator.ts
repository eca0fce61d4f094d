import { hostname } from "node:os";
import { ConfigError } from "../errors.js";
import type { RegistratorOptions } from "./resolved.js";

/** registrator's flags as commander parsed them. */
export interface RegistratorFlags {
  docker?: string;
  ip?: string;
  internal?: boolean;
  network?: string;
  hostname?: string;
  tags?: string;
  explicit?: boolean;
  resync?: string;
  cleanup?: boolean;
  ttl?: string;
  ttlRefresh?: string;
  deregister?: string;
  deregisterOnStop?: boolean;
  retryAttempts?: string;
  retryInterval?: string;
  allowScriptChecks?: boolean;
}

export interface ResolvedRegistrator extends RegistratorOptions {
  readonly dockerAddress: string;
  /** Attempts to reach Consul at start-up; -1 = forever. */
  readonly retryAttempts: number;
  readonly retryIntervalMs: number;
}

function integer(text: string | undefined, option: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${option}: expected a whole number ≥ ${min}, got "${text}"`);
  return n;
}

export function resolveRegistratorConfig(flags: RegistratorFlags, env: NodeJS.ProcessEnv): ResolvedRegistrator {
  const deregister = flags.deregister ?? "always";
  if (deregister !== "always" && deregister !== "on-success") throw new ConfigError(`--deregister: expected always or on-success, got "${deregister}"`);
  const ttlSeconds = integer(flags.ttl, "--ttl", 0, 0);
  const ttlRefreshSeconds = integer(flags.ttlRefresh, "--ttl-refresh", Math.max(1, Math.floor(ttlSeconds / 2)), 1);
  if (ttlSeconds > 0 && ttlRefreshSeconds >= ttlSeconds) throw new ConfigError(`--ttl-refresh (${ttlRefreshSeconds}) must be shorter than --ttl (${ttlSeconds})`);
  if (flags.ip !== undefined && flags.ip.trim() === "") throw new ConfigError("--ip: expected an address");
  return Object.freeze({
    dockerAddress: flags.docker ?? env.DOCKER_HOST ?? "/var/run/docker.sock",
    hostname: flags.hostname ?? hostname(),
    ip: flags.ip,
    internal: flags.internal ?? false,
    network: flags.network,
    tags: (flags.tags ?? "").split(",").map((t) => t.trim()).filter(Boolean),
    explicit: flags.explicit ?? false,
    allowScriptChecks: flags.allowScriptChecks ?? false,
    ttlSeconds,
    ttlRefreshMs: ttlRefreshSeconds * 1000,
    resyncMs: integer(flags.resync, "--resync", 0, 0) * 1000,
    cleanup: flags.cleanup ?? false,
    deregister,
    deregisterOnStop: flags.deregisterOnStop ?? false,
    agentCheckMs: 5_000,
    retryAttempts: integer(flags.retryAttempts, "--retry-attempts", -1, -1),
    retryIntervalMs: integer(flags.retryInterval, "--retry-interval", 2000, 1),
  });
}
