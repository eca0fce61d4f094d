import { ConsulRequestError } from "../errors.js";

/** A request that got no HTTP answer at all (refused, reset, timed out): the agent is unreachable. */
export function isUnreachable(error: unknown): boolean {
  return !(error instanceof ConsulRequestError) || error.statusCode === undefined;
}

/**
 * Whether the agent answers, as the last request found: each transition is said once (not at
 * every retry), so the callers log only what `answered` and `unreachable` report as new.
 */
export class Reachability {
  #reachable: boolean | undefined;

  /** undefined before the first request ended. */
  get reachable(): boolean | undefined {
    return this.#reachable;
  }

  /** Records an answer; true when it ends an outage. */
  answered(): boolean {
    const back = this.#reachable === false;
    this.#reachable = true;
    return back;
  }

  /** Records a request that got no answer; true when it begins an outage. */
  unreachable(): boolean {
    const began = this.#reachable !== false;
    this.#reachable = false;
    return began;
  }
}
