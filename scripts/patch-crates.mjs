#!/usr/bin/env node
// Applies the project's own patches to the exact crate releases that Cargo.toml's
// `[patch.crates-io]` points at (the patch-package pattern, as the `patch-crate`
// crate does it): for each crate of patches/crates.json, take the `.crate` file
// cargo downloads (from cargo's cache, or from static.crates.io), check its
// SHA-256 against the pin, unpack it into target/patch/<name>-<version>/ and
// apply patches/<name>-<version>/*.patch in name order.
//
// Cargo cannot resolve the workspace until those directories exist, so this
// runs before any cargo command: `npm run build` and `.ci/run` call it; run it
// by hand (`node scripts/patch-crates.mjs`) before a bare `cargo test`.
// It does nothing when the unpacked crate already carries the same patches.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const patchesDir = join(root, 'patches');
const outDir = join(root, 'target', 'patch');

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function fail(message) {
  console.error(`patch-crates: ${message}`);
  process.exit(1);
}

function cachedCrate(file) {
  const cache = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'registry', 'cache');
  if (!existsSync(cache)) return undefined;
  for (const index of readdirSync(cache)) {
    const candidate = join(cache, index, file);
    if (existsSync(candidate)) return readFileSync(candidate);
  }
  return undefined;
}

async function crateBytes({ name, version, sha256: pinned }) {
  const file = `${name}-${version}.crate`;
  const cached = cachedCrate(file);
  if (cached && sha256(cached) === pinned) return cached;
  const url = `https://static.crates.io/crates/${name}/${file}`;
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    fail(`cannot download ${url}: ${error.cause?.message ?? error.message}`);
  }
  if (!response.ok) fail(`cannot download ${url}: HTTP ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const got = sha256(bytes);
  if (got !== pinned) fail(`${url} has SHA-256 ${got}, not the pinned ${pinned}`);
  return bytes;
}

function applyPatch(crateDir, patch) {
  // git apply works on every platform the addon builds on (patch(1) is not on
  // Windows runners). The ceiling keeps git from treating this repository's
  // work tree, which holds target/, as the tree the patch paths are relative to.
  const env = { ...process.env, GIT_CEILING_DIRECTORIES: dirname(crateDir) };
  try {
    execFileSync('git', ['apply', '--whitespace=nowarn', patch], { cwd: crateDir, env, stdio: 'pipe' });
  } catch (error) {
    const detail = error.stderr?.toString().trim() || error.message;
    fail(`${patch} does not apply to ${crateDir}:\n${detail}`);
  }
}

async function prepare(crate) {
  const id = `${crate.name}-${crate.version}`;
  const ownDir = join(patchesDir, id);
  const patches = readdirSync(ownDir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => join(ownDir, f));
  const stamp = sha256(
    [crate.sha256, ...patches.map((p) => `${p.slice(ownDir.length)}\n${sha256(readFileSync(p))}`)].join('\n'),
  );
  const crateDir = join(outDir, id);
  const stampFile = join(crateDir, '.patched');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;

  const bytes = await crateBytes(crate);
  rmSync(crateDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const archive = join(outDir, `${id}.crate`);
  writeFileSync(archive, bytes);
  // -m: the unpacked files get the current time, so cargo sees them as new
  // and rebuilds the crate (its build script reruns when its sources change).
  // A relative archive name: GNU tar reads `C:\\...` as a remote host.
  execFileSync('tar', ['-xzmf', `${id}.crate`], { cwd: outDir, stdio: 'inherit' });
  rmSync(archive);
  for (const patch of patches) applyPatch(crateDir, patch);
  writeFileSync(stampFile, stamp);
  console.error(`patch-crates: ${id} with ${patches.length} patch(es) in ${crateDir}`);
}

const crates = JSON.parse(readFileSync(join(patchesDir, 'crates.json'), 'utf8'));
for (const crate of crates) await prepare(crate);
