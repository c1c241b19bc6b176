/**
 * What every end-to-end test needs: the tasks installed from the packaged .vsix (built by `pretest`),
 * emulators, the pipeline variables of a job in organization `contoso`, a git wrapper that records
 * every argv, and leak scanners.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installVsix, packagedVsix, runJob, type JobOptions, type JobResult, type Step } from '../agent/runner';
import { scrubbedEnv, startEmulators, type Emulators, type EmulatorOptions } from '../emulators';
import { derivedForms } from '../../src/agent/secrets';

let installed: Promise<Map<string, string>> | undefined;

/**
 * The task folders unpacked from the emulator flavour, dist/test/*.vsix (src/core/flavour.ts), once per test run:
 * its tasks accept the emulators jobVariables() names in ManagedIdentity.TestHosts. The release flavour,
 * dist/*.vsix, ignores that variable (test/e2e/release-flavour.test.ts). MI_VSIX names another emulator-flavour
 * package instead, e.g. one built from an earlier commit, to see that a test fails against it.
 */
export function packagedTasks(): Promise<Map<string, string>> {
  installed ??= installVsix(process.env['MI_VSIX'] || packagedVsix('emulator'), mkdtempSync(join(tmpdir(), 'mi-tasks-')));
  return installed;
}

export async function taskDir(name: 'ManagedIdentityAuthenticate' | 'ManagedIdentityRepository'): Promise<string> {
  const dir = (await packagedTasks()).get(name);
  if (!dir) throw new Error(`The .vsix has no task ${name}.`);
  return dir;
}

/** A git on PATH that appends its argv (one JSON line per call) to $MI_ARGV_LOG, then runs the real git. */
export function argvRecorder(): { binDir: string; log: string; calls(): string[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'mi-git-wrapper-'));
  const log = join(dir, 'argv.log');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const recorder = join(dir, 'record.js');
  writeFileSync(recorder, `require('fs').appendFileSync(process.env.MI_ARGV_LOG, JSON.stringify(process.argv.slice(2)) + '\\n');\n`);
  writeFileSync(join(dir, 'git'), `#!/bin/sh\n"${process.execPath}" "${recorder}" "$0" "$@"\nexec "${realGit}" "$@"\n`);
  chmodSync(join(dir, 'git'), 0o755);
  return {
    binDir: dir,
    log,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : []),
  };
}

/** Pipeline variables of a job in `contoso/Web`, with the emulator named as the only non-Azure host allowed. */
export function jobVariables(emu: Emulators, extra: Record<string, string> = {}): Record<string, string> {
  const host = new URL(emu.devops.url).host;
  return {
    'System.CollectionUri': emu.devops.orgUrl('contoso').replace(/\/?$/, '/'),
    'System.TeamFoundationCollectionUri': emu.devops.orgUrl('contoso').replace(/\/?$/, '/'),
    'System.TeamProject': 'Web',
    'ManagedIdentity.TestHosts': host,
    ...extra,
  };
}

/** The agent's environment: the identity endpoint of the emulators (IMDS by default) and no proxies. */
export function agentEnv(emu: Emulators, extra: Record<string, string> = {}): Record<string, string> {
  return { ...emu.env(), ...extra };
}

export interface Harness {
  readonly emu: Emulators;
  run(steps: Step[], options?: Partial<JobOptions> & { variables?: Record<string, string> }): Promise<JobResult>;
  stop(): Promise<void>;
}

export async function harness(options: EmulatorOptions = {}): Promise<Harness> {
  const emu = await startEmulators(options);
  const roots: string[] = [];
  return {
    emu,
    run: async (steps, o = {}) => {
      const result = await runJob({
        ...o,
        steps,
        variables: { ...jobVariables(emu), ...(o.variables ?? {}) },
        env: { ...agentEnv(emu), ...(o.env ?? {}) },
      });
      roots.push(result.dirs.agentRoot);
      return result;
    },
    stop: async () => {
      await emu.stop();
      for (const root of roots) rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A script line that ends this job's token broker (SIGTERM; it names its session file, which lives in this job's
 * Agent.TempDirectory) and waits until it is gone, so the credential helpers of later git calls find no broker
 * and ask the identity endpoint themselves, as they do when a broker never started or was killed.
 */
export const END_JOB_BROKER = 'pkill -TERM -f "git-broker.js $AGENT_TEMPDIRECTORY/"; while pgrep -f "git-broker.js $AGENT_TEMPDIRECTORY/" >/dev/null; do sleep 0.05; done';

/**
 * Every string a token could leak as: itself, URL- and JSON-escaped, and base64 — of the token, of
 * `:token` and `ManagedIdentity:token`, and, through `base64Cores`, inside the base64 of any
 * `user:token` Basic header. Written out here rather than taken from src/agent/secrets.ts alone, so a
 * shorter list there cannot make these scans weaker.
 */
export function leakForms(token: string): string[] {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return [...new Set([
    token, encodeURIComponent(token), JSON.stringify(token).slice(1, -1),
    b64(token), b64(`:${token}`), b64(`ManagedIdentity:${token}`),
    ...base64Cores(token), ...derivedForms(token),
  ])];
}

/**
 * The part of base64(prefix + token + suffix) that depends on the token alone, for each of the three
 * byte alignments a prefix can give it: whatever user name a Basic header carries, one of these is in it.
 */
export function base64Cores(token: string): string[] {
  return [0, 1, 2].map((k) => {
    const text = Buffer.concat([Buffer.alloc(k, 0x41), Buffer.from(token)]).toString('base64');
    return text.slice(k ? 4 : 0, -4);
  });
}

/** Files under `roots` whose bytes contain any of `needles`. */
export function filesContaining(roots: readonly string[], needles: readonly string[]): string[] {
  const hits: string[] = [];
  const walk = (path: string): void => {
    let st;
    try { st = statSync(path); } catch { return; }
    if (st.isDirectory()) {
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else if (st.isFile() && st.size < 50_000_000) {
      const text = readFileSync(path).toString('latin1');
      if (needles.some((n) => text.includes(n))) hits.push(path);
    }
  };
  roots.forEach(walk);
  return hits;
}

/** Lines of raw task output that contain a leak form, except the logging commands that register the secret. */
export function leakedLines(raw: string, token: string): string[] {
  const forms = leakForms(token);
  return raw.split(/\r?\n/).filter((line) => forms.some((f) => line.includes(f)))
    .filter((line) => !/^##vso\[task\.setsecret\]/.test(line) && !/^##vso\[task\.setvariable [^\]]*issecret=true[^\]]*\]/.test(line));
}

/** The environment a later step of the job would get: the job's variables as env, on top of the agent's. */
export function laterStepEnv(result: JobResult, agent: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { ...scrubbedEnv(agent), HOME: result.dirs.home, GIT_TERMINAL_PROMPT: '0' };
  for (const [name, v] of result.variables) if (!v.secret) env[name.replace(/[.\s]/g, '_').toUpperCase()] = v.value;
  return env;
}

/** Runs a command without blocking the event loop (the emulators live in this process). */
export function run(command: string, args: readonly string[], env: Record<string, string>, cwd?: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { env, cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}
