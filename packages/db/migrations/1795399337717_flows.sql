-- Up Migration
-- Flows: what services/store writes from vigil.flows.v1, and the one-minute rollups the read API
-- answers top talkers and protocol/port breakdowns from.
--
-- Time axis: flow_end. Exporters send a flow when it ends (or at an active timeout), so the newest
-- partition takes almost every write and late records are rare; a query for "the last hour" means
-- traffic that ended in it. All tables are range-partitioned into UTC days and expire by dropping
-- whole partitions (vigil_ensure_daily_partitions / vigil_drop_daily_partitions, see the events
-- migration); raw flows and rollups can be kept for different numbers of days.
--
-- Idempotency: flow_id is a digest of the record's content except its receive time (project,
-- exporter, version, observation domain, export sequence, times, addresses, ports, protocol, counters,
-- interfaces, flags; see services/store/src/flows/flow-identity.ts). A Kafka redelivery, a replay of
-- the topic, or an HTTP sender retrying the same export yields the same flow_id, and since flow_end
-- is part of it the repeat falls into the same partition, where the primary key refuses it. The
-- rollups are incremented only from the rows that insert actually wrote, in the same transaction, so
-- they stay equal to the sum of the stored flows under any replay.

create table flows (
  project_id bigint not null,
  flow_end timestamptz not null,
  flow_id uuid not null,
  flow_start timestamptz not null,
  received_at timestamptz not null,
  exporter inet not null,
  version smallint not null check (version in (5, 9, 10)),
  observation_domain bigint not null,
  sequence bigint not null,
  ip_version smallint not null check (ip_version in (4, 6)),
  src_addr inet not null,
  dst_addr inet not null,
  src_port integer not null,
  dst_port integer not null,
  protocol smallint not null,
  -- Already multiplied by sampling_rate, which is kept.
  bytes bigint not null,
  packets bigint not null,
  sampling_rate bigint not null default 1,
  tcp_flags integer not null default 0,
  tos smallint not null default 0,
  input_if bigint not null default 0,
  output_if bigint not null default 0,
  src_as bigint not null default 0,
  dst_as bigint not null default 0,
  src_mask smallint not null default 0,
  dst_mask smallint not null default 0,
  next_hop inet,
  flow_direction smallint,
  biflow_direction smallint,
  -- RFC 5103 biflows: the destination-to-source direction of the same record.
  reverse_bytes bigint not null default 0,
  reverse_packets bigint not null default 0,
  primary key (flow_end, flow_id)
) partition by range (flow_end);

-- The read API's filters: project and time first, then source or destination (IP or CIDR: btree
-- serves `<<=` on inet), exporter.
create index flows_project_time_idx on flows (project_id, flow_end desc);
create index flows_project_src_time_idx on flows (project_id, src_addr, flow_end desc);
create index flows_project_dst_time_idx on flows (project_id, dst_addr, flow_end desc);
create index flows_project_exporter_time_idx on flows (project_id, exporter, flow_end desc);

-- One-minute rollups (minute = flow_end truncated to the minute). A biflow record counts as two
-- directed flows: source→destination with its forward counters and, when it has reverse packets,
-- destination→source with its reverse counters, so the rollups read the same whether an exporter
-- sends biflows or one record per direction. `flows` counts directed flows.
create table flow_rollup_sources (
  project_id bigint not null,
  minute timestamptz not null,
  addr inet not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, minute, addr)
) partition by range (minute);

create table flow_rollup_destinations (
  project_id bigint not null,
  minute timestamptz not null,
  addr inet not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, minute, addr)
) partition by range (minute);

create table flow_rollup_pairs (
  project_id bigint not null,
  minute timestamptz not null,
  src_addr inet not null,
  dst_addr inet not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, minute, src_addr, dst_addr)
) partition by range (minute);

create table flow_rollup_protocols (
  project_id bigint not null,
  minute timestamptz not null,
  protocol smallint not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, minute, protocol)
) partition by range (minute);

-- By destination port of each directed flow (the service port for client→server traffic).
create table flow_rollup_ports (
  project_id bigint not null,
  minute timestamptz not null,
  protocol smallint not null,
  port integer not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, minute, protocol, port)
) partition by range (minute);

-- Down Migration
drop table flow_rollup_ports;
drop table flow_rollup_protocols;
drop table flow_rollup_pairs;
drop table flow_rollup_destinations;
drop table flow_rollup_sources;
drop table flows;
