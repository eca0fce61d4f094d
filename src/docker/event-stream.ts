import type { Logger } from "../observe/logger.js";
import { Backoff, systemClock, type Clock } from "../time.js";
import type { ContainerEvent, DockerEngine } from "./client.js";

export interface EventStreamHandlers {
  /** Every container event, in Docker's order. */
  event(event: ContainerEvent): void;
  /**
   * After the stream was reopened: containers may have started or died while it was down, so
   * the caller looks at all of them again. The stream resumes once this resolves.
   */
  resync(): Promise<void>;
}

/**
 * Docker's container events, followed for as long as the signal lives. registrator exits when
 * the stream drops; this reconnects with backoff, resumes from the last event seen, and asks for
 * a resync. `open` resolves once Docker accepted the first subscription, so a caller can
 * subscribe before it lists containers and miss nothing in between.
 */
export class ContainerEventStream {
  #connected: boolean | undefined;
  #lastNano: bigint | undefined;
  readonly #clock: Clock;
  readonly #onReconnect: (() => void) | undefined;

  constructor(
    private readonly docker: DockerEngine,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
    options: { readonly clock?: Clock; readonly onReconnect?: () => void } = {},
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#onReconnect = options.onReconnect;
  }

  /**
   * Subscribes (waiting for Docker as long as it takes), then follows in the background;
   * `following` ends when the signal aborts.
   */
  async open(handlers: EventStreamHandlers): Promise<{ following: Promise<void> }> {
    const first = await this.#subscribe();
    return { following: this.#follow(first, handlers) };
  }

  async #subscribe(): Promise<AsyncIterable<ContainerEvent>> {
    const backoff = new Backoff({ baseMs: 250, maxMs: 5_000 });
    const since = this.#lastNano === undefined ? undefined : Number(this.#lastNano / 1_000_000n) / 1000;
    for (;;) {
      try {
        const events = await this.docker.events(since, this.signal);
        if (this.#connected === false) this.logger.info("docker", "Docker event stream is back", { docker: this.docker.address });
        this.#connected = true;
        return events;
      } catch (error) {
        if (this.signal.aborted) throw error;
        if (this.#connected !== false) this.logger.warn("docker", "cannot reach Docker, retrying with backoff", { docker: this.docker.address, error: (error as Error).message });
        this.#connected = false;
        if (!(await this.#clock.sleep(backoff.failed(), this.signal))) throw error;
      }
    }
  }

  async #follow(first: AsyncIterable<ContainerEvent>, handlers: EventStreamHandlers): Promise<void> {
    let events = first;
    while (!this.signal.aborted) {
      try {
        for await (const event of events) {
          this.#lastNano = event.timeNano;
          this.logger.debug("docker", "event", { container: event.id.slice(0, 12), action: event.action });
          handlers.event(event);
        }
      } catch (error) {
        if (this.signal.aborted) return;
        this.logger.debug("docker", "event stream error", { error: (error as Error).message });
      }
      if (this.signal.aborted) return;
      this.logger.warn("docker", "Docker event stream ended, reconnecting", { docker: this.docker.address });
      this.#connected = false;
      try {
        events = await this.#subscribe();
        this.#onReconnect?.();
      } catch {
        return;
      }
      await handlers.resync();
    }
  }
}
