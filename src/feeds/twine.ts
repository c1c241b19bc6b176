/**
 * twine: a .pypirc with one section per feed upload URL (`repository`, `username`, `password`), named by
 * PYPIRC_PATH, as TwineAuthenticate@1 does (microsoft/azure-pipelines-tasks
 * Tasks/TwineAuthenticateV1/twineauthenticatemain.ts): twine does not read PYPIRC_PATH itself, so uploads
 * run `twine upload -r {name} --config-file "$PYPIRC_PATH" dist/*`. Sections of a .pypirc an earlier step
 * named in PYPIRC_PATH are carried over (TwineAuthenticate overwrites that file instead).
 */
import { readCarriedFile, writePrivateFile } from './files';
import { setJobVariable, type ClientFeed, type SetVariable, type WriteContext, type Written } from './job';

interface Section {
  readonly name: string;
  readonly lines: string[];
}

/** The sections of an INI text, in order (lines before the first section are dropped). */
export function iniSections(text: string): Section[] {
  const sections: Section[] = [];
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) sections.push({ name: header[1]!.trim(), lines: [] });
    else if (sections.length && line.trim()) sections.at(-1)!.lines.push(line);
  }
  return sections;
}

export function configureTwine(ctx: WriteContext, feeds: readonly ClientFeed[]): Written {
  const previous = ctx.job.variable('PYPIRC_PATH');
  const ours = new Set(feeds.map((f) => f.feed.name.toLowerCase()));
  const carried = iniSections(readCarriedFile(previous) ?? '').filter((s) => s.name.toLowerCase() !== 'distutils' && !ours.has(s.name.toLowerCase()));
  const servers = [...feeds.map((f) => f.feed.name), ...carried.map((s) => s.name)];
  const text = [
    '# Azure Artifacts feeds of this job: ManagedIdentityAuthenticate@1 (this file is deleted by its post-job step)',
    '[distutils]',
    `index-servers =\n${servers.map((s) => `    ${s}`).join('\n')}`,
    '',
    ...feeds.flatMap((f) => [`[${f.feed.name}]`, `repository = ${f.url}`, `username = ${ctx.user}`, `password = ${ctx.token}`, '']),
    ...carried.flatMap((s) => [`[${s.name}]`, ...s.lines, '']),
  ].join('\n');
  const file = writePrivateFile(ctx.tempDir, 'pypirc', text);
  const variables: SetVariable[] = [];
  setJobVariable(ctx, 'PYPIRC_PATH', file, false, variables);
  const names = feeds.map((f) => f.feed.name).join(', ');
  return { client: 'twine', feeds, files: [file], variables, how: `repositories ${names} in PYPIRC_PATH=${file}: twine upload -r ${feeds[0]!.feed.name} --config-file "$PYPIRC_PATH" dist/*` };
}
