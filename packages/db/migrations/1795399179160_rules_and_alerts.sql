-- Up Migration
-- Detection rules (with their version history), alerts, the outbox of alert events for
-- vigil.alerts.v1, and the state of the streaming rule evaluation of services/rules.

-- A rule of an organization: for one project, or (project_id null) for all of them. Rule ids are
-- chosen by users and unique within the organization. `definition` is the rule in the canonical form
-- of @vigil/rule-engine (parseRule), its id and version included; the other columns copy what lists
-- filter on. Every change bumps `version` and appends to rule_versions.
create table rules (
  organization_id bigint not null references organizations (id) on delete cascade,
  id text not null check (id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
  project_id bigint references projects (id) on delete cascade,
  name text not null,
  source text not null check (source in ('events', 'flows')),
  severity text not null check (severity in ('critical', 'high', 'medium', 'low', 'info')),
  enabled boolean not null,
  version integer not null check (version >= 1),
  definition jsonb not null check (jsonb_typeof(definition) = 'object'),
  created_at timestamptz not null default now(),
  created_by text,
  updated_at timestamptz not null default now(),
  updated_by text,
  primary key (organization_id, id)
);
create index rules_project_idx on rules (project_id) where project_id is not null;

-- Every version a rule ever had, kept after the rule is deleted, so an alert's (rule_id,
-- rule_version) always leads to the definition that raised it. A re-created rule continues the
-- numbering of the deleted one.
create table rule_versions (
  organization_id bigint not null references organizations (id) on delete cascade,
  rule_id text not null,
  version integer not null,
  change text not null check (change in ('created', 'updated', 'enabled', 'disabled', 'deleted')),
  definition jsonb not null,
  created_at timestamptz not null default now(),
  created_by text,
  primary key (organization_id, rule_id, version)
);

-- A counter bumped by every statement that changes rules, announced on channel vigil_rules_changed:
-- rule workers LISTEN for it and also poll it, so a change takes effect within seconds.
create table rules_revision (
  singleton boolean primary key default true check (singleton),
  revision bigint not null
);
insert into rules_revision (singleton, revision) values (true, 0);

create function vigil_rules_changed() returns trigger
language plpgsql as $$
declare
  next_revision bigint;
begin
  update rules_revision set revision = revision + 1 returning revision into next_revision;
  perform pg_notify('vigil_rules_changed', next_revision::text);
  return null;
end
$$;
create trigger rules_changed after insert or update or delete or truncate on rules
  for each statement execute function vigil_rules_changed();

-- An alert. The id is deterministic (rule, project, group, window: see docs/rules.md), so inserting
-- the same detection again — a replay, a restart, a rebalance — finds the row and changes nothing.
create table alerts (
  id text primary key check (id ~ '^[0-9a-f]{32}$'),
  organization_id bigint not null references organizations (id) on delete cascade,
  project_id bigint not null references projects (id) on delete cascade,
  rule_id text not null,
  rule_version integer not null,
  rule_name text not null,
  severity text not null check (severity in ('critical', 'high', 'medium', 'low', 'info')),
  status text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  title text not null,
  summary text not null,
  group_key text not null,
  group_values jsonb not null default '{}',
  window_start timestamptz not null,
  window_end timestamptz not null,
  -- The count, distinct count or sum that crossed the threshold (1 for single-record rules).
  value double precision not null,
  threshold double precision not null,
  first_seen timestamptz not null,
  last_seen timestamptz not null,
  -- Event time of the record that completed the detection.
  detected_at timestamptz not null,
  evidence jsonb not null default 'null',
  tags text[] not null default '{}',
  -- Millisecond precision, as the alerts topic carries them (and exact in JavaScript dates).
  created_at timestamptz not null default date_trunc('milliseconds', now()),
  updated_at timestamptz not null default date_trunc('milliseconds', now()),
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at timestamptz,
  resolved_by text,
  check (status <> 'acknowledged' or acknowledged_at is not null),
  check (status <> 'resolved' or resolved_at is not null)
);
create index alerts_organization_created_idx on alerts (organization_id, created_at desc, id desc);
create index alerts_project_created_idx on alerts (project_id, created_at desc, id desc);
create index alerts_organization_status_idx on alerts (organization_id, status, created_at desc, id desc);
create index alerts_rule_idx on alerts (organization_id, rule_id, created_at desc);

-- The outbox of vigil.alerts.v1: one row per alert event, written in the transaction that changed
-- the alert, published by one elected rule worker. The id is the event's identity as receivers see
-- it (alert:<id>:created, alert:<id>:<updated|resolved>:<updated_at ms>). `attempted_at` is set
-- before a publish is tried, so a row attempted but never confirmed is checked against the topic
-- before it is sent again: the topic carries each event once.
create table alert_events (
  id text primary key,
  seq bigint generated always as identity unique,
  alert_id text not null references alerts (id) on delete cascade,
  event_type text not null check (event_type in ('alert.created', 'alert.updated', 'alert.resolved')),
  -- The AlertRecord as published (times in ms, evidence as JSON).
  record jsonb not null,
  created_at timestamptz not null default now(),
  attempted_at timestamptz,
  published_at timestamptz
);
create index alert_events_pending_idx on alert_events (seq) where published_at is null;
create index alert_events_alert_idx on alert_events (alert_id, seq);

-- Streaming state of the detection stage. A task is one partition of the internal re-partition
-- topic: its rule state (one row per (rule, project, group) and per stream clock, as the engine
-- serialises it) and the position up to which it is applied are written in the same transaction
-- as the alerts that position implies. `origins` holds, per input partition, the newest input
-- record applied, so a record routed twice (a routing stage replaying after a crash, or replaying
-- the input topics from the start) is applied once.
create table rule_tasks (
  topic text not null,
  partition integer not null check (partition >= 0),
  next_offset bigint not null check (next_offset >= 0),
  origins jsonb not null default '{}',
  updated_at timestamptz not null default now(),
  primary key (topic, partition)
);

create table rule_state (
  topic text not null,
  partition integer not null,
  organization_id bigint not null,
  key text not null,
  -- JSON text (not jsonb: group values may contain U+0000, which jsonb refuses).
  value text not null,
  primary key (topic, partition, organization_id, key)
);

-- Down Migration
drop table rule_state;
drop table rule_tasks;
drop table alert_events;
drop table alerts;
drop trigger rules_changed on rules;
drop function vigil_rules_changed();
drop table rules_revision;
drop table rule_versions;
drop table rules;
