import { randomBytes } from "node:crypto";
import { chown, mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RenderWriteError } from "../errors.js";

export interface WriteResult {
  /** True when the file on disk now holds new contents. */
  readonly changed: boolean;
  /** What was there before (undefined when the file did not exist). */
  readonly previous: string | undefined;
  /** True when rename could not replace the file and it was rewritten in place. */
  readonly inPlace: boolean;
}

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

/**
 * Writes `contents` to `destination` only when they differ from what is there: temp file in the
 * same directory, fsync, rename. Keeps the existing file's mode and owner; creates missing
 * parents. Where rename cannot replace the destination (a single file bind-mounted into a
 * container: EBUSY or EXDEV), writes in place instead and says so in the result.
 */
export async function writeIfChanged(destination: string, contents: string): Promise<WriteResult> {
  const previous = await readIfExists(destination);
  if (previous === contents) return { changed: false, previous, inPlace: false };
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
    if (existing && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.())) {
      await chown(temp, existing.uid, existing.gid);
    }
    try {
      // The file's data is fsynced before the rename, so readers never see a partial file. The
      // directory is not: after a crash the old file may come back, and the next render fixes it.
      await rename(temp, destination);
      return { changed: true, previous, inPlace: false };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EBUSY" && code !== "EXDEV") throw error;
      await writeFile(destination, contents);
      return { changed: true, previous, inPlace: true };
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new RenderWriteError(`${destination}: cannot write (${code})`, { cause: error });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
