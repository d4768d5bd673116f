// The native surface the TypeScript layer drives is small and typed: napi
// generates its declarations (binding.d.ts) from the Rust `///` docs. A
// change to it shows here as a snapshot diff to review (update it with
// `npx vitest run __test__/declarations.test.ts -u`). The package's own
// types are index.d.ts, written by the build from src/js: it must not
// point into dist/ or name the native classes.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = path.resolve(__dirname, '..')
const read = (f: string) => readFileSync(path.join(root, f), 'utf8')

describe('declarations', () => {
  it('binding.d.ts, the native surface, is as reviewed', async () => {
    await expect(read('binding.d.ts')).toMatchFileSnapshot('./__snapshots__/binding.d.ts.snap')
  })

  it('index.d.ts stands alone: it imports only @standard-schema/spec, and exposes nothing native', () => {
    const source = ts.createSourceFile('index.d.ts', read('index.d.ts'), ts.ScriptTarget.ES2022, true)
    const specifiers = source.statements
      .filter((s) => ts.isImportDeclaration(s) || ts.isExportDeclaration(s))
      .map((s) => ((s as ts.ImportDeclaration).moduleSpecifier as ts.StringLiteral | undefined)?.text)
    expect(specifiers).toEqual(['@standard-schema/spec'])
    for (const internal of ['NativeHarness', 'NativeLink', 'NativeTurn', 'NativeStream', 'HarnessConfig', 'CallToken']) {
      expect(read('index.d.ts')).not.toContain(internal)
    }
  })
})
