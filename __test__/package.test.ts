// Issue 7: `npm pack` gives an installable package. The main package and this
// platform's binary package are packed the way they would be published,
// installed offline into a fresh strict TypeScript project, type-checked with
// `tsc` and exercised with plain Node (CommonJS and ESM) and with vitest.
//
// Nothing is downloaded: the tarballs are installed with `npm install --offline`
// and an empty cache, and typescript, vitest and @types/node are symlinked from
// this repository's node_modules. Everything is written under one temporary
// directory, removed afterwards; the repository is only read.
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readNapiConfig } from '@napi-rs/cli'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repo = path.resolve(__dirname, '..')
const rootManifest = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'))

// Generous: `npm test` runs this next to the rest of the suite on small machines.
// On its own the whole file takes well under a minute.
const SLOW = 240_000
const CMD_TIMEOUT = 180_000

interface Run { stdout: string; stderr: string }

/** Child processes run without the variables of an enclosing `npm run` / vitest / napi loader. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NAPI_RS_|INIT_CWD$|NODE_OPTIONS$|FORCE_COLOR$)/i.test(k)) continue
    env[k] = v
  }
  env.NO_COLOR = '1'
  env.CI = '1'
  return env
}

const tail = (s: string, n = 6000) => (s.length > n ? `…${s.slice(-n)}` : s)

/** Runs a command; a failure throws with the command, its exit code and its whole (tail of) output. */
function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  const win = process.platform === 'win32'
  return new Promise((resolve, reject) => {
    execFile(
      win && cmd === 'npm' ? 'npm.cmd' : cmd,
      args,
      { cwd, env: childEnv(), timeout: CMD_TIMEOUT, maxBuffer: 64 * 1024 * 1024, shell: win },
      (error, stdout, stderr) => {
        if (error) {
          const how = error.killed ? `killed after ${CMD_TIMEOUT} ms` : `exit code ${error.code}`
          reject(new Error(
            `\`${cmd} ${args.join(' ')}\` failed (${how}) in ${cwd}\n` +
            `--- stdout ---\n${tail(String(stdout))}\n--- stderr ---\n${tail(String(stderr))}`,
          ))
        } else {
          resolve({ stdout: String(stdout), stderr: String(stderr) })
        }
      },
    )
  })
}

interface PackResult { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] }

/** `npm pack --json` of `dir` into `dest`. */
async function pack(dir: string, dest: string): Promise<PackResult & { tarball: string }> {
  mkdirSync(dest, { recursive: true })
  const out = await run('npm', ['pack', '--json', '--pack-destination', dest], dir)
  let parsed: PackResult[]
  try {
    parsed = JSON.parse(out.stdout)
  } catch {
    throw new Error(`npm pack in ${dir} printed no JSON:\n${out.stdout}\n${out.stderr}`)
  }
  const [result] = parsed
  return { ...result, tarball: path.join(dest, result.filename) }
}

const fileList = (p: PackResult) => p.files.map((f) => f.path).sort()

/** The napi target of this host: platform, arch, and the libc on Linux. */
function hostLibc(): 'gnu' | 'musl' {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'
}

let tmp = ''
let napi: Awaited<ReturnType<typeof readNapiConfig>>
let host: { platformArchABI: string; platform: string; arch: string; abi: string | null }
let platformPackage = ''
let binaryFile = ''
let packed: PackResult & { tarball: string }
let published: PackResult & { tarball: string }
let platformPacked: PackResult & { tarball: string }
let app = ''
let unpacked = '' // the main tarball's files
let dependencies: string[] = [] // tarballs of the package's runtime dependencies

