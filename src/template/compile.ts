import { readFile } from "node:fs/promises";
import Handlebars from "handlebars";
import { TemplateError } from "../errors.js";
import { dataHelpers } from "./helpers-data.js";
import { textHelpers } from "./helpers-text.js";
import { HelperError, type DataScope } from "./scope.js";
import { UnsafeValueError } from "../untrusted.js";

const builtins = ["if", "unless", "each", "with", "lookup", "log"];
const helperNames = [...Object.keys(dataHelpers), ...Object.keys(textHelpers)];

// Isolated from the global Handlebars instance: nothing another module registers leaks in.
const environment = Handlebars.create();
environment.registerHelper({ ...dataHelpers, ...textHelpers });

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
  render(scope: DataScope): string;
}

interface HandlebarsFailure {
  message: string;
  lineNumber?: number;
  column?: number;
}

function describeFailure(file: string, error: unknown): TemplateError {
  if (error instanceof UnsafeValueError) return new TemplateError(file, error.message);
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

/** Compiles template text once; parse errors and unknown helpers are reported with file:line:col. */
export function compileTemplate(file: string, text: string): CompiledTemplate {
  let template: HandlebarsTemplateDelegate;
  try {
    // precompile runs the whole compiler now, so every error surfaces at load, not at first render.
    environment.precompile(text, compileOptions);
    template = environment.compile(text, compileOptions);
  } catch (error) {
    throw describeFailure(file, error);
  }
  return {
    file,
    render(scope) {
      try {
        return template({}, { data: { consulate: scope } });
      } catch (error) {
        throw describeFailure(file, error);
      }
    },
  };
}

export async function loadTemplate(file: string): Promise<CompiledTemplate> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TemplateError(file, code === "ENOENT" ? "template file not found" : `cannot read template (${code ?? String(error)})`, undefined, undefined, { cause: error });
  }
  return compileTemplate(file, text);
}
