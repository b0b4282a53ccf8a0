/**
 * CPU time from /proc/stat (Linux): user, nice, system, irq and softirq time, not idle, I/O wait
 * or time the hypervisor stole.
 *
 * - The whole machine (every process: the bench, Postgres, Redis, anything else): over a drain,
 *   per job, how much work one job costs the machine; a mode's extra share of it is the most that
 *   mode can cost the drain's rate once the machine's CPUs are the limit.
 * - Some CPUs only (`BENCH_DATABASE_CPUS`): with Postgres pinned to them and the bench to the
 *   others (bench/own-core-postgres.sh), what a job costs the database.
 *
 * Meaningful only on a quiet machine.
 * @module
 */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second of /proc/stat (USER_HZ: 100 on every common Linux build). */
const TICKS_PER_SECOND = 100;

/** Busy microseconds since boot per /proc/stat line label (`cpu`, `cpu0`, ...), or undefined off Linux. */
function busyByLabel(): Map<string, number> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const busy = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [label, user, nice, system, , , irq, softirq] = line.trim().split(/\s+/);
    const ticks = [user, nice, system, irq, softirq].reduce((sum, value) => sum + Number(value ?? 0), 0);
    busy.set(label!, (ticks / TICKS_PER_SECOND) * 1e6);
  }
  return busy;
}

/** Microseconds of CPU the machine has spent busy since boot, or undefined off Linux. */
export function machineBusyMicros(): number | undefined {
  return busyByLabel()?.get('cpu');
}

/**
 * Microseconds the CPUs `cpus` have spent busy since boot; undefined off Linux or when one of
 * them does not exist.
 */
export function cpusBusyMicros(cpus: readonly number[]): number | undefined {
  const busy = busyByLabel();
  if (!busy || cpus.length === 0) return undefined;
  let sum = 0;
  for (const cpu of cpus) {
    const micros = busy.get(`cpu${cpu}`);
    if (micros === undefined) return undefined;
    sum += micros;
  }
  return sum;
}

/**
 * The CPUs Postgres is pinned to, from `BENCH_DATABASE_CPUS` (`0`, `0,1`, `0-1`); empty when
 * unset. Anything else is an error, so that a typo does not silently measure nothing.
 */
export function databaseCpus(env: NodeJS.ProcessEnv = process.env): number[] {
  const text = env.BENCH_DATABASE_CPUS?.trim();
  if (!text) return [];
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new Error(`BENCH_DATABASE_CPUS: "${text}" is not a CPU list like 0 or 0,1 or 0-1`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}
