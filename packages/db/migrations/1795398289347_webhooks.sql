-- Up Migration
-- Webhooks (CONTRACT.md §7): endpoints an organization subscribes, the alert events sent to them, one
-- message per (event, endpoint) and every attempt to deliver it.

-- An endpoint. Secrets are stored as they are needed to sign; during a rotation the previous secret
-- keeps signing until previous_secret_expires_at. The failure columns track one unbroken run of
-- failed attempts (reset by any success), which is what disables an endpoint that never recovers.
create table webhooks (
  id uuid primary key default gen_random_uuid(),
  organization_id bigint not null references organizations (id) on delete cascade,
  -- Only alerts of these projects; null = every project of the organization.
  project_ids bigint[] check (project_ids is null or cardinality(project_ids) > 0),
  url text not null check (url ~ '^https?://' and length(url) <= 2048),
  description text not null default '' check (length(description) <= 1024),
  secret text not null unique check (secret ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$'),
  previous_secret text check (previous_secret ~ '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$'),
  previous_secret_expires_at timestamptz,
  -- Alert event types wanted; empty = all of them.
  event_types text[] not null default '{}'
    check (event_types <@ array['alert.created', 'alert.updated', 'alert.resolved']::text[]),
  -- Alerts below this severity are not sent; null = every severity.
  min_severity text check (min_severity in ('critical', 'high', 'medium', 'low', 'info')),
  -- Extra request headers, name → value.
  headers jsonb not null default '{}' check (jsonb_typeof(headers) = 'object'),
  status text not null default 'enabled' check (status in ('enabled', 'disabled')),
  disabled_reason text check (disabled_reason in ('endpoint_gone', 'failing', 'manual')),
  disabled_message text,
  disabled_at timestamptz,
  failure_count integer not null default 0 check (failure_count >= 0),
  first_failure_at timestamptz,
  last_failure_at timestamptz,
  last_success_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((status = 'disabled') = (disabled_reason is not null and disabled_at is not null)),
  check ((previous_secret is null) = (previous_secret_expires_at is null))
);
create index webhooks_organization_idx on webhooks (organization_id);

-- What is sent: one row per alert event (or test event), holding the exact request body so every
-- retry and redelivery sends the same bytes, whatever happens to the alert or the Kafka topic later.
create table webhook_events (
  -- alert:<alert id>:<type>[:<updated_at_ms>] for alert events, test:<uuid> for tests.
  id text primary key,
  organization_id bigint not null references organizations (id) on delete cascade,
  project_id bigint,
  type text not null check (type in ('alert.created', 'alert.updated', 'alert.resolved', 'webhook.test')),
  alert_id text,
  payload text not null,
  occurred_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index webhook_events_alert_idx on webhook_events (alert_id) where alert_id is not null;

-- One event for one endpoint. The id is the `webhook-id` header (derived from event and endpoint, so
-- a replayed alert maps to the same row); attempts counts every attempt ever made, redeliveries
-- included, and numbers the attempt log.
create table webhook_messages (
  id text primary key check (id ~ '^msg_[a-z2-7]{32}$'),
  webhook_id uuid not null references webhooks (id) on delete cascade,
  event_id text not null references webhook_events (id) on delete cascade,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  failure_reason text check (failure_reason in ('attempts_exhausted', 'endpoint_gone', 'destination_refused', 'endpoint_disabled')),
  attempts integer not null default 0 check (attempts >= 0),
  -- The queue job that carries the message now (the message id, or <id>.r<n> after a redelivery).
  job_id text not null,
  redeliveries integer not null default 0,
  next_attempt_at timestamptz,
  -- Set while the message waits without a queue job because its endpoint is busy or in trouble.
  parked_at timestamptz,
  last_attempt_at timestamptz,
  delivered_at timestamptz,
  failed_at timestamptz,
  created_at timestamptz not null default now(),
  unique (event_id, webhook_id),
  check ((status = 'failed') = (failure_reason is not null))
);
create index webhook_messages_webhook_idx on webhook_messages (webhook_id, created_at desc, id);
create index webhook_messages_pending_idx on webhook_messages (next_attempt_at) where status = 'pending';
create index webhook_messages_parked_idx on webhook_messages (webhook_id, parked_at, id) where parked_at is not null;
create index webhook_messages_parked_since_idx on webhook_messages (parked_at) where parked_at is not null;
create index webhook_messages_event_idx on webhook_messages (event_id);

-- The attempt log: what was sent where, and what came back (response body at most 4 KiB).
create table webhook_attempts (
  id bigint generated always as identity primary key,
  message_id text not null references webhook_messages (id) on delete cascade,
  webhook_id uuid not null references webhooks (id) on delete cascade,
  attempt integer not null check (attempt > 0),
  trigger text not null check (trigger in ('scheduled', 'manual')),
  started_at timestamptz not null,
  duration_ms double precision not null check (duration_ms >= 0),
  url text not null,
  status_code integer,
  -- null on success; otherwise a class of the catalog in docs/webhooks.md.
  error_class text,
  error text,
  response_headers jsonb not null default '{}',
  response_body text not null default '' check (octet_length(response_body) <= 4096),
  response_body_truncated boolean not null default false,
  remote_address text,
  unique (message_id, attempt)
);
create index webhook_attempts_webhook_idx on webhook_attempts (webhook_id, started_at desc, id);

-- Down Migration
drop table webhook_attempts;
drop table webhook_messages;
drop table webhook_events;
drop table webhooks;
