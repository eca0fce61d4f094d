import { execa } from "execa";

/** The one module that imports `execa`. */

export interface CommandResult {
  readonly ok: boolean;
  readonly exitCode: number | undefined;
  readonly timedOut: boolean;
  /** stdout and stderr interleaved, trimmed, at most ~4 KiB (the tail). */
  readonly output: string;
  readonly durationMs: number;
}

export interface RunCommandOptions {
  readonly timeoutMs: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

const maxOutput = 4096;

/** Runs a command through the shell, as consul-template does; never throws for a failing command. */
export async function runCommand(command: string, { timeoutMs, env, signal }: RunCommandOptions): Promise<CommandResult> {
  const started = performance.now();
  const result = await execa(command, {
    shell: true,
    reject: false,
    all: true,
    timeout: timeoutMs,
    cancelSignal: signal,
    forceKillAfterDelay: 2_000,
    env,
    stdin: "ignore",
  });
  const all = (result.all ?? "").trim();
  return {
    ok: !result.failed,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    output: all.length > maxOutput ? `…${all.slice(-maxOutput)}` : all,
    durationMs: Math.round(performance.now() - started),
  };
}
