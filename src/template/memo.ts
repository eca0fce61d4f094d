/**
 * Incremental rendering: the output of each `#each` item is kept from one render to the next and
 * used again while nothing it was made from has changed, so a render costs what changed, not
 * the size of the catalog (one instance added to one of 5,000 services re-renders that service).
 *
 * Why this stays correct: an item's output is a pure function of
 *   - the item and every enclosing item (the same objects: the watcher keeps the identity of data
 *     that did not change), with their places (`@index`, `@key`, `@first`, `@last`);
 *   - the context the iteration was called in (`this` there, which `../` reads);
 *   - the data its body looked up (`service`, `key`, …), compared by identity as well.
 * Every helper is a pure function of its arguments (`env` reads an environment fixed for the
 * process's life). A kept item is checked against all of that before it is used; any difference,
 * and it renders again. Refusals found while rendering an item are replayed when it is reused, so
 * reports and `--on-unsafe` behave the same either way.
 */
import type { RefusedValueError } from "../errors.js";
import type { DataKind, DataScope } from "./scope.js";

/**
 * One enclosing iteration step: the item and what of its place the position does not fix (entries
 * are kept by position, which fixes @index and @first; an object's @key and @last can differ).
 */
interface Level {
  readonly value: unknown;
  readonly key: string | number;
  readonly last: boolean;
}

interface LookupRecord {
  readonly kind: DataKind;
  readonly arg: string;
  readonly options: Readonly<Record<string, string>>;
  readonly ready: boolean;
  readonly data: unknown;
}

interface Entry {
  /** Every enclosing item, outermost first, then this one. */
  readonly levels: readonly Level[];
  readonly self: unknown;
  readonly lookups: LookupRecord[];
  readonly refusals: RefusedValueError[];
  /** undefined when the item was left out (a refused value). */
  output: string | undefined;
  /** The iterations inside this item, by the program (call site) they run. */
  readonly children: Map<number, Entry[]>;
}

function sameLevel(x: Level, y: Level): boolean {
  return x.value === y.value && x.key === y.key && x.last === y.last;
}

/** `kept` equals `outer` followed by `item`. */
function sameLevels(kept: readonly Level[], outer: readonly Level[], item: Level): boolean {
  if (kept.length !== outer.length + 1 || !sameLevel(kept[outer.length]!, item)) return false;
  for (let i = 0; i < outer.length; i++) if (kept[i] !== outer[i] && !sameLevel(kept[i]!, outer[i]!)) return false;
  return true;
}

/** The iterations of one call site within the item (or render) being built. */
export interface Site {
  /** What this site rendered last time, by item position. */
  readonly previous: readonly Entry[] | undefined;
  readonly next: Entry[];
}

/** The kept outputs of one compiled template, across its renders. */
export class RenderMemo {
  #root = new Map<number, Entry[]>();
  #nextRoot: Map<number, Entry[]> | undefined;
  /** Items being rendered, innermost last, each with what it rendered before (if anything). */
  readonly #building: { entry: Entry; previous: Map<number, Entry[]> | undefined }[] = [];
  #scope: DataScope | undefined;

  /** Starts a render; returns the scope to render with, which records each item's lookups. */
  begin(scope: DataScope): DataScope {
    this.#building.length = 0;
    this.#scope = scope;
    this.#nextRoot = new Map();
    const building = this.#building;
    return {
      maxValueLength: scope.maxValueLength,
      refused: scope.refused?.bind(scope),
      lookup(kind, arg, options) {
        const result = scope.lookup(kind, arg, options);
        building.at(-1)?.entry.lookups.push({ kind, arg, options, ready: result.ready, data: result.data });
        return result;
      },
    };
  }

  /** The render finished: what it built is kept for the next. */
  commit(): void {
    if (this.#nextRoot) this.#root = this.#nextRoot;
    this.#nextRoot = undefined;
  }

  /** The render failed: keep what was there before. */
  abandon(): void {
    this.#nextRoot = undefined;
    this.#building.length = 0;
  }

  get active(): boolean {
    return this.#nextRoot !== undefined;
  }

  /** The enclosing items of the iteration about to run. */
  levels(): readonly Level[] {
    return this.#building.at(-1)?.entry.levels ?? [];
  }

  /** The kept and the new entries of call site `program` in the current item (or at the top). */
  site(program: number): Site {
    const top = this.#building.at(-1);
    const previous = top ? top.previous : this.#root;
    const into = top ? top.entry.children : this.#nextRoot!;
    const next: Entry[] = [];
    // A site met twice in one item (a helper calling its block twice) is not kept.
    if (into.has(program)) return { previous: undefined, next };
    into.set(program, next);
    return { previous: previous?.get(program), next };
  }

  /**
   * A kept entry that still holds, replayed into the scope (its lookups recorded as used, its
   * refusals reported again) and into the item being built; undefined when it must render again.
   */
  reuse(kept: Entry | undefined, outer: readonly Level[], item: Level, self: unknown): Entry | undefined {
    const scope = this.#scope;
    if (!kept || !scope || kept.self !== self || !sameLevels(kept.levels, outer, item)) return undefined;
    // In order, up to the first that differs: with the item and every earlier lookup the same, a
    // render would make this lookup too, so recording it as used is right either way.
    for (const l of kept.lookups) {
      const now = scope.lookup(l.kind, l.arg, l.options);
      if (now.data !== l.data || now.ready !== l.ready) return undefined;
    }
    for (const refusal of kept.refusals) {
      if (scope.refused?.(refusal) !== true) throw refusal;
    }
    this.#absorb(kept);
    return kept;
  }

  /** Starts building the entry for one item; `kept` is what that position held before. */
  enter(levels: readonly Level[], self: unknown, kept: Entry | undefined): Entry {
    const entry: Entry = { levels, self, lookups: [], refusals: [], output: undefined, children: new Map() };
    this.#building.push({ entry, previous: kept?.children });
    return entry;
  }

  /** The item's body ended (rendered or left out): what it read counts for the item around it. */
  leave(entry: Entry): void {
    this.#building.pop();
    this.#absorb(entry);
  }

  // An item's lookups and refusals are part of every item that encloses it.
  #absorb(entry: Entry): void {
    const parent = this.#building.at(-1)?.entry;
    if (!parent) return;
    for (const l of entry.lookups) parent.lookups.push(l);
    for (const r of entry.refusals) parent.refusals.push(r);
  }
}

export type { Entry as MemoEntry };
