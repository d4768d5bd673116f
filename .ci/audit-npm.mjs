// The npm half of .ci/audit, from package-lock.json:
// - licenses: what the published package depends on (today nothing) must be
//   permissive; the development tree, which is never shipped, may also hold
//   weak copyleft (MPL-2.0, file-level) tools;
// - advisories: `npm audit`, failing on a high or critical one. Where the
//   registry's audit endpoint cannot be reached it is skipped with a warning,
//   unless AUDIT_REQUIRE_ADVISORIES=1.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const permissive = ['MIT', 'MIT-0', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'Unlicense', 'CC0-1.0', 'BlueOak-1.0.0', 'Python-2.0', 'PSF-2.0']
const developmentOnly = ['MPL-2.0']

/** Whether an SPDX expression (`MIT`, `(MIT OR Apache-2.0)`, `MIT AND ISC`) is satisfied by `allowed`. */
function satisfied(expression, allowed) {
  return expression.replace(/[()]/g, '').split(/ OR /i)
    .some((all) => all.split(/ AND /i).every((id) => allowed.includes(id.trim())))
}

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const bad = []
let count = 0
for (const [where, pkg] of Object.entries(lock.packages)) {
  if (where === '') continue // the project itself
  count++
  const allowed = pkg.dev ? [...permissive, ...developmentOnly] : permissive
  if (!pkg.license || !satisfied(pkg.license, allowed)) {
    bad.push(`${where}@${pkg.version}: ${pkg.license ?? 'no license'}${pkg.dev ? ' (development)' : ''}`)
  }
}
if (bad.length) {
  console.error(`npm licenses not allowed:\n  ${bad.join('\n  ')}`)
  process.exit(1)
}
console.log(`npm licenses ok (${count} packages)`)

let out
try {
  out = execFileSync('npm', ['audit', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
} catch (e) {
  out = e.stdout // npm audit exits 1 when it finds anything, or when it cannot ask
}
let report = {}
try {
  report = JSON.parse(out)
} catch {}
const found = report.metadata?.vulnerabilities
if (!found) {
  const why = report.message ?? report.error?.summary ?? 'no report'
  if (process.env.AUDIT_REQUIRE_ADVISORIES === '1') {
    console.error(`npm audit failed: ${why}`)
    process.exit(1)
  }
  console.error(`WARNING: npm advisories NOT checked: the registry's audit endpoint did not answer (${why})`)
} else if (found.high + found.critical > 0) {
  console.error(`npm audit: ${found.critical} critical and ${found.high} high vulnerabilities; see \`npm audit\``)
  process.exit(1)
} else {
  console.log(`npm audit ok (${found.total} below high: ${found.moderate} moderate, ${found.low} low)`)
}
