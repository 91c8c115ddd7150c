/**
 * Which project a datagram belongs to: the `exporters` table registers source networks (CIDR) and
 * optionally an observation domain (v9 source id, IPFIX observation domain id, v5
 * `engine_type << 8 | engine_id`) per project. UDP is unauthenticated and spoofable, so anything not
 * registered is dropped before it can create decoder state.
 *
 * Choice among several registrations covering a source: one naming the datagram's domain beats one for
 * any domain (a domain is a finer identity than an address range: one router can export several
 * domains for different projects); within each, the longest prefix wins; then the earliest
 * registration. The table is re-read every `refreshMs` (default 2 s), so a registration change takes
 * effect within that plus one datagram; if a re-read fails the previous registrations stay in force.
 */
import { listExporters, type Queryable } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import { parseAddress, parsePrefix, prefixContains, type Prefix } from './address-prefix';

interface Registration {
  id: number;
  projectId: number;
  prefix: Prefix;
  domain: number | null;
}

export type Attribution = { ok: true; projectId: number } | { ok: false; reason: 'unregistered_exporter' | 'unregistered_domain' };

const UNREGISTERED: Attribution = { ok: false, reason: 'unregistered_exporter' };
const WRONG_DOMAIN: Attribution = { ok: false, reason: 'unregistered_domain' };
const MAX_CACHED_SOURCES = 100_000;

export interface ExporterRegistryOptions {
  db: Queryable;
  logger: Logger;
  refreshMs?: number;
  onReloadError?(err: Error): void;
}

export class ExporterRegistry {
  private registrations: Registration[] = [];
  /** Registrations covering a source address, best first (longest prefix, then earliest). */
  private bySource = new Map<string, Registration[]>();
  private timer: NodeJS.Timeout | null = null;
  private loadedAt = 0;

  constructor(private readonly o: ExporterRegistryOptions) {}

  /** Loads the registrations (throws if the database cannot be read) and keeps them fresh. */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((err: Error) => {
        this.o.onReloadError?.(err);
        this.o.logger.warn({ err }, 'exporter registrations could not be re-read; the previous ones stay in force');
      });
    }, this.o.refreshMs ?? 2_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get size(): number {
    return this.registrations.length;
  }

  get lastLoadedMs(): number {
    return this.loadedAt;
  }

  async reload(): Promise<void> {
    const rows = await listExporters(this.o.db);
    const next: Registration[] = [];
    for (const row of rows) {
      const prefix = parsePrefix(row.cidr);
      if (prefix === null) {
        this.o.logger.warn({ exporter_id: row.id, cidr: row.cidr }, 'exporter registration with an unreadable CIDR ignored');
        continue;
      }
      next.push({ id: row.id, projectId: row.project_id, prefix, domain: row.observation_domain });
    }
    this.registrations = next;
    this.bySource = new Map();
    this.loadedAt = Date.now();
  }

  /** Whether any registration covers this source address (domain not considered). */
  covers(source: string): boolean {
    return this.candidates(source).length > 0;
  }

  /**
   * The project for a datagram from `source` (canonical IP text) in observation domain `domain`
   * (null when the header is too short to tell: then only a registration for any domain matches).
   */
  resolve(source: string, domain: number | null): Attribution {
    const list = this.candidates(source);
    if (list.length === 0) return UNREGISTERED;
    if (domain !== null) {
      for (const r of list) if (r.domain === domain) return { ok: true, projectId: r.projectId };
    }
    for (const r of list) if (r.domain === null) return { ok: true, projectId: r.projectId };
    return WRONG_DOMAIN;
  }

  private candidates(source: string): Registration[] {
    let list = this.bySource.get(source);
    if (list !== undefined) return list;
    const address = parseAddress(source);
    list =
      address === null
        ? []
        : this.registrations
            .filter((r) => prefixContains(r.prefix, address))
            .sort((a, b) => b.prefix.bits - a.prefix.bits || a.id - b.id);
    if (this.bySource.size >= MAX_CACHED_SOURCES) this.bySource.clear();
    this.bySource.set(source, list);
    return list;
  }
}
