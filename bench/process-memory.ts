/**
 * Memory of a process from /proc/<pid>/status (Linux): the resident set now (VmRSS), its peak
 * (VmHWM) and the thread count. Worker threads share their process, so this covers them all.
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';

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

/** Process ids of `pid`'s children, grandchildren, ... (from /proc/<pid>/task/<tid>/children). */
async function descendants(pid: number): Promise<number[]> {
  const found: number[] = [];
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const child of text.split(/\s+/).filter(Boolean).map(Number)) {
      found.push(child, ...(await descendants(child)));
    }
  }
  return found;
}

/**
 * Memory of a process tree: resident sets and threads added up over `pid` and its descendants
 * (a worker that runs tasks in child processes counts them all); `peakRssMiB` is the sum of
 * each process's own peak, an upper bound of the tree's peak.
 */
export async function readProcessTreeMemory(pid: number): Promise<ProcessMemory & { processes: number }> {
  const all = [pid, ...(await descendants(pid))];
  const each = await Promise.all(all.map((id) => readProcessMemory(id).catch(() => undefined)));
  const alive = each.filter((memory): memory is ProcessMemory => memory !== undefined);
  const sum = (key: keyof ProcessMemory) => alive.reduce((total, memory) => total + memory[key], 0);
  return {
    rssMiB: sum('rssMiB'),
    peakRssMiB: sum('peakRssMiB'),
    threads: sum('threads'),
    processes: alive.length,
  };
}
