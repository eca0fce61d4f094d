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

function durationMs(text: string, fallback: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return fallback;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"] ?? 1000;
  return Number(m[1]) * unit;
}

/**
 * SERVICE_CHECK_* metadata → at most one Consul check for a service (registrator's model).
 * `address` and `port` are where the check reaches the service from the agent.
 */
export function planCheck(meta: ReadonlyMap<string, { value: string }>, serviceId: string, address: string, port: number): CheckPlan | undefined {
  const get = (key: string) => meta.get(key)?.value.trim() || undefined;
  const interval = get("check_interval") ?? "10s";
  const timeout = get("check_timeout");
  const timeoutMs = durationMs(timeout ?? "", 2_000);
  const common: CheckDefinition = { CheckID: `consulate:${serviceId}`, Name: "", Interval: interval, ...(timeout ? { Timeout: timeout } : {}) };
  const initial = get("check_initial_status");
  if (initial && initialStatuses.has(initial)) common.Status = initial as CheckDefinition["Status"];
  const deregisterAfter = get("check_deregister_after");
  if (deregisterAfter) common.DeregisterCriticalServiceAfter = deregisterAfter;
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
