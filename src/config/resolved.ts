import type { ConsulAddress } from "../consul/address.js";
import type { ListenAddress } from "../observe/status.js";
import type { ResolvedTls } from "../consul/tls.js";
import type { Quiescence } from "./duration.js";
import type { LogLevel } from "../observe/log-level.js";

/** A template with every path absolute and every default applied. */
export interface ResolvedTemplate {
  readonly source: string;
  readonly destination: string;
  readonly command: string | undefined;
  /** Validates the candidate before it replaces the destination; overrides the global one. */
  readonly check: string | undefined;
  /** An HAProxy config: instance changes go through this Runtime API socket instead of a reload. */
  readonly haproxy?: { readonly socket: string; readonly drainMs: number } | undefined;
}

export interface ResolvedConsul {
  readonly address: ConsulAddress;
  /** Never logged. */
  readonly token: string | undefined;
  /** Concurrent HTTP connections to the agent, at most. */
  readonly maxConnections: number;
  /** ACLs on and no token is a start-up error unless this says it is meant. */
  readonly allowAnonymous: boolean;
  readonly tls: ResolvedTls | undefined;
}

/** `consulate render`'s settings after flags, config file and environment were merged. Frozen. */
export interface ResolvedRenderConfig {
  readonly consul: ResolvedConsul;
  readonly templates: readonly ResolvedTemplate[];
  readonly exec: string | undefined;
  /** `--check`: run against each candidate file before it replaces its destination. */
  readonly check: string | undefined;
  readonly commandTimeoutMs: number;
  readonly wait: Quiescence;
  readonly once: boolean;
  readonly onceTimeoutMs: number;
  readonly dry: boolean;
  readonly maxStaleMs: number;
  /** Empty-file guard; undefined = off. */
  readonly guard: { readonly maxShrinkPercent: number; readonly holdMs: number } | undefined;
  readonly blockingWaitMs: number;
  /** What a value refused by a context helper does: leave its item out (skip) or stop the file (fail). */
  readonly onUnsafe: "skip" | "fail";
  /** Longest catalog value the context helpers accept (host names: 253). */
  readonly maxValueLength: number;
  /** `--listen`: where /metrics, /healthz, /readyz and /status are served. */
  readonly listen: ListenAddress | undefined;
  readonly log: { readonly level: LogLevel; readonly format: "json" | "text" };
}

/** How the registrator maps a container to services (registrator's SERVICE_* model). */
export interface ModelOptions {
  /** First part of every service ID. */
  readonly hostname: string;
  /** Address every service is registered with (`--ip`). */
  readonly ip: string | undefined;
  /** Register container IPs and exposed ports instead of published host ports. */
  readonly internal: boolean;
  /** Preferred network with --internal when a container is on several (`--network`). */
  readonly network: string | undefined;
  readonly tags: readonly string[];
  readonly explicit: boolean;
  /** `--ttl`: every service gets a TTL check of this many seconds that consulate keeps passing. */
  readonly ttlSeconds: number;
  /** `--allow-script-checks`: SERVICE_CHECK_SCRIPT from containers is registered (off: refused). */
  readonly allowScriptChecks: boolean;
}

export interface RegistratorOptions extends ModelOptions {
  /** Full resync period; 0 = off. */
  readonly resyncMs: number;
  /** Remove this host's services whose container no longer exists. */
  readonly cleanup: boolean;
  /** How often TTL checks are marked passing (with --ttl). */
  readonly ttlRefreshMs: number;
  /** On container exit: always deregister, or only when it exited with code 0. */
  readonly deregister: "always" | "on-success";
  /** Deregister everything this process registered when it stops. */
  readonly deregisterOnStop: boolean;
  /** How often the agent is compared with what we registered (agent restarts lose services). */
  readonly agentCheckMs: number;
}
