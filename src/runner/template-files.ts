/**
 * Watches the template files for edits: the one module that imports chokidar, loaded after the
 * first pass is under way (it is not on the way to the first file).
 */
import type { FSWatcher } from "chokidar";
import { readFile } from "node:fs/promises";

export class TemplateFiles {
  #watcher: FSWatcher | undefined;
  readonly #started: Promise<void>;
  #closed = false;

  /**
   * Calls `changed(path)` when a template file is edited or created again. `loadedText(path)` is
   * the text each was compiled from: an edit made before the watch is ready is caught by reading
   * every file once it is, and comparing.
   */
  constructor(paths: readonly string[], changed: (path: string) => void, loadedText: (path: string) => string | undefined) {
    this.#started = this.#start([...new Set(paths)], changed, loadedText);
  }

  async #start(paths: string[], changed: (path: string) => void, loadedText: (path: string) => string | undefined): Promise<void> {
    const { watch } = await import("chokidar");
    if (this.#closed) return;
    const watcher = watch(paths, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 10 } });
    this.#watcher = watcher;
    watcher.on("change", changed);
    watcher.on("add", changed);
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    for (const path of paths) {
      const text = await readFile(path, "utf8").catch(() => undefined);
      if (text !== undefined && text !== loadedText(path)) changed(path);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#started;
    await this.#watcher?.close();
  }
}
