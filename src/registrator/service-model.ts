import type { ModelOptions } from "../config/resolved.js";
import type { ContainerInfo } from "../docker/container.js";
import { planCheck, type CheckDefinition, type ProbeTarget } from "./checks.js";
import { portMetadata, splitTags } from "./metadata.js";

/** One Consul service, as consulate registers it on the local agent. */
export interface ServiceDefinition {
  ID: string;
  Name: string;
  Address: string;
  Port: number;
  Tags: string[];
  Meta: Record<string, string>;
  Checks: CheckDefinition[];
}

export interface PlannedService {
  readonly definition: ServiceDefinition;
  /** Checks consulate probes once before registering, to register them in their real state. */
  readonly probes: ReadonlyMap<string, ProbeTarget>;
}

export const managedBy = "consulate";
/** A container publishing more ports than this gets its first ones registered, and a warning. */
export const maxServicesPerContainer = 100;
/** Consul's own limit on a meta value; longer ones make the whole registration fail. */
const maxMetaValueLength = 512;
const maxNameLength = 255;
const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why a name, ID or tag from container metadata cannot be used, or undefined. */
function badText(value: string, max: number): string | undefined {
  if (control.test(value)) return "contains a control character";
  if (value.length > max) return `is ${value.length} characters long, more than ${max}`;
  return undefined;
}

const shown = (value: string) => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
const reservedKeys = new Set(["name", "tags", "id", "ignore", "network"]);
const metaKeyPattern = /^[a-z0-9_-]{1,128}$/;

/**
 * The image's base name, without registry, path, tag or digest.
 * @example imageBaseName("registry:5000/team/redis:7@sha256:ab") // "redis"
 */
export function imageBaseName(image: string): string {
  const withoutDigest = image.split("@")[0] ?? image;
  const base = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  return base.split(":")[0] || "service";
}

interface Port {
  /** `8080`, or `53` for `53/udp`. */
  readonly exposed: string;
  readonly protocol: string;
  readonly hostIp: string;
  readonly hostPort: string;
}

function portsOf(container: ContainerInfo, options: ModelOptions): Port[] {
  const hostNetwork = container.networkMode === "host";
  const ports: Port[] = [];
  for (const key of container.exposedPorts) {
    const [exposed = "", protocol = "tcp"] = key.split("/");
    const binding = container.publishedPorts[key]?.[0];
    if (options.internal || hostNetwork) ports.push({ exposed, protocol, hostIp: "", hostPort: exposed });
    else if (binding) ports.push({ exposed, protocol, hostIp: binding.hostIp, hostPort: binding.hostPort });
  }
  return ports;
}

/** With --internal: the container's address on the chosen network, chosen the same way every time. */
function internalAddress(container: ContainerInfo, options: ModelOptions): string {
  const wanted = container.labels.SERVICE_NETWORK ?? container.env.SERVICE_NETWORK ?? options.network;
  if (wanted && container.networks[wanted]) return container.networks[wanted];
  const names = Object.keys(container.networks).sort();
  return names.map((n) => container.networks[n]).find((ip) => ip) ?? "";
}

function hostAddress(port: Port, options: ModelOptions): string {
  if (options.ip) return options.ip;
  // A specific bind address is where the service answers; 0.0.0.0 / :: leave it to the agent.
  return port.hostIp && port.hostIp !== "0.0.0.0" && port.hostIp !== "::" ? port.hostIp : "";
}

export interface DerivedServices {
  readonly services: PlannedService[];
  /** What in the container's metadata was refused or ignored, one sentence each. */
  readonly warnings: string[];
}

/**
 * Derives the Consul services of one running container: one per published port (registrator's
 * SERVICE_* model). Pure: the same container and options always give the same services.
 * Container metadata is untrusted (any image can set any env or label): names, IDs, tags and meta
 * that Consul or a config file could choke on are refused with a warning, never passed through.
 */
