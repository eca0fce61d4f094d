import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temporary folder for templates and outputs, removed at the end. */
export class WorkDir {
  private constructor(readonly path: string) {}

  static async create(): Promise<WorkDir> {
    return new WorkDir(await mkdtemp(join(tmpdir(), "consulate-test-")));
  }

  file(name: string): string {
    return join(this.path, name);
  }

  async write(name: string, contents: string): Promise<string> {
    const path = this.file(name);
    await writeFile(path, contents);
    return path;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}
