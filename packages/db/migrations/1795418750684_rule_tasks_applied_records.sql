-- Up Migration
-- How many routed records each detection task has applied in total. A message of the re-partition
-- topic carries many records (one message per partition and routing round), so the task's position
-- (next_offset) counts messages, not records; this counts records, for operators and tests.
alter table rule_tasks add column applied_records bigint not null default 0 check (applied_records >= 0);

-- Down Migration
alter table rule_tasks drop column applied_records;
