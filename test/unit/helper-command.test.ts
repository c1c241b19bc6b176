// The credential helper command (src/git/helper-command.ts), run the way git runs it: the generated string through a
// real `sh -c` (dash, and bash, which is what Git for Windows' sh is), and through real git (`git credential fill`,
// which appends " get" and runs `sh -c`). Windows-form commands are built from path.win32 agent layouts; on Linux the
// drive-letter path `C:/…` is relative, so a fake node.exe at that path below the shell's working directory records
// the argv the shell handed it. What cannot run here (MSYS2's own argument conversion, node.exe) is cited in the module.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { helperCommand, helperPath, shellQuote } from '../../src/git/helper-command';
import { credentialEntries, gitConfigVariables, nodeHelperCommand } from '../../src/git/session';

const TASK_GUID = '16bc36f0-420c-45d4-a942-52d4395534ad';
const SESSION = 'miado-git-3f0e9a64-7f41-4b39-9d53-0d2b8c1f5a10.json';

interface Layout {
  readonly name: string;
  readonly node: string;
  readonly script: string;
  readonly session: string;
}

/** The agent's layout on Windows: externals\node20_1 or node24, _work\_tasks\<Name>_<guid>\<version>\, _work\_temp. */
function windowsLayout(name: string, agentRoot: string, nodeFolder: 'node20_1' | 'node24', work = path.win32.join(agentRoot, '_work')): Layout {
  return {
    name,
    node: path.win32.join(agentRoot, 'externals', nodeFolder, 'bin', 'node.exe'),
    script: path.win32.join(work, '_tasks', `ManagedIdentityAuthenticate_${TASK_GUID}`, '1.1.0', 'credential-helper.js'),
    session: path.win32.join(work, '_temp', SESSION),
  };
}

const WINDOWS: readonly Layout[] = [
  windowsLayout('a plain agent folder', 'C:\\agent', 'node20_1'),
  windowsLayout('C:\\Program Files with Node 24', 'C:\\Program Files\\Azure Pipelines Agent', 'node24'),
  windowsLayout('a single quote', "C:\\Users\\O'Brien\\agent", 'node20_1'),
  windowsLayout('non-ASCII letters', 'D:\\Agents\\Über Agent ü\\ビルド', 'node24'),
  windowsLayout('shell characters', 'E:\\a $HOME `x` "q" ; & | * ? [b] # ~ = % !', 'node20_1'),
  windowsLayout('a work folder on another drive', 'C:\\agent', 'node20_1', 'D:\\w'),
];

let root: string;
const recorderScript = (): string => path.join(root, 'record.js');

before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'mi-helper-command-'));
  // Records its argv ($0 first) and answers like a credential helper.
  writeFileSync(recorderScript(), [
    "const fs = require('fs');",
    "const stdin = fs.readFileSync(0, 'utf8');",
    'fs.writeFileSync(process.env.MI_HELPER_ARGV, JSON.stringify({ argv: process.argv.slice(2), stdin }));',
    "process.stdout.write('username=ManagedIdentity\\npassword=recorded\\n');",
  ].join('\n'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A fake node at `file` (absolute or relative to `cwd`): a shell script that hands "$0" "$@" to the recorder. */
function fakeNode(cwd: string, file: string): void {
  const target = path.resolve(cwd, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(recorderScript())} "$0" "$@"\n`);
  chmodSync(target, 0o755);
}

interface Recorded { argv: string[]; stdin: string }

function runShell(shell: string, cwd: string, command: string): Recorded {
  const log = path.join(cwd, `argv-${shell}.json`);
  rmSync(log, { force: true });
  // git runs `sh -c '<value without !> get'` (credential.c credential_do, run-command.c prepare_shell_cmd).
  const result = spawnSync(shell, ['-c', `${command.slice(1)} get`], { cwd, env: { PATH: process.env['PATH']!, MI_HELPER_ARGV: log }, input: 'protocol=https\n\n', encoding: 'utf8' });
  assert.equal(result.status, 0, `${shell}: ${result.stderr}`);
  return JSON.parse(readFileSync(log, 'utf8')) as Recorded;
}

const SHELLS = ['dash', 'bash'];

describe('the credential helper command on Windows (Git for Windows runs it with its bundled bash as sh)', () => {
  for (const layout of WINDOWS) {
    it(`hands node.exe the exact paths, with forward slashes: ${layout.name}`, () => {
      const command = helperCommand(layout.node, layout.script, layout.session, 'win32');
      assert.ok(command.startsWith("!'"), command);
      assert.doesNotMatch(command.replaceAll(`'\\''`, ''), /\\/, 'no backslash reaches the shell but in the escape of a quote');
      const cwd = mkdtempSync(path.join(root, 'win-'));
      const nodeAsWritten = helperPath(layout.node, 'win32');
      fakeNode(cwd, nodeAsWritten);
      for (const shell of SHELLS) {
        const { argv } = runShell(shell, cwd, command);
        assert.deepEqual(argv, [nodeAsWritten, helperPath(layout.script, 'win32'), helperPath(layout.session, 'win32'), 'get'], shell);
      }
      // The paths still name the same files for Windows (forward slashes are separators there too).
      for (const file of [layout.node, layout.script, layout.session]) {
        assert.equal(path.win32.normalize(helperPath(file, 'win32')), path.win32.normalize(file));
      }
    });
  }

  it('writes drive letters and UNC paths in the forms MSYS2 passes to native programs unchanged', () => {
    // msys2_path_conv.cc: "C:/…" without a further colon is SIMPLE_WINDOWS_PATH; "//server/share" is UNC: both copied as is.
    assert.equal(helperPath('C:\\agent\\_work\\_temp\\x.json', 'win32'), 'C:/agent/_work/_temp/x.json');
    assert.equal(helperPath('\\\\fileserver\\agents\\a1\\externals\\node24\\bin\\node.exe', 'win32'), '//fileserver/agents/a1/externals/node24/bin/node.exe');
    const command = helperCommand('C:\\a\\node.exe', 'C:\\a\\h.js', '\\\\srv\\t\\s.json', 'win32');
    assert.equal(command, "!'C:/a/node.exe' 'C:/a/h.js' '//srv/t/s.json'");
  });

  it('runs through real git: `git credential fill` calls only our helper for the URL, after the empty reset', () => {
    const layout = WINDOWS[1]!;
    const cwd = mkdtempSync(path.join(root, 'git-win-'));
    fakeNode(cwd, helperPath(layout.node, 'win32'));
    const recorded = credentialFill(cwd, nodeHelperCommand(layout.node, layout.script, layout.session, 'win32'));
    assert.deepEqual(recorded.argv.slice(1), [helperPath(layout.script, 'win32'), helperPath(layout.session, 'win32'), 'get']);
    assert.match(recorded.stdin, /^host=dev\.azure\.com$/m);
  });
});

