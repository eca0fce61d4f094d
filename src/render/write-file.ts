import { randomBytes } from "node:crypto";
import { chown, copyFile, mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RenderWriteError } from "../errors.js";

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RenderWriteError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
}

/** A temp file beside the destination, so the final rename stays on one file system. */
export function tempPathFor(destination: string): string {
  return join(dirname(destination), `.${basename(destination)}.consulate-${randomBytes(4).toString("hex")}.tmp`);
}

function writeError(destination: string, error: unknown): RenderWriteError {
  return new RenderWriteError(`${destination}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
}

/**
 * New contents staged beside their destination: written, fsynced, with the destination's mode
 * and owner, but not yet in place. A check command can read it at `path`; then `commit()` renames
 * it over the destination, or `discard()` removes it and leaves the destination untouched.
 */
export class Candidate {
  #done = false;
  constructor(
    readonly destination: string,
    readonly path: string,
    readonly contents: string,
    /** What the destination held before (undefined when it did not exist). */
    readonly previous: string | undefined,
  ) {}

  /** Puts the candidate in place. Returns true when rename was refused and the file was rewritten in place. */
  async commit(): Promise<boolean> {
    if (this.#done) throw new Error("candidate already committed or discarded");
    this.#done = true;
    try {
      // The file's data is fsynced before the rename, so readers never see a partial file. The
      // directory is not: after a crash the old file may come back, and the next render fixes it.
      await rename(this.path, this.destination);
      return false;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A single file bind-mounted into a container cannot be replaced by rename.
      if (code !== "EBUSY" && code !== "EXDEV") throw writeError(this.destination, error);
      await writeFile(this.destination, this.contents).catch((e: unknown) => {
        throw writeError(this.destination, e);
      });
      return true;
    } finally {
      await unlink(this.path).catch(() => undefined);
    }
  }

  async discard(): Promise<void> {
    this.#done = true;
    await unlink(this.path).catch(() => undefined);
  }
}

/** Stages `contents` for `destination`; undefined when the destination already holds them. */
export async function stageWrite(destination: string, contents: string): Promise<Candidate | undefined> {
  const previous = await readIfExists(destination);
  if (previous === contents) return undefined;
  const existing = previous === undefined ? undefined : await stat(destination).catch(() => undefined);
  const mode = existing ? existing.mode & 0o7777 : 0o644;
  const temp = tempPathFor(destination);
  try {
    await mkdir(dirname(destination), { recursive: true });
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(contents);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (existing && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.())) await chown(temp, existing.uid, existing.gid);
    return new Candidate(destination, temp, contents, previous);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw writeError(destination, error);
  }
}

/** Writes only when the contents differ: stage, then commit. */
export async function writeIfChanged(destination: string, contents: string): Promise<{ changed: boolean; inPlace: boolean }> {
  const candidate = await stageWrite(destination, contents);
  if (!candidate) return { changed: false, inPlace: false };
  return { changed: true, inPlace: await candidate.commit() };
}

/** Puts `previous` back. Never deletes: a destination that had no previous contents is the caller's to keep. */
export async function restore(destination: string, previous: string): Promise<void> {
  await writeIfChanged(destination, previous);
}

/** Keeps a copy of the last contents that passed check and reload: `<destination>.last-good`. */
export async function keepLastGood(destination: string): Promise<void> {
  await copyFile(destination, `${destination}.last-good`).catch(() => undefined);
}
