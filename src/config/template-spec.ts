import { ConfigError } from "../errors.js";

export interface TemplateSpec {
  readonly source: string;
  readonly destination: string;
  readonly command?: string;
}

/**
 * Parses `--template src:dest[:command]`. The command is everything after the second colon, so
 * it may itself contain colons (`haproxy.hbs:/etc/haproxy.cfg:echo a:b`).
 * @example parseTemplateSpec("in.hbs:/tmp/out:systemctl reload haproxy")
 */
export function parseTemplateSpec(spec: string): TemplateSpec {
  const first = spec.indexOf(":");
  const second = first < 0 ? -1 : spec.indexOf(":", first + 1);
  const source = first < 0 ? spec : spec.slice(0, first);
  const destination = first < 0 ? "" : spec.slice(first + 1, second < 0 ? undefined : second);
  const command = second < 0 ? undefined : spec.slice(second + 1).trim();
  if (source.trim() === "" || destination.trim() === "") {
    throw new ConfigError(`--template: expected <source>:<destination>[:<command>], got "${spec}"`);
  }
  return command ? { source, destination, command } : { source, destination };
}
