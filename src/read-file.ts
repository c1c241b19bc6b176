/**
 * `readFile`: one file at a ref through the Items API, streamed to `destination` byte for byte. The file
 * appears only once complete (written beside it, then renamed), so a failure leaves nothing behind.
 */
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import type { IncomingMessage } from 'node:http';
import { createWriteStream, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DevOpsError } from './errors';
import { explainDevOpsError, retrying } from './devops';
import { COMMIT_SHA } from './refs';
import type { Connection, RepositoryInfo } from './repos';

// GitVersionType: Branch = 0, Tag = 1, Commit = 2 (node-api GitInterfaces; enums travel as numbers).
type Version = { version: string; versionType: 0 | 1 | 2 };

/** Which versions to try for a ref: a short name may be a branch or a tag (branch first). */
export function versionCandidates(ref: string | undefined): Array<Version | undefined> {
  if (!ref) return [undefined];
  if (COMMIT_SHA.test(ref)) return [{ version: ref, versionType: 2 }];
  if (ref.startsWith('refs/heads/')) return [{ version: ref.slice(11), versionType: 0 }];
  if (ref.startsWith('refs/tags/')) return [{ version: ref.slice(10), versionType: 1 }];
  return [{ version: ref, versionType: 0 }, { version: ref, versionType: 1 }];
}

async function body(stream: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readFile(c: Connection, git: IGitApi, repo: RepositoryInfo, filePath: string, ref: string | undefined, destination: string): Promise<number> {
  const what = `read '${filePath}'${ref ? ` at '${ref}'` : ''} from '${repo.name}'`;
  let lastError: unknown;
  for (const version of versionCandidates(ref)) {
    const stream = (await retrying(what, c.log, async () => {
      const res = (await git.getItemContent(repo.id, filePath, repo.projectName, undefined, undefined, false, false, true, version)) as IncomingMessage;
      if (res.statusCode === 429 || (res.statusCode ?? 0) >= 500) {
        const text = await body(res);
        throw Object.assign(new Error(text), { statusCode: res.statusCode, responseHeaders: res.headers });
      }
      return res;
    }).catch((err: unknown) => { throw explainDevOpsError(err, c.ref.organization, what, c.claims); }));
    if (stream.statusCode === 200) {
      mkdirSync(dirname(destination), { recursive: true });
      const partial = `${destination}.partial-${process.pid}`;
      try {
        await pipeline(stream, createWriteStream(partial, { mode: 0o644 }));
        renameSync(partial, destination);
      } finally {
        rmSync(partial, { force: true });
      }
      return statSync(destination).size;
    }
    const text = await body(stream);
    let message = text;
    try { message = (JSON.parse(text) as { message?: string }).message ?? text; } catch { /* not JSON */ }
    lastError = Object.assign(new Error(message), { statusCode: stream.statusCode, result: { message } });
    if (stream.statusCode !== 404) break;
  }
  const explained = explainDevOpsError(lastError, c.ref.organization, what, c.claims);
  if (explained instanceof DevOpsError && explained.status === 404) {
    throw new DevOpsError(`Could not ${what}: the file or the ref does not exist (${explained.message.replace(/^Could not [^:]*: /, '')}).`,
      'Check filePath (a path from the repository root, e.g. /build/shared.yml) and ref.', 404);
  }
  throw explained;
}
