// The Windows branches of identity source handling (src/identity/source.ts), as pure functions with Windows inputs:
// Arc's himds and key-file locations (checked against msal-node's own constants, loaded in a child process with a
// Windows environment), the hint for an unreadable key file, and the Windows-container note for an unreachable IMDS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  arcHimdsFile, arcKeyFileHint, arcKeyFolder, detectIdentitySource, windowsContainerAccount, windowsContainerNote,
} from '../../src/identity/source';

const WINDOWS_ENV = { ProgramFiles: 'C:\\Program Files', ProgramData: 'C:\\ProgramData', USERNAME: 'NETWORK SERVICE' };

/** msal-node's AzureArc constants as the library computes them when it loads with `env`. */
function msalArcConstants(env: Record<string, string>): { detection: Record<string, string>; keyFolders: Record<string, string> } {
  const root = dirname(require.resolve('@azure/msal-node/package.json'));
  const module = pathToFileURL(join(root, 'dist', 'client', 'ManagedIdentitySources', 'AzureArc.mjs')).href;
  const script = `import(${JSON.stringify(module)}).then((m) => console.log(JSON.stringify({ detection: m.AZURE_ARC_FILE_DETECTION, keyFolders: m.SUPPORTED_AZURE_ARC_PLATFORMS })))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { PATH: process.env['PATH']!, ...env }, encoding: 'utf8' })) as never;
}

describe('identity sources on Windows', () => {
  it('looks for himds and reads key files where msal-node does, on Windows and Linux', () => {
    for (const env of [WINDOWS_ENV, { ProgramFiles: 'D:\\Apps', ProgramData: 'D:\\Data' }]) {
      const msal = msalArcConstants(env);
      assert.equal(arcHimdsFile('win32', env), msal.detection['win32']);
      assert.equal(arcKeyFolder('win32', env), msal.keyFolders['win32']);
      assert.equal(arcHimdsFile('linux', env), msal.detection['linux']);
      assert.equal(arcKeyFolder('linux', env), msal.keyFolders['linux']);
    }
    assert.equal(arcHimdsFile('win32', WINDOWS_ENV), 'C:\\Program Files\\AzureConnectedMachineAgent\\himds.exe');
    assert.equal(arcKeyFolder('win32', WINDOWS_ENV), 'C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens\\');
    assert.equal(arcHimdsFile('darwin', WINDOWS_ENV), undefined, 'msal has no entry for macOS: Arc is never detected there');
  });

  it('names the Windows group, the key folder and the agent\'s default account when the key file cannot be read', () => {
    const hint = arcKeyFileHint('win32', WINDOWS_ENV);
    assert.match(hint, /'Hybrid agent extension applications'/);
    assert.match(hint, /NT AUTHORITY\\NETWORK SERVICE unless the agent was configured with --windowsLogonAccount/);
    assert.match(hint, /C:\\ProgramData\\AzureConnectedMachineAgent\\Tokens\\/);
    assert.doesNotMatch(hint, /himds/);
    const linux = arcKeyFileHint('linux', {});
    assert.match(linux, /^Add the agent's service account to the 'himds' group, whose members may read Arc's key files in \/var\/opt\/azcmagent\/tokens\//);
    assert.doesNotMatch(linux, /Hybrid/);
    assert.match(arcKeyFileHint('darwin', {}), /only on Linux and Windows; this agent runs on darwin/);
  });

  it('knows a Windows container by its built-in accounts, only on Windows', () => {
    assert.equal(windowsContainerAccount('win32', { USERNAME: 'ContainerAdministrator' }), 'ContainerAdministrator');
    assert.equal(windowsContainerAccount('win32', { USERNAME: 'ContainerUser' }), 'ContainerUser');
    assert.equal(windowsContainerAccount('win32', { USERNAME: 'NETWORK SERVICE' }), undefined);
    assert.equal(windowsContainerAccount('win32', {}), undefined);
    assert.equal(windowsContainerAccount('linux', { USERNAME: 'ContainerAdministrator' }), undefined);
  });

  it('says an unreachable IMDS is a Windows container\'s limit only where IMDS was the source by default', () => {
    const container = { USERNAME: 'ContainerAdministrator' };
    const imds = detectIdentitySource({}, false, () => false);
    assert.equal(imds.name, 'IMDS');
    assert.equal(windowsContainerNote(imds, 'win32', container),
      'this step runs in a Windows container (as ContainerAdministrator), and Windows containers cannot reach IMDS at 169.254.169.254');
    assert.equal(windowsContainerNote(imds, 'win32', WINDOWS_ENV), undefined, 'on the host itself');
    assert.equal(windowsContainerNote(imds, 'linux', container), undefined);
    const podIdentity = detectIdentitySource({ AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://10.0.0.4:2579' }, false, () => false);
    assert.equal(windowsContainerNote(podIdentity, 'win32', container), undefined, 'a moved IMDS endpoint is not 169.254.169.254');
    const appService = detectIdentitySource({ IDENTITY_ENDPOINT: 'http://10.0.0.4:8081/msi/token', IDENTITY_HEADER: 'h' }, false, () => false);
    assert.equal(windowsContainerNote(appService, 'win32', container), undefined, 'Container Apps and ACI give Windows containers their own endpoint');
  });
});
