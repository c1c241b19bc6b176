/** One function per `command` of ManagedIdentityRepository@1, each over the shared library. */
import { checkout } from '../../repository/checkout';
import { connectOrganization, whoAmI } from '../../devops/client';
import { TaskError } from '../../core/errors';
import { createGit, type GitAuth } from '../../git/runner';
import type { AzureDevOpsToken } from '../../identity/managed-identity';
import { formatTable, listRepositories, writeRepositoryList } from '../../repository/list';
import { persistCredentials, persistTargets } from '../../git/persisted-credentials';
import { StateKey, type Pipeline } from '../../agent/pipeline';
import { openPullRequest } from '../../repository/pull-request';
import { push, requireWorkTree } from '../../repository/push';
import { readFile } from '../../repository/read-file';
import { branchName } from '../../repository/refs';
import { ancestryOnServer, call, getRepository, gitApi, type Connection } from '../../devops/repos';
import { cloneUrl, describeRepository, parseRepository, withoutUserinfo, type RepositoryRef } from '../../devops/repository-ref';
import { derivedForms } from '../../agent/secrets';
import { createTag } from '../../repository/tag';
import type { CheckoutSettings, ListSettings, PullRequestSettings, PushSettings, ReadFileSettings, RepositorySettings, TagSettings } from './settings';

export interface Run {
  readonly p: Pipeline;
  readonly settings: RepositorySettings;
  readonly token: AzureDevOpsToken;
}

async function connect(run: Run, ref: RepositoryRef): Promise<Connection> {
  const api = await connectOrganization(ref.organization, run.token.token, run.settings.policy);
  return { api, ref, claims: run.token.claims, log: run.p };
}

/** Git may need the token for any Azure DevOps organization (submodules live anywhere in the tenant). */
function gitAuth(run: Run): GitAuth {
  return { token: run.token.token, expiresOn: run.token.expiresOn.getTime(), policy: run.settings.policy, tempDir: run.settings.tempDirectory };
}

function git(run: Run): ReturnType<typeof createGit> {
  const secrets = derivedForms(run.token.token);
  return createGit((line) => run.p.info(line), () => secrets);
}

export async function runCheckout(run: Run, s: CheckoutSettings): Promise<void> {
  const c = await connect(run, s.repository);
  const repo = await getRepository(c, await gitApi(c));
  const ref = s.ref ?? repo.defaultBranch;
  if (!ref) throw new TaskError(`Repository '${describeRepository(s.repository)}' is empty: there is nothing to check out.`, 'Push a first commit, or give ref.');
  const g = git(run);
  const result = await checkout(g, { ...s, url: cloneUrl(s.repository), ref }, gitAuth(run), run.p);
  if (s.persistCredentials) {
    const targets = await persistTargets(g, result.path, s.repository.organization, result.submodules, run.settings.policy, run.p);
    const entries = await persistCredentials(g, targets, run.settings.tempDirectory, run.settings.identity, run.settings.policy, run.p);
    const saved = JSON.parse(run.p.loadState(StateKey.PersistedCredentials) ?? '[]') as unknown[];
    run.p.saveState(StateKey.PersistedCredentials, JSON.stringify([...saved, ...entries]));
    run.p.info(`Later git commands in this clone${entries.length > 1 ? ' and its submodules' : ''} authenticate with the identity until the job ends.`);
  }
  run.p.setVariable('commit', result.commit, { isOutput: true });
  run.p.setVariable('path', result.path, { isOutput: true });
  run.p.info(`Checked out ${describeRepository(s.repository)} at ${result.commit} into ${result.path}${result.reused ? ' (re-used clone)' : ''}.`);
}

export async function runList(run: Run, s: ListSettings): Promise<void> {
  const ref: RepositoryRef = { organization: s.organization, project: s.project ?? '', repository: '' };
  const c = await connect(run, ref);
  // One after the other: the second reuses the resource areas the first fetched (node-api caches them per WebApi).
  const core = await call(c, 'discover the Core REST API', () => c.api.getCoreApi());
  const git = await gitApi(c);
  const repos = await listRepositories(c, git, core, s.project);
  run.p.info(formatTable(repos));
  if (s.outputFile) {
    writeRepositoryList(s.outputFile, repos);
    run.p.info(`Wrote ${repos.length} repositories to ${s.outputFile}.`);
  }
  run.p.setVariable('count', String(repos.length), { isOutput: true });
  run.p.info(`${repos.length} repositories in ${s.project ? `project '${s.project}' of ` : ''}'${s.organization.name}'.`);
}

