/**
 * Every ```yaml block of overview.md runs as a job, through the agent-like runner, with the packaged tasks,
 * against the emulators, and must succeed — or, after `<!-- example: expect-failure -->`, fail with an
 * error the Troubleshooting table explains.
 *
 * The examples name the organizations of the emulators' world (contoso: Web/app; fabrikam: Shared
 * Tools/templates; feeds contoso/libs and fabrikam/Shared Tools/tools); their https://dev.azure.com/{org},
 * https://{org}.visualstudio.com, https://pkgs.dev.azure.com/{org} and https://{org}.pkgs.visualstudio.com URLs
 * are rewritten to the emulator. The job runs in contoso/Web with `checkout: self` done before it (a clone
 * of contoso/Web/app in $(Build.SourcesDirectory)) unless the example says `- checkout: none`; that
 * repository holds the package projects the feed examples describe (APP_PROJECT_FILES below).
 * `<!-- example: requires {tool} -->` before a block runs it only where the tool is installed (else the
 * test is pending and says why).
 * The YAML is read by the small parser below: the subset pipeline steps use (mappings, sequences,
 * plain and quoted scalars, `|` blocks, comments); anything else fails the test rather than being guessed.
 *
 * PowerShell steps (`pwsh:`, `powershell:`, the Windows examples) run through `pwsh` when it is on PATH. Where it is
 * not (this project's machines: no registry they reach serves PowerShell), they are not run, and the test's title says
 * so; the rest of the job still runs, and each such step is checked: every `$(variable)` it uses exists by the end of
 * the job and every `$env:NAME` it reads is mapped in its `env:` or set by the agent.
 *
 * After `<!-- example: sources=this-repository -->` the job's sources are this repository (its tracked and new files,
 * as `checkout: self` of a pipeline in the extension's own repository would have them), a Marketplace emulator
 * (test/emulators/marketplace.ts) stands in for marketplace.visualstudio.com (MARKETPLACE_SERVICE_URL in the agent's
 * environment), and a step that is exactly `npm ci` links the installed node_modules instead: the machines running the
 * tests cannot download packages. Everything else (build, package, publish with the job's token) runs as written.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { JobResult, Step } from '../agent/runner';
import { AGENT_VM, LOOPBACK_NO_PROXY, isolatedGitEnv, repositoryIn } from '../emulators';
import { startMarketplace, type MarketplaceEmulator } from '../emulators/marketplace';
import { covers, rowPattern, troubleshootingRows } from '../../scripts/docs';
import { harness, run, taskDir, type Harness } from './support';

// ---------------------------------------------------------------------------------------------------
// A YAML subset

type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  number: number;
  indent: number;
  text: string;
}

class YamlSubset {
  private readonly lines: Line[];
  private at = 0;

  constructor(private readonly raw: string[]) {
    this.lines = raw.flatMap((text, i) => {
      const content = text.trimStart();
      return content === '' || content.startsWith('#') ? [] : [{ number: i, indent: text.length - content.length, text: content.trimEnd() }];
    });
  }

  static parse(text: string): Yaml {
    const parser = new YamlSubset(text.split('\n'));
    const value = parser.block(parser.lines[0]?.indent ?? 0);
    if (parser.at < parser.lines.length) parser.fail('unexpected indentation');
    return value;
  }

  private fail(why: string): never {
    const line = this.lines[this.at];
    throw new Error(`YAML line ${(line?.number ?? this.raw.length) + 1}: ${why}: '${line?.text ?? ''}'`);
  }

  private get current(): Line | undefined {
    return this.lines[this.at];
  }

  private block(indent: number): Yaml {
    return this.current?.text.startsWith('- ') || this.current?.text === '-' ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): Yaml[] {
    const items: Yaml[] = [];
    while (this.current?.indent === indent && (this.current.text.startsWith('- ') || this.current.text === '-')) {
      const line = this.current;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.at++;
        items.push(this.block(this.current?.indent ?? indent + 2));
      } else if (/^[^\s"'][^:]*:(\s|$)/.test(rest)) {
        // `- key: value` starts a mapping whose keys line up with `key`.
        const keyIndent = indent + (line.text.length - rest.length);
        this.lines[this.at] = { ...line, indent: keyIndent, text: rest };
        items.push(this.mapping(keyIndent));
      } else {
        this.at++;
        items.push(scalar(rest));
      }
    }
    return items;
  }

  private mapping(indent: number): { [key: string]: Yaml } {
    const map: { [key: string]: Yaml } = {};
    while (this.current && this.current.indent === indent && !this.current.text.startsWith('- ')) {
      const line = this.current;
      const match = /^([^\s"'#][^:]*):(?:\s+(.*))?$/.exec(line.text);
      if (!match) this.fail('expected "key: value"');
      const key = match[1]!.trim();
      if (key in map) this.fail(`duplicate key '${key}'`);
      const rest = match[2] ?? '';
      this.at++;
      if (/^[>|][+-]?\d?(\s+#.*)?$/.test(rest) && !/^\|-?(\s+#.*)?$/.test(rest)) this.fail('only | and |- block scalars are supported');
      if (/^\|-?(\s+#.*)?$/.test(rest)) map[key] = this.blockScalar(line, rest);
      else if (rest !== '' && !rest.startsWith('#')) map[key] = scalar(rest);
      else if (this.current && this.current.indent > indent) map[key] = this.block(this.current.indent);
      else if (this.current && this.current.indent === indent && this.current.text.startsWith('- ')) map[key] = this.sequence(indent);
      else map[key] = '';
    }
    return map;
  }

  /** `|` keeps line breaks; the final line break is kept once (clip), or dropped with `|-`. */
  private blockScalar(owner: Line, header: string): string {
    const body: string[] = [];
    let end = owner.number + 1;
    for (; end < this.raw.length; end++) {
      const text = this.raw[end]!;
      if (text.trim() !== '' && text.length - text.trimStart().length <= owner.indent) break;
      body.push(text);
    }
    while (this.current && this.current.number < end) this.at++;
    while (body.length && body.at(-1)!.trim() === '') body.pop();
    const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
    const lines = body.map((l) => l.slice(indent));
    const text = lines.join('\n');
    return header.startsWith('|-') ? text : `${text}\n`;
  }
}

