import { TemplateError } from "../errors.js";
import type { CompiledTemplate } from "../template/compile.js";
import type { Clock } from "../time.js";
import type { RenderScope } from "./render-scope.js";

/** One render of one template against the data at hand; the scope records what it read. */
export type PassResult =
  /** Every dependency had data: `contents` is the file. */
  | { readonly kind: "rendered"; readonly contents: string; readonly ms: number }
  /** Some dependency has not answered yet (named in scope.missing); nothing to write. */
  | { readonly kind: "waiting"; readonly ms: number }
  /** The template failed on this data (a helper refused, `fail` with --on-unsafe fail…). */
  | { readonly kind: "failed"; readonly error: TemplateError; readonly ms: number };

/**
 * Renders without side effects beyond the scope's record (used, missing, refusals). Only a
 * TemplateError is a result; anything else is a bug and is thrown.
 */
export function renderPass(compiled: CompiledTemplate, scope: RenderScope, clock: Pick<Clock, "now">): PassResult {
  const started = clock.now();
  let contents: string;
  try {
    contents = compiled.render(scope);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    return { kind: "failed", error, ms: clock.now() - started };
  }
  const ms = clock.now() - started;
  return scope.missing.size > 0 ? { kind: "waiting", ms } : { kind: "rendered", contents, ms };
}
