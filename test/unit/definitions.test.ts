/**
 * One definition each for the patterns several modules need: the commit SHA, `refs/heads/` stripping and
 * userinfo stripping. Twins drift apart (the userinfo pair already had: one stopped at the first '@'), so
 * the sources are searched for a second copy, and the single definitions are checked on the cases that
 * told the twins apart.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { COMMIT_SHA, branchName } from '../../src/repository/refs';
import { withoutUserinfo } from '../../src/devops/repository-ref';
import { sameRemote } from '../../src/repository/checkout';
import { versionCandidates } from '../../src/repository/read-file';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Where in src/ a pattern's source text occurs: 'file: count'. */
function occurrences(pattern: RegExp): string[] {
  return sources('src').flatMap((file) => {
    const count = [...readFileSync(file, 'utf8').matchAll(new RegExp(pattern.source, 'g'))].length;
    return count ? [`${relative('src', file)}: ${count}`] : [];
  });
}

describe('one definition each', () => {
  it('the commit-SHA pattern lives only in repository/refs.ts', () => {
    assert.deepEqual(occurrences(/\[0-9a-f\]\{40\}/), ['repository/refs.ts: 1']);
    assert.ok(COMMIT_SHA.test('A'.repeat(40)) && !COMMIT_SHA.test('a'.repeat(39)) && !COMMIT_SHA.test('a'.repeat(41)));
  });

  it('refs/heads/ stripping lives only in repository/refs.ts', () => {
    assert.deepEqual(occurrences(/\^refs\\\/heads\\\/|slice\(11\)/), ['repository/refs.ts: 1']);
    assert.equal(branchName('refs/heads/feature/x'), 'feature/x');
    assert.equal(branchName('main'), 'main');
    assert.equal(branchName('refs/tags/v1'), 'refs/tags/v1');
    assert.deepEqual(versionCandidates('refs/heads/release/1.0'), [{ version: 'release/1.0', versionType: 0 }]);
  });

  it('userinfo stripping lives only in devops/repository-ref.ts, and ends at the last @ of the authority', () => {
    assert.deepEqual(occurrences(/:\\\/\\\/\)\[\^/), ['devops/repository-ref.ts: 1']);
    const cases: Array<[string, string]> = [
      ['https://contoso@dev.azure.com/contoso/Web/_git/app', 'https://dev.azure.com/contoso/Web/_git/app'],
      ['https://user:p@ss@dev.azure.com/contoso/Web/_git/app', 'https://dev.azure.com/contoso/Web/_git/app'],
      ['HTTPS://u@Dev.Azure.com/x', 'HTTPS://Dev.Azure.com/x'],
      ['https://dev.azure.com/contoso/Web/_git/a@b', 'https://dev.azure.com/contoso/Web/_git/a@b'],
      ['https://dev.azure.com/contoso?x=a@b', 'https://dev.azure.com/contoso?x=a@b'],
      ['git@ssh.dev.azure.com:v3/contoso/Web/app', 'git@ssh.dev.azure.com:v3/contoso/Web/app'],
    ];
    for (const [url, expected] of cases) assert.equal(withoutUserinfo(url), expected, url);
    // checkout's re-use test relies on it: a credential someone left in the origin URL is still the same remote.
    assert.ok(sameRemote('https://user:p@ss@dev.azure.com/contoso/Web/_git/app', 'https://contoso@dev.azure.com/contoso/Web/_git/app/'));
    assert.ok(!sameRemote('https://dev.azure.com/contoso/Web/_git/app', 'https://dev.azure.com/contoso/Web/_git/other'));
  });
});
