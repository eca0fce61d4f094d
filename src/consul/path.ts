/** Encodes each segment of a KV key or service name for use in a URL path. */
export function encodePath(...segments: string[]): string {
  return segments.map((s) => s.split("/").map(encodeURIComponent).join("/")).join("/");
}
