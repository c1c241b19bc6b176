/** scripts/bench-start.ts: the empty Node task it measures against, and how its series become measures and budgets. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob } from '../agent/runner';
import { START_BUDGET, startReport, writeEmptyTask, type StartSeries } from '../../scripts/bench-start';

const series = (over: Partial<StartSeries>): StartSeries => ({
  node: '24', nodeVersion: 'v24.21.0', cache: 'warm', subject: 'auth', subjectMs: [150, 160, 170], baselineMs: [80, 80, 80], pairRatios: [1.875, 2, 2.125],
  subjectCpuMs: [120, 130, 140], baselineCpuMs: [60, 60, 60], cpuPairRatios: [2, 2.17, 2.33], ...over,
});

describe('start-up benchmark (scripts/bench-start.ts)', function () {
  this.timeout(60_000);

  it('the empty Node task declares the real tasks’ handlers, has an empty main.js, and runs through the runner', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'empty-task-test-'));
    try {
      const task = writeEmptyTask(join(dir, 'task'));
      const json = JSON.parse(readFileSync(join(task, 'task.json'), 'utf8')) as { execution: Record<string, { target: string }> };
      const real = JSON.parse(readFileSync('tasks/ManagedIdentityAuthenticateV1/task.json', 'utf8')) as { execution: Record<string, { target: string }> };
      assert.deepEqual(Object.keys(json.execution).sort(), Object.keys(real.execution).sort());
      assert.equal(readFileSync(join(task, 'main.js'), 'utf8'), '');
      const result = await runJob({ steps: [{ task }], agentRoot: join(dir, 'agent') });
      assert.equal(result.result, 'Succeeded', result.log);
      assert.ok(result.steps[0]!.durationMs > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports each subject with its own baseline, and budgets Node 24 warm by the median of paired ratios', () => {
    const report = startReport([
      series({}),
      series({ subject: 'helper', pairRatios: [2.5, 2.1, 2.2] }),
      series({ node: '20', nodeVersion: 'v20.20.2', pairRatios: [9, 9, 9] }),
      series({ cache: 'cold', pairRatios: [9, 9, 9] }),
    ]);
    assert.deepEqual(report.budgets.map((b) => [b.id, b.status, b.value]), [['start.auth', 'met', 2], ['start.helper', 'missed', 2.2]]);
    assert.equal(report.budgets[0]!.limit, START_BUDGET);
    const auth = report.measures.find((m) => m.id === 'start.auth.node24.warm')!;
    assert.equal(auth.baseline, 'start.auth.node24.warm.empty');
    assert.equal(report.measures.find((m) => m.id === auth.baseline)!.summary!.median, 80);
    assert.match(report.notes[0]!, /Authenticate main, Node 24, warm cache \(v24\.21\.0\): 2\.00 × the empty Node task \(ratio of medians\); paired ratios median 2\.00, 1\.88–2\.13; CPU time 2\.17 × \(130 vs 60 ms\)/);
    assert.equal(report.measures.find((m) => m.id === 'start.auth.node24.warm.cpu')!.baseline, 'start.auth.node24.warm.empty.cpu');
  });

  it('marks a budget failing when its series failed', () => {
    const report = startReport([series({ subjectMs: [], baselineMs: [], pairRatios: [], subjectCpuMs: [], baselineCpuMs: [], cpuPairRatios: [], failure: 'exit 1: boom' })]);
    assert.deepEqual(report.budgets.map((b) => [b.status, b.note]), [['failing', 'exit 1: boom']]);
    assert.equal(report.measures[1]!.failure, 'exit 1: boom');
  });
});
