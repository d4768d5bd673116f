// The documentation, checked against the code so that it cannot rot. Every
// fenced block of README.md and docs/*.md is classified by its info string
// (and an optional HTML comment on the line before it), then checked:
//
//   ```ts                 host code: type-checked with `tsc --strict` against
//                         index.d.ts, the package imported as
//                         '@codex-port/script-harness'. Each block is its own
//                         module. A block that does not import the package
//                         may use its types by name; values must be imported
//                         or declared (`declare const harness: ScriptHarness`).
//                         In docs/api.md, a block that declares an exported
//                         name must declare the same type as index.d.ts.
//   <!-- run --> ```ts    also executed with node in a temp directory; must
//                         exit 0 within 30 s.
//   ```text output        the stdout of the previous `run` block.
//   ```ts tool-calls      a model script, run by processResponse('chat') with
//                         the example tools below. It must end ok unless the
//                         comment before it says otherwise: <!-- script:
//                         expect=Code callError=Code limits={...}
//                         approval=denied|timeout cancelAfterMs=N
//                         mode=disabled|dry-run -->. Each doc is also scanned
//                         with detectScripts: every script it finds must be
//                         such a block, and it must find no malformed block.
//   ```text turn          a whole assistant text, run by processResponse
//                         ('chat'); every script must end ok, or as the
//                         comment before it says: <!-- turn: expect=ok,Code
//                         problems=unclosed ... --> (one entry per script).
//   ```text continuation  the continuation text of the previous script or
//                         turn block of the same doc.
//   ```ts describe-tools  exactly describeTools() of the example tools.
//   ```json               must parse.
//
// In `output` and `continuation` blocks, `…` stands for any text.
// Other blocks (sh, text) are not checked. Failures name the doc and line.
// Besides the blocks: relative links and anchors resolve; api.md names every
// export and method of index.d.ts; errors.md has a heading and a table row
// per ErrorCode, with retryable as errors.rs says; configuration.md gives
// each HarnessLimits default as the code uses it and a range it enforces.
// To write a continuation block, run with DOCS_DUMP=<file> to get the text.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { detectScripts, ScriptHarness, type ApprovalDecision, type ScriptResult, type ToolDefinition, type TurnOptions } from '../index.js'
import { tscErrors } from './tools'

const root = path.resolve(__dirname, '..')
const docFiles = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)]
const indexDts = readFileSync(path.join(root, 'index.d.ts'), 'utf8')

// ---------------------------------------------------------------------------
// The example tools every model script in the docs runs against. Canned,
// deterministic results; docs/guide.md shows their describeTools() output.

const files: Record<string, string> = {
  'src/parser.ts': "import { lex } from './lexer'\n// TODO: recover from a missing semicolon\nexport function parse(src: string) {\n  // TODO: report the column\n  return lex(src)\n}\n",
  'src/lexer.ts': 'export function lex(src: string) {\n  return src.split(/\\s+/)\n}\n',
  'src/index.ts': "export { parse } from './parser'\n// TODO: export the lexer too\n",
  'src/util/strings.ts': 'export const trim = (s: string) => s.trim()\n',
  'test/parser.test.ts': "import { parse } from '../src/parser'\n",
  'test/lexer.test.ts': "import { lex } from '../src/lexer'\n",
  'README.md': '# acme-parser\n',
  'package.json': '{ "name": "acme-parser", "scripts": { "test": "vitest run" } }\n',
}

function testOutput(): string {
  const lines: string[] = []
  for (let i = 1; i <= 120; i++) lines.push(` ✓ test/lexer.test.ts > splits input ${i}`)
  lines.splice(40, 0, ' × test/parser.test.ts > parses an empty file', '   AssertionError: expected [ \'\' ] to deeply equal []')
  lines.splice(90, 0, ' × test/parser.test.ts > reports the column of an error', '   AssertionError: expected undefined to be 7')
  lines.push('', ' Test Files  1 failed | 1 passed (2)', '      Tests  2 failed | 120 passed (122)')
  return lines.join('\n') + '\n'
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    })
  })
}

