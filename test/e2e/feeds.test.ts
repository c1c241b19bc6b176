/**
 * Azure Artifacts feeds through the packaged ManagedIdentityAuthenticate@1 and the agent-like runner,
 * against the feed emulator (test/emulators/feeds.ts), with the real package clients in later script
 * steps, as a pipeline runs them:
 *   npm      `npm install` (npm of this Node) from a project .npmrc with `registry=` and `@scope:registry=`
 *   pip      `pip install` and `pip download` (this Python's pip) through PIP_INDEX_URL / PIP_EXTRA_INDEX_URL
 *   twine    `twine upload` (Debian's twine; .ci/run installs it)
 *   Maven    `mvn validate` (Debian's maven; .ci/run installs it) resolving an imported BOM and a build
 *            extension from the feeds, with Maven's own plugins from nowhere (a pom project binds none) and
 *            the extension's one dependency from a local repository seeded with Debian's /usr/share/maven-repo
 *   Cargo    `cargo run` when cargo is installed; otherwise the variables are checked against Cargo's
 *            documented format and used for the requests Cargo makes (config.json, index, download)
 *   NuGet    dotnet cannot be installed here: the variables are checked the way the Azure Artifacts credential
 *            provider parses them (FeedEndpointCredentialsParser.cs: System.Text.Json with camel-case,
 *            case-insensitive names, an absolute `endpoint`, `clientId` required in managed-identity mode;
 *            Newtonsoft for the fixed-token list), and the fixed credentials are used for what a restore
 *            asks (service index, flat container versions, .nupkg)
 * Each test's title says which clients ran; a skipped client is reported in the output.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResult, StepResult } from '../agent/runner';
import {
  CONTOSO_LIBS, FABRIKAM_TOOLS, UAMI_BUILD, UAMI_READER, cargoIndexPath, mavenArtifact, packagingBase, pythonWheel, throttlingFault,
} from '../emulators';
import { harness, taskDir, type Harness } from './support';

/** An absolute path of a tool, or undefined when it is not installed. */
function which(tool: string, ...extra: string[]): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', env: { PATH: [process.env['PATH'], ...extra].filter(Boolean).join(':') } }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const PYTHON = (() => {
  try {
    return execFileSync('python3', ['-c', 'import sys, pip; print(sys.executable)'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();
const NPM = which('npm');
const TWINE = which('twine');
const MVN = which('mvn');
const CARGO = which('cargo', join(homedir(), '.cargo', 'bin'));
const RUSTUP_HOME = process.env['RUSTUP_HOME'] ?? (existsSync(join(homedir(), '.rustup')) ? join(homedir(), '.rustup') : undefined);

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The setvariable commands a step issued, last value per name. */
function setVariables(step: StepResult): Map<string, string> {
  const vars = new Map<string, string>();
  for (const c of step.commands) if (c.area === 'task' && c.event === 'setvariable') vars.set(String(c.properties['variable']), c.data);
  return vars;
}

const feedFiles = (result: JobResult): string[] => (existsSync(result.dirs.temp) ? readdirSync(result.dirs.temp).filter((f) => f.startsWith('miado-feeds-')) : []);

describe('feeds: Azure Artifacts for every package client, through the packaged task and real clients', function () {
  this.timeout(300_000);
  let h: Harness;
  let auth: string;
  let libs: string;
  let tools: string;

  before(async () => {
    [h, auth] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate')]);
    libs = packagingBase(h.emu.devops.url, CONTOSO_LIBS.org, CONTOSO_LIBS.name);
    tools = packagingBase(h.emu.devops.url, FABRIKAM_TOOLS.org, FABRIKAM_TOOLS.name, FABRIKAM_TOOLS.project);
    // A Maven build extension whose one dependency Debian ships (so Maven needs nothing from Central).
    h.emu.feeds.feeds.find((f) => f.id === CONTOSO_LIBS.id)!.packages.push(mavenArtifact('com.contoso', 'build-extension', '1.0.0', 'jar',
      '  <dependencies>\n    <dependency>\n      <groupId>org.codehaus.plexus</groupId>\n      <artifactId>plexus-utils</artifactId>\n      <version>3.4.2</version>\n    </dependency>\n  </dependencies>\n'));
  });
  after(async () => {
    await h?.stop();
  });

  /** An agent folder with the user's own ~/.npmrc and ~/.m2/settings.xml (to be carried over) and a wheel to upload. */
  function agentRoot(): string {
    const root = mkdtempSync(join(tmpdir(), 'mi-feeds-agent-'));
    const home = join(root, 'home');
    mkdirSync(join(home, '.m2'), { recursive: true });
    // A stale credential for the feed registry (must be replaced) and a setting of the user's own (kept).
    writeFileSync(join(home, '.npmrc'), `fund=false\n${libs.replace(/^http:/, '')}npm/registry/:_authToken=stale-token\n`);
    writeFileSync(join(home, '.m2', 'settings.xml'),
      '<?xml version="1.0"?>\n<settings>\n  <!-- the user\'s own settings -->\n  <interactiveMode>false</interactiveMode>\n' +
      '  <servers>\n    <server>\n      <id>libs</id>\n      <username>someone</username>\n      <password>stale-token</password>\n    </server>\n' +
      '    <server>\n      <id>elsewhere</id>\n      <username>u</username>\n      <password>kept</password>\n    </server>\n  </servers>\n</settings>\n');
    const sources = join(root, '_work', '1', 's');
    mkdirSync(join(sources, 'dist'), { recursive: true });
    const wheel = pythonWheel('contoso-greeting', '1.1.0').files[0]!;
    writeFileSync(join(sources, 'dist', wheel.name), wheel.bytes);
    return root;
  }

  const npmScript = (): string => [
    'set -e',
    'mkdir -p npm-app && cd npm-app',
    `printf '%s\\n' '{"name":"app","version":"1.0.0","private":true}' > package.json`,
    `printf '%s\\n' 'registry=${tools}npm/registry/' '@contoso:registry=${libs}npm/registry/' > .npmrc`,
    `"${NPM}" install --no-audit --no-fund --loglevel=error @contoso/greeting@1.0.0 fabrikam-tools@1.0.0`,
    `node -e "console.log(require('@contoso/greeting')()); console.log(require('fabrikam-tools')())"`,
  ].join('\n');

  const pipScript = (): string => [
    'set -e',
    `"${PYTHON}" -m pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore --target pylib contoso-greeting fabrikam-tools`,
    `PYTHONPATH=pylib "${PYTHON}" -c 'import contoso_greeting, fabrikam_tools; print(contoso_greeting.greet()); print(fabrikam_tools.greet())'`,
    `"${PYTHON}" -m pip download --no-cache-dir --disable-pip-version-check -d pydl fabrikam-tools==1.0.0`,
    'ls pydl',
  ].join('\n');

  const twineScript = (): string => `"${TWINE}" upload --non-interactive --disable-progress-bar -r libs --config-file "$PYPIRC_PATH" dist/*.whl`;

  const mavenScript = (): string => [
    'set -e',
    'mkdir -p mvn-app && cd mvn-app',
    'cp -rL /usr/share/maven-repo m2repo',
    `cat > pom.xml <<'EOF'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>app</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <repositories>
    <repository><id>libs</id><url>${libs}maven/v1</url></repository>
    <repository><id>tools</id><url>${tools}maven/v1</url></repository>
  </repositories>
  <pluginRepositories>
    <pluginRepository><id>libs</id><url>${libs}maven/v1</url></pluginRepository>
  </pluginRepositories>
  <dependencyManagement>
    <dependencies>
      <dependency><groupId>com.contoso</groupId><artifactId>greeting-bom</artifactId><version>1.0.0</version><type>pom</type><scope>import</scope></dependency>
      <dependency><groupId>com.fabrikam</groupId><artifactId>tools-bom</artifactId><version>1.0.0</version><type>pom</type><scope>import</scope></dependency>
    </dependencies>
  </dependencyManagement>
  <build>
    <extensions>
      <extension><groupId>com.contoso</groupId><artifactId>build-extension</artifactId><version>1.0.0</version></extension>
    </extensions>
  </build>
</project>
EOF`,
    // Debian's Maven is 3.8, which does not read MAVEN_ARGS: the documented -s "$MAVEN_SETTINGS_PATH".
    `"${MVN}" -B -q -s "$MAVEN_SETTINGS_PATH" -Dmaven.repo.local="$PWD/m2repo" validate`,
    'ls m2repo/com/contoso/build-extension/1.0.0/ m2repo/com/fabrikam/tools-bom/1.0.0/',
  ].join('\n');

  const cargoScript = (): string => [
    'set -e',
    'mkdir -p cargo-app/src cargo-app/.cargo && cd cargo-app',
    `printf '[package]\\nname = "app"\\nversion = "0.1.0"\\nedition = "2021"\\n\\n[dependencies]\\ncontoso-greeting = { version = "1.0.0", registry = "libs" }\\nfabrikam-tools = { version = "1.0.0", registry = "tools" }\\n' > Cargo.toml`,
    `printf 'fn main() {\\n    println!("{}", contoso_greeting::greet());\\n    println!("{}", fabrikam_tools::greet());\\n}\\n' > src/main.rs`,
    `printf '%s\\n' '[registries]' 'libs = { index = "sparse+${libs}Cargo/index/" }' 'tools = { index = "sparse+${tools}Cargo/index/" }' > .cargo/config.toml`,
    `CARGO_HOME="$PWD/.cargo-home" "${CARGO}" run -q`,
  ].join('\n');

  it(`configures npm, pip, twine, NuGet, Maven and Cargo for two organizations' feeds; real clients restore and upload (ran: ${[
    NPM && 'npm install', PYTHON && 'pip install, pip download', TWINE && 'twine upload', MVN && 'mvn validate', CARGO && 'cargo run',
  ].filter(Boolean).join(', ')})`, async () => {
    const skipped = [!NPM && 'npm', !PYTHON && 'pip', !TWINE && 'twine', !MVN && 'mvn', !CARGO && 'cargo'].filter(Boolean);
    if (skipped.length) console.log(`      not installed, checked by format only: ${skipped.join(', ')}`);
    const scripts = [NPM && npmScript(), PYTHON && pipScript(), TWINE && twineScript(), MVN && mavenScript(), CARGO && cargoScript()].filter((s): s is string => Boolean(s));
    const root = agentRoot();
    const result = await h.run([
      { task: auth, inputs: { feeds: `contoso/libs\n${FABRIKAM_TOOLS.org}/${FABRIKAM_TOOLS.project}/${FABRIKAM_TOOLS.name}` } },
      ...scripts.map((script) => ({ script, env: { ...(RUSTUP_HOME ? { RUSTUP_HOME } : {}) } })),
    ], { agentRoot: root, keepTempDirectory: true });
    assert.equal(result.result, 'Succeeded', result.log);
    const main = result.steps[0]!;
    assert.match(main.raw, /Feed 'contoso\/libs' is readable by this identity \(feed id b5f5c6e2-/);
    assert.match(main.raw, /Feed 'fabrikam\/Shared Tools\/tools' is readable by this identity/);
    assert.match(main.raw, /hold this token, valid until \d{4}-\d\d-\d\dT/);
    const summary = readFileSync(main.summaries[0]!, 'utf8');
    assert.match(summary, /\| Feeds \| contoso\/libs: npm, pip, twine, NuGet, Maven, Gradle, Cargo; fabrikam\/Shared Tools\/tools: npm, pip, twine, NuGet, Maven, Gradle, Cargo \|/);
    assert.match(summary, /\| Feed credentials valid until \| \d{4}-\d\d-\d\dT[^|]*\(NuGet renews its own\) \|/);
    assert.match(result.log, /hello from @contoso\/greeting@1\.0\.0[\s\S]*hello from fabrikam-tools@1\.0\.0/, 'npm installed from both feeds');
    if (PYTHON) assert.match(result.log, /hello from contoso-greeting 1\.0\.0[\s\S]*hello from fabrikam-tools 1\.0\.0[\s\S]*fabrikam_tools-1\.0\.0-py3-none-any\.whl/);
    if (TWINE) {
      const uploaded = h.emu.feeds.feeds.find((f) => f.id === CONTOSO_LIBS.id)!.packages.find((p) => p.protocol === 'pypi' && p.version === '1.1.0');
      assert.ok(uploaded, `twine uploaded contoso-greeting 1.1.0:\n${result.log}`);
    }
    if (MVN) assert.match(result.log, /build-extension-1\.0\.0\.jar[\s\S]*tools-bom-1\.0\.0\.pom/);
    if (CARGO) assert.match(result.log, /hello from contoso-greeting 1\.0\.0\s+hello from fabrikam-tools 1\.0\.0/);

    // What the task wrote while the job ran, and the user's own configuration carried over.
    const vars = setVariables(main);
    const npmrc = vars.get('NPM_CONFIG_USERCONFIG')!;
    assert.ok(npmrc.startsWith(result.dirs.temp), npmrc);
    const token = h.emu.tokens.issued.at(-1)!.token;
    const later = result.steps[1]!.env;
    assert.equal(later['NPM_CONFIG_USERCONFIG'], npmrc, 'later steps get the job user config');
    assert.equal(later['PIP_INDEX_URL'], `${libs.replace('http://', `http://ManagedIdentity:${token}@`)}pypi/simple/`);
    assert.equal(later['PIP_EXTRA_INDEX_URL'], `${tools.replace('http://', `http://ManagedIdentity:${token}@`)}pypi/simple/`);
    assert.match(later['MAVEN_ARGS']!, /^--settings \S+miado-feeds-maven-settings-[0-9a-f-]+\.xml$/);
    assert.equal(later['CARGO_REGISTRIES_LIBS_TOKEN'], basic('ManagedIdentity', token));
    assert.equal(later['CARGO_REGISTRIES_TOOLS_CREDENTIAL_PROVIDER'], 'cargo:token');
    // Gradle (not installable here): the properties credentials(PasswordCredentials) reads for a repository
    // named 'libs', as ORG_GRADLE_PROJECT_ variables whose names keep their case (preservecase).
    assert.equal(later['ORG_GRADLE_PROJECT_libsUsername'], 'ManagedIdentity');
    assert.equal(later['ORG_GRADLE_PROJECT_libsPassword'], token);
    assert.equal(later['ORG_GRADLE_PROJECT_toolsPassword'], token);
    assert.equal(later['ORG_GRADLE_PROJECT_LIBSPASSWORD'], undefined, 'not upper-cased');

    // After the job: the post-job step deleted every file and cleared every variable that held the token.
    assert.deepEqual(feedFiles(result), [], 'no feed configuration file outlives the job');
    for (const name of ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'CARGO_REGISTRIES_LIBS_TOKEN', 'CARGO_REGISTRIES_TOOLS_TOKEN', 'ORG_GRADLE_PROJECT_libsPassword']) {
      assert.equal(result.variables.get(name)?.value, '', `${name} is cleared after the job`);
    }
    assert.match(result.steps.at(-1)!.raw, /Removed the job's feed configuration \(3 files, \d+ variables\)/);
    assert.ok(!readFileSync(join(result.dirs.home, '.npmrc'), 'utf8').includes(token), 'the user config in HOME is untouched');
  });

  it('carries over the user config (npm: other settings kept, stale credential for the feed dropped; Maven: servers of other ids kept)', async () => {
    const result = await h.run([{ task: auth, inputs: { feeds: `contoso/libs` } }], { agentRoot: agentRoot(), skipPostJobSteps: true, keepTempDirectory: true });
    assert.equal(result.result, 'Succeeded', result.log);
    const vars = setVariables(result.steps[0]!);
    const npmrc = readFileSync(vars.get('NPM_CONFIG_USERCONFIG')!, 'utf8');
    assert.match(npmrc, /^fund=false$/m);
    assert.doesNotMatch(npmrc, /stale-token/);
    assert.equal((npmrc.match(/:_authToken=/g) ?? []).length, 1);
    const settingsFile = vars.get('MAVEN_SETTINGS_PATH')!;
    const settings = readFileSync(settingsFile, 'utf8');
    assert.match(settings, /<interactiveMode>false<\/interactiveMode>/);
    assert.match(settings, /<id>elsewhere<\/id>\s*<username>u<\/username>\s*<password>kept<\/password>/);
    assert.doesNotMatch(settings, /stale-token/);
    assert.equal((settings.match(/<id>libs<\/id>/g) ?? []).length, 1);
    for (const file of [vars.get('NPM_CONFIG_USERCONFIG')!, settingsFile, vars.get('PYPIRC_PATH')!]) {
      assert.equal(statSync(file).mode & 0o777, 0o600, `${file} is private`);
    }
  });

  it('NuGet (dotnet not installable here: checked as the credential provider parses it): managed-identity mode with the selector\'s client id; a fixed token for AKS workload identity, which restores', async () => {
    const index = `${libs}nuget/v3/index.json`;
    // IMDS, user-assigned identity by client id: the provider's own managed-identity mode, no fixed token.
    const renewing = await h.run([{ task: auth, inputs: { clientId: UAMI_BUILD.clientId, feeds: index } }], { skipPostJobSteps: true });
    assert.equal(renewing.result, 'Succeeded', renewing.log);
    const v1 = setVariables(renewing.steps[0]!);
    const mi = JSON.parse(v1.get('ARTIFACTS_CREDENTIALPROVIDER_FEED_ENDPOINTS')!) as { endpointCredentials: Array<Record<string, string>> };
    assert.deepEqual(mi.endpointCredentials, [{ endpoint: index, clientId: UAMI_BUILD.clientId }]);
    assert.equal(new URL(mi.endpointCredentials[0]!.endpoint!).href, index, 'endpoint is the absolute URI NuGet asks about');
    assert.equal(v1.get('VSS_NUGET_EXTERNAL_FEED_ENDPOINTS'), undefined, 'no fixed token that would switch renewal off');
    assert.match(renewing.steps[0]!.raw, /NuGet renews its own token/);

    // System-assigned: `system` (any non-GUID value selects it in the provider).
    const system = await h.run([{ task: auth, inputs: { feeds: index } }], { skipPostJobSteps: true });
    const v2 = setVariables(system.steps[0]!);
    assert.equal((JSON.parse(v2.get('ARTIFACTS_CREDENTIALPROVIDER_FEED_ENDPOINTS')!) as { endpointCredentials: Array<{ clientId: string }> }).endpointCredentials[0]!.clientId, 'system');

    // AKS workload identity: MSAL's managed-identity client cannot reach it, so the token itself, merged
    // with an entry an earlier step (NuGetAuthenticate@1) set for another source.
    const entra = await h.emu.entra();
    const earlier = { endpointCredentials: [{ endpoint: 'https://pkgs.dev.azure.com/other/_packaging/x/nuget/v3/index.json', password: 'from-a-service-connection' }] };
    const fixed = await h.run([{ task: auth, inputs: { feeds: `${index}\n${tools}nuget/v3/index.json` } }], {
      env: entra.env(UAMI_BUILD.key), variables: { VSS_NUGET_EXTERNAL_FEED_ENDPOINTS: JSON.stringify(earlier) }, skipPostJobSteps: true,
    });
    assert.equal(fixed.result, 'Succeeded', fixed.log);
    const v3 = setVariables(fixed.steps[0]!);
    assert.equal(v3.get('ARTIFACTS_CREDENTIALPROVIDER_FEED_ENDPOINTS'), undefined);
    const list = JSON.parse(v3.get('VSS_NUGET_EXTERNAL_FEED_ENDPOINTS')!) as { endpointCredentials: Array<{ endpoint: string; username?: string; password: string }> };
    assert.deepEqual(list.endpointCredentials.map((e) => e.endpoint).sort(), [index, `${tools}nuget/v3/index.json`, earlier.endpointCredentials[0]!.endpoint].sort());
    // What a restore asks with the credentials the provider hands NuGet (username defaults to VssSessionToken).
    for (const entry of list.endpointCredentials.filter((e) => e.endpoint.startsWith(h.emu.devops.url))) {
      const authorization = basic(entry.username ?? 'VssSessionToken', entry.password);
      const service = await fetch(entry.endpoint, { headers: { authorization } });
      assert.equal(service.status, 200);
      const base = ((await service.json()) as { resources: Array<{ '@id': string; '@type': string }> }).resources.find((r) => r['@type'] === 'PackageBaseAddress/3.0.0')!['@id'];
      const id = entry.endpoint.includes('/contoso/') ? 'contoso.greeting' : 'fabrikam.tools';
      const versions = await fetch(`${base}${id}/index.json`, { headers: { authorization } });
      assert.deepEqual(await versions.json(), { versions: ['1.0.0'] });
      const nupkg = Buffer.from(await (await fetch(`${base}${id}/1.0.0/${id}.1.0.0.nupkg`, { headers: { authorization } })).arrayBuffer());
      assert.equal(nupkg.readUInt32LE(0), 0x04034b50, 'a .nupkg (zip) arrived');
      assert.equal((await fetch(entry.endpoint)).status, 401, 'and nothing without them');
    }
  });

  it(`Cargo: the documented variable format, used as Cargo sends it (config.json, index, download)${CARGO ? ' — and cargo itself ran above' : ''}`, async () => {
    const result = await h.run([{ task: auth, inputs: { feeds: `sparse+${libs}Cargo/index/ as contoso-libs` } }], { skipPostJobSteps: true });
    assert.equal(result.result, 'Succeeded', result.log);
    const vars = setVariables(result.steps[0]!);
    const token = vars.get('CARGO_REGISTRIES_CONTOSO_LIBS_TOKEN')!;
    assert.match(token, /^Basic [A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(token.slice(6), 'base64').toString(), `ManagedIdentity:${h.emu.tokens.issued.at(-1)!.token}`);
    assert.equal(vars.get('CARGO_REGISTRIES_CONTOSO_LIBS_CREDENTIAL_PROVIDER'), 'cargo:token');
    assert.equal([...vars.keys()].filter((k) => k.startsWith('CARGO_')).length, 2, 'only the token and the provider: the index stays the project\'s');
    assert.ok(result.steps[0]!.commands.some((c) => c.event === 'setsecret' && c.data === token.slice(6)), 'the Basic value is a registered secret');
    assert.equal((await fetch(`${libs}Cargo/index/config.json`)).status, 401, 'the index needs the token');
    const config = (await (await fetch(`${libs}Cargo/index/config.json`, { headers: { authorization: token } })).json()) as { dl: string; 'auth-required': boolean };
    assert.equal(config['auth-required'], true);
    const entry = JSON.parse(await (await fetch(`${libs}Cargo/index/${cargoIndexPath('contoso-greeting')}`, { headers: { authorization: token } })).text()) as { cksum: string };
    const crate = Buffer.from(await (await fetch(`${config.dl}/contoso-greeting/1.0.0/download`, { headers: { authorization: token } })).arrayBuffer());
    assert.equal(execFileSync('sha256sum', { input: crate, encoding: 'utf8' }).split(' ')[0], entry.cksum);
  });

  it('pip with onlyAddExtraIndex: every feed an extra index, the index left as it was, earlier extra indexes kept', async () => {
    const result = await h.run([{ task: auth, inputs: { feeds: `${libs}pypi/simple/\n${tools}pypi/simple/`, onlyAddExtraIndex: 'true', configureGit: 'false' } }], {
      variables: { PIP_EXTRA_INDEX_URL: 'https://mirror.example/simple/' }, skipPostJobSteps: true,
    });
    assert.equal(result.result, 'Succeeded', result.log);
    const vars = setVariables(result.steps[0]!);
    assert.equal(vars.get('PIP_INDEX_URL'), undefined);
    const extra = vars.get('PIP_EXTRA_INDEX_URL')!.split(' ');
    assert.equal(extra.length, 3);
    assert.match(extra[0]!, /^http:\/\/ManagedIdentity:[^@]+@127\.0\.0\.1:\d+\/contoso\/_packaging\/libs\/pypi\/simple\/$/);
    assert.equal(extra[2], 'https://mirror.example/simple/');
    assert.deepEqual([...vars.keys()].filter((k) => !k.startsWith('AzureDevOps.')).sort(), ['PIP_EXTRA_INDEX_URL'], 'a pip URL configures pip only');
  });

  describe('failures: one error naming the feed, the cause and the fix; nothing configured', () => {
    async function fails(feeds: string, extra: { clientId?: string; organizations?: string } = {}): Promise<{ result: JobResult; error: string }> {
      const result = await h.run([{ task: auth, inputs: { feeds, ...extra } }], { keepTempDirectory: true });
      assert.equal(result.result, 'Failed', result.log);
      const errors = result.steps.flatMap((s) => s.errors);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.deepEqual(feedFiles(result), []);
      assert.equal([...setVariables(result.steps[0]!).keys()].filter((k) => !k.startsWith('AzureDevOps.')).length, 0, 'no client variable was set');
      return { result, error: errors[0]! };
    }

    it('a feed the identity cannot read: 403 ReadPackages, with the permission to grant (not the build service)', async () => {
      const { result, error } = await fails('fabrikam/restricted');
      assert.match(error, /^The identity \(object id 427f79a5-[^)]*\) cannot read feed 'fabrikam\/restricted' \(line 1 of feeds\): User '[0-9a-f-]+' lacks permission to complete this action\. You need to have 'ReadPackages'\.$/);
      assert.match(result.log, /Hint: .*Feed Reader.*build service .*different principal/);
    });

    it('a feed of an organization in another tenant: TF400813 with both tenants', async () => {
      const { error } = await fails('northwind/ops');
      assert.match(error, /^Organization 'northwind' belongs to tenant .*another tenant \(TF400813\)\.$/);
    });

    it('a feed that does not exist, or a project feed named without its project', async () => {
      assert.match((await fails('contoso/nope')).error, /^Feed 'nope' does not exist in organization 'contoso' \(organization-scoped\), or the identity .* \(line 1 of feeds\)\.$/);
      assert.match((await fails('fabrikam/tools')).error, /^Feed 'tools' does not exist in organization 'fabrikam'/);
    });

    it('an identity that is not a member of the feed\'s organization', async () => {
      // uami-reader is a member of fabrikam only.
      const { error } = await fails(`${libs}npm/registry/`, { clientId: UAMI_READER.clientId, organizations: 'fabrikam' });
      assert.match(error, /is not a member of organization 'contoso' \(TF400813: not authorized\) while trying to read feed 'contoso\/libs'/);
    });

    it('look-alike and plain-http hosts are refused before anything is sent (no token requested, no request made)', async () => {
      for (const url of [
        'https://pkgs.dev.azure.com.evil.example/contoso/_packaging/libs/npm/registry/',
        'http://pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/',
        'https://contoso.pkgs.visualstudio.com.evil.example/_packaging/libs/nuget/v3/index.json',
        'https://evil.example/contoso/_packaging/libs/maven/v1',
      ]) {
        const before = { identity: h.emu.identity.requests.length, devops: h.emu.devops.requests.length };
        const { error } = await fails(`contoso/libs\n${url}`);
        assert.match(error, /^Input 'feeds' line 2 is not an Azure Artifacts feed URL: refusing to send the Azure DevOps token to /, url);
        assert.equal(h.emu.identity.requests.length, before.identity, `${url}: no token was requested`);
        assert.equal(h.emu.devops.requests.length, before.devops, `${url}: nothing was sent`);
      }
    });

    it('malformed lines name the line and the accepted forms', async () => {
      for (const [feeds, line] of [['contoso', 1], ['contoso/libs\n\nhttps://pkgs.dev.azure.com/contoso/_packaging/libs/npm/', 3], ['https://user:pw@pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/', 1]] as const) {
        const { error } = await fails(feeds);
        assert.match(error, new RegExp(`^Input 'feeds' line ${line} .*must list one feed a line: a feed URL from its 'Connect to feed' page .* or \\{org\\}/\\{feed\\} or \\{org\\}/\\{project\\}/\\{feed\\}`), error);
      }
      assert.match((await fails(`contoso/libs as same\ncontoso/${FABRIKAM_TOOLS.name} as same`)).error, /line 2 names its feed 'same' for Maven, like line 1/);
    });
  });

  it('organization and feed names are case-insensitive, and a throttled feed read is retried as Retry-After says', async () => {
    h.emu.devops.faults.push(throttlingFault({ path: /_apis\/packaging\/feeds\/Libs$/, retryAfterSeconds: 1 }));
    const result = await h.run([{ task: auth, inputs: { feeds: 'CONTOSO/Libs' } }], { skipPostJobSteps: true });
    assert.equal(result.result, 'Succeeded', result.log);
    assert.match(result.steps[0]!.raw, /Azure DevOps answered 429 to 'read feed 'CONTOSO\/Libs''; retrying in 1 s/);
    assert.match(result.steps[0]!.raw, /Feed 'CONTOSO\/Libs' is readable by this identity \(feed id b5f5c6e2-/);
  });

  it('verify: false configures the clients without reading the feeds', async () => {
    const before = h.emu.devops.requests.length;
    const result = await h.run([{ task: auth, inputs: { feeds: 'contoso/libs', verify: 'false' } }]);
    assert.equal(result.result, 'Succeeded', result.log);
    assert.deepEqual(h.emu.devops.requests.slice(before).filter((r) => /_apis\/packaging/i.test(r.path)), []);
    assert.match(result.steps[0]!.raw, /^npm: contoso\/libs — _authToken in the job's user config NPM_CONFIG_USERCONFIG=/m);
    assert.doesNotMatch(result.steps[0]!.raw, /is readable by this identity/);
  });
});