/** A plain scalar ends at ` #`; quoted ones are unquoted ('' and \" escapes only). */
function scalar(text: string): string {
  if (text.startsWith("'")) {
    const end = /^'((?:[^']|'')*)'\s*(#.*)?$/.exec(text);
    if (!end) throw new Error(`YAML: unterminated or trailing text after '…': ${text}`);
    return end[1]!.replace(/''/g, "'");
  }
  if (text.startsWith('"')) {
    const end = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(text);
    if (!end) throw new Error(`YAML: unterminated or trailing text after "…": ${text}`);
    return end[1]!.replace(/\\(["\\])/g, '$1');
  }
  return text.replace(/\s+#.*$/, '').trim();
}

// ---------------------------------------------------------------------------------------------------
// overview.md's examples as jobs

interface Example {
  line: number;
  heading: string;
  expectFailure: boolean;
  /** The job's sources are this repository (see the header). */
  thisRepository: boolean;
  /** A tool the example's scripts need (`<!-- example: requires dotnet -->`). */
  requires?: string;
  yaml: string;
}

/** Each ```yaml block with the heading it is under and the marker on the line before it. */
function examples(markdown: string): Example[] {
  const lines = markdown.split('\n');
  const found: Example[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,4} /.test(line)) heading = line.replace(/^#+ /, '');
    if (line.trim() !== '```yaml') continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `overview.md line ${i + 1}: unterminated yaml block`);
    const marker = lines.slice(Math.max(0, i - 2), i).join('\n');
    const requires = /<!-- example: requires (\S+) -->/.exec(marker)?.[1];
    found.push({
      line: i + 1, heading, expectFailure: /<!-- example: expect-failure -->/.test(marker),
      thisRepository: /<!-- example: sources=this-repository -->/.test(marker), ...(requires ? { requires } : {}),
      yaml: lines.slice(i + 1, end).join('\n'),
    });
    i = end;
  }
  return found;
}

const TASKS = { 'ManagedIdentityAuthenticate@1': 'ManagedIdentityAuthenticate', 'ManagedIdentityRepository@1': 'ManagedIdentityRepository' } as const;
const STEP_KEYS = new Set(['task', 'script', 'pwsh', 'powershell', 'checkout', 'inputs', 'name', 'displayName', 'env', 'workingDirectory']);

/** `pwsh` on PATH, if any. */
const PWSH = (process.env['PATH'] ?? '').split(':').map((dir) => join(dir, 'pwsh')).find((file) => existsSync(file));

/** A PowerShell step of an example that was not run (no pwsh here): what it reads. */
interface UnrunPowerShell {
  script: string;
  env: Record<string, string>;
}

function asMap(value: Yaml | undefined, what: string): Record<string, string> {
  if (value === undefined) return {};
  assert.ok(typeof value === 'object' && !Array.isArray(value), `${what} must be a mapping`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => {
    assert.equal(typeof v, 'string', `${what}.${k} must be a scalar`);
    return [k, v as string];
  }));
}