export function deriveServices(container: ContainerInfo, options: ModelOptions): DerivedServices {
  const warnings: string[] = [];
  let ports = portsOf(container, options);
  if (ports.length > maxServicesPerContainer) {
    warnings.push(`publishes ${ports.length} ports; only the first ${maxServicesPerContainer} (by port number) are registered`);
    ports = [...ports].sort((a, b) => Number(a.exposed) - Number(b.exposed) || a.protocol.localeCompare(b.protocol)).slice(0, maxServicesPerContainer);
  }
  const several = ports.length > 1;
  const planned: PlannedService[] = [];
  for (const port of ports) {
    const meta = portMetadata(container.env, container.labels, port.exposed);
    const value = (key: string) => meta.get(key)?.value;
    if (value("ignore")) continue;
    const name = meta.get("name");
    if (options.explicit && !name?.value) continue;
    const warn = (message: string) => warnings.push(`port ${port.exposed}: ${message}`);

    const defaultName = imageBaseName(container.image);
    const serviceName = name?.value || (several ? `${defaultName}-${port.exposed}` : defaultName);
    const nameProblem = badText(serviceName, maxNameLength);
    if (nameProblem) {
      warn(`SERVICE_NAME ${shown(serviceName)} ${nameProblem}; this port is not registered`);
      continue;
    }
    const udp = port.protocol === "udp" ? ":udp" : "";
    let customId = value("id");
    const idProblem = customId === undefined ? undefined : badText(customId, maxNameLength);
    if (customId !== undefined && idProblem) {
      warn(`SERVICE_ID ${shown(customId)} ${idProblem}; the default ID is used`);
      customId = undefined;
    }
    const id = customId ? (several && !meta.get("id")?.fromPort ? `${customId}:${port.exposed}${udp}` : customId) : `${options.hostname}:${container.name}:${port.exposed}${udp}`;
    const address = options.internal ? internalAddress(container, options) : hostAddress(port, options);
    const portNumber = Number(options.internal ? port.exposed : port.hostPort);

    const serviceMeta: Record<string, string> = {};
    for (const [key, { value: v }] of meta) {
      if (reservedKeys.has(key) || key.startsWith("check_") || !metaKeyPattern.test(key) || key.startsWith("consul")) continue;
      const problem = badText(v, maxMetaValueLength);
      if (problem) warn(`SERVICE_${key.toUpperCase()} ${problem}; left out of the service's meta`);
      else serviceMeta[key] = v;
    }
    Object.assign(serviceMeta, { "managed-by": managedBy, "consulate-host": options.hostname, "consulate-container": container.id.slice(0, 12) });

    const checks: CheckDefinition[] = [];
    const probes = new Map<string, ProbeTarget>();
    // Checks run on the agent beside the container: an unspecified address is reached on loopback.
    const plan = planCheck(meta, id, address || "127.0.0.1", portNumber, options, warn);
    if (plan) {
      checks.push(plan.check);
      if (plan.probe) probes.set(plan.check.CheckID, plan.probe);
    }
    if (options.ttlSeconds > 0) checks.push({ CheckID: `consulate:${id}:ttl`, Name: "consulate TTL", TTL: `${options.ttlSeconds}s`, Status: "passing" });
    if (container.health) {
      const status = container.health === "healthy" ? "passing" : container.health === "unhealthy" ? "critical" : "warning";
      checks.push({ CheckID: `consulate:${id}:docker-health`, Name: "Docker HEALTHCHECK", TTL: "87600h", Status: status });
    }

    planned.push({
      definition: {
        ID: id,
        Name: serviceName,
        Address: address,
        Port: portNumber,
        Tags: [...new Set([...acceptedTags(splitTags(value("tags")), warn), ...options.tags])],
        Meta: serviceMeta,
        Checks: checks,
      },
      probes,
    });
  }
  return { services: planned, warnings };
}

/** The services only, for callers that do not report warnings. */
export function servicesFor(container: ContainerInfo, options: ModelOptions): PlannedService[] {
  return deriveServices(container, options).services;
}

function acceptedTags(tags: string[], warn: (message: string) => void): string[] {
  return tags.filter((tag) => {
    const problem = badText(tag, maxNameLength);
    if (problem) warn(`tag ${shown(tag)} ${problem}; left out`);
    return !problem;
  });
}
