-- Up Migration
-- The read API's class and severity filters together (e.g. `class=security&severity=high,critical`):
-- every (project, class, severity) combination asked for is read newest first through this index, so a
-- page costs about `limit` entries per combination however rare the combination is. The single-column
-- (project_id, class, timestamp) and (project_id, severity, timestamp) indexes still serve one filter
-- alone.
--
-- Built on every partition in this migration's transaction: writes to events wait while it is built
-- (about a minute per 10 million stored events).
create index events_project_class_severity_time_idx on events (project_id, class, severity, timestamp desc);

-- Down Migration
drop index events_project_class_severity_time_idx;
