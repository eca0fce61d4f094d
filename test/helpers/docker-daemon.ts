import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);
export const testImage = "consulate-test/busybox:1.0";
let bridgeCounter = 0;

/**
 * A real Docker engine of the test file's own (Debian's docker.io): its own socket, data root and
 * bridge, published ports bound to 127.0.0.1 and no iptables rules, so test files run in parallel
 * and one test can restart "its" dockerd. Images come from `docker import` of a busybox-static root.
 */
export class DockerDaemon {
  #process: ChildProcess | undefined;
  #log = "";

  private constructor(
    readonly dir: string,
    readonly bridge: string,
    readonly subnet: string,
  ) {}

  static async create(): Promise<DockerDaemon> {
    if (!existsSync("/usr/sbin/dockerd")) throw new Error("dockerd is missing: run scripts/setup.sh");
    const dir = await mkdtemp(join(tmpdir(), "consulate-dockerd-"));
    const n = (process.pid * 7 + bridgeCounter++) % 250;
    const bridge = `csl${process.pid % 10000}x${bridgeCounter}`;
    const subnet = `172.30.${n}`;
    // A bridge left by a killed run of a process with the same pid would make `add` fail.
    await run("ip", ["link", "del", bridge]).catch(() => undefined);
    await run("ip", ["link", "add", "name", bridge, "type", "bridge"]);
    await run("ip", ["addr", "add", `${subnet}.1/24`, "dev", bridge]);
    await run("ip", ["link", "set", bridge, "up"]);
    const daemon = new DockerDaemon(dir, bridge, subnet);
    await daemon.start();
    await daemon.importImage();
    return daemon;
  }

  get socket(): string {
    return join(this.dir, "docker.sock");
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  get log(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    this.#process = spawn(
      "dockerd",
      ["--host", this.host, "--data-root", join(this.dir, "data"), "--exec-root", join(this.dir, "exec"), "--pidfile", join(this.dir, "docker.pid"),
        "--bridge", this.bridge, "--iptables=false", "--ip6tables=false", "--ip", "127.0.0.1", "--storage-driver", "overlay2"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const append = (c: Buffer) => (this.#log = (this.#log + c.toString()).slice(-20_000));
    this.#process.stdout?.on("data", append);
    this.#process.stderr?.on("data", append);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.#process.exitCode !== null) throw new Error(`dockerd exited:\n${this.#log}`);
      try {
        await this.docker("version", "--format", "{{.Server.Version}}");
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`dockerd did not start:\n${this.#log}`);
  }

  /** Stops dockerd (SIGTERM, as a restart would), which stops its containers. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }

  async docker(...args: string[]): Promise<string> {
    const { stdout } = await run("docker", ["--host", this.host, ...args], { timeout: 60_000 });
    return stdout.trim();
  }

  /** A root file system of busybox-static with the applets the tests use, imported as testImage. */
  async importImage(): Promise<void> {
    const root = join(this.dir, "rootfs");
    await mkdir(join(root, "bin"), { recursive: true });
    await mkdir(join(root, "www"), { recursive: true });
    await mkdir(join(root, "tmp"), { recursive: true, mode: 0o1777 });
    await copyFile("/bin/busybox", join(root, "bin/busybox"));
    for (const applet of ["sh", "httpd", "sleep", "nc", "echo", "cat", "true", "false", "hostname", "wget"]) await symlink("busybox", join(root, "bin", applet));
    await writeFile(join(root, "www/index.html"), "ok\n");
    await run("sh", ["-c", `tar -C ${root} -c . | docker --host ${this.host} import - ${testImage}`]);
  }

  /** `docker run -d …` → container ID. */
  async runContainer(...args: string[]): Promise<string> {
    return this.docker("run", "-d", ...args);
  }

  async hostPort(container: string, port: string): Promise<number> {
    const out = await this.docker("port", container, port);
    return Number(out.split("\n")[0]!.split(":").at(-1));
  }

  /** Removes every container of this daemon. */
  async removeAllContainers(): Promise<void> {
    const ids = (await this.docker("ps", "-aq")).split("\n").filter(Boolean);
    if (ids.length > 0) await this.docker("rm", "-f", ...ids);
  }

  async close(): Promise<void> {
    await this.removeAllContainers().catch(() => undefined);
    await this.stop();
    await run("ip", ["link", "del", this.bridge]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
