/**
 * What the tasks register as secrets: every form of the token, and never a value of several lines (the agent
 * fails such a step with "Secrets cannot contain multiple lines" and masks line by line).
 */
import assert from 'node:assert/strict';
import { TaskError } from '../../src/core/errors';
import { derivedForms, maskToken } from '../../src/agent/secrets';

describe('maskToken', () => {
  const recorder = (): { values: string[]; setSecret(value: string): void } => {
    const values: string[] = [];
    return { values, setSecret: (value) => void values.push(value) };
  };

  it('registers the token and each derived form, all of one line', () => {
    const sink = recorder();
    maskToken(sink, 'eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.c2ln');
    assert.deepEqual(sink.values, derivedForms('eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.c2ln'));
    assert.ok(sink.values.length >= 4 && sink.values.every((v) => !/[\r\n]/.test(v)));
  });

  for (const token of ['eyJh.eyJv.c2ln\n', 'eyJh.eyJv\nc2ln', 'eyJh.eyJv.c2ln\r', '\r\neyJh.eyJv.c2ln']) {
    it(`refuses ${JSON.stringify(token)} with one clear error, registering nothing`, () => {
      const sink = recorder();
      assert.throws(() => maskToken(sink, token), (err: unknown) => err instanceof TaskError && /spans several lines/.test(err.message) && !err.message.includes(token.trim()));
      assert.deepEqual(sink.values, []);
    });
  }
});
