/**
 * `readFile`: one file at a ref through the Items API, streamed to `destination` byte for byte. The file
 * appears only once complete (written beside it, then renamed), so a failure leaves nothing behind.
 */
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import type { IncomingMessage } from 'node:http';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DevOpsError } from '../core/errors';
import { explainDevOpsError, retrying } from '../devops/client';
import { COMMIT_SHA, branchName } from './refs';
import type { Connection, RepositoryInfo } from '../devops/repos';

// GitVersionType: Branch = 0, Tag = 1, Commit = 2 (node-api GitInterfaces; enums travel as numbers).
type Version = { version: string; versionType: 0 | 1 | 2 };

/** Which versions to try for a ref: a short name may be a branch or a tag (branch first). */
export function versionCandidates(ref: string | undefined): Array<Version | undefined> {
  if (!ref) return [undefined];
  if (COMMIT_SHA.test(ref)) return [{ version: ref, versionType: 2 }];
  if (ref.startsWith('refs/heads/')) return [{ version: branchName(ref), versionType: 0 }];
  if (ref.startsWith('refs/tags/')) return [{ version: ref.slice(10), versionType: 1 }];
  return [{ version: ref, versionType: 0 }, { version: ref, versionType: 1 }];
}

async function body(stream: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Why an Items request answered 404: the file is missing at a version that exists, or the version is. */
function missingKind(text: string): 'file' | 'ref' | undefined {
  if (/TF401174|GitItemNotFoundException/.test(text)) return 'file';
  if (/TF401175|TF401029|TF401048|GitUnresolvableToCommitException|GitCommitDoesNotExistException/.test(text)) return 'ref';
  return undefined;
}

/** Writes `stream` to `destination` through a temporary file beside it, so only a complete file appears. */
async function save(stream: IncomingMessage, destination: string): Promise<number> {
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

/**
 * Reads `filePath` at `ref` (default branch when undefined) into `destination`; returns where and how big. A short
 * ref is tried as a branch, then as a tag. A missing file and a missing ref each get their own message.
 */
export async function readFile(
  c: Connection, git: IGitApi, repo: RepositoryInfo, filePath: string, ref: string | undefined, destination: string,
): Promise<{ path: string; size: number }> {
  const where = `'${repo.projectName}/${repo.name}'`;
  const what = `read '${filePath}'${ref ? ` at '${ref}'` : ''} from ${where}`;
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
      // An existing folder as destination receives the file under its own name.
      const path = existsSync(destination) && statSync(destination).isDirectory() ? join(destination, posix.basename(filePath)) : destination;
      return { path, size: await save(stream, path) };
    }
    const text = await body(stream);
    let message = text;
    try { message = (JSON.parse(text) as { message?: string }).message ?? text; } catch { /* not JSON */ }
    lastError = Object.assign(new Error(message), { statusCode: stream.statusCode, result: { message }, responseHeaders: stream.headers });
    // A short ref that is not a branch may be a tag; anything else is final.
    if (stream.statusCode !== 404 || missingKind(text) !== 'ref') break;
  }
  const explained = explainDevOpsError(lastError, c.ref.organization, what, c.claims);
  const kind = explained instanceof DevOpsError && explained.status === 404 ? missingKind((lastError as Error).message) : undefined;
  if (kind === 'ref') {
    throw new DevOpsError(`The ref '${ref ?? ''}' does not exist in ${where} (TF401175): no branch, tag or commit has that name.`,
      'Check ref: a branch (main), a tag (v1.2), a full ref (refs/tags/v1.2) or a full 40-character commit SHA.', 404, { cause: lastError });
  }
  if (kind === 'file') {
    throw new DevOpsError(`The file '${filePath}' does not exist in ${where} at ${ref ? `'${ref}'` : 'the default branch'} (TF401174).`,
      'Check filePath: the path of a file from the repository root, such as /build/shared.yml (folders cannot be read).', 404, { cause: lastError });
  }
  throw explained;
}