interface Job {
  steps: Step[];
  checkoutSelf: boolean;
  /** Every `$(name)` the example uses. */
  macros: string[];
  unrun: UnrunPowerShell[];
}

async function toJob(example: Example, rewrite: (text: string) => string, nodeModules?: string): Promise<Job> {
  const parsed = YamlSubset.parse(example.yaml);
  const list = Array.isArray(parsed) ? parsed : typeof parsed === 'object' ? parsed['steps'] : undefined;
  assert.ok(Array.isArray(list), 'an example is a steps: list or a list of steps');
  const steps: Step[] = [];
  const unrun: UnrunPowerShell[] = [];
  let checkoutSelf = true;
  const macros = new Set<string>();
  const note = (text: string): string => {
    for (const m of text.matchAll(/\$\(([^)\s]+)\)/g)) macros.add(m[1]!);
    return rewrite(text);
  };
  const noteAll = (map: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, note(v)]));
  for (const item of list) {
    assert.ok(typeof item === 'object' && !Array.isArray(item), 'each step is a mapping');
    for (const key of Object.keys(item)) assert.ok(STEP_KEYS.has(key), `the examples' runner does not know the step key '${key}'`);
    const common = { name: item['name'] as string | undefined, displayName: item['displayName'] as string | undefined, env: noteAll(asMap(item['env'], 'env')) };
    if (typeof item['checkout'] === 'string') {
      assert.equal(item['checkout'], 'none', 'only checkout: none is supported (checkout: self is what a job does without one)');
      checkoutSelf = false;
    } else if (typeof item['task'] === 'string') {
      const name = TASKS[item['task'] as keyof typeof TASKS];
      assert.ok(name, `unknown task ${item['task']}`);
      steps.push({ ...common, task: await taskDir(name), inputs: noteAll(asMap(item['inputs'], 'inputs')) });
    } else if (typeof item['script'] === 'string') {
      const workingDirectory = item['workingDirectory'] as string | undefined;
      const script = nodeModules && item['script'].trim() === 'npm ci' ? `ln -s '${nodeModules}' node_modules` : item['script'];
      steps.push({ ...common, script: note(script), ...(workingDirectory ? { workingDirectory: note(workingDirectory) } : {}) });
    } else if (typeof item['pwsh'] === 'string' || typeof item['powershell'] === 'string') {
      const ps = note((item['pwsh'] ?? item['powershell']) as string);
      const workingDirectory = item['workingDirectory'] as string | undefined;
      if (PWSH) {
        // As PowerShell@2 runs an inline script: the macro-expanded text, with $ErrorActionPreference = 'Stop'.
        const script = `'${PWSH}' -NoLogo -NoProfile -NonInteractive -Command - <<'MIADO_PWSH'\n$ErrorActionPreference = 'Stop'\n${ps}\nMIADO_PWSH\n`;
        steps.push({ ...common, script, ...(workingDirectory ? { workingDirectory: note(workingDirectory) } : {}) });
      } else {
        unrun.push({ script: ps, env: common.env });
      }
    } else {
      assert.fail(`a step needs task:, script: or checkout: (${Object.keys(item).join(', ')})`);
    }
  }
  return { steps, checkoutSelf, macros: [...macros], unrun };
}

/** An installed tool's absolute path (cargo also where rustup puts it), or undefined. */
function installed(tool: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), join(homedir(), '.cargo', 'bin')];
  return dirs.filter(Boolean).map((d) => join(d, tool)).find((p) => existsSync(p));
}

