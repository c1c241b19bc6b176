// Job and task variables with the agent's semantics (agent src/Agent.Worker/Variables.cs,
// src/Agent.Worker/ExecutionContext.cs SetVariable, src/Agent.Sdk/Util/VarUtil.cs): names are
// case-insensitive, "once secret, always secret", read-only is sticky, `$(Name)` macros in values
// are expanded recursively at each step start and once (non-recursively) in inputs and env.

/** One stored variable. */
export interface Variable {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
  readonly readOnly: boolean;
  readonly isOutput: boolean;
  readonly preserveCase: boolean;
}

/** Flags accepted by VariableStore.set. */
export interface VariableFlags {
  secret?: boolean;
  readOnly?: boolean;
  isOutput?: boolean;
  preserveCase?: boolean;
}

// Constants.Variables.ReadOnlyVariables (agent src/Microsoft.VisualStudio.Services.Agent/Constants.cs).
const SYSTEM_READ_ONLY = new Set(
  `agent.acceptteeeula agent.builddirectory agent.cloudid agent.containerid agent.containermapping
  agent.containernetwork agent.diagnostic fix_possible_git_out_of_memory_problem agent.gituseschannel
  agent.homedirectory agent.id agent.isselfhosted agent.jobname agent.jobstatus agent.machinename agent.name
  agent.os agent.osarchitecture agent.osversion agent.usebasicauthforproxy agent.proxybypasslist
  agent.proxypassword agent.proxyurl agent.proxyusername agent.readonlyvariables agent.retaindefaultencoding
  agent.rootdirectory agent.runmode agent.serveromdirectory agent.services agent.cainfo agent.clientcert
  agent.clientcertarchive agent.clientcertkey agent.clientcertpassword agent.skipcertvalidation
  agent.tempdirectory agent.toolsdirectory use_git_long_paths use_git_single_thread agent.version
  agent.workfolder agent.workingdirectory build.artifactstagingdirectory build.binariesdirectory build.clean
  build.definitionname build.gated.runci build.gated.shelvesetname build.buildnumber pipeline.repository.name
  build.repository.clean build.repository.git.submodulecheckout build.repository.id build.repository.localpath
  build.repository.name build.repository.provider build.repository.tfvc.workspace build.repository.uri
  build.sourcebranch build.sourcetfvcshelveset build.sourceversion build.sourceversionauthor
  build.sourceversionmessage build.sourcesdirectory build.stagingdirectory build.syncsources
  build.useserverworkspaces common.testresultsdirectory agent.clean.builddirectory agent.source.git.lfs
  agent.source.git.shallowfetchdepth agent.source.skip pipeline.workspace system.accesstoken
  system.artifactsdirectory system.collectionid system.culture system.debug system.defaultworkingdirectory
  system.definitionid system.definitionname system.enableaccesstoken system.hosttype system.isazurevm
  system.isdockercontainer system.jobattempt system.jobdisplayname system.jobid system.jobname
  system.phaseattempt system.phasedisplayname system.phasename system.planid system.prefergitfrompath
  system.pullrequest.targetbranch system.selfmanagegitcreds system.servertype system.sourceversionmessage
  system.stageattempt system.stagedisplayname system.stagename system.teamfoundationserveruri
  system.teamproject system.teamprojectid system.workfolder task.displayname
  task.skiptranslatorforcheckout task.publishtelemetry`.split(/\s+/),
);

const MAX_EXPANSION_DEPTH = 50;

/** A case-insensitive variable bag. Secret values are reported to `onSecret` as they are set. */
export class VariableStore {
  private readonly entries = new Map<string, Variable>();

  constructor(
    private readonly onSecret: (value: string) => void,
    private readonly systemNamesAreReadOnly = false,
  ) {}

  get(name: string): string | undefined {
    return this.entries.get(name.toLowerCase())?.value;
  }

  has(name: string): boolean {
    return this.entries.has(name.toLowerCase());
  }

  list(): Variable[] {
    return [...this.entries.values()];
  }

  /** Variables.Set: secret and read-only stick once set; secret values go to the masker. */
  set(name: string, value: string, flags: VariableFlags = {}): void {
    const previous = this.entries.get(name.toLowerCase());
    const secret = Boolean(flags.secret) || Boolean(previous?.secret);
    if (secret && value.length > 0) this.onSecret(value);
    this.entries.set(name.toLowerCase(), {
      name,
      value,
      secret,
      readOnly: Boolean(flags.readOnly) || Boolean(previous?.readOnly),
      isOutput: Boolean(flags.isOutput) || Boolean(previous?.isOutput),
      preserveCase: Boolean(flags.preserveCase),
    });
  }

  unset(name: string): void {
    this.entries.delete(name.toLowerCase());
  }

  /** Variables.IsReadOnly: the stored flag, or (job variables only) the agent's system list. */
  isReadOnly(name: string): boolean {
    const entry = this.entries.get(name.toLowerCase());
    if (entry === undefined) return false;
    return entry.readOnly || (this.systemNamesAreReadOnly && SYSTEM_READ_ONLY.has(name.toLowerCase()));
  }

  /** Variables.RecalculateExpanded: every value with its `$(Other)` macros expanded recursively. */
  expanded(): Variable[] {
    const cache = new Map<string, string>();
    return this.list().map((entry) => ({ ...entry, value: this.expandEntry(entry, [], cache) }));
  }

  /** VarUtil.ExpandValues: one non-recursive pass over `text` using the expanded values. */
  expand(text: string, source: ReadonlyMap<string, string> = this.expandedMap()): string {
    return replaceMacros(text, (key) => source.get(key.toLowerCase()));
  }

  /** The expanded values keyed by lower-case name, for repeated expand() calls. */
  expandedMap(): Map<string, string> {
    return new Map(this.expanded().map((entry) => [entry.name.toLowerCase(), entry.value]));
  }

  private expandEntry(entry: Variable, stack: readonly string[], cache: Map<string, string>): string {
    const key = entry.name.toLowerCase();
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const value = replaceMacros(entry.value, (name) => {
      const target = this.entries.get(name.toLowerCase());
      const cycle = stack.includes(name.toLowerCase()) || name.toLowerCase() === key;
      if (target === undefined || cycle || stack.length >= MAX_EXPANSION_DEPTH) return undefined;
      return this.expandEntry(target, [...stack, key], cache);
    });
    cache.set(key, value);
    return value;
  }
}

/** Replace `$(name)` where lookup knows the name; inserted text is not scanned again. */
export function replaceMacros(text: string, lookup: (name: string) => string | undefined): string {
  let result = text;
  let start = 0;
  for (;;) {
    const prefix = result.indexOf('$(', start);
    if (prefix < 0) return result;
    const suffix = result.indexOf(')', prefix + 2);
    if (suffix < 0) return result;
    const name = result.substring(prefix + 2, suffix);
    const value = name.length > 0 ? lookup(name) : undefined;
    if (value === undefined) {
      start = prefix + 1;
      continue;
    }
    result = result.substring(0, prefix) + value + result.substring(suffix + 1);
    start = prefix + value.length;
  }
}

/** VarUtil.ConvertToEnvVariableFormat: `.` and space become `_`, upper-cased unless preserveCase. */
export function toEnvName(name: string, preserveCase = false): string {
  const formatted = name.replace(/[. ]/g, '_');
  return preserveCase ? formatted : formatted.toUpperCase();
}
