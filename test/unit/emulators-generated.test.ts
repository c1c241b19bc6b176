/**
 * addGeneratedRepository (test/emulators/generated-repository.ts): the repository the checkout benchmark
 * clones is what it claims (files, bytes, commits), served by REST and by git http-backend, and the same on
 * every run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AGENT_VM, addGeneratedRepository, isolatedGitEnv, runGit, startEmulators, type Emulators } from '../emulators';

describe('emulator: generated repositories of a given size', function () {
  this.timeout(30_000);
  let emu: Emulators;
  before(async () => (emu = await startEmulators()));
  after(() => emu.stop());

  it('writes the files, bytes and commits asked for, in a new project, and git clones it through the emulator', async () => {
    const options = { org: 'fabrikam', project: 'Generated', name: 'sized', files: 120, bytes: 300_000, commits: 4 };
    const generated = await addGeneratedRepository(emu.world, options);
    assert.equal(generated.repository.defaultBranch, 'refs/heads/main');
    const rest = await fetch(`${emu.devops.orgUrl('fabrikam')}/Generated/_apis/git/repositories/sized?api-version=7.1`,
      { headers: { authorization: `Bearer ${emu.tokenFor(AGENT_VM.key)}` } });
    assert.equal(rest.status, 200);
    assert.equal(((await rest.json()) as { id: string }).id, generated.repository.id);

    const target = path.join(emu.root, 'clone');
    const url = emu.devops.cloneUrl('fabrikam', 'Generated', 'sized');
    const env = isolatedGitEnv({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraheader', GIT_CONFIG_VALUE_0: `AUTHORIZATION: bearer ${emu.tokenFor(AGENT_VM.key)}` });
    const clone = await runGit(['clone', '--quiet', url, target], { env });
    assert.equal(clone.code, 0, clone.stderr);
    const files = (await runGit(['-C', target, 'ls-files', 'src'])).stdout.trim().split('\n');
    assert.equal(files.length, options.files);
    assert.equal(files.reduce((sum, f) => sum + fs.statSync(path.join(target, f)).size, 0), options.bytes);
    assert.equal((await runGit(['-C', target, 'rev-list', '--count', 'HEAD'])).stdout.trim(), String(options.commits));
    assert.equal((await runGit(['-C', target, 'rev-parse', 'HEAD'])).stdout.trim(), generated.head);
    assert.ok(files.some((f) => f.endsWith('.txt')) && files.some((f) => f.endsWith('.bin')), 'text and binary files');
  });

  it('generates the same commits on every run', async () => {
    const other = await startEmulators();
    try {
      const spec = { org: 'contoso', project: 'Web', name: 'again', files: 30, bytes: 50_000, commits: 3 };
      const [a, b] = [await addGeneratedRepository(emu.world, spec), await addGeneratedRepository(other.world, spec)];
      assert.equal(a.head, b.head);
      await assert.rejects(addGeneratedRepository(emu.world, spec), /already has a repository 'again'/);
    } finally {
      await other.stop();
    }
  });
});