beforeAll(async () => {
  napi = await readNapiConfig(path.join(repo, 'package.json'))
  const found = napi.targets.find((t) =>
    t.platform === process.platform && t.arch === process.arch &&
    (process.platform !== 'linux' || t.abi === hostLibc()))
  if (!found) throw new Error(`no napi target in package.json for ${process.platform}-${process.arch}`)
  host = found
  platformPackage = `${napi.packageName}-${host.platformArchABI}`
  binaryFile = `${napi.binaryName}.${host.platformArchABI}.node`
  // Where `napi build --platform` leaves it, or where `napi artifacts` moves it.
  const binary = [path.join(repo, binaryFile), path.join(repo, 'npm', host.platformArchABI, binaryFile)].find(existsSync)
  if (!binary) throw new Error(`${binaryFile} is not built: run \`npm run build\` (or \`napi artifacts\`) first`)

  tmp = mkdtempSync(path.join(os.tmpdir(), 'script-harness-pack-'))
  const cache = path.join(tmp, 'npm-cache') // empty: with --offline nothing can come from the network

  // 1. The main package exactly as `npm pack` writes it from the repository.
  packed = await pack(repo, path.join(tmp, 'packed'))

  // 2. The main package as published: `prepublishOnly` runs `napi prepublish`, which writes one
  //    optional dependency per napi target, at the package's version, into package.json before
  //    npm packs it. They are not in the repository's package.json because `npm ci` would then
  //    require them in package-lock.json, which cannot hold packages that are not published yet.
  const stage = path.join(tmp, 'stage-main')
  mkdirSync(stage)
  await run('tar', ['-xzf', packed.tarball, '-C', stage], tmp)
  unpacked = path.join(stage, 'package')
  const stagedManifestPath = path.join(unpacked, 'package.json')
  const stagedManifest = JSON.parse(readFileSync(stagedManifestPath, 'utf8'))
  stagedManifest.optionalDependencies = {
    ...stagedManifest.optionalDependencies,
    ...Object.fromEntries(napi.targets.map((t) => [`${napi.packageName}-${t.platformArchABI}`, rootManifest.version])),
  }
  writeFileSync(stagedManifestPath, JSON.stringify(stagedManifest, null, 2) + '\n')
  published = await pack(path.join(stage, 'package'), path.join(tmp, 'published'))

  // 3. This platform's package: a copy of npm/<platform> with the binary in it (never in the repo's npm/).
  const platformDir = path.join(tmp, 'stage-platform')
  cpSync(path.join(repo, 'npm', host.platformArchABI), platformDir, { recursive: true })
  cpSync(binary, path.join(platformDir, binaryFile))
  platformPacked = await pack(platformDir, path.join(tmp, 'published'))

  // 4. The package's runtime dependencies (types only: @standard-schema/spec), packed from the
  //    repository's node_modules, so the offline install finds them as a registry would give them.
  dependencies = []
  for (const dep of Object.keys(rootManifest.dependencies ?? {})) {
    dependencies.push((await pack(path.join(repo, 'node_modules', dep), path.join(tmp, 'dependencies'))).tarball)
  }

  // 5. A fresh ESM TypeScript project that installs the tarballs offline.
  app = path.join(tmp, 'app')
  writeProject(app)
  await run('npm', ['install', published.tarball, platformPacked.tarball, ...dependencies,
    '--offline', '--cache', cache, '--no-audit', '--no-fund', '--loglevel=error'], app)
  // The tools of the project, linked rather than downloaded (after the install, which would prune them).
  for (const dep of ['typescript', 'vitest', '@types/node']) {
    const link = path.join(app, 'node_modules', dep)
    mkdirSync(path.dirname(link), { recursive: true })
    symlinkSync(path.join(repo, 'node_modules', dep), link, 'junction')
  }
}, SLOW)

afterAll(() => {
  if (tmp && !process.env.KEEP_PACK_TEST_DIR) rmSync(tmp, { recursive: true, force: true })
})

