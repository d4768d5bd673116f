// Side-by-side benchmark of script-harness and peer JavaScript sandboxes.
//
//   node --expose-gc benches/bench.mjs [--engines=a,b] [--quick] [--no-write]
//   (or `bash benches/run.sh`, which installs benches/node_modules first)
//
// Each engine runs in a child process of its own, so one engine's JIT state,
// heap growth, threads or WASM memory cannot colour another's figures; W5
// (memory) gets a fresh child per repetition for the same reason, since RSS
// does not shrink back after a run. The parent only collects samples and
// prints a markdown table, also written to benches/RESULTS.md.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Engine ids, in table order; each is a module under engines/. */
const ENGINES = ['script-harness', 'quickjs-sync', 'quickjs-asyncify', 'isolated-vm', 'node-vm'];

/** Table rows; `key` is what a workload reports samples under. */
const ROWS = [
  { key: 'W0', label: 'W0 `return 1 + 1`, fresh sandbox', unit: 'µs' },
  { key: 'W1', label: 'W1 one awaited echo tool, fresh sandbox', unit: 'µs' },
  { key: 'W2', label: 'W2 ten 20 ms tools under Promise.all (wall)', unit: 'ms' },
  { key: 'W3', label: 'W3 256 sequential echo calls, total / 256', unit: 'µs' },
  { key: 'W4', label: 'W4 1e6-iteration loop', unit: 'ms' },
  { key: 'W4eld', label: 'W4 max event-loop delay during it', unit: 'ms' },
  { key: 'W5', label: 'W5 RSS per script, 200 suspended in a tool call', unit: 'KB' },
  { key: 'W6', label: 'W6 `while(true){}`, 100 ms limit: overshoot', unit: 'ms' },
  { key: 'W6eld', label: 'W6 max event-loop delay during it', unit: 'ms' },
  { key: 'W7', label: 'W7 1000 W1 scripts, 8 in flight', unit: 'scripts/s', throughput: true },
  { key: 'W8', label: 'W8 array built-ins, 1e5 elements × 10 (reverse, join, indexOf, includes, fill, slice, splice)', unit: 'ms' },
];

const SRC = {
  W0: 'return 1 + 1',
  W1: 'return await tools.echo({ v: 1 })',
  W2: 'const r = await Promise.all(Array.from({ length: 10 }, (_, i) => tools.sleep({ ms: 20, i })));\nreturn r.length',
  W3: 'let s = 0;\nfor (let i = 0; i < 256; i++) { const r = await tools.echo({ v: i }); s += r.v; }\nreturn s',
  W4: 'let s=0; for (let i=0;i<1e6;i++) s+=i; return s',
  W5: 'return await tools.hold({ v: 1 })',
  W6: 'while(true){}',
  // The built-ins whose loops the project's QuickJS patch 0003 polls.
  W8: 'const a = Array.from({ length: 1e5 }, (_, i) => i); let s = 0;\nfor (let k = 0; k < 10; k++) { a.reverse(); s += a.join(",").length; s += a.indexOf(-1) + (a.includes(-1) ? 1 : 0); a.fill(k, 0, 5e4); s += a.slice(1).length; a.splice(0, 1, k) }\nreturn s',
};

// Generous enough that only W6, which sets its own 100 ms, ever hits it.
const RUN = { timeoutMs: 30_000 };

const { values: opts } = parseArgs({
  options: {
    engines: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    child: { type: 'string' },
    workloads: { type: 'string' },
  },
});

// Repetitions. W0/W1 are cheap and noisy, so they get many; the rest are
// long enough per sample that ~20 settle the median. The warm-up is long
// because quickjs-emscripten's JS glue takes ~100 runs to reach steady state
// (W0 falls from ~30 ms to ~0.4 ms). --quick is a smoke test only.
const N = opts.quick
  ? { fast: 30, fastWarm: 10, slow: 5, slowWarm: 1, w5: 1, w7Runs: 1, w7Scripts: 200 }
  : { fast: 300, fastWarm: 100, slow: 20, slowWarm: 3, w5: 3, w7Runs: 3, w7Scripts: 1000 };

// ---------------------------------------------------------------------------
// Child: one engine, some workloads, JSON on stdout.