const exampleTools = (): ToolDefinition[] => [
  {
    name: 'exec',
    description: 'Run a command without a shell. Resolves with its exit code and output; a non-zero exit is not an error.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'array', items: { type: 'string' }, minItems: 1 }, cwd: { type: 'string' } },
      required: ['command'],
      additionalProperties: false,
    },
    handler: async (args, ctx) => {
      const command = (args as { command: string[] }).command
      const line = command.join(' ')
      const ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' })
      if (command[0] === 'sleep') {
        await wait(Number(command[1]) * 1000, ctx.signal)
        return ok('')
      }
      switch (line) {
        case 'ls':
          return ok(Object.keys(files).filter((f) => !f.includes('/')).concat(['src', 'test']).sort().join('\n') + '\n')
        case 'git status --porcelain':
          return ok(' M src/parser.ts\n M src/lexer.ts\n?? notes.txt\n')
        case 'git log --oneline -3':
          return ok('a1b2c3d parser: accept trailing commas\n9f8e7d6 lexer: split on tabs\n1234abc initial commit\n')
        case 'node --version':
          return ok('v20.20.2\n')
        case 'npm test':
          return { exitCode: 1, stdout: testOutput(), stderr: '' }
        default:
          return { exitCode: 127, stdout: '', stderr: `exec: ${command[0]}: command not found\n` }
      }
    },
  },
  {
    name: 'fileSearch',
    description: 'Find files whose path matches a glob (`*` matches any text). Best matches first.',
    parameters: {
      type: 'object',
      properties: { pattern: { type: 'string' }, limit: { type: 'integer', minimum: 1 } },
      required: ['pattern'],
      additionalProperties: false,
    },
    handler: (args) => {
      const { pattern, limit = 20 } = args as { pattern: string; limit?: number }
      const re = new RegExp(pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*'), 'i')
      return Object.keys(files)
        .filter((f) => re.test(f))
        .slice(0, limit)
        .map((f, i) => ({ path: f, score: Math.round((1 - i * 0.1) * 100) / 100 }))
    },
  },
  {
    name: 'readFile',
    description: 'Read a UTF-8 text file of the workspace.',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
    handler: (args) => {
      const file = (args as { path: string }).path
      if (!(file in files)) throw new Error(`ENOENT: no such file: ${file}`)
      return { path: file, content: files[file] }
    },
  },
  {
    name: 'applyPatch',
    description: 'Apply a patch in the `*** Begin Patch` format. Asks the user first.',
    parameters: { type: 'object', properties: { patch: { type: 'string' } }, required: ['patch'], additionalProperties: false },
    requiresApproval: true,
    handler: (args) => {
      const patch = (args as { patch: string }).patch
      const changes = [...patch.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+)$/gm)].map((m) => ({ path: m[2], kind: m[1].toLowerCase() }))
      return { success: true, changes }
    },
  },
  {
    name: 'mcp.github.searchIssues',
    description: 'Search the issues of a GitHub repository.',
    parameters: {
      type: 'object',
      properties: {
        repo: { type: 'string', description: 'owner/name' },
        query: { type: 'string' },
        state: { enum: ['open', 'closed', 'all'] },
      },
      required: ['repo', 'query'],
      additionalProperties: false,
    },
    handler: (args) => {
      const { query } = args as { query: string }
      const issues = [
        { number: 412, title: 'Parser crashes on an empty file', state: 'open', labels: ['bug', 'parser'] },
        { number: 398, title: 'Errors do not report the column', state: 'open', labels: ['parser'] },
        { number: 127, title: 'Support tabs in the lexer', state: 'closed', labels: ['lexer'] },
      ]
      const words = query.toLowerCase().split(/\s+/).filter((w) => w.length > 3)
      const items = issues.filter((i) => words.some((w) => i.title.toLowerCase().includes(w)))
      return { totalCount: items.length, items }
    },
  },
  {
    name: 'ci.triggerBuild',
    description: 'Start a CI build of a branch and wait for it. Cannot be cancelled once started.',
    parameters: { type: 'object', properties: { branch: { type: 'string' } }, required: ['branch'], additionalProperties: false },
    // Ignores ctx.signal on purpose: the docs use it to show DetachedPromiseError.
    handler: async (args) => {
      await wait(400)
      return { branch: (args as { branch: string }).branch, status: 'passed' }
    },
  },
]

// ---------------------------------------------------------------------------
// Reading the docs.

