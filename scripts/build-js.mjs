// Builds the package's TypeScript layer: compiles src/js to dist/js (with
// declarations), then writes the package's declaration files: index.d.ts,
// the declarations of src/js/index.ts with those of the modules it
// re-exports whole (`export * from './types.js'`) written in place, and
// mcp.d.ts (of src/js/mcp.ts, which may import from './index.js', the
// package's own entry). It fails when a public declaration refers to an
// internal module, so the published types never point into dist/.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

function compile() {
  const configPath = path.join(root, 'tsconfig.build.json')
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile)
  if (error) fail([error])
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath)
  if (parsed.errors.length > 0) fail(parsed.errors)
  const program = ts.createProgram(parsed.fileNames, parsed.options)
  const emitted = program.emit()
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics]
  if (diagnostics.length > 0 || emitted.emitSkipped) fail(diagnostics)
}

function fail(diagnostics) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, host))
  process.exit(1)
}

/** The statements of a declaration file, with the module specifiers it names. */
function read(file) {
  const text = readFileSync(file, 'utf8')
  return { text, source: ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true) }
}

const specifierOf = (statement) =>
  (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
    ? statement.moduleSpecifier.text
    : undefined

/**
 * Writes `out` (at the package root) from dist/js/`entry`: modules it
 * re-exports whole are written in place; `keep` names the relative imports
 * that stay (they resolve the same from the root).
 */
function bundleDeclarations(entry, out, keep, sources) {
  const dir = path.join(root, 'dist', 'js')
  const imports = new Set()
  const body = []
  const problems = []
  const inlined = new Set()
  const take = ({ source, text }, from) => {
    for (const statement of source.statements) {
      const specifier = specifierOf(statement)
      const chunk = text.slice(statement.getFullStart(), statement.getEnd()).replace(/^\n+/, '')
      if (specifier === undefined) body.push(chunk)
      else if (!specifier.startsWith('.') || keep.includes(specifier)) imports.add(chunk.trim())
      else if (ts.isExportDeclaration(statement) && statement.exportClause === undefined && from === entry) {
        // `export * from './x.js'`: x's declarations become the entry's own.
        take(read(path.join(dir, specifier.replace(/\.js$/, '.d.ts'))), specifier)
      } else if (ts.isImportDeclaration(statement) && statement.importClause?.isTypeOnly && from === entry && inlined.has(specifier)) {
        // Types of a module written in place: nothing to import.
      } else problems.push(`${from}: ${chunk.trim()}`)
    }
  }
  const main = read(path.join(dir, entry))
  for (const statement of main.source.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause === undefined) inlined.add(specifierOf(statement))
  }
  take(main, entry)
  if (problems.length > 0) {
    process.stderr.write(`build-js: the public declarations of ${out} refer to internal modules:\n  ${problems.join('\n  ')}\n`)
    process.exit(1)
  }
  const header =
    `// The public types of script-harness${out === 'index.d.ts' ? '' : '/mcp'}, written by scripts/build-js.mjs from\n` +
    `// the declarations of its TypeScript layer (${sources}).\n` +
    '// Do not edit: change src/js and run `npm run build`.\n'
  writeFileSync(path.join(root, out), `${header}${[...imports].join('\n')}\n\n${body.join('\n').trim()}\n`)
}

mkdirSync(path.join(root, 'dist'), { recursive: true })
compile()
bundleDeclarations('index.d.ts', 'index.d.ts', [], 'src/js/index.ts and types.ts')
bundleDeclarations('mcp.d.ts', 'mcp.d.ts', ['./index.js'], 'src/js/mcp.ts')
