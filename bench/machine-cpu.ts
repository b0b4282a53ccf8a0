/**
 * CPU time the whole machine spent (every process: the bench, Postgres, Redis, anything else),
 * from the first line of /proc/stat (Linux): user, nice, system, irq and softirq time, not idle,
 * I/O wait or time the hypervisor stole. Over a drain, per job, it says how much work one job
 * costs the machine; a mode's extra share of it is the most that mode can cost the drain's rate
 * once the machine's CPUs are the limit. Meaningful only on a quiet machine.
 * @module
 */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second of /proc/stat (USER_HZ: 100 on every common Linux build). */
const TICKS_PER_SECOND = 100;

/** Microseconds of CPU the machine has spent busy since boot, or undefined off Linux. */
export function machineBusyMicros(): number | undefined {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  const [label, user, nice, system, , , irq, softirq] = line.trim().split(/\s+/);
  if (label !== 'cpu') return undefined;
  const ticks = [user, nice, system, irq, softirq].reduce((sum, value) => sum + Number(value ?? 0), 0);
  return (ticks / TICKS_PER_SECOND) * 1e6;
}
