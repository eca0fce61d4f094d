import { runCommand, type CommandResult } from "../child/run-command.js";
import type { Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import { keepLastGood, restore, type Candidate } from "../render/write-file.js";

export interface CommandOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * Runs a `--check` command against a staged candidate: `{{candidate}}` in the command becomes
 * the candidate's path (shell-quoted), also given as $CONSULATE_CANDIDATE, with $CONSULATE_DESTINATION.
 */
export async function checkCandidate(command: string, candidate: Candidate, options: CommandOptions): Promise<CommandResult> {
  return runCommand(command.replaceAll("{{candidate}}", shellQuote(candidate.path)), {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    env: { CONSULATE_CANDIDATE: candidate.path, CONSULATE_DESTINATION: candidate.destination },
  });
}

/** A file this cycle replaced, with what it held before. */
export interface Swapped {
  readonly destination: string;
  readonly previous: string | undefined;
  readonly command: string | undefined;
}

/** The commands that reload a file: its own, then `--exec`. */
export function reloadCommandsOf(command: string | undefined, exec: string | undefined): string[] {
  return [command, exec].filter((c): c is string => c !== undefined);
}

export interface CommandsOutcome {
  /** Destinations restored to their previous contents because a reload failed. */
  readonly rolledBack: readonly string[];
  /** Commands that failed, timed out or were stopped (before any rerun after a rollback). */
  readonly failed: readonly string[];
}

function logResult(options: CommandOptions, command: string, result: CommandResult, what: string): void {
  options.metrics?.commands.inc({ result: result.ok ? "success" : result.timedOut ? "timeout" : "failure" });
  options.metrics?.commandSeconds.observe(result.durationMs / 1000);
  if (result.ok) options.logger.info("child", `${what} succeeded`, { command, ms: result.durationMs });
  else if (result.cancelled) options.logger.warn("child", `${what} stopped by shutdown: its process group was terminated`, { command, ms: result.durationMs });
  else if (result.timedOut) options.logger.error("child", `${what} timed out after ${options.timeoutMs} ms: its process group was killed`, { command, ms: result.durationMs, output: result.output });
  else options.logger.error("child", `${what} failed`, { command, exitCode: result.exitCode, ms: result.durationMs, output: result.output });
}

/**
 * Runs each template's own command once, then `exec` once, however many files changed. When a
 * command fails, the files it reloads are put back as they were and the command runs again, so
 * the service goes on with its last good configuration; the copy that did reload is kept on disk
 * as `<destination>.last-good`.
 */
export async function runCommands(swapped: readonly Swapped[], exec: string | undefined, options: CommandOptions): Promise<CommandsOutcome> {
  const rolledBack = new Set<string>();
  const failed = new Set<string>();
  const groups = new Map<string, Swapped[]>();
  for (const s of swapped) if (s.command) groups.set(s.command, [...(groups.get(s.command) ?? []), s]);
  if (exec && swapped.length > 0) groups.set(exec, [...(groups.get(exec) ?? []), ...swapped]);

  for (const [command, files] of groups) {
    const result = await runCommand(command, { timeoutMs: options.timeoutMs, signal: options.signal });
    logResult(options, command, result, "command");
    if (result.ok) continue;
    failed.add(command);
    if (options.signal.aborted) break;
    // A file that did not exist before has nothing to go back to: it stays (never deleted).
    const toRestore = files.filter((f): f is Swapped & { previous: string } => !rolledBack.has(f.destination) && f.previous !== undefined);
    if (toRestore.length === 0) {
      options.logger.warn("render", "reload failed and there is no previous file to restore: the new file stays", { command, files: files.map((f) => f.destination) });
      continue;
    }
    for (const file of toRestore) {
      await restore(file.destination, file.previous);
      rolledBack.add(file.destination);
    }
    options.logger.warn("render", "reload failed: previous files restored, running the command again", { command, restored: toRestore.map((f) => f.destination) });
    logResult(options, command, await runCommand(command, { timeoutMs: options.timeoutMs, signal: options.signal }), "command after rollback");
  }
  for (const file of swapped) {
    const reloadedBy = reloadCommandsOf(file.command, exec);
    if (!rolledBack.has(file.destination) && reloadedBy.length > 0 && !reloadedBy.some((c) => failed.has(c))) await keepLastGood(file.destination);
  }
  return { rolledBack: [...rolledBack], failed: [...failed] };
}
