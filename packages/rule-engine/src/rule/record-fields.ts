/**
 * Which top-level record fields evaluating a rule can read, so a service may decode only those
 * (an Avro reader schema projected to them) and still get exactly the same results: the rule's
 * match, group-by, aggregated field and suppression group-by, plus what the engine itself reads
 * of every record of the source (event time, identity for single-record alert ids, evidence).
 * A nested path counts as its top-level field (`tags.host` → `tags`, `attributes.a.b` →
 * `attributes`). Fields left out read as missing — never read by the rule, so never tested.
 */
import type { Source } from '../records';
import { isAll, isAny, isNot } from './condition';
import type { Condition } from './condition';
import type { Rule } from './schema';

/** Read by the engine from every record of the source, whatever the rules. */
export const ENGINE_FIELDS: Record<Source, readonly string[]> = {
  // Event time (clamped to received_at_ms), the stream clock's project, the event id (identity of
  // single-record alerts, evidence samples).
  events: ['event_id', 'project_id', 'timestamp_ms', 'received_at_ms'],
  // Event time, project, identity (exporter, domain, sequence, times, 5-tuple) and evidence
  // (bytes, packets, destination ports and addresses, the flow itself).
  flows: ['project_id', 'flow_end_ms', 'received_at_ms', 'exporter', 'observation_domain', 'sequence', 'flow_start_ms',
    'src_addr', 'src_port', 'dst_addr', 'dst_port', 'protocol', 'bytes', 'packets'],
};

function topLevel(path: string): string {
  const dot = path.indexOf('.');
  return dot < 0 ? path : path.slice(0, dot);
}

function collect(c: Condition, into: Set<string>): void {
  if (isNot(c)) collect(c.not, into);
  else if (isAll(c)) for (const child of c.all) collect(child, into);
  else if (isAny(c)) for (const child of c.any) collect(child, into);
  else into.add(topLevel(c.field));
}

/** The top-level fields the rule itself reads (match, group-by, aggregated field, suppression group-by). */
export function ruleFields(rule: Rule): Set<string> {
  const out = new Set<string>();
  collect(rule.match, out);
  for (const f of rule.aggregate?.group_by ?? []) out.add(topLevel(f));
  if (rule.aggregate?.field) out.add(topLevel(rule.aggregate.field));
  for (const f of rule.suppress.group_by) out.add(topLevel(f));
  return out;
}

/** Every top-level field evaluating these rules (of `source`) on a record can read, engine fields included. */
export function fieldsRead(source: Source, rules: Iterable<Rule>): Set<string> {
  const out = new Set<string>(ENGINE_FIELDS[source]);
  for (const rule of rules) if (rule.source === source) for (const f of ruleFields(rule)) out.add(f);
  return out;
}
