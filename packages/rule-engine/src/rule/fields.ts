/**
 * Which field paths a rule may name for each source, and how a path becomes a getter closure.
 *
 * Paths: a top-level record field (`type`, `dst_port`, …); for events also `tags.<key>` (the key is
 * everything after `tags.`, so Sentry keys such as `browser.name` work), `user.<id|email|username|
 * ip_address>` and `attributes.<a>.<b>…` (dot-separated; numeric segments index arrays).
 */
import type { Source } from '../records';

export type Getter = (record: unknown) => unknown;

const EVENT_FIELDS = new Set([
  'event_id', 'project_id', 'timestamp_ms', 'received_at_ms', 'source', 'class', 'severity', 'type',
  'message', 'exception_type', 'exception_value', 'platform', 'release', 'environment', 'tags', 'user',
  'fingerprint', 'client_ip', 'sdk_name', 'sdk_version', 'attributes',
]);

const FLOW_FIELDS = new Set([
  'project_id', 'exporter', 'version', 'observation_domain', 'sequence', 'flow_start_ms', 'flow_end_ms',
  'ip_version', 'src_addr', 'dst_addr', 'src_port', 'dst_port', 'protocol', 'bytes', 'packets',
  'sampling_rate', 'tcp_flags', 'tos', 'input_if', 'output_if', 'src_as', 'dst_as', 'src_mask', 'dst_mask',
  'next_hop', 'flow_direction', 'biflow_direction', 'reverse_bytes', 'reverse_packets', 'received_at_ms',
]);

const USER_FIELDS = new Set(['id', 'email', 'username', 'ip_address']);

/** Flow fields that always hold numbers; a `cidr` or text operator on them is a rule error. */
const NUMERIC_FLOW_FIELDS = new Set([...FLOW_FIELDS].filter((f) => !['exporter', 'src_addr', 'dst_addr', 'next_hop'].includes(f)));

/** Fields whose values are scalars on every record: the only ones the router may index on. */
export const SCALAR_TOP_LEVEL: Record<Source, ReadonlySet<string>> = {
  events: new Set([...EVENT_FIELDS].filter((f) => !['tags', 'user', 'attributes', 'fingerprint'].includes(f))),
  flows: FLOW_FIELDS,
};

/** Returns why `path` is not a valid field of `source`, or null when it is. */
export function fieldPathProblem(source: Source, path: string): string | null {
  if (path.length === 0) return 'field must not be empty';
  const dot = path.indexOf('.');
  const head = dot < 0 ? path : path.slice(0, dot);
  const rest = dot < 0 ? '' : path.slice(dot + 1);
  if (source === 'flows') {
    if (FLOW_FIELDS.has(path)) return null;
    return `unknown flow field '${path}' (flow fields: ${[...FLOW_FIELDS].join(', ')})`;
  }
  if (!EVENT_FIELDS.has(head)) return `unknown event field '${head}' (event fields: ${[...EVENT_FIELDS].join(', ')})`;
  if (dot < 0) return null;
  switch (head) {
    case 'tags':
      return rest.length > 0 ? null : "a tag path needs a key, e.g. 'tags.environment'";
    case 'user':
      return USER_FIELDS.has(rest) ? null : `unknown user field '${rest}' (user fields: ${[...USER_FIELDS].join(', ')})`;
    case 'attributes':
      return rest.split('.').every((s) => s.length > 0) ? null : `attribute path '${path}' has an empty segment`;
    default:
      return `'${head}' has no sub-fields`;
  }
}

/** True when the field is known to hold only numbers (flow counters, ports, …). */
export function isNumericField(source: Source, path: string): boolean {
  if (path === 'project_id' || path === 'received_at_ms') return true;
  if (source === 'events') return path === 'timestamp_ms';
  return NUMERIC_FLOW_FIELDS.has(path);
}

/** Keys that plain objects inherit; reading them needs an own-property check. */
function inherited(key: string): boolean {
  return key in Object.prototype;
}

function ownGetter(key: string): (obj: Record<string, unknown>) => unknown {
  if (inherited(key)) return (obj) => (Object.hasOwn(obj, key) ? obj[key] : undefined);
  return (obj) => obj[key];
}

/** Compiles a validated field path into a getter. Missing values read as `undefined`. */
export function compileGetter(path: string): Getter {
  const dot = path.indexOf('.');
  if (dot < 0) return ownGetter(path) as Getter;
  const head = path.slice(0, dot);
  const rest = path.slice(dot + 1);
  if (head === 'tags' || head === 'user') {
    const inner = ownGetter(rest);
    return (r) => {
      const o = (r as Record<string, unknown>)[head];
      return o !== null && typeof o === 'object' ? inner(o as Record<string, unknown>) : undefined;
    };
  }
  const segments = rest.split('.').map(ownGetter);
  if (segments.length === 1) {
    const [only] = segments as [(o: Record<string, unknown>) => unknown];
    return (r) => {
      const o = (r as Record<string, unknown>)[head];
      return o !== null && typeof o === 'object' ? only(o as Record<string, unknown>) : undefined;
    };
  }
  return (r) => {
    let cur = (r as Record<string, unknown>)[head];
    for (const seg of segments) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = seg(cur as Record<string, unknown>);
    }
    return cur;
  };
}
