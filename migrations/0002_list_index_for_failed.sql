-- Listing by status needs its own index only for FAILED and CANCELLED: PENDING tasks are in
-- tasks_claim_idx, PROGRESS tasks in tasks_lease_idx, and COMPLETED ones are dense along the
-- primary key. The (status, id) index of 0001 took an entry on every insert and every claim;
-- this one only when a task fails or is cancelled, off the hot path.

drop index :"schema".tasks_status_id_idx;

create index tasks_failed_id_idx on :"schema".tasks (status, id)
  where status in ('FAILED', 'CANCELLED');
