import { parseDuration } from "../config/duration.js";

/** A Consul agent check definition, as `/v1/agent/service/register` takes it. */
export interface CheckDefinition {
  CheckID: string;
  Name: string;
  HTTP?: string;
  TCP?: string;
  Args?: string[];
  TTL?: string;
  Interval?: string;
  Timeout?: string;
  TLSSkipVerify?: boolean;
  Status?: "passing" | "warning" | "critical";
  DeregisterCriticalServiceAfter?: string;
}

/** What consulate probes itself before registering, so a healthy container is passing at once. */
export type ProbeTarget = { kind: "http"; url: string; insecure: boolean; timeoutMs: number } | { kind: "tcp"; host: string; port: number; timeoutMs: number };

export interface CheckPlan {
  readonly check: CheckDefinition;
  readonly probe?: ProbeTarget;
}

const initialStatuses = new Set(["passing", "warning", "critical"]);

export interface CheckPolicy {
  /**
   * SERVICE_CHECK_SCRIPT makes the host's agent run a shell command that any container wrote:
   * refused unless the operator says so (`--allow-script-checks`).
   */
  readonly allowScriptChecks: boolean;
}

/** A duration as Consul reads it, or undefined (with a warning) when it is not one. */
function durationSetting(meta: ReadonlyMap<string, { value: string }>, key: string, warn: (message: string) => void): { text: string; ms: number } | undefined {
  const text = meta.get(key)?.value.trim();
  if (!text) return undefined;
  try {
    const ms = parseDuration(text, `SERVICE_${key.toUpperCase()}`);
    // Consul parses Go durations, which need a unit: a bare number means seconds, as here.
    return { text: /^\d+(\.\d+)?$/.test(text) ? `${text}s` : text, ms };
  } catch (error) {
    warn(`${(error as Error).message}; ignored`);
    return undefined;
  }
}

/**
 * SERVICE_CHECK_* metadata → at most one Consul check for a service (registrator's model).
 * `address` and `port` are where the check reaches the service from the agent. What cannot be
 * used as written (a bad duration, a script check without the operator's consent) is left out
 * and said through `warn`.
 */
export function planCheck(meta: ReadonlyMap<string, { value: string }>, serviceId: string, address: string, port: number, policy: CheckPolicy = { allowScriptChecks: false }, warn: (message: string) => void = () => undefined): CheckPlan | undefined {
  const get = (key: string) => meta.get(key)?.value.trim() || undefined;
  const interval = durationSetting(meta, "check_interval", warn)?.text ?? "10s";
  const timeout = durationSetting(meta, "check_timeout", warn);
  const timeoutMs = timeout?.ms ?? 2_000;
  const common: CheckDefinition = { CheckID: `consulate:${serviceId}`, Name: "", Interval: interval, ...(timeout ? { Timeout: timeout.text } : {}) };
  const initial = get("check_initial_status");
  if (initial && initialStatuses.has(initial)) common.Status = initial as CheckDefinition["Status"];
  else if (initial) warn(`SERVICE_CHECK_INITIAL_STATUS: expected passing, warning or critical, got ${JSON.stringify(initial.slice(0, 40))}; ignored`);
  const deregisterAfter = durationSetting(meta, "check_deregister_after", warn);
  if (deregisterAfter) common.DeregisterCriticalServiceAfter = deregisterAfter.text;
  const host = address.includes(":") ? `[${address}]` : address;

  const http = get("check_http");
  const https = get("check_https");
  if (http !== undefined || https !== undefined) {
    const scheme = https !== undefined ? "https" : "http";
    const path = (https ?? http ?? "/").replace(/^(?!\/)/, "/");
    const url = `${scheme}://${host}:${port}${path}`;
    const insecure = get("check_tls_skip_verify") === "true";
    return {
      check: { ...common, Name: `${scheme.toUpperCase()} ${path}`, HTTP: url, ...(insecure ? { TLSSkipVerify: true } : {}) },
      probe: common.Status ? undefined : { kind: "http", url, insecure, timeoutMs },
    };
  }
  if (get("check_tcp") !== undefined) {
    return { check: { ...common, Name: "TCP", TCP: `${host}:${port}` }, probe: common.Status ? undefined : { kind: "tcp", host: address, port, timeoutMs } };
  }
  const script = get("check_script");
  if (script !== undefined && !policy.allowScriptChecks) {
    warn("SERVICE_CHECK_SCRIPT refused: the agent would run a command the container chose (start consulate with --allow-script-checks to permit it); registered without this check");
    return undefined;
  }
  if (script !== undefined) {
    const command = script.replaceAll("$SERVICE_IP", address).replaceAll("$SERVICE_PORT", String(port));
    return { check: { ...common, Name: "script", Args: ["/bin/sh", "-c", command] } };
  }
  const ttl = get("check_ttl");
  if (ttl !== undefined) {
    const { Interval: _unused, Timeout: _t, ...rest } = common;
    return { check: { ...rest, Name: "TTL", TTL: ttl } };
  }
  return undefined;
}
