import type { ConsulAddress } from "./consul-address.js";
import type { ListenAddress } from "./listen.js";
import type { ResolvedTls } from "./resolve-tls.js";
import type { Quiescence } from "./duration.js";
import type { LogLevel } from "../observe/logger.js";

/** A template with every path absolute and every default applied. */
export interface ResolvedTemplate {
  readonly source: string;
  readonly destination: string;
  readonly command: string | undefined;
  /** Validates the candidate before it replaces the destination; overrides the global one. */
  readonly check: string | undefined;
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