async function child(engineId, workloads) {
  const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`, () => process.exit(0));
  const mod = await import(`./engines/${engineId}.mjs`);
  const hold = new Hold();
  const tools = {
    echo: (args) => args,
    sleep: (args) => sleep(args.ms, args),
    hold: (args) => hold.arrive(args),
  };

  let engine;
  try {
    engine = await mod.open(tools);
    expect(await engine.run(SRC.W0, RUN), 2, 'smoke test');
  } catch (e) {
    return emit({ skipped: e.message });
  }

  const samples = {};
  const errors = {};
  for (const w of workloads) {
    progress(engineId, w);
    try {
      Object.assign(samples, await WORKLOADS[w](engine, hold));
    } catch (e) {
      errors[w] = `${w}: ${e.message.split('\n')[0]}`;
    }
  }
  await engine.close();
  emit({ name: mod.name, notes: mod.notes ?? {}, samples, errors });
}

const WORKLOADS = {
  async W0(engine) {
    return { W0: await repeat(N.fast, N.fastWarm, () => timeRun(engine, SRC.W0, 2, 1e3)) };
  },

  async W1(engine) {
    return { W1: await repeat(N.fast, N.fastWarm, () => timeRun(engine, SRC.W1, { v: 1 }, 1e3)) };
  },

  async W2(engine) {
    return { W2: await repeat(N.slow, N.slowWarm, () => timeRun(engine, SRC.W2, 10, 1)) };
  },

  async W3(engine) {
    return { W3: await repeat(N.slow, N.slowWarm, () => timeRun(engine, SRC.W3, 32640, 1e3 / 256)) };
  },

  async W4(engine) {
    const W4 = [];
    const W4eld = [];
    await repeat(N.slow, N.slowWarm, async (warm) => {
      const [ms, eld] = await withLoopDelay(() => timeRun(engine, SRC.W4, 499999500000, 1));
      if (!warm) W4.push(ms), W4eld.push(eld);
    });
    return { W4, W4eld };
  },

  async W8(engine) {
    return { W8: await repeat(N.slow, N.slowWarm, () => timeRun(engine, SRC.W8, 3577750, 1)) };
  },

  async W6(engine) {
    const W6 = [];
    const W6eld = [];
    await repeat(N.slow, N.slowWarm, async (warm) => {
      const [ms, eld] = await withLoopDelay(async () => {
        const t0 = performance.now();
        try {
          await engine.run(SRC.W6, { timeoutMs: 100 });
        } catch {
          return performance.now() - t0;
        }
        throw new Error('`while(true){}` was not stopped');
      });
      if (!warm) W6.push(ms - 100), W6eld.push(eld);
    });
    return { W6, W6eld };
  },

  async W7(engine) {
    const once = async (total) => {
      let started = 0;
      const t0 = performance.now();
      const lane = async () => {
        while (started++ < total) expect(await engine.run(SRC.W1, RUN), { v: 1 }, 'W7');
      };
      await Promise.all(Array.from({ length: 8 }, lane));
      return total / ((performance.now() - t0) / 1e3);
    };
    await once(Math.min(200, N.w7Scripts)); // warm-up
    const W7 = [];
    for (let i = 0; i < N.w7Runs; i++) W7.push(await once(N.w7Scripts));
    return { W7 };
  },

  // Run alone in a fresh process (see parent()); one sample per process.
  async W5(engine, hold) {
    const live = 200;
    // Let lazily created pieces (worker threads, WASM modules, JIT code)
    // exist before the baseline, so only the per-script cost is counted.
    for (let i = 0; i < 10; i++) expect(await engine.run(SRC.W1, RUN), { v: 1 }, 'W5 warm-up');
    const before = await settledRss();
    const runs = Array.from({ length: live }, () => engine.run(SRC.W5, { timeoutMs: 60_000 }));
    let reached;
    try {
      reached = await hold.waitFor(live, 30_000);
      if (reached < live) throw new Error(`only ${reached} of ${live} scripts reached the tool within 30 s`);
      const after = await settledRss();
      return { W5: [(after - before) / live / 1024] };
    } finally {
      hold.release();
      const done = await Promise.allSettled(runs);
      const failed = done.find((r) => r.status === 'rejected');
      if (failed && reached === live) throw new Error(`W5 script failed: ${failed.reason?.message}`);
    }
  },
};

/** Runs fn(warm) `warm` times unmeasured, then n times; returns what the measured calls returned. */
async function repeat(n, warm, fn) {
  for (let i = 0; i < warm; i++) await fn(true);
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn(false));
  return out;
}

/** Runs one script, checks its value, returns the elapsed ms times `scale`. */
async function timeRun(engine, source, expected, scale) {
  const t0 = performance.now();
  const value = await engine.run(source, RUN);
  const ms = performance.now() - t0;
  expect(value, expected, source);
  return ms * scale;
}

/**
 * Runs fn while sampling the Node event loop every 1 ms; returns fn's result
 * and the longest delay seen, in ms beyond the 1 ms sampling period (so an
 * idle loop reads about 0 and a blocked one reads the blocking time).
 */
async function withLoopDelay(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    // The histogram's first timer tick only starts the clock: a run that
    // blocks before it would go unrecorded.
    await sleep(3);
    const result = await fn();
    await sleep(5); // a synchronous run is only recorded once the loop turns again
    return [result, h.count ? Math.max(0, h.max / 1e6 - 1) : 0];
  } finally {
    h.disable();
  }
}

async function settledRss() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await sleep(50);
  }
  return process.memoryUsage().rss;
}

function expect(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** The `hold` tool: every call waits until release(); waitFor counts arrivals. */
class Hold {
  arrived = 0;
  #gate = deferred(); // Promise.withResolvers() needs Node 22
  arrive(args) {
    this.arrived++;
    return this.#gate.promise.then(() => args);
  }
  release() {
    this.#gate.resolve();
  }
  async waitFor(count, ms) {
    const deadline = performance.now() + ms;
    while (this.arrived < count && performance.now() < deadline) await sleep(5);
    return this.arrived;
  }
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

function progress(engineId, what) {
  process.stderr.write(`[${engineId}] ${what}\n`);
}

// ---------------------------------------------------------------------------
// Parent: spawn children, aggregate, report.

async function parent() {
  const ids = opts.engines ? opts.engines.split(',').map((s) => s.trim()) : ENGINES;
  const unknown = ids.filter((id) => !ENGINES.includes(id));
  if (unknown.length) {
    console.error(`unknown engine(s): ${unknown.join(', ')}; known: ${ENGINES.join(', ')}`);
    process.exit(2);
  }
  const started = new Date();
  const load = os.loadavg()[0];
  const columns = [];
  for (const id of ids) {
    const t0 = performance.now();
    const main = await runChild(id, ['W0', 'W1', 'W2', 'W3', 'W4', 'W6', 'W7', 'W8']);
    if (main.skipped) {
      console.error(`\n*** ${id} skipped: ${main.skipped}\n`);
      columns.push({ id, name: id, skipped: main.skipped });
      continue;
    }
    for (let i = 0; i < N.w5; i++) {
      const r = await runChild(id, ['W5']);
      for (const [k, v] of Object.entries(r.samples ?? {})) (main.samples[k] ??= []).push(...v);
      if (r.errors?.W5 || r.skipped) main.errors.W5 ??= r.errors?.W5 ?? r.skipped;
    }
    progress(id, `done in ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
    columns.push({ id, ...main });
  }

  // What bounds the figures that miss their targets is measured separately
  // (profiles, footprints) and kept in BOUNDS.md; it travels with the table.
  let bounds = '';
  try {
    bounds = `\n${readFileSync(`${HERE}BOUNDS.md`, 'utf8')}`;
  } catch {}
  const report = render(columns, started, load) + bounds;
  console.log(`\n${report}`);
  if (!opts['no-write']) {
    writeFileSync(`${HERE}RESULTS.md`, report);
    console.error(`written to ${HERE}RESULTS.md`);
  }
}

