/**
 * What the status endpoint reads, defined here as small interfaces: the renderer and the
 * registrator implement them, and observe/ imports neither.
 */

/** One value a template left out, as the log, /status and the status page show it. */
export interface Refusal {
  /** The item it was found in: `service "web" instance "web-1"`, or the template when outside any. */
  readonly where: string;
  readonly field: string;
  readonly reason: string;
}

/** The last change of an HAProxy config (with --haproxy-socket): through the Runtime API, or by reload and why. */
export interface RuntimeStatus {
  readonly at: string;
  readonly result: "applied" | "reload";
  /** Runtime API operations applied (servers added, removed, updated). */
  readonly operations: number;
  readonly reason: string | undefined;
}

/** One template as the status endpoint shows it. */
export interface TemplateStatus {
  readonly source: string;
  readonly destination: string;
  readonly rendered: boolean;
  readonly lastRenderAt: string | undefined;
  readonly lastError: string | undefined;
  readonly missing: readonly string[];
  /** Values refused by a context helper and left out of the file. */
  readonly refused: readonly Refusal[];
  /** Services the template reads that the catalog does not list (or hides from this token). */
  readonly notInCatalog: readonly string[];
  readonly dependencies: readonly { description: string; index: number; hasData: boolean; instances: number | undefined }[];
  readonly runtime?: RuntimeStatus | undefined;
}

export interface RendererStatus {
  /** Whether the last answer from Consul came through; undefined before the first. */
  readonly reachable: boolean | undefined;
  /** Live watches (blocking queries and probed dependencies). */
  readonly watchCount: number;
  templates(): TemplateStatus[];
}

export interface RegisteredService {
  readonly ID: string;
  readonly Name: string;
  readonly Address: string;
  readonly Port: number;
}

export interface RegistratorStatus {
  /** A permission Consul refuses the registrator, or undefined. */
  problem(): string | undefined;
  /** What is registered now, by container ID. */
  registered(): ReadonlyMap<string, readonly RegisteredService[]>;
}

export interface ConsulConnectionStatus {
  readonly address: string;
  readonly connectionCount: number;
}

/** Where `--listen` serves. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function formatListen({ host, port }: ListenAddress): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
