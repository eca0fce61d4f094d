import { CommandFailedError, RenderWriteError } from "../errors.js";
import { logMs, type Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import { stageWrite, type Candidate } from "../render/write-file.js";
import type { Clock } from "../time.js";
import { checkCandidate } from "./commands.js";
import type { TemplateState } from "./template-state.js";

export interface PublishOptions {
  /** `--check` for templates without their own. */
  readonly check: string | undefined;
  readonly commandTimeoutMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
  readonly clock: Pick<Clock, "now">;
}

export type Published =
  | { readonly result: "written" | "unchanged" }
  /** Shutdown stopped the check: nothing was wrong with the file. */
  | { readonly result: "cancelled" }
  /** The check refused the candidate; the destination is untouched. */
  | { readonly result: "refused"; readonly why: string; readonly error: CommandFailedError }
  /** The file could not be written (full disk, permissions…); the old one stays. */
  | { readonly result: "write-failed"; readonly error: RenderWriteError };

/**
 * Puts rendered contents at a template's destination: stage next to it, run the check against
 * the candidate, rename it into place. Records on `t` what was written (and what it replaced,
 * for rollback); `changedAt` is when the change arrived, for the log's timing fields.
 */
export async function publish(t: TemplateState, contents: string, changedAt: number | undefined, options: PublishOptions): Promise<Published> {
  const { logger, clock } = options;
  const destination = t.spec.destination;
  let candidate: Candidate | undefined;
  try {
    const writing = clock.now();
    candidate = await stageWrite(destination, contents, t.written);
    const staged = clock.now();
    if (!candidate) {
      logger.debug("render", "unchanged, not written", { destination });
      return { result: "unchanged" };
    }
    const check = t.spec.check ?? options.check;
    if (check) {
      const result = await checkCandidate(check, candidate, { timeoutMs: options.commandTimeoutMs, signal: options.signal, logger });
      if (!result.ok) {
        await candidate.discard();
        if (result.cancelled) return { result: "cancelled" };
        const why = `check failed (${result.timedOut ? "timed out" : `exit ${result.exitCode ?? "?"}`})`;
        options.metrics?.checkFailures.inc({ template: destination });
        logger.error("render", "check failed: destination untouched, no reload", { destination, command: check, exitCode: result.exitCode, timedOut: result.timedOut || undefined, output: result.output });
        return { result: "refused", why, error: new CommandFailedError(`--once: the check refused ${destination} (${why}); the file was not written`) };
      }
    }
    const committing = clock.now();
    const inPlace = await candidate.commit();
    const done = clock.now();
    t.written = inPlace ? undefined : candidate.written;
    t.previous = candidate.previous;
    t.output = contents;
    // Where the time went, from the answer that changed the data to the file in place.
    const timing = { renderMs: logMs(t.lastPassMs), writeMs: logMs(staged - writing + done - committing), sinceChangeMs: changedAt === undefined ? undefined : logMs(done - changedAt) };
    logger.info("render", inPlace ? "rendered (rename refused, wrote in place)" : "rendered", { destination, bytes: contents.length, ...timing });
    return { result: "written" };
  } catch (error) {
    if (!(error instanceof RenderWriteError)) throw error;
    await candidate?.discard();
    return { result: "write-failed", error };
  }
}
