import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { ConfigError } from "../errors.js";

export interface LoadedConfig<T> {
  readonly data: T;
  /** Names a key for an error message: `consulate.yaml:4: wait`. */
  readonly where: (...path: (string | number)[]) => string;
}

/**
 * Reads a YAML or JSON config file (JSON is YAML) and validates it against `schema`.
 * Every problem is reported as `file:line:col: key.path: message`, all at once.
 */
export async function loadConfigFile<T extends z.ZodTypeAny>(file: string, schema: T): Promise<LoadedConfig<z.infer<T>>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: ${code === "ENOENT" ? "config file not found" : `cannot read config file (${code})`}`, { cause: error });
  }
  // Loaded only when there is a config file to read.
  const { LineCounter, parseDocument } = await import("./yaml.js");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    throw new ConfigError(`${file}:${line}:${col}: ${syntax.message.split("\n")[0]}`);
  }
  const result = schema.safeParse(doc.toJS() ?? {});
  const where = (...path: (string | number)[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return `${node?.range ? `${file}:${lineCounter.linePos(node.range[0]).line}` : file}: ${path.join(".")}`;
  };
  if (result.success) return { data: result.data as z.infer<T>, where };
  const lines = result.error.issues.map((issue) => {
    const node = doc.getIn(issue.path, true) as { range?: [number, number, number] } | undefined;
    const parent = doc.getIn(issue.path.slice(0, -1), true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0] ?? parent?.range?.[0];
    const where = offset === undefined ? file : `${file}:${lineCounter.linePos(offset).line}`;
    const key = issue.path.join(".") || "(top level)";
    const message = issue.code === "unrecognized_keys" ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}` : issue.message;
    return `${where}: ${key}: ${message}`;
  });
  throw new ConfigError(lines.join("\n"));
}
