/** One row of Consul's `/v1/internal/ui/services` (1.8): a per-service summary of the catalog. */
export interface ServiceSummary {
  Name: string;
  Tags: string[] | null;
  Nodes: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
}

/** What of a service the summary shows: instance count, check states, nodes and tags. */
export function fingerprints(rows: readonly ServiceSummary[]): Map<string, string> {
  return new Map(
    rows.map((r) => [r.Name, `${r.InstanceCount}|${r.ChecksPassing}|${r.ChecksWarning}|${r.ChecksCritical}|${(r.Nodes ?? []).join(",")}|${(r.Tags ?? []).join(",")}`]),
  );
}

/** Names of services that appeared, disappeared or whose fingerprint changed. */
export function changedServices(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Set<string> {
  const changed = new Set<string>();
  for (const [name, print] of after) if (before.get(name) !== print) changed.add(name);
  for (const name of before.keys()) if (!after.has(name)) changed.add(name);
  return changed;
}