type Kind = 'host' | 'script' | 'turn' | 'continuation' | 'output' | 'describe' | 'json' | 'other'

interface Block {
  doc: string
  /** 1-based line of the opening fence. */
  line: number
  info: string
  kind: Kind
  body: string
  /** The fence as it stands in the doc, opening and closing lines included. */
  raw: string
  directive?: { name: string; args: Record<string, string> }
}

const where = (b: { doc: string; line: number }) => `${b.doc}:${b.line}`

function parseArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  while (i < text.length) {
    while (text[i] === ' ') i++
    const eq = text.indexOf('=', i)
    if (eq < 0) break
    const key = text.slice(i, eq).trim()
    let j = eq + 1
    if (text[j] === '{') {
      let depth = 0
      for (; j < text.length; j++) {
        if (text[j] === '{') depth++
        if (text[j] === '}' && --depth === 0) break
      }
      j++
    } else {
      while (j < text.length && text[j] !== ' ') j++
    }
    out[key] = text.slice(eq + 1, j)
    i = j
  }
  return out
}

function kindOf(info: string): Kind {
  const words = info.trim().split(/\s+/)
  const [lang, second] = words
  if (words.length === 2 && ['ts', 'typescript', 'js', 'javascript'].includes(lang) && second === 'tool-calls') return 'script'
  if (words.length === 1 && (lang === 'ts' || lang === 'typescript')) return 'host'
  if (second === 'turn') return 'turn'
  if (second === 'continuation') return 'continuation'
  if (second === 'output') return 'output'
  if (second === 'describe-tools') return 'describe'
  if (lang === 'json' && words.length === 1) return 'json'
  return 'other'
}