/**
 * What the pipeline's repository (contoso/Web/app) holds for the feed examples, as overview.md describes it:
 * an npm scope registry, a requirements file, a Maven project importing a BOM, a Cargo project and a
 * nuget.config. URLs are written for Azure and rewritten like the examples.
 */
const APP_PROJECT_FILES: Record<string, string> = {
  '.npmrc': '@contoso:registry=https://pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/\n',
  'requirements.txt': 'fabrikam-tools==1.0.0\n',
  'java/pom.xml': `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.contoso</groupId>
  <artifactId>app</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <repositories>
    <repository><id>libs</id><url>https://pkgs.dev.azure.com/contoso/_packaging/libs/maven/v1</url></repository>
  </repositories>
  <dependencyManagement>
    <dependencies>
      <dependency><groupId>com.contoso</groupId><artifactId>greeting-bom</artifactId><version>1.0.0</version><type>pom</type><scope>import</scope></dependency>
    </dependencies>
  </dependencyManagement>
</project>
`,
  'rust/Cargo.toml': '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\ncontoso-greeting = { version = "1.0.0", registry = "libs" }\n',
  'rust/src/main.rs': 'fn main() {\n    println!("{}", contoso_greeting::greet());\n}\n',
  'rust/.cargo/config.toml': '[registries]\nlibs = { index = "sparse+https://pkgs.dev.azure.com/contoso/_packaging/libs/Cargo/index/" }\n',
  'nuget.config': '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <packageSources>\n    <clear />\n    <add key="libs" value="https://pkgs.dev.azure.com/contoso/_packaging/libs/nuget/v3/index.json" />\n  </packageSources>\n</configuration>\n',
};

// ---------------------------------------------------------------------------------------------------

