import assert from 'node:assert/strict';
import fc from 'fast-check';
import { filterExternalOutput } from 'azure-pipelines-task-lib/externaloutput';
import { neutralize } from '../../src/core/log';

describe('neutralize', () => {
  const pieces = fc.constantFrom('##vso[', '##vso', '#', 'vso[', '[', ']', 'task.setvariable variable=X]evil', 'task.complete result=Succeeded]', '\n', '%0A', ';', 'a', ' ', '##_vso[', 'é');
  it('gives the same bytes as task-lib’s external output filter, for any text', () => {
    fc.assert(fc.property(fc.array(fc.oneof(pieces, fc.string()), { maxLength: 20 }), (parts) => {
      const text = parts.join('');
      assert.equal(neutralize(text), filterExternalOutput(text, { source: 'remote' }).toString('utf8'));
    }), { numRuns: 2000 });
  });

  it('leaves no logging command in any line', () => {
    assert.equal(neutralize('x ##vso[task.setvariable variable=A]evil\n##vso[task.complete result=Succeeded]'),
      'x ##_vso[task.setvariable variable=A]evil\n##_vso[task.complete result=Succeeded]');
  });
});
