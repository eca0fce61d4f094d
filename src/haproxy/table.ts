/**
 * HAProxy's tabular answers: a header line `# col col …` (`show servers state`, blank-separated)
 * or `# col,col,…` (`show stat`, CSV), then one row a line.
 */
export interface TableRow {
  /** The row as HAProxy wrote it. */
  readonly text: string;
  field(column: string): string | undefined;
}

/** The rows under `header`; blank or short rows are left out. */
export function tableRows(header: string, rows: readonly string[], separator: " " | ","): TableRow[] {
  const columns = header.replace(/^#\s*/, "").split(separator);
  const result: TableRow[] = [];
  for (const text of rows) {
    const fields = text.trim().split(separator);
    if (fields.length < columns.length - 1) continue;
    result.push({ text, field: (column) => fields[columns.indexOf(column)] });
  }
  return result;
}