describe('the credential helper command on Linux and macOS', () => {
  const names = [
    'plain',
    'with spaces',
    "with 'single' quotes",
    'with back\\slash and C:\\drive',
    'Über ü ビルド',
    'shell $HOME `x` "q" ; & | * ? [b] # ~ = % !',
    'new\nline',
  ];
  for (const name of names) {
    it(`hands node the exact paths: ${JSON.stringify(name)}`, () => {
      const dir = mkdtempSync(path.join(root, 'posix-'));
      const agent = path.join(dir, name);
      const node = path.join(agent, 'externals', 'node24', 'bin', 'node');
      const script = path.join(agent, '_work', '_tasks', `ManagedIdentityAuthenticate_${TASK_GUID}`, '1.1.0', 'credential-helper.js');
      const session = path.join(agent, '_work', '_temp', SESSION);
      fakeNode(dir, node);
      const command = helperCommand(node, script, session, 'linux');
      for (const shell of SHELLS) assert.deepEqual(runShell(shell, dir, command).argv, [node, script, session, 'get'], shell);
      if (!name.includes('\n')) assert.deepEqual(credentialFill(dir, nodeHelperCommand(node, script, session, 'linux')).argv, [node, script, session, 'get'], 'through git');
    });
  }

  it('keeps a backslash on POSIX systems and turns it into a separator only on Windows', () => {
    assert.equal(helperPath('/opt/a\\b/node', 'linux'), '/opt/a\\b/node');
    assert.equal(helperPath('/opt/a\\b/node', 'darwin'), '/opt/a\\b/node');
    assert.equal(helperPath('C:\\a\\b', 'win32'), 'C:/a/b');
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(helperCommand('/n', '/s', '/f'), helperCommand('/n', '/s', '/f', process.platform), 'the platform defaults to this one');
  });
});

/**
 * `git credential fill` for https://dev.azure.com/contoso/… with an inherited helper in the global config (which must
 * not run) and the job's GIT_CONFIG_* entries: the empty reset, then `helper` (as the session configures it, for `get`
 * only). Returns what our helper recorded.
 */
function credentialFill(cwd: string, helper: string): Recorded {
  const home = mkdtempSync(path.join(root, 'home-'));
  const inheritedLog = path.join(home, 'inherited.log');
  writeFileSync(path.join(home, '.gitconfig'), `[credential]\n\thelper = "!echo inherited >> '${inheritedLog}'; true"\n`);
  const log = path.join(home, 'argv.json');
  const env: Record<string, string> = {
    PATH: process.env['PATH']!, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0', MI_HELPER_ARGV: log,
  };
  for (const [name, value] of gitConfigVariables(0, credentialEntries(['https://dev.azure.com'], [helper], true))) env[name] = value;
  const out = execFileSync('git', ['credential', 'fill'], { cwd, env, input: 'protocol=https\nhost=dev.azure.com\npath=contoso/Web/_git/app\n\n', encoding: 'utf8' });
  assert.match(out, /^password=recorded$/m);
  assert.throws(() => readFileSync(inheritedLog), /ENOENT/, 'the inherited helper was reset for this URL');
  return JSON.parse(readFileSync(log, 'utf8')) as Recorded;
}
