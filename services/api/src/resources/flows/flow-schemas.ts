import { z } from 'zod';
import { cursorQuery } from '../../http/pagination';
import { cidr } from '../projects/project-schemas';
import { projectRef, timestamp } from '../resource-ids';
import { timeRangeQuery } from '../list-filters';

const int = z.number().int();

export const flowSchema = z
  .object({
    id: z.guid().meta({ description: 'Content digest of the record: the same export sent twice is stored once.' }),
    project_id: int,
    exporter: z.string(),
    version: z.union([z.literal(5), z.literal(9), z.literal(10)]),
    observation_domain: int,
    sequence: int,
    flow_start: timestamp,
    flow_end: timestamp,
    received_at: timestamp,
    ip_version: z.union([z.literal(4), z.literal(6)]),
    src_addr: z.string(),
    dst_addr: z.string(),
    src_port: int,
    dst_port: int,
    protocol: int,
    bytes: int.meta({ description: 'Already multiplied by sampling_rate.' }),
    packets: int.meta({ description: 'Already multiplied by sampling_rate.' }),
    sampling_rate: int,
    tcp_flags: int,
    tos: int,
    input_if: int,
    output_if: int,
    src_as: int,
    dst_as: int,
    src_mask: int,
    dst_mask: int,
    next_hop: z.string().nullable(),
    flow_direction: int.nullable(),
    biflow_direction: int.nullable(),
    reverse_bytes: int,
    reverse_packets: int,
  })
  .meta({ id: 'Flow' });

const port = z.coerce.number().int().min(0).max(65535);
const protocol = z.coerce.number().int().min(0).max(255);

export const flowFilters = {
  project: projectRef.optional(),
  exporter: cidr.optional().meta({ description: 'Exporter address or CIDR.' }),
  src: cidr.optional().meta({ description: 'Source address or CIDR, e.g. 10.0.0.0/8.' }),
  dst: cidr.optional().meta({ description: 'Destination address or CIDR.' }),
  port: port.optional().meta({ description: 'Source or destination port.' }),
  protocol: protocol.optional().meta({ description: 'IP protocol number (6 TCP, 17 UDP, 1 ICMP, …).' }),
  ...timeRangeQuery,
};

export const listFlowsQuery = z.strictObject({ ...flowFilters, ...cursorQuery });

export const METRICS = ['bytes', 'packets', 'flows'] as const;
export type Metric = (typeof METRICS)[number];

/** A window of whole minutes ending now (`15m`, `1h`, `24h`, `7d`), or explicit since/until. */
const windowDuration = z
  .string()
  .regex(/^[1-9]\d{0,3}[mhd]$/, 'expected a duration such as 15m, 1h, 24h or 7d')
  .transform((s) => Number(s.slice(0, -1)) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[s.slice(-1) as 'm' | 'h' | 'd'])
  .refine((ms) => ms <= 93 * 86_400_000, 'at most 93 days');

export const rollupQuery = {
  project: projectRef.optional(),
  window: windowDuration.optional().meta({ description: 'Length of the window ending now; default 1h. Ignored when since is given.' }),
  ...timeRangeQuery,
  metric: z.enum(METRICS).default('bytes').meta({ description: 'What to rank by.' }),
};

export const topTalkersQuery = z.strictObject({
  ...rollupQuery,
  by: z.enum(['src', 'dst', 'pair']).default('src').meta({ description: 'Rank sources, destinations or source-destination pairs.' }),
  limit: z.coerce.number().int().min(1).max(1000).default(10),
});

export const protocolsQuery = z.strictObject(rollupQuery);

const totals = { bytes: int, packets: int, flows: int.meta({ description: 'Directed flows (a biflow counts twice).' }) };

export const windowSchema = z.object({
  since: timestamp.meta({ description: 'Start of the first minute counted.' }),
  until: timestamp.meta({ description: 'End of the last minute counted.' }),
});

export const topTalkersSchema = z
  .object({
    by: z.enum(['src', 'dst', 'pair']),
    metric: z.enum(METRICS),
    ...windowSchema.shape,
    talkers: z.array(z.object({ src_addr: z.string().nullable(), dst_addr: z.string().nullable(), ...totals })),
  })
  .meta({ id: 'TopTalkers' });

export const protocolsSchema = z
  .object({
    metric: z.enum(METRICS),
    ...windowSchema.shape,
    protocols: z.array(
      z.object({
        protocol: int,
        name: z.string().nullable().meta({ description: 'IANA keyword (tcp, udp, icmp, …) when known.' }),
        ...totals,
        share: z.number().min(0).max(1).meta({ description: 'Fraction of the window’s total of the ranking metric.' }),
      }),
    ),
  })
  .meta({ id: 'ProtocolBreakdown' });
