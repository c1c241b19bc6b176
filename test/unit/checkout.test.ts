/**
 * What src/repository/checkout.ts writes into a fresh clone's .git/config itself (instead of running `git remote add`
 * and `git config`): values git reads back unchanged, whatever they hold. Real git reads the file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quotedConfigValue } from '../../src/repository/checkout';

function gitConfigGet(file: string, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['config', '--file', file, '--get', key], { env: { PATH: process.env['PATH'], GIT_CONFIG_NOSYSTEM: '1' } },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout.replace(/\n$/, ''))));
  });
}

describe('checkout: config values written directly (src/repository/checkout.ts)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'checkout-config-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('quotes a value so git reads it back unchanged', async () => {
    const values = [
      'http://127.0.0.1:41234/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.com/contoso/Web/_git/%C3%9Cn%C3%AFcode',
      'semi;colon #hash',
      '  leading and trailing spaces  ',
      'double "quotes" and \\back\\slashes\\',
      '\ttab',
    ];
    const file = join(dir, 'config');
    writeFileSync(file, values.map((v, i) => `[remote "r${i}"]\n\turl = ${quotedConfigValue(v)}\n`).join(''));
    for (const [i, value] of values.entries()) assert.equal(await gitConfigGet(file, `remote.r${i}.url`), value);
  });

  it('refuses a value with a line break or NUL, which no config value can hold', () => {
    for (const value of ['a\nb', 'a\rb', 'a\0b']) assert.throws(() => quotedConfigValue(value), /cannot hold a line break or NUL/);
  });
});
