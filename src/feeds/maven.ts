/**
 * Maven: a job settings.xml with a <server> per feed (id: the feed's name, as the feed's "Connect to feed"
 * page uses it for both the pom's <repository> and the settings' <server>, docs artifacts/maven/project-setup-maven.md;
 * user name ignored, the token as password). It starts as a copy of the user settings Maven would read
 * (~/.m2/settings.xml: mirrors, proxies, profiles and other servers keep working), without servers of the
 * same ids. MavenAuthenticate@0 merges into ~/.m2/settings.xml itself and restores it after the job
 * (microsoft/azure-pipelines-tasks Tasks/MavenAuthenticateV0/mavenauth.ts, cleanup.ts); here the home
 * folder is never written (a token there outlives a killed agent and is shared by every agent of that
 * user), so Maven is pointed at the job's file instead: MAVEN_ARGS (read by the `mvn` script of Maven 3.9.0
 * and later) gets `--settings {file}` in front, and MAVEN_SETTINGS_PATH names the file for older Maven
 * (`mvn -s "$MAVEN_SETTINGS_PATH"`) and for Maven@4's `options`.
 */
import { join } from 'node:path';
import { readCarriedFile, writePrivateFile } from './files';
import { setJobVariable, type ClientFeed, type SetVariable, type WriteContext, type Written } from './job';

export const SETTINGS_VARIABLE = 'MAVEN_SETTINGS_PATH';

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unescapeXml = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

const EMPTY = '<?xml version="1.0" encoding="UTF-8"?>\n<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">\n</settings>\n';

/**
 * The settings text with `servers` (XML of <server> elements) in its <servers>, and without any other
 * <server> of the same ids. Comments are dropped (a commented-out <servers> must not be edited).
 * Undefined when the text has no <settings> element.
 */
export function withServers(text: string, ids: readonly string[], servers: string): string | undefined {
  const body = text.replace(/<!--[\s\S]*?-->/g, '');
  if (!/<settings[\s>/]/.test(body)) return undefined;
  const dropped = body.replace(/[ \t]*<server>[\s\S]*?<\/server>[ \t]*\r?\n?/g, (server) => {
    const id = /<id>\s*([\s\S]*?)\s*<\/id>/.exec(server)?.[1];
    return id !== undefined && ids.includes(unescapeXml(id)) ? '' : server;
  });
  if (/<servers>/.test(dropped)) return dropped.replace(/<servers>[ \t]*\r?\n?/, `<servers>\n${servers}`);
  if (/<servers\s*\/>/.test(dropped)) return dropped.replace(/<servers\s*\/>/, `<servers>\n${servers}  </servers>`);
  if (/<settings[^>]*\/>/.test(dropped)) return dropped.replace(/<settings([^>]*)\/>/, `<settings$1>\n  <servers>\n${servers}  </servers>\n</settings>`);
  return dropped.replace(/<\/settings>/, `  <servers>\n${servers}  </servers>\n</settings>`);
}

export function configureMaven(ctx: WriteContext, feeds: readonly ClientFeed[]): Written {
  const source = ctx.job.variable(SETTINGS_VARIABLE) ?? join(ctx.home, '.m2', 'settings.xml');
  const ids = [...new Set(feeds.map((f) => f.feed.name))];
  const servers = ids.map((id) => `    <server>\n      <id>${escapeXml(id)}</id>\n      <username>${escapeXml(ctx.user)}</username>\n      <password>${escapeXml(ctx.token)}</password>\n    </server>\n`).join('');
  const carried = readCarriedFile(source);
  let text = carried === undefined ? undefined : withServers(carried, ids, servers);
  if (carried !== undefined && text === undefined) ctx.job.info(`Maven: ${source} has no <settings> element; the job's settings hold only the feeds' servers.`);
  text ??= withServers(EMPTY, ids, servers)!;
  const file = writePrivateFile(ctx.tempDir, 'maven-settings', text, '.xml');
  const variables: SetVariable[] = [];
  setJobVariable(ctx, SETTINGS_VARIABLE, file, false, variables);
  const previousArgs = ctx.job.variable('MAVEN_ARGS') ?? '';
  let args = '';
  if (/\s/.test(file)) {
    ctx.job.info(`Maven: the settings path has a space, which the mvn script would split, so MAVEN_ARGS is left alone: run mvn -s "$MAVEN_SETTINGS_PATH".`);
  } else {
    const rest = previousArgs.replace(/(^|\s)--settings[= ]\S*miado-feeds-maven-settings-\S+/g, '').trim();
    setJobVariable(ctx, 'MAVEN_ARGS', `--settings ${file}${rest ? ` ${rest}` : ''}`, false, variables);
    args = ' and MAVEN_ARGS (Maven 3.9 and later; older Maven: mvn -s "$MAVEN_SETTINGS_PATH")';
  }
  const from = carried ? `, carrying over ${source}` : '';
  return { client: 'maven', feeds, files: [file], variables, how: `<server> ${ids.join(', ')} in ${SETTINGS_VARIABLE}=${file}${from}${args}` };
}
