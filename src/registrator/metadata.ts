/**
 * registrator's SERVICE_* metadata for one port: from env and labels (labels win), with
 * `SERVICE_<port>_<KEY>` winning over `SERVICE_<KEY>`. Keys come back lower-cased without the
 * prefix: `SERVICE_8080_NAME=web` → `{ name: "web" }`.
 */
export function portMetadata(env: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>, port: string): Map<string, { value: string; fromPort: boolean }> {
  const result = new Map<string, { value: string; fromPort: boolean }>();
  const portPrefix = `${port}_`;
  // Later sources override earlier ones: generic env, generic labels, port env, port labels.
  for (const wantPort of [false, true]) {
    for (const source of [env, labels]) {
      for (const [rawKey, value] of Object.entries(source)) {
        if (!rawKey.startsWith("SERVICE_")) continue;
        const key = rawKey.slice("SERVICE_".length);
        const portSpecific = /^\d+_/.test(key);
        if (wantPort !== portSpecific) continue;
        if (portSpecific && !key.startsWith(portPrefix)) continue;
        const name = (portSpecific ? key.slice(portPrefix.length) : key).toLowerCase();
        if (name) result.set(name, { value, fromPort: portSpecific });
      }
    }
  }
  return result;
}

export function splitTags(text: string | undefined): string[] {
  return (text ?? "").split(",").map((t) => t.trim()).filter(Boolean);
}
