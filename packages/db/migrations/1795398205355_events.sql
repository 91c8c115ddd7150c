-- Up Migration
-- Events: what services/store writes from vigil.events.v1 and the read API queries.
--
-- The table is range-partitioned by event time into UTC days. The store creates partitions ahead of
-- time and enforces retention by dropping whole partitions (no bulk DELETE, no vacuum debt), using
-- the two functions below, which a flows table can use the same way.
--
-- Idempotency: a unique index on a partitioned table must contain the partition key, so the primary
-- key (project_id, event_id, timestamp) alone only catches a repeat with the same timestamp (a Kafka
-- redelivery). A sender retrying an event whose time was taken from the receive time (native events
-- without a timestamp, SDK clocks far off) produces a second record with another timestamp, possibly
-- in another partition. event_ids is the global, unpartitioned registry of (project_id, event_id):
-- the store inserts there first and writes only the rows that were new, in one transaction, so an
-- event id is stored once per project for as long as it is retained. event_ids rows are deleted
-- together with the partitions they point into.

create table events (
  project_id bigint not null,
  event_id uuid not null,
  timestamp timestamptz not null,
  received_at timestamptz not null,
  source text not null check (source in ('sentry', 'native')),
  class text not null check (class in ('security', 'network', 'audit', 'error')),
  severity text not null check (severity in ('critical', 'high', 'medium', 'low', 'info')),
  type text not null,
  message text,
  exception_type text,
  exception_value text,
  platform text,
  release text,
  environment text,
  tags jsonb not null default '{}',
  user_id text,
  user_email text,
  user_username text,
  user_ip_address inet,
  fingerprint text[] not null default '{}',
  client_ip inet,
  sdk_name text,
  sdk_version text,
  attributes jsonb not null default '{}',
  -- The event exactly as the sender sent it (JSON bytes).
  raw bytea not null,
  -- Full-text search (`q`): language-neutral tokens, no stemming, so identifiers and addresses match as typed.
  search tsvector generated always as (
    to_tsvector('simple', coalesce(message, '') || ' ' || coalesce(exception_type, ''))
  ) stored,
  primary key (project_id, event_id, timestamp)
) partition by range (timestamp);

-- The read API's filters: project, then class, severity or type, newest first; text search on message.
create index events_project_time_idx on events (project_id, timestamp desc);
create index events_project_class_time_idx on events (project_id, class, timestamp desc);
create index events_project_severity_time_idx on events (project_id, severity, timestamp desc);
create index events_project_type_time_idx on events (project_id, type, timestamp desc);
create index events_search_idx on events using gin (search);

create table event_ids (
  project_id bigint not null,
  event_id uuid not null,
  -- Where the stored row is (partition pruning for look-ups by id) and when this entry expires.
  timestamp timestamptz not null,
  primary key (project_id, event_id)
);
-- Rows arrive roughly in time order: a BRIN index makes the retention delete cheap at almost no insert cost.
create index event_ids_timestamp_idx on event_ids using brin (timestamp);

-- Creates the missing daily partitions <parent>_pYYYYMMDD for UTC days first_day..last_day (inclusive).
-- Serialized per parent with an advisory lock, so concurrent store instances do not race.
create function vigil_ensure_daily_partitions(parent regclass, first_day date, last_day date) returns integer
language plpgsql as $$
declare
  parent_schema text;
  parent_name text;
  day date := first_day;
  child text;
  created integer := 0;
begin
  select n.nspname, c.relname into parent_schema, parent_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = parent;
  perform pg_advisory_xact_lock(hashtext('vigil_daily_partitions'), hashtext(parent::text));
  while day <= last_day loop
    child := parent_name || '_p' || to_char(day, 'YYYYMMDD');
    if to_regclass(format('%I.%I', parent_schema, child)) is null then
      execute format(
        'create table %I.%I partition of %s for values from (%L) to (%L)',
        parent_schema, child, parent,
        (day::timestamp at time zone 'UTC'), ((day + 1)::timestamp at time zone 'UTC')
      );
      created := created + 1;
    end if;
    day := day + 1;
  end loop;
  return created;
end
$$;

-- Drops the daily partitions of <parent> for UTC days before before_day; returns their names.
create function vigil_drop_daily_partitions(parent regclass, before_day date) returns setof text
language plpgsql as $$
declare
  parent_name text;
  child record;
begin
  select c.relname into parent_name from pg_class c where c.oid = parent;
  perform pg_advisory_xact_lock(hashtext('vigil_daily_partitions'), hashtext(parent::text));
  for child in
    select c.oid::regclass as rel, c.relname
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = parent
       and c.relname ~ ('^' || parent_name || '_p[0-9]{8}$')
       and to_date(right(c.relname, 8), 'YYYYMMDD') < before_day
     order by c.relname
  loop
    execute format('drop table %s', child.rel);
    return next child.relname;
  end loop;
end
$$;

-- Down Migration
drop function vigil_drop_daily_partitions(regclass, date);
drop function vigil_ensure_daily_partitions(regclass, date, date);
drop table event_ids;
drop table events;