/** Fenced blocks, CommonMark style: 3+ backticks or tildes, up to 3 spaces of indent. */
function blocksOf(doc: string, text: string): Block[] {
  const lines = text.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(lines[i])
    if (!open || (open[2][0] === '`' && open[3].includes('`'))) continue
    const [, indent, fence, info] = open
    let j = i + 1
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`)
    while (j < lines.length && !close.test(lines[j])) j++
    const body = lines.slice(i + 1, j).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())).join('\n')
    let k = i - 1
    while (k >= 0 && lines[k].trim() === '') k--
    const comment = k >= 0 ? /^<!--\s*([\w-]+)\s*(?::(.*?))?\s*-->$/.exec(lines[k].trim()) : null
    blocks.push({
      doc,
      line: i + 1,
      info: info.trim(),
      kind: kindOf(info),
      body: j > i + 1 ? body + '\n' : '',
      raw: lines.slice(i, j + 1).join('\n'),
      directive: comment ? { name: comment[1], args: parseArgs(comment[2] ?? '') } : undefined,
    })
    i = j
  }
  return blocks
}

const docs = docFiles.map((doc) => ({ doc, text: readFileSync(path.join(root, doc), 'utf8') }))
const blocks = docs.flatMap(({ doc, text }) => blocksOf(doc, text))
const byKind = (kind: Kind) => blocks.filter((b) => b.kind === kind)

/** The lines outside fenced blocks. */
function outsideFences(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = []
  let fence: string | undefined
  text.split('\n').forEach((l, i) => {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(l)
    if (fence === undefined && m) fence = m[1]
    else if (fence !== undefined && m && m[1][0] === fence[0] && m[1].length >= fence.length && l.trim() === m[1]) fence = undefined
    else if (fence === undefined) out.push({ line: i + 1, text: l })
  })
  return out
}

/** The prose: lines outside fenced blocks, inline code removed. */
const prose = (text: string) => outsideFences(text).map((p) => ({ ...p, text: p.text.replace(/(`+)[^`]*?\1/g, '') }))

const headingsOf = (text: string) => outsideFences(text).filter((p) => /^#{1,6}\s/.test(p.text))

/** `…` stands for any text; the rest must match exactly (trailing spaces aside). */
function matchesPattern(actual: string, pattern: string): boolean {
  const norm = (s: string) => s.split('\n').map((l) => l.trimEnd()).join('\n').trim()
  const re = new RegExp('^' + norm(pattern).split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?') + '$')
  return re.test(norm(actual))
}

/** GitHub's heading anchors. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
}

function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const h of headingsOf(text)) {
    const base = slug(h.text.replace(/^#+\s+/, ''))
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

// ---------------------------------------------------------------------------
// What index.d.ts exports.

// Read with the TypeScript parser: index.d.ts is written by the build
// (tsc's declaration emit), so its layout is tsc's, not a person's.
const dtsSource = ts.createSourceFile('index.d.ts', indexDts, ts.ScriptTarget.ES2022, true)
const isExported = (s: ts.Statement) => ts.canHaveModifiers(s) && (ts.getModifiers(s) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
const declarationName = (s: ts.Statement): string | undefined => {
  if (ts.isVariableStatement(s)) return (s.declarationList.declarations[0].name as ts.Identifier).text
  return (s as ts.DeclarationStatement).name?.getText(dtsSource)
}

const exportedNames = dtsSource.statements.filter(isExported).map(declarationName).filter((n): n is string => n !== undefined)

/** Methods of the exported classes and interfaces: `ScriptHarness.run`, `ResponseStream.push`, ... */
const exportedMethods = (() => {
  const out: Array<{ owner: string; name: string }> = []
  for (const s of dtsSource.statements.filter(isExported)) {
    if (!ts.isClassDeclaration(s) && !ts.isInterfaceDeclaration(s)) continue
    for (const m of s.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
      if ((ts.isMethodDeclaration(m) || ts.isMethodSignature(m)) && m.name !== undefined) out.push({ owner: s.name!.text, name: m.name.getText(dtsSource) })
    }
  }
  return out
})()

const dtsDeclaration = (name: string) => dtsSource.statements.find((s) => isExported(s) && declarationName(s) === name)!

const errorCodes = (() => {
  const alias = dtsDeclaration('ErrorCode') as ts.TypeAliasDeclaration
  return (alias.type as ts.UnionTypeNode).types.map((t) => ((t as ts.LiteralTypeNode).literal as ts.StringLiteral).text)
})()

const limitFields = (() => {
  const limits = dtsDeclaration('HarnessLimits') as ts.InterfaceDeclaration
  return limits.members.filter(ts.isPropertySignature).map((m) => {
    const doc = ts.getJSDocCommentsAndTags(m).map((d) => d.getText(dtsSource)).join('\n')
    return { name: m.name.getText(dtsSource), dtsDefault: Number(/\[(\d+)\]/.exec(doc)?.[1]) }
  })
})()

/** The codes errors.rs says are retryable. */
const retryableInCode = (() => {
  const src = readFileSync(path.join(root, 'crates/core/src/errors.rs'), 'utf8')
  const body = /pub fn retryable\(self\) -> bool \{([^]*?)\n {4}\}/.exec(src)![1]
  return new Set([...body.matchAll(/Self::(\w+)/g)].map((m) => m[1]))
})()

// ---------------------------------------------------------------------------
// Running model scripts.

interface Outcome {
  turnText: string
  results: Array<{ code?: string; phase?: string; retryable?: boolean; callErrors: string[] }>
  problems: string[]
}

async function runTurn(content: string, args: Record<string, string>): Promise<Outcome> {
  const approval = args.approval ?? 'approved'
  const harness = new ScriptHarness({
    tools: exampleTools(),
    workers: 1,
    onApproval: () => (approval === 'timeout' ? new Promise<ApprovalDecision>(() => {}) : (approval as ApprovalDecision)),
    context: { workingDirectory: '/workspace/acme-parser' },
  })
  try {
    const options: TurnOptions = {}
    if (args.limits) options.limits = JSON.parse(args.limits)
    if (args.mode) options.mode = args.mode as TurnOptions['mode']
    if (args.cancelAfterMs) {
      const ac = new AbortController()
      setTimeout(() => ac.abort(), Number(args.cancelAfterMs))
      options.signal = ac.signal
    }
    const turn = await harness.processResponse('chat', { role: 'assistant', content }, options)
    const results =
      args.mode === 'dry-run'
        ? (turn.reports ?? []).map((r) => ({ code: r.errors[0]?.code, phase: r.errors[0]?.phase, retryable: r.errors[0]?.retryable, callErrors: [] }))
        : turn.scripts.map((s: ScriptResult) => ({
            code: s.error?.code,
            phase: s.error?.phase,
            retryable: s.error?.retryable,
            callErrors: s.toolCalls.flatMap((c) => (c.error ? [c.error.code] : [])),
          }))
    const turnText = turn.continuation.map((c) => c.content).join('\n\n')
    return { turnText, results, problems: turn.problems.map((p) => p.kind) }
  } finally {
    await harness.close()
  }
}

/** Continuation texts by doc and block line, for the continuation blocks after them. */
const continuations = new Map<string, string>()
// DOCS_DUMP=<file> writes the continuation text of every script and turn
// block there, to help write the continuation blocks that follow them.
afterAll(() => {
  if (process.env.DOCS_DUMP) writeFileSync(process.env.DOCS_DUMP, [...continuations].map(([at, text]) => `== ${at}\n${text}\n`).join('\n'))
})
/** Observed error codes with their phase and retryable, from the examples. */
const observed = new Map<string, { phase?: string; retryable?: boolean; at: string }>()

function checkOutcome(b: Block, out: Outcome) {
  const args = b.directive?.args ?? {}
  const expected = (args.expect ?? '').split(',').filter(Boolean)
  const codes = out.results.map((r) => r.code)
  const want = expected.length > 0 ? expected.map((c) => (c === 'ok' ? undefined : c)) : codes.map(() => undefined)
  expect(codes, `${where(b)}: script outcomes (undefined = ok)`).toEqual(want)
  if (args.callError) {
    expect(out.results.flatMap((r) => r.callErrors), `${where(b)}: tool call errors`).toContain(args.callError)
  }
  expect(out.problems, `${where(b)}: problems`).toEqual((args.problems ?? '').split(',').filter(Boolean))
  for (const r of out.results) if (r.code) observed.set(r.code, { phase: r.phase, retryable: r.retryable, at: where(b) })
  continuations.set(where(b), out.turnText)
}

// ---------------------------------------------------------------------------

describe('docs: structure', () => {
  it('the docs set exists and README links to every doc', () => {
    for (const f of ['guide', 'api', 'errors', 'configuration', 'integration', 'operations', 'security']) {
      expect(existsSync(path.join(root, `docs/${f}.md`)), `docs/${f}.md`).toBe(true)
    }
    const readme = docs.find((d) => d.doc === 'README.md')!.text
    for (const d of docFiles.filter((f) => f.startsWith('docs/'))) expect(readme, `README.md links to ${d}`).toContain(`](${d})`)
  })

  it('every relative link points to an existing file and heading', () => {
    const bad: string[] = []
    const texts = new Map(docs.map((d) => [path.join(root, d.doc), d.text]))
    for (const { doc, text } of docs) {
      for (const { line, text: l } of prose(text)) {
        for (const m of l.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
          const target = m[1]
          if (/^[a-z]+:/i.test(target)) continue
          const [file, anchor] = target.split('#')
          const abs = file === '' ? path.join(root, doc) : path.resolve(path.dirname(path.join(root, doc)), file)
          if (!existsSync(abs)) {
            bad.push(`${doc}:${line}: ${target}: no such file`)
            continue
          }
          if (anchor !== undefined && abs.endsWith('.md')) {
            const t = texts.get(abs) ?? readFileSync(abs, 'utf8')
            if (!anchorsOf(t).has(anchor)) bad.push(`${doc}:${line}: ${target}: no heading #${anchor} in ${path.relative(root, abs)}`)
          }
        }
      }
    }
    expect(bad).toEqual([])
  })

  it('the harness finds in the docs exactly the ```ts tool-calls blocks, and no malformed blocks', () => {
    const bad: string[] = []
    for (const { doc, text } of docs) {
      const lineAt = (offset: number) => text.slice(0, offset).split('\n').length
      const found = detectScripts(text)
      const fenced = new Set(blocks.filter((b) => b.doc === doc && b.kind === 'script').map((b) => b.line))
      for (const s of found) {
        if (s.type === 'problem') bad.push(`${doc}:${lineAt(s.start)}: a ${s.kind} <tool-calls> block (write tags in prose as inline code)`)
        if (s.type === 'script' && !fenced.delete(lineAt(s.start))) bad.push(`${doc}:${lineAt(s.start)}: a script outside a \`\`\`ts tool-calls block`)
      }
      for (const line of fenced) bad.push(`${doc}:${line}: the harness does not find this script block`)
    }
    expect(bad).toEqual([])
  })

  it('every output block follows a run block, and every continuation block a script or turn block', () => {
    const bad: string[] = []
    blocks.forEach((b, i) => {
      const prev = blocks[i - 1]
      if (b.kind === 'output' && (prev?.doc !== b.doc || prev.directive?.name !== 'run')) bad.push(`${where(b)}: an output block not right after a <!-- run --> block`)
      if (b.kind === 'continuation' && !blocks.some((x) => x.doc === b.doc && x.line < b.line && (x.kind === 'script' || x.kind === 'turn'))) {
        bad.push(`${where(b)}: a continuation block with no script or turn block before it`)
      }
    })
    expect(bad).toEqual([])
  })

  it('json blocks parse', () => {
    for (const b of byKind('json')) expect(() => JSON.parse(b.body), where(b)).not.toThrow()
  })
})

