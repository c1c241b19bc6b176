/**
 * Everything ManagedIdentityRepository@1 reads, parsed once and validated before any request or git
 * command. Field names match task.json inputs; each command reads only its own inputs.
 */
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import type { CheckoutOptions, Submodules } from '../../repository/checkout';
import { InputError } from '../../core/errors';
import type { IdentitySelector } from '../../identity/managed-identity';
import { booleanInput, homeOrganization, hostPolicy, identityInput, type InputSource } from '../../agent/inputs';
import { parseOrganization, type HostPolicy, type Organization } from '../../devops/organizations';
import { MERGE_STRATEGIES, type MergeStrategy } from '../../repository/pull-request';
import { COMMIT_SHA, branchName, filterInput, isValidRef, refInput } from '../../repository/refs';
import { isValidName, parseRepository, type RepositoryRef } from '../../devops/repository-ref';
import { pathInside, pathInsideOneOf, type PathRoot } from '../../core/workspace';

export const COMMANDS = ['checkout', 'list', 'readFile', 'push', 'tag', 'pullRequest'] as const;
export type Command = (typeof COMMANDS)[number];

/** The checkout inputs: CheckoutOptions, with the repository (not yet its URL) and a ref that may default. */
export interface CheckoutSettings extends Omit<CheckoutOptions, 'url' | 'ref'> {
  readonly command: 'checkout';
  readonly repository: RepositoryRef;
  readonly ref?: string;
  readonly persistCredentials: boolean;
}
export interface ListSettings { readonly command: 'list'; readonly organization: Organization; readonly project?: string; readonly outputFile?: string }
export interface ReadFileSettings { readonly command: 'readFile'; readonly repository: RepositoryRef; readonly ref?: string; readonly filePath: string; readonly destination: string }
export interface PushSettings {
  readonly command: 'push'; readonly repository?: RepositoryRef; readonly sourceDirectory: string; readonly sourceRef: string;
  readonly targetBranch: string; readonly tags: boolean; readonly force: boolean;
}
export interface TagSettings { readonly command: 'tag'; readonly repository: RepositoryRef; readonly tagName: string; readonly ref?: string; readonly message?: string }
export interface PullRequestSettings {
  readonly command: 'pullRequest'; readonly repository: RepositoryRef; readonly sourceBranch: string; readonly targetBranch?: string;
  readonly title?: string; readonly description?: string; readonly isDraft: boolean;
  readonly autoComplete: boolean; readonly mergeStrategy: MergeStrategy; readonly deleteSourceBranch: boolean;
}
export type CommandSettings = CheckoutSettings | ListSettings | ReadFileSettings | PushSettings | TagSettings | PullRequestSettings;

export interface RepositorySettings {
  readonly identity: IdentitySelector;
  readonly policy: HostPolicy;
  readonly tempDirectory: string;
  /** Pipeline.Workspace: every path input must stay inside it. */
  readonly workspace: string;
  readonly command: CommandSettings;
}

interface Context {
  source: InputSource; policy: HostPolicy; home?: Organization; workspace: string; sourcesDirectory: string;
  /** Agent.TempDirectory when the agent set it: files that must not outlive the job may go there too. */
  agentTemp?: string;
}

/** Where files the task writes (outputFile, destination) may go: the workspace, and the agent's temp folder. */
function outputRoots(ctx: Context): [PathRoot, ...PathRoot[]] {
  const workspace: PathRoot = { path: ctx.workspace, name: 'the pipeline workspace' };
  return ctx.agentTemp ? [workspace, { path: ctx.agentTemp, name: 'Agent.TempDirectory' }] : [workspace];
}

function required(source: InputSource, name: string, command: string): string {
  const value = source.input(name);
  if (value === undefined) throw new InputError(name, '', `is required for command '${command}'`);
  return value;
}

function repositoryInput(ctx: Context, name = 'repository', command = ''): RepositoryRef {
  return parseRepository(name, required(ctx.source, name, command), ctx.policy, ctx.home, ctx.source.variable('System.TeamProject'));
}

