import assert from 'node:assert/strict';
import fc from 'fast-check';
import { filterExternalOutput } from 'azure-pipelines-task-lib/externaloutput';
import { neutralize } from '../../src/core/log';

describe('neutralize', () => {
  const tags = ['##[error]', '##[warning]', '##[group]', '##[endgroup]', '##[section]', '##[command]', '##[debug]'];
  const pieces = fc.constantFrom('##vso[', '##vso', '#', '##', 'vso[', '[', ']', 'task.setvariable variable=X]evil', 'task.complete result=Succeeded]', '\n', '\r', '%0A', ';', 'a', ' ', '##_vso[', '##_[', 'é', ...tags);
  const texts = fc.array(fc.oneof(pieces, fc.string()), { maxLength: 20 }).map((parts) => parts.join(''));

  it('gives task-lib’s external output filter’s bytes for ##vso[, with every ##[ made ##_[, for any text', () => {
    fc.assert(fc.property(texts, (text) => {
      assert.equal(neutralize(text), filterExternalOutput(text, { source: 'remote' }).toString('utf8').split('##[').join('##_['));
    }), { numRuns: 2000 });
  });

  it('leaves no logging command and no formatting prefix anywhere, and changes nothing else', () => {
    fc.assert(fc.property(texts, (text) => {
      const out = neutralize(text);
      assert.ok(!out.includes('##vso[') && !out.includes('##['), JSON.stringify(out));
      assert.equal(out.replace(/##_vso\[/g, '##vso[').replace(/##_\[/g, '##['), text.replace(/##_vso\[/g, '##vso[').replace(/##_\[/g, '##['));
    }), { numRuns: 2000 });
  });

  it('defuses each formatting prefix at the start of a line and within it', () => {
    assert.equal(neutralize('x ##vso[task.setvariable variable=A]evil\n##vso[task.complete result=Succeeded]'),
      'x ##_vso[task.setvariable variable=A]evil\n##_vso[task.complete result=Succeeded]');
    for (const tag of tags) {
      const defused = tag.replace('##[', '##_[');
      assert.equal(neutralize(`${tag}Approved\nremote: ${tag}x`), `${defused}Approved\nremote: ${defused}x`);
    }
  });
});
