/** A container as consulate needs it: the parts of `docker inspect` the service model reads. */
export interface ContainerInfo {
  readonly id: string;
  /** Without Docker's leading slash. */
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** `8080/tcp`, `53/udp` — every exposed port. */
  readonly exposedPorts: readonly string[];
  /** Host bindings of published ports, by `port/proto`. */
  readonly publishedPorts: Readonly<Record<string, readonly { hostIp: string; hostPort: string }[]>>;
  readonly networkMode: string;
  /** IPv4 address of the container on each network it is attached to. */
  readonly networks: Readonly<Record<string, string>>;
  readonly running: boolean;
  readonly exitCode: number;
  /** Docker HEALTHCHECK state, when the image or run defines one. */
  readonly health: "starting" | "healthy" | "unhealthy" | undefined;
}

interface RawInspect {
  Id: string;
  Name: string;
  Config: { Image: string; Env: string[] | null; Labels: Record<string, string> | null; ExposedPorts: Record<string, object> | null };
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null; Networks: Record<string, { IPAddress: string }> | null };
  State: { Running: boolean; ExitCode: number; Health?: { Status: string } };
}

/** Maps `docker inspect` JSON to ContainerInfo. */
export function toContainerInfo(raw: unknown): ContainerInfo {
  const c = raw as RawInspect;
  const env: Record<string, string> = {};
  for (const entry of c.Config.Env ?? []) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const publishedPorts: Record<string, { hostIp: string; hostPort: string }[]> = {};
  for (const [port, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    if (bindings && bindings.length > 0) publishedPorts[port] = bindings.map((b) => ({ hostIp: b.HostIp, hostPort: b.HostPort }));
  }
  const health = c.State.Health?.Status;
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    image: c.Config.Image,
    env,
    labels: c.Config.Labels ?? {},
    exposedPorts: Object.keys({ ...(c.Config.ExposedPorts ?? {}), ...(c.NetworkSettings.Ports ?? {}) }).sort(),
    publishedPorts,
    networkMode: c.HostConfig.NetworkMode,
    networks: Object.fromEntries(Object.entries(c.NetworkSettings.Networks ?? {}).map(([name, n]) => [name, n.IPAddress])),
    running: c.State.Running,
    exitCode: c.State.ExitCode,
    health: health === "starting" || health === "healthy" || health === "unhealthy" ? health : undefined,
  };
}
