// The part of minimatch 3.x (pinned in package.json; the package ships no types) that restrictions.ts uses.
declare module 'minimatch' {
  interface Options {
    readonly nocase?: boolean;
  }
  /** True when `path` matches the glob `pattern`. */
  function minimatch(path: string, pattern: string, options?: Options): boolean;
  export = minimatch;
}