describe('docs: claims about the code', () => {
  it('docs/api.md documents every exported name and method of index.d.ts, under a heading or in a code block', () => {
    const api = docs.find((d) => d.doc === 'docs/api.md')!.text
    const headings = headingsOf(api).map((h) => h.text)
    const code = blocks.filter((b) => b.doc === 'docs/api.md').map((b) => b.body).join('\n')
    const documented = (name: string) => {
      const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`)
      return headings.some((h) => word.test(h)) || word.test(code)
    }
    const missing = [...exportedNames, ...exportedMethods.map((m) => m.name)].filter((n) => !documented(n))
    expect(missing, 'not in a heading or code block of docs/api.md').toEqual([])
    expect(exportedNames).toContain('ScriptHarness')
    expect(exportedMethods.map((m) => `${m.owner}.${m.name}`)).toEqual(expect.arrayContaining(['ScriptHarness.run', 'ScriptHarness.processResponse', 'ResponseStream.push']))
  })

  it('docs/configuration.md gives every limit of HarnessLimits with the default and range the code uses', async () => {
    const text = docs.find((d) => d.doc === 'docs/configuration.md')!.text
    const harness = new ScriptHarness({ tools: [], workers: 1 })
    const r = await harness.run('return context.limits')
    await harness.close()
    const actual = r.value as Record<string, number>
    expect(Object.keys(actual).sort()).toEqual(limitFields.map((f) => f.name).sort())
    const wrong: string[] = []
    const num = (s: string) => Number(s.replace(/[_,\s]/g, ''))
    for (const { name, dtsDefault } of limitFields) {
      if (dtsDefault !== actual[name]) wrong.push(`index.d.ts says ${name} defaults to ${dtsDefault}, the code uses ${actual[name]}`)
      const row = text.split('\n').find((l) => l.startsWith(`| \`${name}\``))
      if (!row) {
        wrong.push(`${name}: no table row in docs/configuration.md`)
        continue
      }
      const cells = row.split('|').slice(2).map((c) => c.trim())
      const def = /^[\d_,]+/.exec(cells[0])
      if (!def || num(def[0]) !== actual[name]) wrong.push(`${name}: docs default ${cells[0]}, the code uses ${actual[name]}`)
      const range = /^([\d_,]+)\s*[–-]\s*([\d_,]+)/.exec(cells[1])
      if (!range) {
        wrong.push(`${name}: no range "min – max" in ${cells[1]}`)
        continue
      }
      const [min, max] = [num(range[1]), num(range[2])]
      const accepts = (n: number) => {
        try {
          new ScriptHarness({ tools: [], workers: 1, limits: { [name]: n } }).close()
          return true
        } catch (e) {
          if (!(e instanceof TypeError) || !String(e.message).includes(`options.limits.${name}`)) throw e
          return false
        }
      }
      if (!accepts(min) || !accepts(max)) wrong.push(`${name}: the range ${min} – ${max} is not accepted`)
      if ((min > 0 && accepts(min - 1)) || accepts(max + 1)) wrong.push(`${name}: the code accepts values outside ${min} – ${max}`)
    }
    expect(wrong).toEqual([])
  })
})

