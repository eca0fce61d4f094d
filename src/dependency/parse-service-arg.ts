import { ConfigError } from "../errors.js";

export interface ServiceArg {
  readonly tag?: string;
  readonly name: string;
  readonly datacenter: string;
}

// tag may contain dots (the name is what follows the last one); name and dc are DNS-like words.
const servicePattern = /^(?:([\w\s.-]+)\.)?([\w-]+)(?:@([\w.-]+))?$/;

/**
 * Parses the argument of `service`: `"[tag.]name[@dc]"`.
 * @example parseServiceArg("http.web@dc2") // { tag: "http", name: "web", datacenter: "dc2" }
 */
export function parseServiceArg(text: string): ServiceArg {
  const match = servicePattern.exec(text.trim());
  if (!match?.[2]) {
    throw new ConfigError(`service: expected "[tag.]name[@datacenter]", got "${text}"`);
  }
  const [, tag, name, datacenter = ""] = match;
  return tag === undefined ? { name, datacenter } : { tag, name, datacenter };
}
