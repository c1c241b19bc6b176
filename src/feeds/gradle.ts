/**
 * Gradle: for each Maven feed, the two Gradle properties `{name}Username` and `{name}Password` that a
 * repository declared with `name = '{name}'` and `credentials(PasswordCredentials)` reads (Gradle 6.6 and
 * later; the form the feed's "Connect to feed" page gives for Gradle 8.2+, docs
 * artifacts/maven/project-setup-gradle.md, which puts them in ~/.gradle/gradle.properties). Gradle reads
 * project properties from ORG_GRADLE_PROJECT_{property} environment variables (Gradle docs, "Build
 * Environment: Project properties"), whose names are case-sensitive: the variables are set with
 * `preservecase=true`, which the agent honours from 3.234.0 (microsoft/azure-pipelines-agent#4620,
 * TaskCommandExtension.cs, VarUtil.ConvertToEnvVariableFormat); older agents upper-case the name and Gradle
 * does not see it. Gradle allows only letters and digits in such a credentials identity (the repository's
 * name), so a feed whose name has others needs ` as {name}`. Microsoft's GradleAuthenticate@0 installs a
 * Gradle plugin and an init script in ~/.gradle/init.d instead (Tasks/GradleAuthenticateV0/src/main.ts);
 * nothing is written to the home folder here.
 */
import { setJobVariable, type ClientFeed, type SetVariable, type WriteContext, type Written } from './job';

/** Gradle credentials identities: letters and digits (Gradle's CredentialsProviderFactory refuses other identities). */
export const GRADLE_NAME = /^[A-Za-z0-9]+$/;

export function configureGradle(ctx: WriteContext, feeds: readonly ClientFeed[]): Written {
  const variables: SetVariable[] = [];
  const names = [...new Set(feeds.map((f) => f.feed.name))];
  for (const name of names) {
    setJobVariable(ctx, `ORG_GRADLE_PROJECT_${name}Username`, ctx.user, false, variables, true);
    setJobVariable(ctx, `ORG_GRADLE_PROJECT_${name}Password`, ctx.token, true, variables, true);
  }
  return {
    client: 'gradle', feeds, files: [], variables,
    how: `${names.map((n) => `${n}Username / ${n}Password`).join(', ')} as ORG_GRADLE_PROJECT_ variables, for repositories named ${names.join(', ')} with credentials(PasswordCredentials) (agent 3.234.0 or later)`,
  };
}
