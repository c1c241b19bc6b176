/**
 * The `credential.helper` value that runs our helper bundle, for the shell git runs it with.
 *
 * How git runs a helper that starts with `!` (git-for-windows/git v2.55.0.windows.5, the same code as git):
 * - credential.c `credential_do` drops the `!` and appends " get" (or " store", " erase") to the string;
 *   `run_credential_helper` runs it with `use_shell = 1`.
 * - run-command.c `prepare_shell_cmd`: a string with any of |&;<>()$`\"' space tab newline *?[#~=% (ours always
 *   has quotes and spaces) becomes `<shell> -c '<string>'`; the shell is SHELL_PATH (/bin/sh) on Linux and macOS,
 *   and on Windows `git_shell_path()`, the `sh` found on PATH: Git for Windows' usr\bin\sh.exe, which is MSYS2's bash
 *   (compat/mingw.c `append_system_bin_dirs` adds <git>\mingw64\bin and <git>\usr\bin to git's own PATH, so it is
 *   found even when the agent's PATH names only <git>\cmd).
 * - compat/mingw.c `mingw_spawnve_fd`: for that MSYS2 sh (`is_msys2_sh`) git quotes the -c string with
 *   `quote_arg_msys2`, which the MSYS2 runtime undoes, so bash sees exactly the string above.
 *
 * So the string is parsed by a POSIX shell on every system: each word is single-quoted (nothing is special inside
 * single quotes; a `'` is written `'\''`). On Windows the paths are also written with forward slashes:
 * - bash then starts node.exe, a native program, through the MSYS2 runtime, which rewrites arguments that look like
 *   POSIX paths (msys2/msys2-runtime winsup/cygwin/msys2_path_conv.cc `find_path_start_and_type`): an argument
 *   that starts with a drive letter, a colon and `/` with no further colon is SIMPLE_WINDOWS_PATH and passes
 *   unchanged, as does a UNC path written `//server/share/…`. Node accepts forward slashes in every path.
 * - backslashes would survive the single quotes too, but they are the escape character of git's config syntax and
 *   of every double-quoted context the value may be copied into; forward slashes read the same everywhere.
 * On Linux and macOS a backslash is an ordinary character of a file name and is kept.
 *
 * Pure functions of their arguments (the platform included), so the Windows form is tested on Linux.
 */

/** Quotes a word for a POSIX shell (dash, bash, Git for Windows' sh): the shell hands the program exactly `word`. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A path as the helper command writes it: with forward slashes on Windows, unchanged elsewhere. */
export function helperPath(path: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.replace(/\\/g, '/') : path;
}

/**
 * The helper command line: the same Node that runs the task, our helper bundle, the session file. git appends the
 * operation (`get`) after a space, so the session file is the helper's first argument and the operation its second.
 */
export function helperCommand(nodePath: string, helperScript: string, sessionFile: string, platform: NodeJS.Platform = process.platform): string {
  return `!${[nodePath, helperScript, sessionFile].map((p) => shellQuote(helperPath(p, platform))).join(' ')}`;
}
