/**
 * At start, the schedules a tasks module declares (`export const schedules =
 * defineSchedules({...})`) are created or updated in the database, so the elected maintainer
 * fires them. Schedules no longer declared are left alone: delete them through the client, the
 * API or the dashboard. A failure is logged; the next start tries again.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { createScheduleClient } from '../../src/core/service/schedule-client.ts';
import type { DeclaredSchedules } from './load-tasks.ts';
import type { Logger } from './logger.ts';

/** Syncs `declared` (if any) into `schema`. Never rejects. */
export async function syncDeclaredSchedules(context: {
  db: Database;
  schema: string;
  declared: DeclaredSchedules | undefined;
  logger: Logger;
}): Promise<void> {
  const { declared, logger } = context;
  if (!declared || Object.keys(declared).length === 0) return;
  try {
    const synced = await createScheduleClient(context.db, context.schema).sync(declared);
    logger.log('info', 'schedules_synced', {
      schedules: synced.map((schedule) => ({
        name: schedule.name,
        cron: schedule.cron,
        timezone: schedule.timezone,
        nextFireAt: schedule.nextFireAt?.toISOString() ?? null,
        paused: schedule.paused,
      })),
    });
  } catch (error) {
    logger.log('error', 'schedules_not_synced', { error: String(error), note: 'the next start tries again' });
  }
}
