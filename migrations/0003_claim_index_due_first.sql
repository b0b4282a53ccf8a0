-- Claim cost independent of what is not due or not asked for.
-- migration: no-transaction
--
-- tasks_claim_idx (0001) ordered pending tasks by priority, then created_at for fresh tasks,
-- and checked `run_at <= now` row by row: tasks created earlier but due later (a backlog
-- scheduled for tomorrow) sat at the head of the index, and every claim walked past all of
-- them; a worker with `--queues b` walked queue a's backlog as well.
--
-- A task's queue position is now the time it joined the due tasks: greatest(created_at,
-- run_at). That is created_at for a task due at creation (or created with a past runAt: it
-- does not jump ahead of tasks created before it), run_at for a delayed task and for a retry.
-- Within a priority the index is then due tasks first, oldest position first, and the claim
-- reads a range that ends at "now"; it walks the priorities that have pending tasks one index
-- descent each (a skip scan). The queue-led index does the same per requested queue.
--
-- Compatible: older workers' claims order by the 0001 expression; without its index they sort
-- the pending rows, slower but correct. Builds without blocking writes; the statements are
-- idempotent, so a run that dies part-way is retried from the first one.

create index concurrently if not exists tasks_claim_due_idx on :"schema".tasks (
  priority desc,
  (greatest(created_at, run_at)),
  id
) where status = 'PENDING';

create index concurrently if not exists tasks_claim_queue_idx on :"schema".tasks (
  queue,
  priority desc,
  (greatest(created_at, run_at)),
  id
) where status = 'PENDING';

drop index concurrently if exists :"schema".tasks_claim_idx;
