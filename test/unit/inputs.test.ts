import assert from 'node:assert/strict';
import { InputError } from '../../src/core/errors';
import { booleanInput, identityInput, organizationsInput, variableNameInput, type InputSource } from '../../src/agent/inputs';
import { AZURE_DEVOPS_ONLY } from '../../src/devops/organizations';

function source(inputs: Record<string, string>, variables: Record<string, string> = {}): InputSource {
  return { input: (n) => inputs[n] || undefined, variable: (n) => variables[n] || undefined };
}

const GUID = '0b7b3c1e-5f0e-4d0c-9a43-3c3f1d2e4a5b';

describe('inputs', () => {
  it('selects the system identity by default and one user-assigned identity by id', () => {
    assert.deepEqual(identityInput(source({})), { kind: 'system' });
    assert.deepEqual(identityInput(source({ clientId: GUID.toUpperCase() })), { kind: 'clientId', value: GUID });
    const rid = `/subscriptions/${GUID}/resourceGroups/rg-agents/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-build`;
    assert.deepEqual(identityInput(source({ resourceId: rid })), { kind: 'resourceId', value: rid });
  });

  it('refuses two selectors and ids that are not GUIDs, naming input, value and form', () => {
    assert.throws(() => identityInput(source({ clientId: GUID, objectId: GUID })),
      (e: unknown) => e instanceof InputError && /Input 'objectId'.*clientId/.test(e.message) && e.message.includes(GUID));
    assert.throws(() => identityInput(source({ clientId: 'not-a-guid' })),
      (e: unknown) => e instanceof InputError && e.message === "Input 'clientId' must be a GUID such as 00000000-0000-0000-0000-000000000000 (got 'not-a-guid').");
    assert.throws(() => identityInput(source({ resourceId: '/subscriptions/x' })), /Input 'resourceId'.*userAssignedIdentities/);
  });

  it('refuses variable names that could break a logging command', () => {
    for (const bad of ['a;b', 'a]b', 'a\nb', 'a b', '%AZP25', '1abc', 'x'.repeat(101)]) {
      assert.throws(() => variableNameInput(source({ variableName: bad }), 'variableName', 'd'), (e: unknown) =>
        e instanceof InputError && e.message.startsWith("Input 'variableName' must be a variable name") && !e.message.includes('\n'), JSON.stringify(bad));
    }
    assert.equal(variableNameInput(source({}), 'variableName', 'AzureDevOps.AccessToken'), 'AzureDevOps.AccessToken');
  });

  it('parses booleans strictly', () => {
    assert.equal(booleanInput(source({ verify: 'TRUE' }), 'verify', false), true);
    assert.equal(booleanInput(source({}), 'verify', true), true);
    assert.throws(() => booleanInput(source({ verify: 'yes' }), 'verify', true), /Input 'verify' must be 'true' or 'false' \(got 'yes'\)/);
  });

  it('defaults organizations to the pipeline’s own and de-duplicates lists', () => {
    const s = source({}, { 'System.CollectionUri': 'https://dev.azure.com/contoso/' });
    assert.deepEqual(organizationsInput(s, 'organizations', AZURE_DEVOPS_ONLY).map((o) => o.name), ['contoso']);
    const list = source({ organizations: 'contoso,\nhttps://dev.azure.com/contoso\nfabrikam' });
    assert.deepEqual(organizationsInput(list, 'organizations', AZURE_DEVOPS_ONLY).map((o) => o.name), ['contoso', 'fabrikam']);
    assert.throws(() => organizationsInput(source({ organizations: 'https://evil.test/dev.azure.com' }), 'organizations', AZURE_DEVOPS_ONLY), /Input 'organizations'/);
  });
});
