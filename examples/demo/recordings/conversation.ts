// What the recorded model says, turn by turn: the source from which
// `generate.ts` writes the three recordings (one per API, same words).
//
// The model works on examples/demo/workspace: it finds the tests, runs both
// test files at once, reads the code under test, patches the bug, reruns the
// tests, and sums up. Every script catches ApprovalDeniedError, so a denied
// call ends the conversation cleanly instead of failing it.

export interface RecordedTurn {
  /** Reasoning summary (Responses) or thinking (Messages); Chat has none. */
  reasoning?: string
  /** The assistant text, scripts included. */
  text: string
}

/** Runs one test file and extracts the failures from its TAP output; shared by both scripts. */
const RUN_TESTS = `interface Run { exitCode: number; stdout: string; durationMs: number }
interface Failure { test: string; expected?: string; actual?: string }

// Failing tests of \`node --test --test-reporter=tap\`, with their expected/actual values.
function failures(tap: string): Failure[] {
  const out: Failure[] = []
  for (const line of tap.split('\\n')) {
    const failed = /^not ok \\d+ - (?<name>.*)$/.exec(line)
    if (failed) out.push({ test: failed.groups!.name })
    const field = /^\\s+(?<key>expected|actual): (?<value>.*)$/.exec(line)
    if (field && out.length > 0) out[out.length - 1][field.groups!.key as 'expected' | 'actual'] = field.groups!.value
  }
  return out
}

async function runTests(file: string) {
  try {
    const r = (await tools.exec({ command: ['node', '--test', '--test-reporter=tap', file] })) as Run
    const failed = failures(r.stdout)
    console.log(\`\${file}: \${r.exitCode === 0 ? 'pass' : \`FAIL (\${failed.length} failing)\`} in \${r.durationMs} ms\`)
    return { file, exitCode: r.exitCode, failed }
  } catch (e) {
    if (e.name !== 'ApprovalDeniedError') throw e
    console.warn(\`\${file}: not run, the command was not approved\`)
    return { file, denied: true }
  }
}`

const TURN_1: RecordedTurn = {
  reasoning:
    '**Finding the failing test**\n\nThe user says the tests fail. Both test files can run at the same time, and I want the source under test in the same round trip.',
  text: `I'll find the test files and the code they cover, then run both test files at the same time and read the source.

<tool-calls>
${RUN_TESTS}

const [tests, sources] = await Promise.all([
  tools.fileSearch({ pattern: 'test/**/*.test.js' }),
  tools.fileSearch({ pattern: 'math', excludePatterns: ['test/**'], limit: 1 }),
]) as [Array<{ path: string }>, Array<{ path: string }>]
console.log(\`test files: \${tests.map((t) => t.path).join(', ')}; source: \${sources[0].path}\`)

// Each file in its own \`node --test\` process, all at once.
const runs = await Promise.all(tests.map((t) => runTests(t.path)))

let source: string | undefined
try {
  source = ((await tools.exec({ command: ['cat', sources[0].path] })) as Run).stdout
} catch (e) {
  if (e.name !== 'ApprovalDeniedError') throw e
}
return { runs, source: { path: sources[0].path, text: source ?? '(not read: the command was not approved)' } }
</tool-calls>

Once I see which file fails, I'll fix the cause rather than the test.`,
}

const TURN_2: RecordedTurn = {
  reasoning: '**Fixing the loop bound**\n\n`sum` starts at index 1, which explains 5 instead of 6, and `mean` inherits it. `clamp` passes.',
  text: `\`test/stats.test.js\` fails and \`test/clamp.test.js\` passes. \`sum()\` starts its loop at index 1, so it drops the first value: \`sum([1, 2, 3])\` gives 5, and \`mean()\` inherits the error. I'll fix the loop and run both files again.

<tool-calls>
${RUN_TESTS}

const patch = [
  '*** Begin Patch',
  '*** Update File: src/math.js',
  '@@ export function sum(values) {',
  '   let total = 0',
  '-  for (let i = 1; i < values.length; i++) total += values[i]',
  '+  for (let i = 0; i < values.length; i++) total += values[i]',
  '   return total',
  '*** End Patch',
].join('\\n')

let applied: { changes: Array<{ path: string; additions: number; deletions: number }> }
try {
  applied = await tools.applyPatch({ patch }) as typeof applied
} catch (e) {
  if (e.name !== 'ApprovalDeniedError') throw e
  console.warn('the patch was not approved; nothing was changed')
  return { patched: false }
}
console.log(\`patched \${applied.changes.map((c) => \`\${c.path} (+\${c.additions} -\${c.deletions})\`).join(', ')}\`)

const tests = await tools.fileSearch({ pattern: 'test/**/*.test.js' }) as Array<{ path: string }>
const runs = await Promise.all(tests.map((t) => runTests(t.path)))
return { patched: true, runs }
</tool-calls>`,
}

const FINAL: RecordedTurn = {
  text: `Both test files pass now.

- **Cause:** \`sum()\` in \`src/math.js\` started its loop at index 1 and skipped the first value (\`sum([1, 2, 3])\` returned 5); \`mean()\` is built on \`sum()\`, so it failed too.
- **Fix:** the loop starts at 0. One line changed; no test was touched.
- **Checked:** \`test/stats.test.js\` and \`test/clamp.test.js\`, run in parallel after the patch, both pass.`,
}

/** Replayed instead of the next turn when a turn's calls were denied: the model stops and says why. */
export const DENIED_ENDING: RecordedTurn = {
  text: `I stopped here: some of the calls (running the tests, reading the file or applying the patch) were not approved. A denied call changes nothing, and I won't try to get around it. The results above show what did run.

If you want the fix, run me again and approve the calls (or pass \`--yes\`).`,
}

export const TURNS: RecordedTurn[] = [TURN_1, TURN_2, FINAL]

/** The user's request that starts the conversation. */
export const USER_REQUEST = 'The tests of this project fail. Find out why and fix it.'
