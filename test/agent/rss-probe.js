/* global process, require */
// Preloaded with `node --require` by the agent-like runner when measureRss is on; never part of
// task code. Writes the process's peak resident set size (KiB) to the file the runner names.
// On Linux it reads VmHWM, the peak of this process's own address space: getrusage's maxRSS (what
// process.resourceUsage() reports) survives execve and starts at the parent's RSS at fork, so a
// task spawned by a big parent (the runner next to the emulators) would report the parent's size.
'use strict';

const file = process.env.AGENT_RUNNER_RSS_FILE;
delete process.env.AGENT_RUNNER_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fs = require('node:fs');
      let kib = process.resourceUsage().maxRSS;
      try {
        const match = /^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
        if (match) kib = Number(match[1]);
      } catch {
        // no procfs (macOS, Windows): maxRSS it is
      }
      fs.writeFileSync(file, String(kib));
    } catch {
      // best effort: a missing file just means no measurement
    }
  });
}
