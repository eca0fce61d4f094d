/**
 * Splits a byte stream into lines, keeping the partial last line across chunks: Docker's event
 * stream sends JSON objects whose boundaries do not match chunk boundaries.
 */
export class LineSplitter {
  #rest = "";
  readonly #decoder = new TextDecoder();

  push(chunk: Uint8Array | string): string[] {
    const text = this.#rest + (typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true }));
    const lines = text.split("\n");
    this.#rest = lines.pop() ?? "";
    return lines.filter((l) => l.trim() !== "");
  }

  /** What is left when the stream ends (a last line without a newline). */
  flush(): string[] {
    const rest = (this.#rest + this.#decoder.decode()).trim();
    this.#rest = "";
    return rest ? [rest] : [];
  }
}
