/**
 * Git smart HTTP in front of the real `git http-backend` CGI, with Azure Repos' URL layout and
 * refusals (devops-side.md §7): 401 + Basic/TFS-Federated challenge for missing or unusable
 * credentials; text/plain TF401019 (404) and TF401027 (403) decided at `info/refs` time, because
 * git shows an error body (as `remote:` lines) only for that request (git remote-curl.c).
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { challengeHeaders, type Access } from './devops-auth';
import { isolatedGitEnv, syncPolicyHook } from './git-repos';
import { sendText } from './http-util';
import { findProject, findRepository, type Organization, type Repository } from './world';

export interface GitTarget {
  project: string;
  repo: string;
  /** `info/refs`, `git-upload-pack`, `git-receive-pack` (anything else goes to the backend too). */
  tail: string;
}

/** `{project}/_git/{repo}/…` or `_git/{repo}/…` (project named like the repo); segments decoded. */
export function parseGitPath(segments: readonly string[]): GitTarget | undefined {
  // Route literals are case-insensitive on the service (as in devops-routes.ts): `_GIT` works like `_git`.
  const at = segments.findIndex((s) => s.toLowerCase() === '_git');
  if (at < 0 || at > 1 || segments.length < at + 2) return undefined;
  const repo = segments[at + 1].replace(/\.git$/, '');
  return { project: at === 1 ? segments[0] : repo, repo, tail: segments.slice(at + 2).join('/') };
}

const TEXT = 'text/plain; charset=utf-8';

function locate(org: Organization, target: GitTarget): Repository | undefined {
  const project = findProject(org, target.project);
  return project && findRepository(project, target.repo);
}

/** Serves one smart-HTTP request; `access` is the caller's standing in `org`. */
export async function serveGit(
  req: IncomingMessage,
  res: ServerResponse,
  org: Organization,
  target: GitTarget,
  access: Access,
  query: URLSearchParams,
): Promise<void> {
  if (!access.ok) {
    const message =
      access.why === 'never signed in'
        ? 'TF401444: Please sign-in at least once in a web browser to enable access to the service.'
        : "TF400813: The user '' is not authorized to access this resource.";
    return sendText(res, 401, message, TEXT, challengeHeaders(org));
  }
  const repo = locate(org, target);
  if (!repo || repo.restOnly || access.membership.access !== 'basic') {
    const message = `TF401019: The Git repository with name or identifier ${target.repo} does not exist or you do not have permissions for the operation you are attempting.`;
    return sendText(res, 404, message, TEXT);
  }
  const push = query.get('service') === 'git-receive-pack' || target.tail === 'git-receive-pack';
  if (push && access.membership.permission !== 'contribute') {
    const message = `TF401027: You need the Git 'GenericContribute' permission to perform this action. Details: identity '${access.identity.displayName}', scope 'repository'.`;
    return sendText(res, 403, message, TEXT);
  }
  // Branch policies live in the world; the pre-receive hook follows them before every push.
  if (push) await syncPolicyHook(repo);
  await runBackend(req, res, repo, target.tail, query, access.identity.displayName);
}

/** Runs `git http-backend` as a CGI: request body streamed to stdin, CGI headers parsed from stdout. */
function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  repo: Repository,
  tail: string,
  query: URLSearchParams,
  remoteUser: string,
): Promise<void> {
  const env = isolatedGitEnv({
    GIT_PROJECT_ROOT: path.dirname(repo.bareDir),
    PATH_INFO: `/${path.basename(repo.bareDir)}/${tail}`,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: query.toString(),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: remoteUser, // enables receive-pack
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    GIT_HTTP_EXPORT_ALL: '1',
    // Azure Repos serves blobless and treeless partial clones (devblogs.microsoft.com/devops,
    // "Git Partial Clone Now Supported in Azure DevOps", 2023-11-01); http-backend refuses filters by default.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'uploadpack.allowFilter',
    GIT_CONFIG_VALUE_0: 'true',
  });
  // Chunked request bodies (git uses them above http.postBuffer) must arrive without CONTENT_LENGTH.
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], { env });
    req.pipe(child.stdin);
    // A client that goes away mid-request (a step killed at its timeout, a cancelled job) ends the request on the
    // server too: without this the backend would wait for the rest of the body for ever (pipe() does not end
    // stdin on an aborted request), and its upload-pack with it. The client may have gone already, while the
    // access checks above were awaited: then 'close' has been emitted and will not come again.
    const abandon = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    res.on('close', abandon);
    if (req.socket.destroyed || res.closed) abandon();
    child.stdin.on('error', () => undefined); // the backend may stop reading early (e.g. 415)
    let head = Buffer.alloc(0);
    let started = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const forward = (chunk: Buffer): void => {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (started) return forward(chunk);
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const end = /\r?\n\r?\n/.exec(text);
      if (!end) return;
      started = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, end.index).split(/\r?\n/)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      forward(head.subarray(end.index + end[0].length));
    });
    child.on('close', (code) => {
      if (!started) sendText(res, 500, `git http-backend exited ${String(code)} without a response: ${stderr}`, TEXT);
      else res.end();
      resolve();
    });
    child.on('error', (err) => {
      if (!res.headersSent) sendText(res, 500, `cannot run git http-backend: ${err.message}`, TEXT);
      resolve();
    });
  });
}