describe('overview.md examples (each ```yaml block as a job: packaged tasks, runner, emulators)', function () {
  this.timeout(120_000);
  const markdown = readFileSync('overview.md', 'utf8');
  const rows = troubleshootingRows(markdown);
  let h: Harness;
  let suite: string;
  let marketplace: MarketplaceEmulator;

  before(async () => {
    h = await harness();
    suite = mkdtempSync(join(tmpdir(), 'mi-examples-'));
    await seedVersionFile();
    await seedAppProjects();
    // The publisher of the publishing example, with the agent's identity as its member.
    const agent = h.emu.world.identities.find((i) => i.key === AGENT_VM.key)!;
    marketplace = await startMarketplace({ tokens: h.emu.tokens, publishers: { 'contoso-platform': [agent.objectId] }, organizations: ['contoso', 'fabrikam'] });
  });
  after(async () => {
    await h?.stop();
    await marketplace?.stop();
    if (suite) rmSync(suite, { recursive: true, force: true });
  });

  /** An agent whose sources folder holds this repository's files, as `checkout: self` in its own pipeline would. */
  function agentWithThisRepository(): string {
    const agentRoot = mkdtempSync(join(suite, 'agent-'));
    const sources = join(agentRoot, '_work', '1', 's');
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const file of files.filter((f) => existsSync(f))) {
      mkdirSync(dirname(join(sources, file)), { recursive: true });
      cpSync(file, join(sources, file));
    }
    return agentRoot;
  }

  /** What an unrun PowerShell step reads must exist: `$env:NAME` mapped in env: or set from a variable by the agent. */
  function checkUnrun(job: Job, result: JobResult): void {
    const fromVariables = new Set([...result.variables.keys()].map((name) => name.replace(/[.\s]/g, '_').toUpperCase()));
    for (const step of job.unrun) {
      const mapped = new Set(Object.keys(step.env).map((name) => name.toUpperCase()));
      for (const [, name] of step.script.matchAll(/\$env:([A-Za-z_][A-Za-z0-9_]*)/g)) {
        assert.ok(mapped.has(name!.toUpperCase()) || fromVariables.has(name!.toUpperCase()), `$env:${name} is neither mapped in env: nor a variable of the job`);
      }
    }
  }

  /** git with the agent identity's token in an extraheader from the environment, no global config. */
  function gitEnv(): Record<string, string> {
    return isolatedGitEnv({
      ...LOOPBACK_NO_PROXY,
      HOME: suite,
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraheader',
      GIT_CONFIG_VALUE_0: `AUTHORIZATION: bearer ${h.emu.tokenFor(AGENT_VM.key)}`,
      GIT_AUTHOR_NAME: 'Seed', GIT_AUTHOR_EMAIL: 'seed@example.invalid', GIT_COMMITTER_NAME: 'Seed', GIT_COMMITTER_EMAIL: 'seed@example.invalid',
    });
  }

  async function git(cwd: string, args: string[]): Promise<void> {
    const r = await run('git', args, gitEnv(), cwd);
    assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  }

  /** The version-bump example reads a VERSION file: fabrikam's templates gets one on main. */
  async function seedVersionFile(): Promise<void> {
    const dir = join(suite, 'seed');
    await git(suite, ['clone', '--quiet', repositoryIn(h.emu.world, 'fabrikam', 'Shared Tools', 'templates').bareDir, dir]);
    await run('sh', ['-c', 'echo 1.0.0 > VERSION'], gitEnv(), dir);
    await git(dir, ['add', 'VERSION']);
    await git(dir, ['commit', '--quiet', '-m', 'Add VERSION']);
    await git(dir, ['push', '--quiet', 'origin', 'HEAD:main']);
  }

  /** The package projects of the feed examples, committed to contoso/Web/app's main branch. */
  async function seedAppProjects(): Promise<void> {
    const dir = join(suite, 'app-seed');
    await git(suite, ['clone', '--quiet', repositoryIn(h.emu.world, 'contoso', 'Web', 'app').bareDir, dir]);
    for (const [file, text] of Object.entries(APP_PROJECT_FILES)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), rewrite(text));
    }
    await git(dir, ['add', '.']);
    await git(dir, ['commit', '--quiet', '-m', 'Package projects of the feed examples']);
    await git(dir, ['push', '--quiet', 'origin', 'HEAD:main']);
  }

  /** https://dev.azure.com/{org}/…, https://{org}.visualstudio.com/… and their package hosts → the emulator. */
  const rewrite = (text: string): string => text
    .replace(/https:\/\/pkgs\.dev\.azure\.com\//g, `${h.emu.devops.url}/`)
    .replace(/https:\/\/([A-Za-z0-9-]+)\.pkgs\.visualstudio\.com\//g, (_, org: string) => `${h.emu.devops.url}/${org}/`)
    .replace(/https:\/\/dev\.azure\.com\//g, `${h.emu.devops.url}/`)
    .replace(/https:\/\/([A-Za-z0-9-]+)\.visualstudio\.com\/(?:DefaultCollection\/)?/g, (_, org: string) => `${h.emu.devops.url}/${org}/`);

  /** What the agent's `checkout: self` leaves: a clone of the pipeline's repository (contoso/Web/app) in the sources folder. */
  async function agentWithSelf(): Promise<string> {
    const agentRoot = mkdtempSync(join(suite, 'agent-'));
    const sources = join(agentRoot, '_work', '1', 's');
    mkdirSync(sources, { recursive: true });
    await git(sources, ['clone', '--quiet', h.emu.devops.cloneUrl('contoso', 'Web', 'app'), '.']);
    return agentRoot;
  }

  const all = examples(markdown);

  it('has examples for both tasks and every repository command', () => {
    const text = all.map((e) => e.yaml).join('\n');
    assert.ok(all.length >= 8, `${all.length} examples`);
    assert.match(text, /task: ManagedIdentityAuthenticate@1/);
    for (const command of ['checkout', 'list', 'readFile', 'push', 'tag', 'pullRequest']) assert.match(text, new RegExp(`command: ${command}\\b`));
    assert.ok(all.some((e) => e.expectFailure), 'one example shows a failure');
  });

  for (const example of examples(readFileSync('overview.md', 'utf8'))) {
    const powershell = /^\s*-\s*(pwsh|powershell):/m.test(example.yaml);
    const title = `line ${example.line} (${example.heading})${example.expectFailure ? ' fails as the page says' : ' succeeds'}`
      + (powershell && !PWSH ? ' (its PowerShell steps are checked, not run: no pwsh on this machine)' : '');
    it(title, async function () {
      const tool = example.requires && installed(example.requires);
      if (example.requires && !tool) {
        console.log(`      pending: ${example.requires} is not installed here (line ${example.line})`);
        this.skip();
      }
      const job = await toJob(example, rewrite, example.thisRepository ? resolve('node_modules') : undefined);
      const agentRoot = example.thisRepository ? agentWithThisRepository() : job.checkoutSelf ? await agentWithSelf() : undefined;
      const rustup = process.env['RUSTUP_HOME'] ?? join(homedir(), '.rustup');
      const result: JobResult = await h.run(job.steps, {
        ...(agentRoot ? { agentRoot } : {}),
        variables: { 'Build.Repository.Name': 'app', 'Build.Repository.Uri': h.emu.devops.cloneUrl('contoso', 'Web', 'app') },
        // The agent's environment where the tool lives: its folder on PATH, and rustup's home (the runner's HOME is new).
        env: {
          ...(example.thisRepository ? { MARKETPLACE_SERVICE_URL: marketplace.url } : {}),
          ...(tool ? { PATH: `${dirname(tool)}:${process.env['PATH'] ?? ''}` } : {}),
          ...(existsSync(rustup) ? { RUSTUP_HOME: rustup } : {}),
        },
      });
      checkUnrun(job, result);
      if (example.thisRepository) {
        const published = marketplace.publishers.get('contoso-platform')!.extensions.get('managed-identity-azure-devops');
        assert.ok(published, `the extension was published: ${result.log}`);
        assert.equal(published.versions.at(-1)!.flags, 'validated');
        assert.deepEqual([...published.sharedWith].sort(), ['contoso', 'fabrikam']);
      }
      const unknown = job.macros.filter((name) => ![...result.variables.keys()].some((v) => v.toLowerCase() === name.toLowerCase()));
      assert.deepEqual(unknown, [], 'every $(variable) the example uses exists by the end of the job');
      for (const secret of result.secrets.filter((s) => s.length >= 16)) assert.ok(!result.log.includes(secret), 'the log shows no secret');
      if (!example.expectFailure) {
        assert.equal(result.result, 'Succeeded', result.log);
        return;
      }
      assert.equal(result.result, 'Failed', result.log);
      const errors = result.steps.flatMap((s) => s.errors);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.ok(rows.some((row) => covers(rowPattern(row.message), [errors[0]!])), `no Troubleshooting row explains: ${errors[0]}`);
    });
  }
});

describe('the examples\' YAML subset', () => {
  it('reads steps with task inputs, block scalars, quoted and commented values', () => {
    const yaml = [
      'steps:',
      '- checkout: none',
      '- task: ManagedIdentityAuthenticate@1   # a comment',
      '  name: auth',
      '  inputs:',
      '    organizations: |',
      '      contoso',
      '',
      '      fabrikam',
      "    variableName: 'My.Token'",
      '    verify: "true"',
      '- script: echo "a # b" # c',
      '  env:',
      '    TOKEN: $(My.Token)',
      '- script: |-',
      '    one',
      '      two',
      '  workingDirectory: $(auth.path)',
    ].join('\n');
    assert.deepEqual(YamlSubset.parse(yaml), {
      steps: [
        { checkout: 'none' },
        { task: 'ManagedIdentityAuthenticate@1', name: 'auth', inputs: { organizations: 'contoso\n\nfabrikam\n', variableName: 'My.Token', verify: 'true' } },
        { script: 'echo "a', env: { TOKEN: '$(My.Token)' } },
        { script: 'one\n  two', workingDirectory: '$(auth.path)' },
      ],
    });
  });

  it('reads a bare list of steps, indented sequences, and refuses what it does not know', () => {
    assert.deepEqual(YamlSubset.parse('- script: a\n- script: |\n    b\n    c\n'), [{ script: 'a' }, { script: 'b\nc\n' }]);
    assert.deepEqual(YamlSubset.parse('steps:\n  - script: a\n    name: x\n'), { steps: [{ script: 'a', name: 'x' }] });
    assert.throws(() => YamlSubset.parse('steps:\n- script: a\n   oops: 1\n'), /YAML line 3/);
    assert.throws(() => YamlSubset.parse("- script: 'open\n"), /unterminated/);
    assert.throws(() => YamlSubset.parse('a: 1\na: 2\n'), /duplicate key 'a'/);
    assert.throws(() => YamlSubset.parse('a: >\n  folded\n'), /only \| and \|- block scalars/);
  });
});