describe('docs: model scripts run', () => {
  const scripts = byKind('script')
  it('the docs hold model scripts', () => expect(scripts.length).toBeGreaterThan(10))
  it.each(scripts.map((b) => [where(b), b] as const))('%s', async (_, b) => {
    checkOutcome(b, await runTurn(b.raw, b.directive?.name === 'script' ? b.directive.args : {}))
  })
})

describe('docs: model turns run', () => {
  it.each(byKind('turn').map((b) => [where(b), b] as const))('%s', async (_, b) => {
    checkOutcome(b, await runTurn(b.body, b.directive?.name === 'turn' ? b.directive.args : {}))
  })
})

describe('docs: errors', () => {
  // After the scripts ran: it compares the table with what they observed.
  it('docs/errors.md has a heading for every ErrorCode, and its table gives the phase and retryable the code uses', () => {
    const text = docs.find((d) => d.doc === 'docs/errors.md')!.text
    const headings = headingsOf(text).map((h) => h.text)
    expect(errorCodes).toHaveLength(21)
    expect(errorCodes.filter((c) => !headings.some((h) => h.includes(`\`${c}\``))), 'codes without a heading').toEqual([])
    const rows = new Map<string, string[]>()
    for (const l of text.split('\n')) {
      const m = /^\|\s*\[?`(\w+)`\]?(?:\([^)]*\))?\s*\|(.*)\|\s*$/.exec(l)
      if (m && errorCodes.includes(m[1])) rows.set(m[1], m[2].split('|').map((c) => c.trim()))
    }
    const wrong: string[] = []
    for (const code of errorCodes) {
      const row = rows.get(code)
      if (!row) {
        wrong.push(`${code}: no row in the summary table`)
        continue
      }
      const [phase, retryable] = row
      if ((retryable === 'yes') !== retryableInCode.has(code)) wrong.push(`${code}: table says retryable ${retryable}, errors.rs says ${retryableInCode.has(code) ? 'yes' : 'no'}`)
      const seen = observed.get(code)
      if (seen) {
        if (seen.retryable !== undefined && seen.retryable !== retryableInCode.has(code)) wrong.push(`${code}: observed retryable ${seen.retryable} at ${seen.at}`)
        if (seen.phase && !phase.includes(seen.phase)) wrong.push(`${code}: table says phase ${phase}, observed ${seen.phase} at ${seen.at}`)
      }
    }
    expect(wrong).toEqual([])
  })
})

