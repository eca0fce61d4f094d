import type { RefusedValueError } from "../errors.js";
import type { Refusal } from "../observe/status.js";

function keyOf(r: Refusal): string {
  return `${r.where}\u0000${r.field}\u0000${r.reason}`;
}

/**
 * The values one template refuses now. A render pass reports all of them again; only what is new
 * or gone since the last pass is logged, so a hostile registration is one warning, not one per render.
 */
export class RefusalReport {
  #current = new Map<string, Refusal>();

  update(refused: readonly RefusedValueError[]): { added: Refusal[]; cleared: Refusal[] } {
    const next = new Map<string, Refusal>();
    for (const error of refused) {
      const refusal = { where: error.where ?? "the template (outside any item)", field: error.field ?? "value", reason: error.reason };
      next.set(keyOf(refusal), refusal);
    }
    const added = [...next].filter(([key]) => !this.#current.has(key)).map(([, r]) => r);
    const cleared = [...this.#current].filter(([key]) => !next.has(key)).map(([, r]) => r);
    this.#current = next;
    return { added, cleared };
  }

  list(): Refusal[] {
    return [...this.#current.values()];
  }
}
