import { createTwoFilesPatch } from "diff";

/** A unified diff of one destination, as `--dry` prints it; empty when nothing changes. */
export function unifiedDiff(destination: string, before: string | undefined, after: string): string {
  if (before === after) return "";
  return createTwoFilesPatch(before === undefined ? "/dev/null" : destination, destination, before ?? "", after, undefined, undefined, { context: 3 });
}
