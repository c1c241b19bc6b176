/* global process, require */
// Preloaded with `node --require` by the agent-like runner when measureRss is on; never part of
// task code. Writes the process's peak resident set size (KiB) to the file the runner names.
'use strict';

const file = process.env.AGENT_RUNNER_RSS_FILE;
delete process.env.AGENT_RUNNER_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('node:fs').writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // best effort: a missing file just means no measurement
    }
  });
}
