/**
 * `npm start`: the whole flow a user gets, against the bundled emulators. It installs the packaged
 * .vsix into a temporary agent folder and runs a short pipeline through the agent-like runner:
 *   1. ManagedIdentityAuthenticate@1 for organizations contoso and fabrikam (verify on),
 *   2. a plain `git clone` of a fabrikam repository, authenticated by the job's credential helper,
 *   3. a script that uses the secret token (mapped with env:) against the REST API,
 * then the post-job step, printing the masked log as Azure Pipelines would show it.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installVsix, packagedVsix, runJob } from '../test/agent/runner';
import { startEmulators } from '../test/emulators';

async function main(): Promise<void> {
  // The emulator flavour: only its tasks accept the loopback emulators (src/core/flavour.ts).
  const vsix = packagedVsix('emulator');
  const emu = await startEmulators();
  const agentRoot = await mkdtemp(join(tmpdir(), 'mi-demo-agent-'));
  try {
    const tasks = await installVsix(vsix, join(agentRoot, '_work', '_tasks'));
    const contoso = emu.devops.orgUrl('contoso').replace(/\/?$/, '/');
    const templates = emu.devops.cloneUrl('fabrikam', 'Shared Tools', 'templates').replace(/\/\/[^@/]+@/, '//');
    console.log(`Emulators: identity (IMDS) ${emu.identity.url}, Azure DevOps ${emu.devops.url}`);
    console.log(`Package:   ${vsix} (the emulator test build of dist/*.vsix)`);
    console.log('Pipeline:  ManagedIdentityAuthenticate@1 (contoso, fabrikam) -> git clone of fabrikam/Shared Tools/templates -> REST call with the secret token\n');
    const result = await runJob({
      agentRoot,
      echo: true,
      variables: {
        'System.CollectionUri': contoso,
        'System.TeamProject': 'Web',
        'ManagedIdentity.TestHosts': new URL(emu.devops.url).host,
      },
      env: emu.env(),
      steps: [
        { task: tasks.get('ManagedIdentityAuthenticate')!, displayName: 'Azure DevOps token from managed identity', inputs: { organizations: 'contoso\nfabrikam' } },
        {
          displayName: 'git clone from another organization',
          script: `set -e\ngit clone "${templates}" "$BUILD_SOURCESDIRECTORY/templates"\ngit -C "$BUILD_SOURCESDIRECTORY/templates" log --oneline -3`,
        },
        {
          displayName: 'REST call with the secret token',
          script: `node -e 'fetch(process.argv[1], { headers: { authorization: "Bearer " + process.env.TOKEN } }).then(async (r) => console.log(r.status, (await r.text()).slice(0, 200)))' "${contoso}_apis/projects"`,
          env: { TOKEN: '$(AzureDevOps.AccessToken)' },
        },
      ],
    });
    console.log(`\nJob result: ${result.result}`);
    if (result.result !== 'Succeeded' && result.result !== 'SucceededWithIssues') process.exitCode = 1;
  } finally {
    await emu.stop();
    rmSync(agentRoot, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
