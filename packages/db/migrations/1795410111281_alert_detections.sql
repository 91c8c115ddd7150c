-- Up Migration
-- Finds the alerts of one (project, rule, group) by the end of their window: storing a detection
-- skips it when an alert of the same rule, project and group already ends within the rule's
-- window or suppression interval of it (a replay in another order, or a restart without detection
-- state, may find the same detection in a neighbouring window, under another id). The group key
-- is hashed: it is built from sender-supplied values and may exceed what a btree entry holds.
create index alerts_detection_idx on alerts (project_id, rule_id, md5(group_key), window_end);

-- Down Migration
drop index alerts_detection_idx;