describe('the published layout', () => {
  it('every napi target has its npm/ package, named, versioned and constrained as the loader expects', () => {
    const loader = readFileSync(path.join(repo, 'binding.js'), 'utf8') // what `napi build` generates
    // The loader's version check is generated from package.json: a version bump must regenerate it.
    expect([...new Set(loader.match(/expected [^ ]+ but got/g))]).toEqual([`expected ${rootManifest.version} but got`])
    const dirs = readdirSync(path.join(repo, 'npm')).filter((d) => statSync(path.join(repo, 'npm', d)).isDirectory()).sort()
    expect(dirs).toEqual(napi.targets.map((t) => t.platformArchABI).sort())
    for (const t of napi.targets) {
      const manifest = JSON.parse(readFileSync(path.join(repo, 'npm', t.platformArchABI, 'package.json'), 'utf8'))
      const node = `${napi.binaryName}.${t.platformArchABI}.node`
      expect(manifest, t.triple).toMatchObject({
        name: `${napi.packageName}-${t.platformArchABI}`,
        version: rootManifest.version,
        main: node,
        files: [node],
        os: [t.platform],
        cpu: [t.arch],
        license: rootManifest.license,
        repository: rootManifest.repository, // npm refuses a provenance statement for another repository
      })
      if (t.platform === 'linux') expect(manifest.libc, t.triple).toEqual([t.abi === 'musl' ? 'musl' : 'glibc'])
      else expect(manifest.libc, t.triple).toBeUndefined()
      expect(loader, t.triple).toContain(`require('${manifest.name}')`)
    }
  })

  it('the main tarball holds the loader, the types and the docs, and no binary or sources', () => {
    const files = fileList(packed)
    for (const f of ['package.json', rootManifest.main, 'binding.js', rootManifest.types, 'README.md', 'CHANGELOG.md', 'LICENSE', 'docs/api.md', 'docs/guide.md']) expect(files).toContain(f)
    const forbidden = files.filter((f) =>
      /^(src|crates|target|__test__|benches|examples|npm|node_modules|\.ci)\//.test(f) ||
      /\.(node|wasm|rs|tgz)$/.test(f) || /^Cargo\.|^build\.rs$|^vitest\.config/.test(f))
    expect(forbidden).toEqual([])
    // The compiled TypeScript layer (dist/js, comments kept) is about 20 KB of it; the docs most of the rest.
    expect(packed.size, `tarball is ${packed.size} bytes`).toBeLessThan(140_000)
    expect(packed.unpackedSize).toBeLessThan(500_000)
    // The published tarball differs only by its manifest.
    expect(fileList(published)).toEqual(files)
  })

  it('every relative link of its markdown resolves to a file in the tarball, every repository link to a file in the repository', () => {
    const repository = String(rootManifest.repository.url).replace(/^git\+/, '').replace(/\.git$/, '')
    expect(repository).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+$/)
    const files = new Set(fileList(packed))
    const docs = [...files].filter((f) => f.endsWith('.md'))
    expect(docs.length).toBeGreaterThan(5)
    const bad: string[] = []
    for (const doc of docs) {
      // Links in prose only: code blocks and spans hold code, not links.
      const prose = readFileSync(path.join(unpacked, doc), 'utf8').replace(/^(`{3,}|~{3,})[^]*?^\1[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '')
      for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const file = target.split('#')[0]
        if (target.startsWith(`${repository}/`)) {
          const inRepo = target.slice(repository.length + 1).match(/^(?:blob|tree)\/main\/([^#?]+)/)?.[1]
          if (!inRepo || !existsSync(path.join(repo, inRepo))) bad.push(`${doc}: ${target}: not a file on the repository's main branch`)
        } else if (!/^[a-z]+:/i.test(target) && file !== '' && !files.has(path.posix.normalize(path.posix.join(path.posix.dirname(doc), file)))) {
          bad.push(`${doc}: ${target}: not in the tarball`)
        }
      }
    }
    expect(bad).toEqual([])
  })

  it('the platform tarball holds the binary', () => {
    expect(fileList(platformPacked)).toEqual(['README.md', binaryFile, 'package.json'].sort())
    const binary = platformPacked.files.find((f) => f.path === binaryFile)!
    expect(binary.size).toBeGreaterThan(1_000_000)
  })
})

