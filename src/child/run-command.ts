import { closeSync, openSync, readSync, fstatSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The one module that imports `execa` (on first use: a renderer without commands never loads it). */

export interface CommandResult {
  readonly ok: boolean;
  readonly exitCode: number | undefined;
  readonly timedOut: boolean;
  /** Ended by the caller's signal (shutdown), not by its own failure. */
  readonly cancelled: boolean;
  /** stdout and stderr interleaved, trimmed, at most ~4 KiB (the tail). */
  readonly output: string;
  readonly durationMs: number;
}

export interface RunCommandOptions {
  readonly timeoutMs: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** After SIGTERM to the command's process group, how long before SIGKILL. */
  readonly killGraceMs?: number;
}

const maxOutput = 4096;

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // A negative pid addresses the whole process group the command leads.
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until no process of the group is left; SIGKILLs the group at `deadline` (performance.now() ms). */
async function groupGone(pid: number | undefined, deadline: number): Promise<void> {
  while (groupAlive(pid)) {
    if (performance.now() >= deadline) {
      signalGroup(pid, "SIGKILL");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function readTail(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  const size = fstatSync(fd).size;
  const length = Math.min(size, maxOutput * 4);
  const buffer = Buffer.alloc(length);
  readSync(fd, buffer, 0, length, size - length);
  closeSync(fd);
  const all = buffer.toString("utf8").trim();
  return all.length > maxOutput ? `…${all.slice(-maxOutput)}` : all;
}

/**
 * Runs a command through the shell, as consul-template does; never throws for a failing command.
 *
 * The command leads a process group of its own: at the timeout, or when `signal` aborts, the whole
 * group gets SIGTERM and, `killGraceMs` later, SIGKILL, so `sh -c 'sleep 1000'` leaves no orphan.
 * Its output goes to a temp file, not a pipe: a grandchild that daemonizes while holding
 * the command's stdout (nginx, haproxy -D) cannot keep us waiting for end-of-file.
 */
export async function runCommand(command: string, { timeoutMs, env, signal, killGraceMs = 2_000 }: RunCommandOptions): Promise<CommandResult> {
  const started = performance.now();
  // Unguessable in a shared /tmp; node:crypto is loaded here, not at start-up (≈ 20 ms).
  const { randomBytes } = await import("node:crypto");
  const path = join(tmpdir(), `consulate-command-${randomBytes(6).toString("hex")}.log`);
  // Created first, private (command output may hold secrets), and only then opened by the child.
  closeSync(openSync(path, "wx", 0o600));
  // Both streams append to one file, so their lines interleave as the command wrote them.
  const output = { file: path, append: true } as const;
  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  let terminatedAt = 0;
  try {
    const { execa } = await import("execa");
    const subprocess = execa(command, { shell: true, reject: false, detached: true, cleanup: false, env, stdin: "ignore", stdout: output, stderr: output });
    const terminate = () => {
      terminatedAt ||= performance.now();
      signalGroup(subprocess.pid, "SIGTERM");
      killTimer ??= setTimeout(() => signalGroup(subprocess.pid, "SIGKILL"), killGraceMs);
    };
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, timeoutMs);
    const onAbort = () => {
      cancelled = true;
      terminate();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    const result = await subprocess;
    clearTimeout(timeoutTimer);
    signal?.removeEventListener("abort", onAbort);
    // The shell may be gone while a member of its group ignores SIGTERM: wait out the grace for it.
    if (timedOut || cancelled) await groupGone(subprocess.pid, terminatedAt + killGraceMs);
    clearTimeout(killTimer);
    return {
      ok: !result.failed && !timedOut && !cancelled,
      exitCode: result.exitCode,
      timedOut,
      cancelled,
      output: readTail(path),
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    rmSync(path, { force: true });
  }
}
