// The native binding: the loader `napi build` writes (binding.js) finds this
// platform's binary, next to it or in its platform package (an optional
// dependency). This module adds what that loader cannot say when no binary
// is found: which package to install.
import type * as Binding from '../../binding.js'
import { existsSync } from 'node:fs'
import path from 'node:path'

const root = path.join(__dirname, '..', '..')

function load(): typeof Binding {
  try {
    return require('../../binding.js')
  } catch (error) {
    throw missingBinaryError(error) ?? error
  }
}

export const binding: typeof Binding = load()
export type { CallToken, EngineCounters, HarnessConfig, NativeHarness, NativeLink, NativeStream, NativeTurn, RunConfig, ToolConfig } from '../../binding.js'

/**
 * The error to throw instead of the loader's when this platform's package is
 * not installed or there is none for this platform; null when the package is
 * installed (it failed to load: the loader's error says why).
 */
function missingBinaryError(loaderError: unknown): Error | null {
  const { name, version, napi } = require(path.join(root, 'package.json')) as {
    name: string
    version: string
    napi: { targets: string[] }
  }
  const host = hostTarget()
  const targets = napi.targets.map(platformArchAbi)
  const wanted = `${name}-${host}`
  const checkout = existsSync(path.join(root, 'Cargo.toml'))
  let message: string
  if (!targets.includes(host)) {
    message =
      `${name}: there is no prebuilt native binary for this platform (${host}), only for ${targets.join(', ')}. ` +
      'Build one from the repository with a Rust toolchain: npm run build'
  } else if (checkout) {
    message = `${name}: the native binary for this platform (${host}) is not built. Build it: npm run build`
  } else {
    try {
      require.resolve(wanted)
      return null
    } catch {}
    message =
      `${name}: the native binary for this platform (${host}) is in the package ${wanted}, which is not installed. ` +
      'It is an optional dependency: npm leaves it out with --omit=optional (or --no-optional), and a ' +
      'package-lock.json written on another platform can leave it out too (https://github.com/npm/cli/issues/4828). ' +
      `Install it: npm install ${wanted}@${version}`
  }
  return new Error(message, { cause: loaderError })
}

/** This process's target in napi-rs's naming, e.g. linux-x64-gnu, win32-x64-msvc, darwin-arm64. */
function hostTarget(): string {
  const { platform, arch } = process
  if (platform === 'win32') return `${platform}-${arch}-msvc`
  if (platform === 'linux') {
    if (process.report) (process.report as { excludeNetwork?: boolean }).excludeNetwork = true // as the loader does: no network lookups in the report
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
    return `${platform}-${arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
  }
  return `${platform}-${arch}`
}

/** A triple of `napi.targets` in napi-rs's naming: x86_64-unknown-linux-musl is linux-x64-musl. */
function platformArchAbi(triple: string): string {
  const [cpu, , os, abi] = triple.split('-')
  const arch = ({ x86_64: 'x64', aarch64: 'arm64', i686: 'ia32' } as Record<string, string>)[cpu] ?? cpu
  const platform = os === 'windows' ? 'win32' : os
  return abi ? `${platform}-${arch}-${abi}` : `${platform}-${arch}`
}
