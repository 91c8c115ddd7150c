-- Up Migration
-- Hourly flow rollups: the same five dimensions as the one-minute rollups, summed per UTC hour
-- (hour = flow_end truncated to the hour). The store adds to them in the transaction that adds to the
-- minute rollups, from exactly the rows it inserted, so an hourly row always equals the sum of its 60
-- minute rows. The read API answers whole hours of a window from here and only the minutes at its
-- edges from the minute rollups, so a day costs 24 hourly rows per key instead of 1,440 minute rows.
-- Partitioned into UTC days and kept as long as the minute rollups.

create table flow_rollup_sources_hourly (
  project_id bigint not null,
  hour timestamptz not null,
  addr inet not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, hour, addr)
) partition by range (hour);

create table flow_rollup_destinations_hourly (
  project_id bigint not null,
  hour timestamptz not null,
  addr inet not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, hour, addr)
) partition by range (hour);

create table flow_rollup_pairs_hourly (
  project_id bigint not null,
  hour timestamptz not null,
  src_addr inet not null,
  dst_addr inet not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, hour, src_addr, dst_addr)
) partition by range (hour);

create table flow_rollup_protocols_hourly (
  project_id bigint not null,
  hour timestamptz not null,
  protocol smallint not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, hour, protocol)
) partition by range (hour);

create table flow_rollup_ports_hourly (
  project_id bigint not null,
  hour timestamptz not null,
  protocol smallint not null,
  port integer not null,
  bytes bigint not null,
  packets bigint not null,
  flows bigint not null,
  primary key (project_id, hour, protocol, port)
) partition by range (hour);

-- Existing minute rollups are summed into hours once, here. The minute tables are locked against
-- writes meanwhile, so no minute is counted twice or missed; a store of the previous version must not
-- run after this migration (it would add to the minute rollups only).
do $$
declare
  spec record;
  first_day date;
  last_day date;
begin
  for spec in select * from (values
      ('flow_rollup_sources', 'addr'),
      ('flow_rollup_destinations', 'addr'),
      ('flow_rollup_pairs', 'src_addr, dst_addr'),
      ('flow_rollup_protocols', 'protocol'),
      ('flow_rollup_ports', 'protocol, port')) as t(minute_table, dims)
  loop
    execute format('lock table %I in share mode', spec.minute_table);
    execute format($q$select (min(minute) at time zone 'UTC')::date, (max(minute) at time zone 'UTC')::date from %I$q$, spec.minute_table)
      into first_day, last_day;
    continue when first_day is null;
    perform vigil_ensure_daily_partitions((spec.minute_table || '_hourly')::regclass, first_day, last_day);
    execute format(
      $q$insert into %I (project_id, hour, %s, bytes, packets, flows)
         select project_id, date_trunc('hour', minute, 'UTC'), %s, sum(bytes), sum(packets), sum(flows)
           from %I group by project_id, date_trunc('hour', minute, 'UTC'), %s$q$,
      spec.minute_table || '_hourly', spec.dims, spec.dims, spec.minute_table, spec.dims);
  end loop;
end
$$;

-- Down Migration
drop table flow_rollup_ports_hourly;
drop table flow_rollup_protocols_hourly;
drop table flow_rollup_pairs_hourly;
drop table flow_rollup_destinations_hourly;
drop table flow_rollup_sources_hourly;