describe('installed into a fresh TypeScript project', () => {
  it('installs the two tarballs offline, the binary only in the platform package', () => {
    const main = path.join(app, 'node_modules', napi.packageName)
    const plat = path.join(app, 'node_modules', platformPackage)
    expect(readdirSync(main).sort()).toEqual([...new Set(fileList(published).map((f) => f.split('/')[0]))].sort())
    expect(existsSync(path.join(plat, binaryFile))).toBe(true)
    // The main package's optional dependency on this platform is the installed tarball, not a nested copy.
    expect(existsSync(path.join(main, 'node_modules'))).toBe(false)
    const lock = JSON.parse(readFileSync(path.join(app, 'package-lock.json'), 'utf8'))
    expect(Object.keys(lock.packages).filter((k) => k.includes('@codex-port/')).sort())
      .toEqual([`node_modules/${napi.packageName}`, `node_modules/${platformPackage}`].sort())
  })

  it('loads the binary from the platform package, from CommonJS and from ESM', async () => {
    const expected = path.join(app, 'node_modules', platformPackage, binaryFile)
    const cjs = JSON.parse((await run(process.execPath, ['check.cjs'], app)).stdout)
    expect(cjs).toEqual({
      main: path.join(app, 'node_modules', napi.packageName, rootManifest.main),
      binaries: [expected],
      target: 'native',
      exports: expect.arrayContaining(['ScriptHarness', 'detectScripts']),
    })
    const esm = JSON.parse((await run(process.execPath, ['check.mjs'], app)).stdout)
    expect(esm).toEqual({
      binaries: [expected],
      target: 'native',
      result: { ok: true, value: { sum: 5, segments: ['text', 'script', 'text'] } },
    })
  }, SLOW)

  it('type-checks with strict tsc (nodenext), against the installed index.d.ts', async () => {
    const tsc = path.join(app, 'node_modules', 'typescript', 'bin', 'tsc')
    // Errors, unused `@ts-expect-error`s included, fail here with tsc's output.
    const { stdout } = await run(process.execPath, [tsc, '-p', app, '--noEmit', '--pretty', 'false', '--listFiles'], app)
    const listed = stdout.split(/\r?\n/).filter(Boolean).map((f) => path.resolve(f.trim()))
    expect(listed).toContain(path.join(app, 'node_modules', napi.packageName, rootManifest.types))
    expect(listed).toContain(path.join(app, 'src', 'use.ts'))
    expect(listed).toContain(path.join(app, 'test', 'use.test.ts'))
  }, SLOW)

  it("the project's vitest suite passes against the installed package", async () => {
    const vitest = path.join(app, 'node_modules', 'vitest', 'vitest.mjs')
    const report = path.join(tmp, 'vitest-report.json')
    const out = await run(process.execPath, [vitest, 'run', '--root', app,
      '--reporter=default', '--reporter=json', `--outputFile=${report}`], app)
    const json = JSON.parse(readFileSync(report, 'utf8'))
    const summary = `${out.stdout}\n${out.stderr}`
    expect(json.numFailedTests, summary).toBe(0)
    expect(json.numPassedTests, summary).toBe(3)
  }, SLOW)
})

describe('the main package without its platform package', () => {
  it('fails to load with an error that names the platform package to install', async () => {
    const alone = path.join(tmp, 'alone-app')
    mkdirSync(alone)
    writeFileSync(path.join(alone, 'package.json'), JSON.stringify({ name: 'alone-app', private: true }) + '\n')
    await run('npm', ['install', packed.tarball, ...dependencies,
      '--offline', '--cache', path.join(tmp, 'npm-cache'), '--no-audit', '--no-fund', '--loglevel=error'], alone)
    const script = `try { require(${JSON.stringify(napi.packageName)}) } catch (e) { console.log(e.message) }`
    const { stdout } = await run(process.execPath, ['-e', script], alone)
    expect(stdout).toContain(`${platformPackage}, which is not installed`)
    expect(stdout).toContain(`npm install ${platformPackage}@${rootManifest.version}`)
  }, SLOW)
})

