// Orphan process cleanup at job end, after agent src/Agent.Worker/JobExtension.cs: at job start the worker sets
// the job variable VSTS_PROCESS_LOOKUP_ID to `vsts_<guid>` (lines 557-561, unless `process.clean` is false), so
// every step's process and whatever it starts carries it in its environment; in FinalizeJob, after the post-job
// steps, it kills every process started since job start whose environment holds that id (lines 671-710),
// printing "Terminate orphan process: pid (<pid>) (<name>)". The agent reads other processes' environments
// through /proc on Linux (and `ps eww` on macOS); this runner does it on Linux only.
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

export const PROCESS_LOOKUP_ID = 'VSTS_PROCESS_LOOKUP_ID';

export function newProcessLookupId(): string {
  return `vsts_${randomUUID()}`;
}

function environOf(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
}

function nameOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Processes (other than this one) whose environment carries `lookupId`, as [pid, name]. */
export function processesWith(lookupId: string): Array<[number, string]> {
  if (process.platform !== 'linux') return [];
  const wanted = `${PROCESS_LOOKUP_ID}=${lookupId}`;
  const found: Array<[number, string]> = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    if (environOf(pid)?.split('\0').includes(wanted)) found.push([Number(pid), nameOf(pid)]);
  }
  return found;
}

/** Kills the job's leftover processes like FinalizeJob does; returns the lines the agent prints for them. */
export function terminateOrphans(lookupId: string): string[] {
  const lines: string[] = [];
  for (const [pid, name] of processesWith(lookupId)) {
    lines.push(`Terminate orphan process: pid (${pid}) (${name})`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return lines;
}
