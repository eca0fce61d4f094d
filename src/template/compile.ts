import { readFile } from "node:fs/promises";
import Handlebars from "./handlebars.js";
import { HelperError, RefusedValueError, TemplateError } from "../errors.js";
import { checkHelperCalls } from "./arity.js";
import { contextHelpers } from "./helpers-context.js";
import { dataHelpers, helperKinds } from "./helpers-data.js";
import { textHelpers } from "./helpers-text.js";
import { eachHelper } from "./iterate.js";
import { RenderMemo } from "./memo.js";
import type { DataKind, DataScope } from "./scope.js";

const builtins = ["if", "unless", "each", "with", "lookup", "log"];
const helperNames = [...Object.keys(dataHelpers), ...Object.keys(textHelpers), ...Object.keys(contextHelpers)];

// Isolated from the global Handlebars instance: nothing another module registers leaks in.
const environment = Handlebars.create();
// Our own #each contains a refused value to the item it was found in (see iterate.ts).
environment.registerHelper({ ...dataHelpers, ...textHelpers, ...contextHelpers, each: eachHelper });

/** Checks what a data helper's literal arguments ask for (the runner parses them as it will at render time). */
export type LookupCheck = (kind: DataKind, arg: string, options: Readonly<Record<string, string>>) => void;

const compileOptions: CompileOptions = {
  // Output is configuration, not HTML.
  noEscape: true,
  strict: false,
  // An unknown helper is an error at load time, with its line and column.
  knownHelpers: Object.fromEntries([...builtins, ...helperNames].map((n) => [n, true])),
  knownHelpersOnly: true,
};

export interface CompiledTemplate {
  readonly file: string;
  /** The source text it was compiled from. */
  readonly text: string;
  render(scope: DataScope): string;
}

interface HandlebarsFailure {
  message: string;
  lineNumber?: number;
  column?: number;
}

function describeFailure(file: string, error: unknown): TemplateError {
  if (error instanceof RefusedValueError) return new TemplateError(file, `refused ${error.message} (--on-unsafe fail: the file is left as it was)`, undefined, undefined, { cause: error });
  if (error instanceof HelperError) return new TemplateError(file, error.message, error.location?.line, error.location ? error.location.column + 1 : undefined);
  const failure = error as HandlebarsFailure;
  const firstLine = (failure.message ?? String(error)).split("\n");
  const parse = /^Parse error on line (\d+):/.exec(firstLine[0] ?? "");
  if (parse) {
    const got = /got '([^']+)'/.exec(failure.message)?.[1];
    const detail = got === "EOF" ? "unexpected end of template (is a {{#block}} left open?)" : `unexpected ${got ?? "token"}`;
    return new TemplateError(file, `syntax error: ${detail}`, Number(parse[1]));
  }
  const message = (firstLine[0] ?? "").replace(/ - \d+:\d+$/, "").replace("You specified knownHelpersOnly, but used the unknown helper", "unknown helper");
  const column = failure.column === undefined ? undefined : failure.column + 1;
  return new TemplateError(file, message, failure.lineNumber, column);
}

/**
 * Compiles template text once; parse errors, unknown helpers and helper calls with the wrong
 * arguments are reported with file:line:col.
 */
export function compileTemplate(file: string, text: string, checkLookup?: LookupCheck): CompiledTemplate {
  let template: HandlebarsTemplateDelegate;
  try {
    // precompile runs the whole compiler now, so every error surfaces at load, not at first render.
    environment.precompile(text, compileOptions);
    checkHelperCalls(text, (helper, arg, hash) => {
      const kind = helperKinds[helper];
      if (kind) checkLookup?.(kind, arg, hash);
    });
    template = environment.compile(text, compileOptions);
  } catch (error) {
    throw describeFailure(file, error);
  }
  const memo = new RenderMemo();
  // The same root context every render: kept items check the context they ran in by identity.
  const root = Object.freeze({});
  return {
    file,
    text,
    render(scope) {
      try {
        const output = template(root, { data: { consulate: memo.begin(scope), consulateMemo: memo } });
        memo.commit();
        return output;
      } catch (error) {
        memo.abandon();
        throw describeFailure(file, error);
      }
    },
  };
}

export async function loadTemplate(file: string, checkLookup?: LookupCheck): Promise<CompiledTemplate> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TemplateError(file, code === "ENOENT" ? "template file not found" : `cannot read template (${code ?? String(error)})`, undefined, undefined, { cause: error });
  }
  return compileTemplate(file, text, checkLookup);
}