function branchInput(source: InputSource, name: string): string | undefined {
  const value = refInput(name, source.input(name));
  if (value !== undefined && (COMMIT_SHA.test(value) || (value.startsWith('refs/') && !value.startsWith('refs/heads/')))) {
    throw new InputError(name, value, 'must be a branch name such as main or refs/heads/main');
  }
  return value;
}

function integerInput(source: InputSource, name: string, fallback: number): number {
  const value = source.input(name);
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value)) throw new InputError(name, value, 'must be a whole number, 0 or more (0 = full history)');
  return Number(value);
}

function submodulesInput(source: InputSource): Submodules {
  const value = (source.input('submodules') ?? 'false').toLowerCase();
  if (value !== 'false' && value !== 'true' && value !== 'recursive') throw new InputError('submodules', value, "must be 'false', 'true' (one level) or 'recursive'");
  return value;
}

function directoriesInput(source: InputSource): string[] {
  const value = source.input('sparseCheckoutDirectories');
  if (!value) return [];
  const dirs = value.split(/[\s,]+/).filter(Boolean);
  for (const dir of dirs) {
    if (dir.startsWith('-') || dir.startsWith('/') || dir.split('/').some((p) => p === '..' || p === '.') || /[*?[\\:]/.test(dir)) {
      throw new InputError('sparseCheckoutDirectories', dir, 'must list folders relative to the repository root, such as src/app docs, separated by spaces or new lines');
    }
  }
  return dirs;
}

function filePathInput(source: InputSource): string {
  const value = required(source, 'filePath', 'readFile');
  const path = value.startsWith('/') ? value : `/${value}`;
  // eslint-disable-next-line no-control-regex
  if (path.split('/').some((p) => p === '..' || p === '.') || /[\u0000-\u001f\\]/.test(path) || path.endsWith('/')) {
    throw new InputError('filePath', value, 'must be the path of a file from the repository root, such as /build/shared.yml');
  }
  return path;
}

function checkout(ctx: Context): CheckoutSettings {
  const repository = repositoryInput(ctx, 'repository', 'checkout');
  return {
    command: 'checkout',
    repository,
    ref: refInput('ref', ctx.source.input('ref')),
    path: pathInside('path', ctx.source.input('path') ?? `s/${repository.repository}`, ctx.workspace, 'the pipeline workspace'),
    fetchDepth: integerInput(ctx.source, 'fetchDepth', 0),
    fetchFilter: filterInput('fetchFilter', ctx.source.input('fetchFilter')),
    fetchTags: booleanInput(ctx.source, 'fetchTags', false),
    submodules: submodulesInput(ctx.source),
    lfs: booleanInput(ctx.source, 'lfs', false),
    clean: booleanInput(ctx.source, 'clean', false),
    sparseCheckoutDirectories: directoriesInput(ctx.source),
    persistCredentials: booleanInput(ctx.source, 'persistCredentials', false),
  };
}

function list(ctx: Context): ListSettings {
  const orgValue = ctx.source.input('organization');
  const organization = orgValue ? parseOrganization('organization', orgValue, ctx.policy, ctx.home) : ctx.home;
  if (!organization) throw new InputError('organization', '', 'is required when the pipeline\'s own organization is not known');
  const project = ctx.source.input('project');
  if (project !== undefined && !isValidName(project)) throw new InputError('project', project, 'must be a project name (or empty for the whole organization)');
  const outputFile = ctx.source.input('outputFile');
  return { command: 'list', organization, project, outputFile: outputFile && pathInsideOneOf('outputFile', outputFile, outputRoots(ctx)) };
}

function readFile(ctx: Context): ReadFileSettings {
  const repository = repositoryInput(ctx, 'repository', 'readFile');
  const filePath = filePathInput(ctx.source);
  const destination = ctx.source.input('destination') ?? `${ctx.sourcesDirectory}/${basename(filePath)}`;
  return { command: 'readFile', repository, ref: refInput('ref', ctx.source.input('ref')), filePath, destination: pathInsideOneOf('destination', destination, outputRoots(ctx)) };
}

function push(ctx: Context): PushSettings {
  const repo = ctx.source.input('repository');
  const sourceRef = ctx.source.input('sourceRef') ?? 'HEAD';
  if (sourceRef !== 'HEAD' && !isValidRef(sourceRef)) throw new InputError('sourceRef', sourceRef, 'must be HEAD, a local branch, tag or commit SHA, and must not start with "-"');
  return {
    command: 'push',
    repository: repo === undefined ? undefined : repositoryInput(ctx, 'repository', 'push'),
    sourceDirectory: pathInside('sourceDirectory', ctx.source.input('sourceDirectory') ?? ctx.sourcesDirectory, ctx.workspace, 'the pipeline workspace', true),
    sourceRef,
    targetBranch: branchName(branchInput(ctx.source, 'targetBranch') ?? required(ctx.source, 'targetBranch', 'push')),
    tags: booleanInput(ctx.source, 'tags', false),
    force: booleanInput(ctx.source, 'force', false),
  };
}

function tag(ctx: Context): TagSettings {
  const repository = repositoryInput(ctx, 'repository', 'tag');
  const tagName = required(ctx.source, 'tagName', 'tag');
  if (!isValidRef(tagName) || tagName.startsWith('refs/') || COMMIT_SHA.test(tagName)) {
    throw new InputError('tagName', tagName, 'must be a tag name such as v1.2.3 (letters, digits, ".", "-", "_" and "/"; not starting with "-")');
  }
  return { command: 'tag', repository, tagName, ref: refInput('ref', ctx.source.input('ref')), message: ctx.source.input('message') };
}

/** Azure DevOps refuses pull request descriptions over 4000 characters. */
function descriptionInput(source: InputSource): string | undefined {
  const value = source.input('description');
  if (value !== undefined && value.length > 4000) throw new InputError('description', value, `must be at most 4000 characters (it has ${value.length})`);
  return value;
}

function pullRequest(ctx: Context): PullRequestSettings {
  const strategy = ctx.source.input('mergeStrategy') ?? 'squash';
  if (!Object.hasOwn(MERGE_STRATEGIES, strategy)) throw new InputError('mergeStrategy', strategy, `must be one of ${Object.keys(MERGE_STRATEGIES).join(', ')}`);
  return {
    command: 'pullRequest',
    repository: repositoryInput(ctx, 'repository', 'pullRequest'),
    sourceBranch: (branchInput(ctx.source, 'sourceBranch') ?? required(ctx.source, 'sourceBranch', 'pullRequest')),
    targetBranch: branchInput(ctx.source, 'targetBranch'),
    title: ctx.source.input('title'),
    description: descriptionInput(ctx.source),
    isDraft: booleanInput(ctx.source, 'isDraft', false),
    autoComplete: booleanInput(ctx.source, 'autoComplete', false),
    mergeStrategy: strategy as MergeStrategy,
    deleteSourceBranch: booleanInput(ctx.source, 'deleteSourceBranch', true),
  };
}

const PARSERS: Record<Command, (ctx: Context) => CommandSettings> = { checkout, list, readFile, push, tag, pullRequest };

export function readRepositorySettings(source: InputSource): RepositorySettings {
  const command = source.input('command') ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) throw new InputError('command', command, `must be one of ${COMMANDS.join(', ')}`);
  const policy = hostPolicy(source);
  const workspace = source.variable('Pipeline.Workspace') ?? source.variable('Agent.BuildDirectory');
  if (!workspace) throw new InputError('Pipeline.Workspace', '', 'must be set by the agent');
  const sourcesDirectory = source.variable('Build.SourcesDirectory') ?? source.variable('System.DefaultWorkingDirectory') ?? `${workspace}/s`;
  const ctx: Context = { source, policy, home: homeOrganization(source, policy), workspace, sourcesDirectory, agentTemp: source.variable('Agent.TempDirectory') };
  return Object.freeze({
    identity: identityInput(source),
    policy,
    tempDirectory: source.variable('Agent.TempDirectory') ?? tmpdir(),
    workspace,
    command: Object.freeze(PARSERS[command as Command](ctx)),
  });
}
