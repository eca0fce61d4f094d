import type { RefusedValueError } from "../errors.js";
import type { Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import type { CatalogCheck } from "./catalog-gaps.js";
import type { TemplateState } from "./template-state.js";

/** Logs the values a pass refused that the last one did not (and those no longer refused). */
export function reportRefusals(t: TemplateState, refusals: readonly RefusedValueError[], logger: Logger, metrics: Metrics | undefined): void {
  const { added, cleared } = t.refusals.update(refusals);
  const destination = t.spec.destination;
  for (const r of added) logger.warn("render", "value refused: left out of the file", { destination, where: r.where, field: r.field, reason: r.reason });
  for (const r of cleared) logger.info("render", "value no longer refused", { destination, where: r.where, field: r.field });
  if (added.length > 0) metrics?.refusals.inc({ template: destination }, added.length);
  metrics?.refusedNow.set({ template: destination }, t.refusals.list().length);
}

/** Warns once per service that the catalog does not list: an empty backend may be an ACL gap. */
export function reportCatalogGaps(t: TemplateState, catalog: CatalogCheck, logger: Logger): void {
  const gaps = catalog.missing(t.dependencies.values());
  for (const gap of gaps) {
    if (!t.notInCatalog.includes(gap)) logger.warn("render", "not in the catalog, or hidden from this token: rendered with no instances", { destination: t.spec.destination, dependency: gap });
  }
  t.notInCatalog = gaps;
}
