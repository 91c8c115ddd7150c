/**
 * Which rules a record is even offered to. Rules are filed by source, then by project (a
 * project's own rules and the organization-wide ones), then — when every match of the rule
 * requires `field eq/in values` on a scalar top-level field — under each of those values.
 * A record looks up its own value of each indexed field (one Map lookup per field), plus the
 * rules that have no such requirement. The index only narrows; each offered rule still runs its
 * full compiled predicate, so routing can never change a result.
 */
import type { Route } from './compile';
import { compileGetter } from '../rule/fields';
import type { Getter } from '../rule/fields';
import { lowerIfNeeded } from './literals';
import type { Source } from '../records';

export interface Routable {
  readonly source: Source;
  readonly projectId: number | null;
  readonly route: Route | null;
}

interface FieldIndex<T> {
  field: string;
  get: Getter;
  byKey: Map<string | number, T[]>;
}

interface ScopeIndex<T> {
  unrouted: T[];
  fields: Array<FieldIndex<T>>;
}

/** The key a record value is looked up under (mirrors `literalKeys` in compile.ts). */
export function recordKey(v: unknown): string | number | undefined {
  switch (typeof v) {
    case 'string': return lowerIfNeeded(v);
    case 'number': return v;
    case 'boolean': return v ? 'true' : 'false';
    default: return undefined;
  }
}

function buildScope<T extends Routable>(rules: readonly T[]): ScopeIndex<T> {
  const scope: ScopeIndex<T> = { unrouted: [], fields: [] };
  for (const r of rules) {
    if (r.route === null) {
      scope.unrouted.push(r);
      continue;
    }
    let index = scope.fields.find((f) => f.field === r.route?.field);
    if (index === undefined) {
      index = { field: r.route.field, get: compileGetter(r.route.field), byKey: new Map() };
      scope.fields.push(index);
    }
    for (const key of r.route.keys) {
      const list = index.byKey.get(key);
      if (list === undefined) index.byKey.set(key, [r]);
      else list.push(r);
    }
  }
  return scope;
}

export class Router<T extends Routable> {
  private readonly scopes: Record<Source, { org: ScopeIndex<T>; projects: Map<number, ScopeIndex<T>> }>;

  /** `rules` in the order candidates should be offered within one lookup. */
  constructor(rules: readonly T[]) {
    const make = (source: Source) => {
      const mine = rules.filter((r) => r.source === source);
      const projects = new Map<number, ScopeIndex<T>>();
      const ids = [...new Set(mine.map((r) => r.projectId).filter((p): p is number => p !== null))];
      for (const id of ids) projects.set(id, buildScope(mine.filter((r) => r.projectId === id)));
      return { org: buildScope(mine.filter((r) => r.projectId === null)), projects };
    };
    this.scopes = { events: make('events'), flows: make('flows') };
  }

  /**
   * Writes into `out`, from index 0, the lists of rules that may match `record` of `projectId`
   * and returns how many lists were written. Together the lists hold each rule at most once.
   */
  collect(source: Source, projectId: number, record: unknown, out: Array<readonly T[]>): number {
    const s = this.scopes[source];
    const project = s.projects.size === 0 ? undefined : s.projects.get(projectId);
    let n = project === undefined ? 0 : this.collectScope(project, record, out, 0);
    n = this.collectScope(s.org, record, out, n);
    return n;
  }

  private collectScope(scope: ScopeIndex<T>, record: unknown, out: Array<readonly T[]>, n: number): number {
    if (scope.unrouted.length > 0) out[n++] = scope.unrouted;
    const fields = scope.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as FieldIndex<T>;
      const value = f.get(record);
      const key = recordKey(value);
      if (key !== undefined) {
        const list = f.byKey.get(key);
        if (list !== undefined) out[n++] = list;
      } else if (Array.isArray(value)) {
        const list = elementRules(f, value);
        if (list.length > 0) out[n++] = list;
      }
    }
    return n;
  }
}

/** A malformed record with an array where a scalar belongs: the rules of any element, once. */
function elementRules<T>(f: FieldIndex<T>, values: unknown[]): T[] {
  const seen = new Set<T>();
  for (const v of values) {
    const key = recordKey(v);
    const list = key === undefined ? undefined : f.byKey.get(key);
    if (list !== undefined) for (const r of list) seen.add(r);
  }
  return [...seen];
}
