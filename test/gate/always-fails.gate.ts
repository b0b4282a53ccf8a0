/**
 * The test gate's self-check: a test that always fails. `.ci/run` runs it through `npm test`
 * (with the machine's services and with the embedded ones) before the real run and requires a
 * non-zero exit and this assertion's message in the output, so a harness that reports a failure
 * but exits 0 cannot pass CI. Not matched by the normal include: vitest.config.ts takes test/gate/
 * instead of the suites when ETW_GATE_SELF_CHECK=1.
 */
import { expect, it } from 'vitest';

it('always fails, so the gate can prove that a failed test fails the run', () => {
  expect(1, 'gate self-check: deliberate failure').toBe(2);
});