export async function runReadFile(run: Run, s: ReadFileSettings): Promise<void> {
  const c = await connect(run, s.repository);
  const api = await gitApi(c);
  const repo = await getRepository(c, api);
  const { path, size } = await readFile(c, api, repo, s.filePath, s.ref, s.destination);
  run.p.setVariable('path', path, { isOutput: true });
  run.p.info(`Wrote ${s.filePath} (${size} bytes) from ${describeRepository(s.repository)}${s.ref ? ` at ${s.ref}` : ''} to ${path}.`);
}

/** An origin remote as an https repository URL: credentials dropped (never shown), Azure Repos SSH remotes translated. */
function originUrl(origin: string): string {
  const ssh = /^(?:ssh:\/\/)?[^@/\s]+@(?:ssh\.dev\.azure\.com|vs-ssh\.visualstudio\.com)(?::22)?[:/]v3\/([^/]+)\/([^/]+)\/([^/]+?)\/?$/i.exec(origin);
  if (ssh) return `https://dev.azure.com/${ssh[1]}/${ssh[2]}/_git/${ssh[3]}`;
  return withoutUserinfo(origin);
}

/** `repository`, or else the Azure DevOps repository the `origin` remote of sourceDirectory names. */
async function originRepository(run: Run, s: PushSettings): Promise<RepositoryRef> {
  if (s.repository) return s.repository;
  const dir = s.sourceDirectory;
  await requireWorkTree(git(run), dir);
  const { stdout, exitCode } = await git(run)(['remote', 'get-url', 'origin'], { cwd: dir, capture: true, okExitCodes: [2] });
  const origin = exitCode === 0 ? originUrl(stdout.trim()) : '';
  if (!origin) throw new TaskError(`${dir} has no 'origin' remote, so the repository to push to is not known.`, 'Give repository.');
  try {
    return parseRepository('repository', origin, run.settings.policy, undefined, undefined);
  } catch {
    throw new TaskError(`The 'origin' remote of ${dir} is not an Azure DevOps repository (${origin}).`,
      'Give repository: {organization}/{project}/{repository} or https://dev.azure.com/{organization}/{project}/_git/{repository}.');
  }
}

export async function runPush(run: Run, s: PushSettings): Promise<void> {
  const target = await originRepository(run, s);
  const c = await connect(run, target);
  const api = await gitApi(c);
  const repo = await getRepository(c, api);
  const repository = describeRepository(target);
  if (!s.repository) run.p.info(`Pushing to ${repository}, the origin remote of ${s.sourceDirectory}.`);
  const options = { ...s, url: cloneUrl(target), repository, ancestryOnServer: (ancestor: string, commits: readonly string[]) => ancestryOnServer(c, api, repo, ancestor, commits) };
  const result = await push(git(run), options, gitAuth(run), run.p);
  run.p.setVariable('commit', result.commit, { isOutput: true });
}

export async function runTag(run: Run, s: TagSettings): Promise<void> {
  const c = await connect(run, s.repository);
  const api = await gitApi(c);
  const repo = await getRepository(c, api);
  const ref = s.ref ?? repo.defaultBranch;
  if (!ref) throw new TaskError(`Repository '${describeRepository(s.repository)}' is empty: there is nothing to tag.`, 'Push a first commit, or give ref.');
  const result = await createTag(c, api, repo, s.tagName, ref, s.message);
  run.p.setVariable('tagObjectId', result.objectId, { isOutput: true });
  run.p.setVariable('commit', result.commit, { isOutput: true });
  if (result.created) run.p.info(`Created ${s.message ? 'annotated ' : ''}tag '${s.tagName}' on ${result.commit} in ${describeRepository(s.repository)}.`);
}

export async function runPullRequest(run: Run, s: PullRequestSettings): Promise<void> {
  const c = await connect(run, s.repository);
  const api = await gitApi(c);
  const repo = await getRepository(c, api);
  const identityId = s.autoComplete ? (await whoAmI(c.api, s.repository.organization, run.token.claims, run.p)).id : '';
  const target = s.targetBranch ?? repo.defaultBranch;
  const result = await openPullRequest(c, api, repo, {
    sourceBranch: s.sourceBranch,
    targetBranch: target,
    title: s.title ?? `Merge ${branchName(s.sourceBranch)} into ${branchName(target ?? '')}`,
    keepTitle: s.title === undefined,
    description: s.description,
    isDraft: s.isDraft,
    autoComplete: s.autoComplete ? { mergeStrategy: s.mergeStrategy, deleteSourceBranch: s.deleteSourceBranch, identityId } : undefined,
  });
  run.p.setVariable('pullRequestId', String(result.id), { isOutput: true });
  run.p.setVariable('pullRequestUrl', result.url, { isOutput: true });
  run.p.info(`${result.created ? 'Created' : 'Found'} pull request ${result.id}: ${result.url}`);
}
