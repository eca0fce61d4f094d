import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "./consul-agent.js";

const mainModule = join(repoRoot, "src/cli/main.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface LogLine {
  msg: string;
  component: string;
  [key: string]: unknown;
}

/** consulate's JSON log lines in a process's stderr, parsed. */
export function parseLogs(stderr: string): LogLine[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The consulate CLI as a user runs it, from source (tsx), in its own process. */
export class CliProcess {
  stdout = "";
  stderr = "";
  readonly exited: Promise<CliResult>;
  readonly child: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ["--import", "tsx", mainModule, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr?.on("data", (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr })));
  }

  /** Log lines (JSON, one per line) parsed. */
  logs(): LogLine[] {
    return parseLogs(this.stderr);
  }

  async waitForLog(predicate: (line: { msg: string; [key: string]: unknown }) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.logs().some(predicate)) return;
      if (this.child.exitCode !== null) throw new Error(`consulate exited (${this.child.exitCode}) before the log line appeared:\n${this.stderr}`);
      await sleep(25);
    }
    throw new Error(`log line did not appear in ${timeoutMs} ms:\n${this.stderr}`);
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<CliResult> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new CliProcess(args, env).exited;
}

/** Polls a file until `predicate` holds for its contents. */
export async function waitForFile(path: string, predicate: (contents: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = await readFile(path, "utf8").catch(() => "");
    if (predicate(last)) return last;
    await sleep(25);
  }
  throw new Error(`${path} did not reach the expected contents in ${timeoutMs} ms; last contents:\n${last}`);
}
