// The entry point (index.js) when no native binary can be loaded: the error
// names the platform package to install, for every napi target. Each case
// loads a copy of the package (index.js, its compiled TypeScript layer in
// dist/js, the generated binding.js and package.json, nothing else) in a child process whose platform, arch and
// libc are faked where the case needs it.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readNapiConfig } from '@napi-rs/cli'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repo = path.resolve(__dirname, '..')
const { name, version } = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'))

let tmp = ''
let napi: Awaited<ReturnType<typeof readNapiConfig>>

beforeAll(async () => {
  napi = await readNapiConfig(path.join(repo, 'package.json'))
  tmp = mkdtempSync(path.join(os.tmpdir(), 'script-harness-loader-'))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A copy of the package in a fresh directory, with `extra` files written into it. */
function packageCopy(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmp, 'app-'))
  const pkg = path.join(dir, 'node_modules', name)
  mkdirSync(pkg, { recursive: true })
  const compiled = readdirSync(path.join(repo, 'dist', 'js')).filter((f) => f.endsWith('.js')).map((f) => path.join('dist', 'js', f))
  mkdirSync(path.join(pkg, 'dist', 'js'), { recursive: true })
  for (const f of ['index.js', 'binding.js', 'package.json', ...compiled]) copyFileSync(path.join(repo, f), path.join(pkg, f))
  for (const [file, text] of Object.entries(extra)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), text)
  }
  return dir
}

interface Fake { platform: string; arch: string; libc?: 'gnu' | 'musl' }

/** Requires the package in `dir` and returns the error it throws (message and cause), or null. */
function load(dir: string, fake?: Fake): { message: string; cause: string | null } | null {
  const preload = path.join(dir, 'fake.cjs')
  writeFileSync(preload, fake
    ? `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(fake.platform)} })
Object.defineProperty(process, 'arch', { value: ${JSON.stringify(fake.arch)} })
const report = { header: { glibcVersionRuntime: ${fake.libc === 'gnu' ? "'2.31'" : 'undefined'} }, sharedObjects: [] }
Object.defineProperty(process, 'report', { value: { getReport: () => report } })
`
    : '')
  const script = `try { require(${JSON.stringify(name)}); console.log('null') } catch (e) {
  console.log(JSON.stringify({ message: e.message, cause: e.cause ? String(e.cause.message) : null }))
}`
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NAPI_RS_|NODE_OPTIONS$)/.test(k)))
  return JSON.parse(execFileSync(process.execPath, ['--require', preload, '-e', script], { cwd: dir, env, encoding: 'utf8' }))
}

describe('no native binary', () => {
  it('names the platform package of this host, and how to install it', () => {
    const error = load(packageCopy())
    const libc = process.platform === 'linux' ? (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime ? 'gnu' : 'musl' : undefined
    const host = napi.targets.find((t) => t.platform === process.platform && t.arch === process.arch && (libc === undefined || t.abi === libc))
    if (!host) return // no prebuilt binary for this host: the cases below cover it
    expect(error?.message).toContain(`the package ${name}-${host.platformArchABI}, which is not installed`)
    expect(error?.message).toContain(`npm install ${name}-${host.platformArchABI}@${version}`)
    // The generated loader's own error stays reachable.
    expect(error?.cause).toContain('Cannot find native binding')
  })

  it('names the right package for every napi target', () => {
    expect(napi.targets).toHaveLength(7)
    for (const t of napi.targets) {
      const libc = t.platform === 'linux' ? (t.abi as 'gnu' | 'musl') : undefined
      const error = load(packageCopy(), { platform: t.platform, arch: t.arch, libc })
      expect(error?.message, t.triple).toContain(`npm install ${name}-${t.platformArchABI}@${version}`)
    }
  })

  it('says there is no prebuilt binary for a platform without a target, and lists those there are', () => {
    const error = load(packageCopy(), { platform: 'linux', arch: 'riscv64', libc: 'gnu' })
    expect(error?.message).toContain('there is no prebuilt native binary for this platform (linux-riscv64-gnu), only for ')
    for (const t of napi.targets) expect(error?.message).toContain(t.platformArchABI)
    expect(error?.message).toContain('npm run build')
  })

  it('in a checkout of the repository, says to build it', () => {
    const dir = packageCopy({ [`node_modules/${name}/Cargo.toml`]: '' })
    expect(load(dir, { platform: 'darwin', arch: 'arm64' })?.message)
      .toBe(`${name}: the native binary for this platform (darwin-arm64) is not built. Build it: npm run build`)
  })

  it('an installed platform package that fails to load keeps the loader\'s error', () => {
    const plat = `node_modules/${name}-darwin-arm64`
    const dir = packageCopy({
      [`${plat}/package.json`]: JSON.stringify({ name: `${name}-darwin-arm64`, version, main: 'broken.js' }),
      [`${plat}/broken.js`]: "throw new Error('broken binary')",
    })
    const error = load(dir, { platform: 'darwin', arch: 'arm64' })
    expect(error?.message).toMatch(/^Cannot find native binding/)
  })
})