describe('the tarball exactly as `npm pack` writes it', () => {
  it('installs offline and loads too', async () => {
    const raw = path.join(tmp, 'raw-app')
    mkdirSync(raw)
    writeFileSync(path.join(raw, 'package.json'), JSON.stringify({ name: 'raw-app', private: true }) + '\n')
    await run('npm', ['install', packed.tarball, platformPacked.tarball, ...dependencies,
      '--offline', '--cache', path.join(tmp, 'npm-cache'), '--no-audit', '--no-fund', '--loglevel=error'], raw)
    const script = `const h = require(${JSON.stringify(napi.packageName)}); console.log(typeof h.ScriptHarness, h.detectScripts('x').length)`
    expect((await run(process.execPath, ['-e', script], raw)).stdout.trim()).toBe('function 1')
  }, SLOW)
})

/** The fresh consumer project: ESM, strict TypeScript with nodenext resolution, a vitest suite. */
function writeProject(dir: string) {
  const pkg = napi.packageName
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), text)
  }
  write('package.json', JSON.stringify({ name: 'fresh-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2) + '\n')
  write('tsconfig.json', JSON.stringify({
    compilerOptions: {
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2022'],
      types: ['node'],
      verbatimModuleSyntax: true,
      isolatedModules: true,
      skipLibCheck: false, // the package's index.d.ts is checked too
      noEmit: true,
    },
    include: ['src', 'test'],
  }, null, 2) + '\n')

  write('src/use.ts', `import {
  ScriptHarness,
  detectScripts,
  __napiBindingTarget,
  type HarnessEvent,
  type ProcessedTurn,
  type ScriptResult,
  type Segment,
  type ToolDefinition,
} from '${pkg}'

export const tools: ToolDefinition[] = [
  {
    name: 'add',
    description: 'Add two numbers',
    parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
    handler: (args) => {
      const { a, b } = args as { a: number; b: number }
      return a + b
    },
  },
  {
    name: 'files.list',
    requiresApproval: (args) => (args as { dir?: string }).dir === '/',
    handler: async (_args, ctx) => ({ files: ['a.ts', 'b.ts'], callId: ctx.callId }),
  },
]

export interface Outcome {
  result: ScriptResult
  turn: ProcessedTurn<'responses'>
  continuation: string
  declarations: string
  scripts: string[]
  events: HarnessEvent['type'][]
  target: typeof __napiBindingTarget
}

export async function main(): Promise<Outcome> {
  const events: HarnessEvent['type'][] = []
  const harness = new ScriptHarness({
    tools,
    workers: 1,
    limits: { timeoutMs: 10_000 },
    onApproval: () => 'denied',
    onEvent: (event) => {
      events.push(event.type)
    },
  })
  try {
    const result: ScriptResult = await harness.run(
      'const [sum, listing] = await Promise.all([tools.add({ a: 2, b: 3 }), tools.files.list({ dir: "src" })])\\n' +
        'const n: number = listing.files.length\\n' +
        'console.log("sum", sum)\\n' +
        'return { sum, n }',
    )
    const response = {
      output: [{
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Adding.\\n<tool-calls>\\nconst n: number = await tools.add({ a: 20, b: 22 })\\nreturn n\\n</tool-calls>\\nDone.' }],
      }],
    }
    const turn: ProcessedTurn<'responses'> = await harness.processResponse('responses', response)
    const first = turn.continuation[0]
    const continuation: string = first ? first.content.map((c) => c.text).join('') : ''
    const declarations: string = harness.describeTools()
    const segments: Segment[] = detectScripts('Look:\\n<tool-calls>\\nreturn 1\\n</tool-calls>\\nthere.')
    const scripts = segments.flatMap((s) => (s.type === 'script' ? [s.source.trim()] : []))
    return { result, turn, continuation, declarations, scripts, events, target: __napiBindingTarget }
  } finally {
    await harness.close()
  }
}

/** Never called: each line must be a type error, or tsc reports the unused directive. */
export function misuse(harness: ScriptHarness): void {
  // @ts-expect-error: 'xml' is not an ApiFormat
  void harness.processResponse('xml', {})
  // @ts-expect-error: a tool needs a handler
  void new ScriptHarness({ tools: [{ name: 'exec' }] })
  // @ts-expect-error: a script is a string
  void harness.run(42)
  // @ts-expect-error: not a mode
  void harness.run('return 1', { mode: 'sometimes' })
  const turn = null as unknown as ProcessedTurn<'chat'>
  // @ts-expect-error: a chat continuation's content is a string
  turn.continuation[0]?.content.map(String)
}
`)

  write('test/use.test.ts', `import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ScriptHarness, type ScriptResult, type ToolDefinition } from '${pkg}'
import { main } from '../src/use.js'

const app = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const require = createRequire(import.meta.url)

describe('${pkg} from node_modules', () => {
  it('resolves to the installed packages', () => {
    expect(require.resolve('${pkg}')).toBe(path.join(app, 'node_modules', ${JSON.stringify(pkg)}, 'index.js'))
    expect(require.resolve('${platformPackage}')).toBe(path.join(app, 'node_modules', ${JSON.stringify(platformPackage)}, ${JSON.stringify(binaryFile)}))
  })

  it('runs a script that calls a tool', async () => {
    const seen: unknown[] = []
    const tools: ToolDefinition[] = [{
      name: 'greet',
      handler: async (args, ctx) => {
        seen.push(args)
        expect(ctx.signal.aborted).toBe(false)
        return { text: 'hello ' + (args as { name: string }).name }
      },
    }]
    const harness = new ScriptHarness({ tools, workers: 1 })
    try {
      const result: ScriptResult = await harness.run('const r: { text: string } = await tools.greet({ name: "npm" })\\nreturn r.text.toUpperCase()')
      expect(result.error).toBeUndefined()
      expect(result).toMatchObject({ ok: true, value: 'HELLO NPM', toolCalls: [{ toolName: 'greet', status: 'ok' }] })
      expect(seen).toEqual([{ name: 'npm' }])
    } finally {
      await harness.close()
    }
  })

  it('src/use.ts: run, processResponse, describeTools, detectScripts', async () => {
    const out = await main()
    expect(out.target).toBe('native')
    expect(out.result.error).toBeUndefined()
    expect(out.result).toMatchObject({ ok: true, value: { sum: 5, n: 2 }, logs: [{ level: 'log' }] })
    expect(out.result.logs[0]?.message).toContain('5')
    expect(out.result.toolCalls.map((c) => c.toolName)).toEqual(['add', 'files.list'])
    expect(out.turn.scripts).toHaveLength(1)
    expect(out.turn.scripts[0]).toMatchObject({ ok: true, value: 42 })
    expect(out.turn.items.map((i) => i.type)).toEqual(['message', 'script_tool_call', 'script_tool_call_output', 'message'])
    expect(out.turn.continuation[0]).toMatchObject({ type: 'message', role: 'user' })
    expect(out.continuation).toContain('42')
    expect(out.declarations).toContain('add')
    expect(out.declarations).toContain('files')
    expect(out.scripts).toEqual(['return 1'])
    expect(out.events).toContain('tool_call_completed')
  })
})
`)

  write('check.cjs', `const main = require.resolve(${JSON.stringify(pkg)})
const binding = require(${JSON.stringify(pkg)})
console.log(JSON.stringify({
  main,
  binaries: Object.keys(require.cache).filter((f) => f.endsWith('.node')),
  target: binding.__napiBindingTarget,
  exports: Object.keys(binding),
}))
`)

  write('check.mjs', `import { createRequire } from 'node:module'
import { ScriptHarness, detectScripts, __napiBindingTarget } from ${JSON.stringify(pkg)}

const require = createRequire(import.meta.url)
const harness = new ScriptHarness({ workers: 1, tools: [{ name: 'add', handler: ({ a, b }) => a + b }] })
const result = await harness.run('const sum: number = await tools.add({ a: 2, b: 3 })\\nreturn sum')
await harness.close()
console.log(JSON.stringify({
  binaries: Object.keys(require.cache).filter((f) => f.endsWith('.node')),
  target: __napiBindingTarget,
  result: { ok: result.ok, value: { sum: result.value, segments: detectScripts('a <tool-calls>return 1</tool-calls> b').map((s) => s.type) } },
}))
`)
}