describe('docs: continuation texts are what processResponse gives', () => {
  it.each(byKind('continuation').map((b) => [where(b), b] as const))('%s', (_, b) => {
    const before = blocks.filter((x) => x.doc === b.doc && x.line < b.line && (x.kind === 'script' || x.kind === 'turn')).at(-1)
    expect(before, `${where(b)}: no script or turn block before it`).toBeDefined()
    const actual = continuations.get(where(before!))
    expect(actual, `${where(b)}: the script at ${where(before!)} did not run`).toBeDefined()
    expect(matchesPattern(actual!, b.body), `${where(b)} differs from the continuation of ${where(before!)}:\n${actual}`).toBe(true)
  })
})

describe('docs: describe-tools blocks', () => {
  it.each(byKind('describe').map((b) => [where(b), b] as const))('%s is describeTools() of the example tools', async (_, b) => {
    const harness = new ScriptHarness({ tools: exampleTools(), workers: 1 })
    const text = harness.describeTools()
    await harness.close()
    expect(b.body.trim()).toBe(text.trim())
  })
})

describe('docs: host code', () => {
  const host = byKind('host')
  const dir = mkdtempSync(path.join(tmpdir(), 'docs-ts-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('the docs hold host code', () => expect(host.length).toBeGreaterThan(10))

  it('every ```ts block type-checks with tsc --strict against index.d.ts', () => {
    const map = new Map<string, { block: Block; header: number; bodyLines: number; checks: string[] }>()
    host.forEach((block, i) => {
      const file = `b${i}.ts`
      const declared = new Set([...block.body.matchAll(/^\s*(?:export\s+)?(?:declare\s+)?(?:interface|type|class|function|const|let|var|enum)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]))
      const header: string[] = []
      if (!/from '@codex-port\/script-harness'/.test(block.body)) {
        const names = exportedNames.filter((n) => !declared.has(n))
        header.push(`import type { ${names.join(', ')} } from '@codex-port/script-harness'`)
      }
      const checks: string[] = []
      const footer = ['export {}']
      if (block.doc === 'docs/api.md') {
        footer.push("import type * as __pkg from '@codex-port/script-harness'")
        footer.push('type __Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false')
        for (const m of block.body.matchAll(/^(?:export\s+)?(?:declare\s+)?(interface|type|class|function|const)\s+(\w+)(<)?/gm)) {
          const [, what, name, generic] = m
          if (!exportedNames.includes(name)) continue
          const pairs =
            what === 'class'
              ? // Public members only: the real class's #private fields make it nominal.
                [[`Pick<${name}, keyof ${name}>`, `Pick<__pkg.${name}, keyof __pkg.${name}>`], [`ConstructorParameters<typeof ${name}>`, `ConstructorParameters<typeof __pkg.${name}>`]]
              : what === 'function' || what === 'const'
                ? [[`typeof ${name}`, `typeof __pkg.${name}`]]
                : generic
                  ? ['responses', 'chat', 'messages'].map((f) => [`${name}<'${f}'>`, `__pkg.${name}<'${f}'>`])
                  : [[name, `__pkg.${name}`]]
          for (const [a, b] of pairs) {
            footer.push(`const __check${footer.length}: __Same<${a}, ${b}> = true`)
            checks[footer.length - 1] = name
          }
        }
      }
      writeFileSync(path.join(dir, file), [...header, block.body, ...footer].join('\n'))
      map.set(file, { block, header: header.length, bodyLines: block.body.split('\n').length - 1, checks })
    })
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          lib: ['es2022'],
          module: 'esnext',
          moduleResolution: 'bundler',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(root, 'node_modules/@types')],
          paths: {
            '@codex-port/script-harness': [path.join(root, 'index.d.ts')],
            '@codex-port/script-harness/mcp': [path.join(root, 'mcp.d.ts')],
            // The SDK's subpaths, as its package exports map them.
            '@modelcontextprotocol/sdk/*': [path.join(root, 'node_modules/@modelcontextprotocol/sdk/dist/esm/*')],
            '*': [path.join(root, 'node_modules/*'), path.join(root, 'node_modules/@types/*')],
          },
        },
        include: ['*.ts'],
      }),
    )
    const errors = tscErrors(['-p', dir, '--pretty', 'false'])
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const m = /(b\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(l)
        const entry = m && map.get(m[1])
        if (!m || !entry) return l
        const n = Number(m[2]) - entry.header
        if (n >= 1 && n <= entry.bodyLines) return `${entry.block.doc}:${entry.block.line + n} (\`\`\`ts block at line ${entry.block.line}): ${m[4]}`
        // The body ends with a newline, so one empty line separates it from the footer.
        const footerLine = n - entry.bodyLines - 2
        const name = entry.checks[footerLine]
        if (name) return `${where(entry.block)}: the block declares \`${name}\` unlike index.d.ts does`
        return `${where(entry.block)}: ${m[4]}`
      })
    expect(errors).toEqual([])
  }, 180_000)

  const runnable = host.filter((b) => b.directive?.name === 'run')
  it('the docs hold runnable host programs (README included)', () => {
    expect(runnable.some((b) => b.doc === 'README.md')).toBe(true)
  })
  it.each(runnable.map((b) => [where(b), b] as const))('%s runs', (_, b) => {
    const js = ts.transpileModule(b.body, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
    const program = js.replace(/(['"])@codex-port\/script-harness\1/g, JSON.stringify(path.join(root, 'index.js')))
    const work = path.join(dir, `run-${b.doc.replace(/\W/g, '_')}-${b.line}`)
    mkdirSync(work)
    const file = path.join(work, 'example.mjs')
    writeFileSync(file, program)
    let stdout = ''
    try {
      stdout = execFileSync(process.execPath, [file], { cwd: work, encoding: 'utf8', timeout: 30_000 })
    } catch (e: any) {
      throw new Error(`${where(b)} failed:\n${e.stderr ?? e.message}`)
    }
    const after = blocks.filter((x) => x.doc === b.doc && x.line > b.line)[0]
    if (after?.kind === 'output') expect(matchesPattern(stdout, after.body), `${where(after)} differs from the output of ${where(b)}:\n${stdout}`).toBe(true)
  }, 40_000)
})