/** Runs workloads for one engine in a fresh `node --expose-gc` process. */
function runChild(id, workloads) {
  const args = ['--expose-gc', fileURLToPath(import.meta.url), `--child=${id}`, `--workloads=${workloads.join(',')}`];
  if (opts.quick) args.push('--quick');
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { cwd: HERE, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    // A wedged engine must not wedge the whole suite.
    const killer = setTimeout(() => proc.kill('SIGKILL'), 180_000);
    proc.on('close', (code, signal) => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        const why = signal ? `killed by ${signal} (hung?)` : `exited with code ${code}`;
        const error = `its process ${why}; see the stderr above the table`;
        resolve({ name: id, notes: {}, samples: {}, errors: Object.fromEntries(workloads.map((w) => [w, error])) });
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Reporting.

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function fmt(x) {
  const a = Math.abs(x);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(samples, throughput) {
  const s = [...samples].sort((a, b) => a - b);
  // For a throughput the bad tail is the low end: its "p95" is the 95th
  // percentile of run time, i.e. the 5th percentile of scripts/s.
  const p95 = throughput ? percentile(s, 5) : percentile(s, 95);
  return `${fmt(percentile(s, 50))} / ${fmt(p95)}`;
}

function render(columns, started, load) {
  const footnotes = [];
  const mark = (text) => {
    let i = footnotes.indexOf(text);
    if (i < 0) i = footnotes.push(text) - 1;
    return `[${i + 1}]`;
  };
  const live = columns.filter((c) => !c.skipped);
  const header = ['Workload (median / p95)', 'unit', ...live.map((c) => c.name)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const row of ROWS) {
    const w = row.key.slice(0, 2);
    const cells = live.map((c) => {
      const samples = c.samples[row.key];
      let text = samples?.length ? cell(samples, row.throughput) : `n/a ${mark(`${c.name}: ${c.errors[w] ?? `${w}: no samples`}`)}`;
      if (samples?.length && c.notes[w] && row.key === w) text += ` ${mark(`${c.name}, ${w}: ${c.notes[w]}`)}`;
      return text;
    });
    lines.push(`| ${row.label} | ${row.unit} | ${cells.join(' | ')} |`);
  }

  const cpus = os.cpus();
  const versions = [
    `script-harness ${pkgVersion('..')}`,
    `quickjs-emscripten ${pkgVersion('node_modules/quickjs-emscripten')}`,
    `isolated-vm ${pkgVersion('node_modules/isolated-vm')}`,
  ];
  const n = N;
  return [
    '# Sandbox benchmark results',
    '',
    'Generated by `npm run bench` (`bash benches/run.sh`, i.e. `node --expose-gc benches/bench.mjs`). All engines ran in one',
    'invocation on the same machine, each in a child process of its own.',
    '',
    '## Machine',
    '',
    `- CPU: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node: ${process.version}`,
    `- Date: ${started.toISOString()}`,
    `- Load average (1 min) at start: ${load.toFixed(2)}`,
    `- Versions: ${versions.join(', ')}`,
    '',
    '## Results',
    '',
    ...lines,
    '',
    ...footnotes.map((t, i) => `[${i + 1}] ${t}  `),
    ...columns.filter((c) => c.skipped).map((c) => `\n**${c.id} skipped:** ${c.skipped}`),
    '',
    '## Method',
    '',
    '- Every script gets a fresh sandbox (W0 and W1 time create + run + dispose); script-harness runs it in a hardened realm',
    "  its thread reuses (`isolation: 'pooled'`, its default: a fresh `context`, `tools` and `console` per script); its W0",
    "  with a fresh realm per script and with a different script each run are under \"Figures of script-harness alone\".",
    `- W0/W1: ${n.fast} runs after ${n.fastWarm} warm-up;`,
    `  W2/W3/W4/W6: ${n.slow} runs after ${n.slowWarm}; W5: ${n.w5} fresh processes; W7: ${n.w7Runs} runs of ${n.w7Scripts} after a warm-up run.`,
    '- p95 is the nearest-rank 95th percentile; for W7 (a throughput) it is the slow tail, the 5th percentile of scripts/s.',
    '- W0/W1 time each run on its own, so work an engine defers past the end of a run (e.g. V8 collecting dead node:vm',
    '  contexts or isolates) falls between samples; W7 counts all of it, so read the two together.',
    '- Event-loop delay: `monitorEventLoopDelay({ resolution: 1 })` on the Node main thread, max minus the 1 ms period.',
    '- W5: RSS after gc with 200 scripts waiting in a `hold` tool, minus RSS after gc before them (after 10 warm-up runs), / 200.',
    '- Tool values cross the quickjs-emscripten and isolated-vm boundaries as JSON text; node:vm passes host objects',
    '  straight in (it is a reference point, not a sandbox).',
    '- quickjs-emscripten: 96 MB memory limit, interrupt handler `shouldInterruptAfterDeadline`; the asyncify build needs',
    '  one WASM module per concurrently suspended script. isolated-vm: `memoryLimit: 96`, async API (guest code runs off',
    '  the main thread), `timeout` plus a watchdog that disposes the isolate. node:vm: `timeout` option of runInContext.',
    '',
  ].join('\n');
}

function pkgVersion(dir) {
  try {
    return JSON.parse(readFileSync(`${HERE}${dir}/package.json`, 'utf8')).version;
  } catch {
    return '(not installed)';
  }
}

// Last, so that the classes and tables above are initialised before use.
if (opts.child) {
  await child(opts.child, (opts.workloads ?? '').split(','));
} else {
  await parent();
}
