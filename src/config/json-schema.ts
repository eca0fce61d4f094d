import { zodToJsonSchema } from "zod-to-json-schema";
import { renderFileSchema } from "./schema.js";

/** The JSON Schema of the `consulate render` config file, for editors (examples/consulate.schema.json). */
export function renderConfigJsonSchema(): object {
  return zodToJsonSchema(renderFileSchema, { name: "consulate", $refStrategy: "none" });
}
