import { chownSync, closeSync, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, type Stats } from "node:fs";
import { copyFile, readFile, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RenderWriteError } from "../errors.js";

function readFailed(path: string, error: unknown): string | undefined {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw new RenderWriteError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
}

export async function readIfExists(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch((error: unknown) => readFailed(path, error));
}

function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    return readFailed(path, error);
  }
}

let staged = 0;

/**
 * A temp file beside the destination, so the final rename stays on one file system. Unique by
 * process and count (it is created exclusively), with a random part against a leftover of an
 * earlier process with the same PID; not node:crypto, which costs ≈ 20 ms to load.
 */
export function tempPathFor(destination: string): string {
  const unique = `${process.pid.toString(36)}${(++staged).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return join(dirname(destination), `.${basename(destination)}.consulate-${unique}.tmp`);
}

function writeError(destination: string, error: unknown): RenderWriteError {
  return new RenderWriteError(`${destination}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
}

/**
 * What consulate last put at a destination, and the identity of the file holding it. While the
 * destination is still that file (same inode, size and mtime), its contents are known without
 * reading it back; anything else (an edit, a rollback, a rename over it) is read afresh.
 */
export interface Written {
  readonly contents: string;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

function isWritten(file: Stats, written: Written | undefined): written is Written {
  return written !== undefined && file.ino === written.ino && file.size === written.size && file.mtimeMs === written.mtimeMs;
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
    /** The staged file's identity, which a rename keeps. */
    readonly written: Written,
  ) {}

  /** Puts the candidate in place. Returns true when rename was refused and the file was rewritten in place. */
  async commit(): Promise<boolean> {
    if (this.#done) throw new Error("candidate already committed or discarded");
    this.#done = true;
    let renamed = false;
    try {
      // The file's data is fsynced before the rename, so readers never see a partial file. The
      // directory is not: after a crash the old file may come back, and the next render fixes it.
      renameSync(this.path, this.destination);
      renamed = true;
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
      // Renamed, the temp file is gone; otherwise it must not stay behind.
      if (!renamed) await unlink(this.path).catch(() => undefined);
    }
  }

  async discard(): Promise<void> {
    this.#done = true;
    await unlink(this.path).catch(() => undefined);
  }
}

/** Creates `temp` (exclusively) with `mode`, and the destination's folder when it is missing. */
function openTemp(temp: string, mode: number): number {
  try {
    return openSync(temp, "wx", mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    mkdirSync(dirname(temp), { recursive: true });
    return openSync(temp, "wx", mode);
  }
}

function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RenderWriteError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
}

/**
 * Stages `contents` for `destination`; undefined when the destination already holds them.
 * `last` is what this process wrote there before: while the file is unchanged, not read again.
 *
 * The file calls are synchronous on purpose. Each asynchronous one is a round trip through
 * libuv's thread pool, which on a busy 2-core machine cost ≈ 1 ms apiece (measured: stat, open,
 * write, fsync took 4.7 ms in all); done in place, the staging of a config file takes a fraction
 * of a millisecond, and it is the one thing the process is waiting for.
 */
export async function stageWrite(destination: string, contents: string, last?: Written): Promise<Candidate | undefined> {
  const existing = statIfExists(destination);
  const previous = existing === undefined ? undefined : isWritten(existing, last) ? last.contents : readTextIfExists(destination);
  if (previous === contents) return undefined;
  const mode = existing ? existing.mode & 0o7777 : 0o644;
  const temp = tempPathFor(destination);
  try {
    const fd = openTemp(temp, mode);
    let file: Stats;
    try {
      writeFileSync(fd, contents);
      file = fstatSync(fd);
      // The umask may have narrowed the mode open() was given.
      if ((file.mode & 0o7777) !== mode) fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (existing && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.())) chownSync(temp, existing.uid, existing.gid);
    return new Candidate(destination, temp, contents, previous, { contents, ino: file.ino, size: file.size, mtimeMs: file.mtimeMs });
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
