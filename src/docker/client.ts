import Docker from "dockerode";
import { toContainerInfo, type ContainerInfo } from "./container.js";
import { LineSplitter } from "./line-splitter.js";

/** The one module that imports `dockerode`. */

export interface ContainerEvent {
  readonly id: string;
  /** `start`, `die`, `destroy`, `health_status`… */
  readonly action: string;
  /** For health_status: healthy or unhealthy. */
  readonly health?: string;
  /** Nanoseconds since the epoch, for resuming the stream with `since`. */
  readonly timeNano: bigint;
}

/** What the registrator needs from a Docker engine, in our own terms. */
export interface DockerEngine {
  ping(signal?: AbortSignal): Promise<void>;
  /** IDs of running containers. */
  runningContainers(signal?: AbortSignal): Promise<string[]>;
  /** undefined when the container no longer exists. */
  inspect(id: string, signal?: AbortSignal): Promise<ContainerInfo | undefined>;
  /**
   * Opens the container event stream from `since` (seconds, fractional) on. Resolves once Docker
   * has accepted the subscription, so a caller can subscribe before it lists containers.
   */
  events(since: number | undefined, signal: AbortSignal): Promise<AsyncIterable<ContainerEvent>>;
  readonly address: string;
}

export function parseDockerAddress(text: string): { socketPath: string } | { host: string; port: number; protocol: "http" | "https" } {
  if (text.startsWith("unix://")) return { socketPath: text.slice("unix://".length) };
  if (text.startsWith("/")) return { socketPath: text };
  const url = new URL(text.replace(/^tcp:/, "http:"));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === "https:" ? "https" : "http" };
}

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string };
  timeNano?: number;
  time?: number;
}

export class DockerodeEngine implements DockerEngine {
  readonly #docker: Docker;

  constructor(readonly address: string) {
    this.#docker = new Docker(parseDockerAddress(address));
  }

  async ping(signal?: AbortSignal): Promise<void> {
    // dockerode's ping takes options at run time; its type declarations only know the callback.
    await (this.#docker.ping as unknown as (opts: object) => Promise<unknown>)({ abortSignal: signal });
  }

  async runningContainers(signal?: AbortSignal): Promise<string[]> {
    const list = await this.#docker.listContainers({ abortSignal: signal } as object);
    return list.map((c) => c.Id);
  }

  async inspect(id: string, signal?: AbortSignal): Promise<ContainerInfo | undefined> {
    try {
      return toContainerInfo(await this.#docker.getContainer(id).inspect({ abortSignal: signal } as object));
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  }

  async events(since: number | undefined, signal: AbortSignal): Promise<AsyncIterable<ContainerEvent>> {
    const stream = await this.#docker.getEvents({
      ...(since === undefined ? {} : { since }),
      filters: { type: ["container"], event: ["start", "die", "destroy", "health_status"] },
      abortSignal: signal,
    } as Docker.GetEventsOptions);
    return readEvents(stream as AsyncIterable<Buffer> & { destroy?: () => void });
  }
}

async function* readEvents(stream: AsyncIterable<Buffer> & { destroy?: () => void }): AsyncIterable<ContainerEvent> {
  const splitter = new LineSplitter();
  const parse = (line: string): ContainerEvent | undefined => {
    const raw = JSON.parse(line) as RawEvent;
    const action = raw.Action ?? raw.status ?? "";
    const id = raw.Actor?.ID ?? raw.id;
    if (!id || !action) return undefined;
    const [verb = action, health] = action.split(": ");
    const timeNano = raw.timeNano === undefined ? BigInt(raw.time ?? 0) * 1_000_000_000n : BigInt(raw.timeNano);
    return { id, action: verb, ...(health ? { health } : {}), timeNano };
  };
  try {
    for await (const chunk of stream) {
      for (const line of splitter.push(chunk)) {
        const event = parse(line);
        if (event) yield event;
      }
    }
    for (const line of splitter.flush()) {
      const event = parse(line);
      if (event) yield event;
    }
  } finally {
    stream.destroy?.();
  }
}
