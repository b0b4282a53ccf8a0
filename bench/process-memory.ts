/**
 * Memory of a process from /proc/<pid>/status (Linux): the resident set now (VmRSS), its peak
 * (VmHWM) and the thread count. Worker threads share their process, so this covers them all.
 * @module
 */
import { readFile } from 'node:fs/promises';

export interface ProcessMemory {
  rssMiB: number;
  peakRssMiB: number;
  threads: number;
}

export async function readProcessMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: field('VmRSS') / 1024, peakRssMiB: field('VmHWM') / 1024, threads: field('Threads') };
}
