-- Up Migration
-- Configuration: organizations own projects and API tokens; projects own DSN keys and flow exporters.

create table organizations (
  id bigint generated always as identity primary key,
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null,
  created_at timestamptz not null default now()
);

create table projects (
  id bigint generated always as identity primary key,
  organization_id bigint not null references organizations (id) on delete cascade,
  name text not null,
  slug text not null check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  created_at timestamptz not null default now(),
  unique (organization_id, slug)
);

-- DSN keys: the public key is the DSN's user part; revocation is a status change so it can be audited.
create table project_keys (
  id bigint generated always as identity primary key,
  project_id bigint not null references projects (id) on delete cascade,
  public_key text not null unique check (public_key ~ '^[0-9a-f]{32}$'),
  label text not null default 'Default',
  status text not null default 'active' check (status in ('active', 'revoked')),
  rate_limit_per_minute integer check (rate_limit_per_minute > 0),
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  check ((status = 'revoked') = (revoked_at is not null))
);
create index project_keys_project_idx on project_keys (project_id);

-- Flow exporters allowed to send for a project, by source CIDR and optionally observation domain.
create table exporters (
  id bigint generated always as identity primary key,
  project_id bigint not null references projects (id) on delete cascade,
  cidr cidr not null,
  observation_domain bigint check (observation_domain between 0 and 4294967295),
  name text,
  created_at timestamptz not null default now(),
  unique nulls not distinct (project_id, cidr, observation_domain)
);
create index exporters_cidr_idx on exporters using gist (cidr inet_ops);

-- API tokens: only the SHA-256 of the token is stored; the plaintext is shown once at creation.
create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  organization_id bigint not null references organizations (id) on delete cascade,
  name text not null,
  prefix text not null,
  token_hash bytea not null unique check (octet_length(token_hash) = 32),
  scopes text[] not null,
  rate_limit_per_minute integer check (rate_limit_per_minute > 0),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now()
);
create index api_tokens_org_idx on api_tokens (organization_id);

-- Down Migration
drop table api_tokens;
drop table exporters;
drop table project_keys;
drop table projects;
drop table organizations;
