import { randomUUID } from 'node:crypto';
import type { Queryable } from '@vigil/db';

export interface SeedFlow {
  projectId: number;
  end: Date;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  protocol?: number;
  bytes?: number;
  packets?: number;
  exporter?: string;
}

/**
 * Writes flows and their one-minute and hourly rollups as the store does for one-direction records
 * (every record is one directed flow); returns the flow ids.
 */
export async function seedFlows(db: Queryable, flows: SeedFlow[]): Promise<string[]> {
  if (flows.length === 0) return [];
  const times = flows.map((f) => f.end.getTime());
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const rollupTables = ['flow_rollup_sources', 'flow_rollup_destinations', 'flow_rollup_pairs', 'flow_rollup_protocols', 'flow_rollup_ports'];
  for (const table of ['flows', ...rollupTables, ...rollupTables.map((t) => `${t}_hourly`)]) {
    await db.query('select vigil_ensure_daily_partitions($1::regclass, $2::date, $3::date)', [table, day(Math.min(...times)), day(Math.max(...times))]);
  }
  const rows = flows.map((f, i) => ({
    project_id: f.projectId,
    flow_id: randomUUID(),
    flow_end: f.end.toISOString(),
    flow_start: new Date(f.end.getTime() - 5000).toISOString(),
    exporter: f.exporter ?? '192.0.2.1',
    sequence: i,
    ip_version: f.src.includes(':') ? 6 : 4,
    src_addr: f.src,
    dst_addr: f.dst,
    src_port: f.srcPort ?? 40000 + (i % 1000),
    dst_port: f.dstPort ?? 443,
    protocol: f.protocol ?? 6,
    bytes: f.bytes ?? 1000,
    packets: f.packets ?? 10,
  }));
  const input = `select * from json_to_recordset($1::json) as r(project_id bigint, flow_id uuid, flow_end timestamptz, flow_start timestamptz,
    exporter inet, sequence bigint, ip_version smallint, src_addr inet, dst_addr inet, src_port int, dst_port int, protocol smallint, bytes bigint, packets bigint)`;
  const json = JSON.stringify(rows);
  await db.query(
    `insert into flows (project_id, flow_end, flow_id, flow_start, received_at, exporter, version, observation_domain, sequence, ip_version,
       src_addr, dst_addr, src_port, dst_port, protocol, bytes, packets)
     select project_id, flow_end, flow_id, flow_start, flow_end, exporter, 10, 0, sequence, ip_version, src_addr, dst_addr, src_port, dst_port,
       protocol, bytes, packets from (${input}) r`,
    [json],
  );
  const rollup = async (table: string, dims: string, exprs: string) => {
    for (const [target, time, unit] of [[table, 'minute', 'minute'], [`${table}_hourly`, 'hour', 'hour']] as const) {
      await db.query(
        `insert into ${target} (project_id, ${time}, ${dims}, bytes, packets, flows)
         select project_id, date_trunc('${unit}', flow_end, 'UTC'), ${exprs}, sum(bytes), sum(packets), count(*) from (${input}) r
         group by project_id, date_trunc('${unit}', flow_end, 'UTC'), ${exprs}
         on conflict (project_id, ${time}, ${dims}) do update set bytes = ${target}.bytes + excluded.bytes,
           packets = ${target}.packets + excluded.packets, flows = ${target}.flows + excluded.flows`,
        [json],
      );
    }
  };
  await rollup('flow_rollup_sources', 'addr', 'src_addr');
  await rollup('flow_rollup_destinations', 'addr', 'dst_addr');
  await rollup('flow_rollup_pairs', 'src_addr, dst_addr', 'src_addr, dst_addr');
  await rollup('flow_rollup_protocols', 'protocol', 'protocol');
  await rollup('flow_rollup_ports', 'protocol, port', 'protocol, dst_port');
  return rows.map((r) => r.flow_id);
}
