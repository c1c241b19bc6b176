/**
 * Runs every emulator until Ctrl-C and prints how to reach them:
 *   npx tsx test/emulators/serve.ts
 */
import { packagingBase, SOURCE_PATHS, startEmulators, type Emulators, type IdentitySource } from './index';

/** A packaged task run against these emulators by the try-out CLI (test/agent/cli.ts), ready to paste. */
function tryCommand(emu: Emulators): string[] {
  const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
  const templates = emu.devops.cloneUrl('fabrikam', 'Shared Tools', 'templates').replace(/\/\/[^@/]+@/, '//');
  return [
    'Try the packaged tasks against them (npm run build && npm run package first; only the emulator test build accepts them):',
    '  npm run try -- --vsix dist/test/*.vsix \\',
    '    --task ManagedIdentityAuthenticate --input organizations=contoso,fabrikam \\',
    `    --script ${quote(`git ls-remote ${templates}`)} \\`,
    `    --variable System.CollectionUri=${emu.devops.orgUrl('contoso')}/ --variable ManagedIdentity.TestHosts=${new URL(emu.devops.url).host} \\`,
    `    ${Object.entries(emu.env()).map(([k, v]) => `--env ${quote(`${k}=${v}`)}`).join(' ')}`,
  ];
}

async function main(): Promise<void> {
  const emu = await startEmulators();
  const entra = await emu.entra();
  const lines: string[] = [
    'Managed Identity for Azure DevOps: loopback emulators',
    '',
    `Azure DevOps   ${emu.devops.url}`,
    ...emu.world.organizations.flatMap((org) => [
      `  ${emu.devops.orgUrl(org.name)}   (tenant ${org.tenantId})`,
      ...org.projects.flatMap((p) => p.repos.map((r) => `    git clone ${emu.devops.cloneUrl(org.name, p.name, r.name)}`)),
    ]),
    'Azure Artifacts feeds (…/npm/registry/, …/pypi/simple/, …/nuget/v3/index.json, …/maven/v1, …/Cargo/index/):',
    ...emu.feeds.feeds.map((f) => `  ${packagingBase(emu.devops.url, f.org, f.name, f.project?.name)}`),
    `Identity       ${emu.identity.url}`,
    ...(Object.keys(SOURCE_PATHS) as IdentitySource[]).map((s) => `  ${s.padEnd(16)} ${SOURCE_PATHS[s]}`),
    `Entra (HTTPS)  ${entra.url}   CA: ${entra.caFile}`,
    '',
    'Identities assigned to this "agent":',
    ...emu.world.identities
      .filter((i) => emu.world.assigned.includes(i.key))
      .map((i) => `  ${i.key.padEnd(14)} ${i.kind.padEnd(6)} client ${i.clientId}  object ${i.objectId}`),
    '',
    'Environment for a process that should use IMDS:',
    ...Object.entries(emu.env()).map(([k, v]) => `  export ${k}=${v}`),
    '',
    'Try:',
    `  curl -s -H 'Metadata: true' '${emu.identity.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=499b84ac-1321-427f-aa17-267ca6975798'`,
    '',
    ...tryCommand(emu),
    '',
    `Files under ${emu.root} (removed on exit). Ctrl-C to stop.`,
  ];
  console.log(lines.join('\n'));
  const stop = (): void => {
    emu.stop().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err.message);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
