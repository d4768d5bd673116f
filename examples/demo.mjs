// The short demo: a model-written TypeScript script that runs real commands
// through an `exec` tool, in a sandbox thread, with every event printed.
// Run it with `npm run demo`.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { ScriptHarness } = require('../index.js')

/** Runs a command without a shell; aborting the signal kills it. */
function exec({ command, cwd }, ctx) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(command[0], command.slice(1), { cwd, signal: ctx.signal })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr, durationMs: Date.now() - started }))
  })
}

const dim = (s) => `\x1b[2m${s}\x1b[0m`
function show(event) {
  const t = new Date(event.timestamp).toISOString().slice(11, 23)
  const { type, scriptId, timestamp, ...rest } = event
  console.log(dim(`${t} ${type.padEnd(19)}`), JSON.stringify(rest))
}

const harness = new ScriptHarness({
  tools: [{ name: 'exec', description: 'Run a command without a shell', handler: exec }],
  onEvent: show,
  context: { workingDirectory: process.cwd() },
})

// What a model would write inside <tool-calls> ... </tool-calls>.
const script = `
interface ExecResult { exitCode: number; stdout: string; stderr: string }

const [files, node] = await Promise.all([
  tools.exec({ command: ['ls', '-1'], cwd: context.workingDirectory }) as Promise<ExecResult>,
  tools.exec({ command: ['node', '--version'] }) as Promise<ExecResult>,
])
const names = files.stdout.split('\\n').filter(Boolean)
console.log(\`found \${names.length} entries\`)
return { entries: names.length, hasReadme: names.includes('README.md'), node: node.stdout.trim() }
`

console.log('script:\n' + dim(script.trim()) + '\n')
const result = await harness.run(script)
console.log('\nresult:', JSON.stringify({ ok: result.ok, value: result.value, error: result.error }, null, 2))
console.log('tool calls:', result.toolCalls.map((c) => `${c.toolName} ${c.status} ${c.durationMs.toFixed(1)} ms`).join(', '))
await harness.close()
