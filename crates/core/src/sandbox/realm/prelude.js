// The trusted prelude: evaluated once in every fresh realm, before any
// script code, with the realm's native functions as `host`. It tames the
// realm (no eval, no function constructors, a per-script Math.random,
// frozen intrinsics and a frozen global object) and returns the internal
// API the engine drives scripts with. A realm serves many scripts, one at a
// time: `open` gives each a `context`, `tools` and `console` of its own,
// all frozen (the context's nested values are frozen data the realm's
// scripts share), wired to natives that carry that script's identity.
// Nothing here stays reachable from a script except through the frozen
// objects it is given.
(function (host, toolTree) {
  'use strict';
  const G = globalThis;
  const { freeze, isFrozen, defineProperty, getPrototypeOf, getOwnPropertyDescriptor, create } = Object;
  const { ownKeys, apply } = Reflect;
  const hasOwn = Object.hasOwn;
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  const PromiseC = Promise;
  const promiseReject = Promise.reject.bind(Promise);
  const ErrorC = Error;
  const captureStackTrace = ErrorC.captureStackTrace;
  const TypeErrorC = TypeError;
  const StringC = String;
  const ProxyC = Proxy;
  const WeakMapC = WeakMap;
  const MapC = Map;
  // The prelude's own maps (a script's pending calls, its tool promises,
  // the depths of one call's arguments) are never handed to a script, and
  // Map.prototype and WeakMap.prototype are frozen before any script runs,
  // so per-call code calls their methods directly; the captured ones below
  // serve code that may run before the freeze (and error paths).
  const weakGet = WeakMap.prototype.get;
  const weakSet = WeakMap.prototype.set;
  const arrayIsArray = Array.isArray;
  const arrayPush = Array.prototype.push;
  const arrayPop = Array.prototype.pop;
  const arrayJoin = Array.prototype.join;
  const arrayIncludes = Array.prototype.includes;
  const reflectGet = Reflect.get;
  const stringSlice = String.prototype.slice;

  // Globals the contract says a script never has.
  for (const name of ['SharedArrayBuffer', 'Atomics', 'WeakRef', 'FinalizationRegistry',
    'require', 'process', 'module', 'exports', 'setTimeout', 'setInterval', 'clearTimeout',
    'clearInterval', 'setImmediate', 'fetch', 'Worker', 'os', 'std', 'print', 'gc',
    'navigator', 'performance']) {
    delete G[name];
  }

  // eval and every function constructor throw.
  function refusal(what) {
    const f = function () {
      throw new TypeErrorC(what + ' is not allowed in scripts');
    };
    defineProperty(f, 'name', { value: what });
    return f;
  }
  const functionProtos = [
    ['Function', Function.prototype],
    ['AsyncFunction', getPrototypeOf(async function () {})],
    ['GeneratorFunction', getPrototypeOf(function* () {})],
    ['AsyncGeneratorFunction', getPrototypeOf(async function* () {})],
  ];
  for (const [name, proto] of functionProtos) {
    const tamed = refusal(name);
    defineProperty(tamed, 'prototype', { value: proto, writable: false, enumerable: false, configurable: false });
    defineProperty(proto, 'constructor', { value: tamed, writable: false, enumerable: false, configurable: false });
    if (name === 'Function') {
      defineProperty(G, 'Function', { value: tamed, writable: false, enumerable: false, configurable: false });
    }
  }
  defineProperty(G, 'eval', { value: refusal('eval'), writable: false, enumerable: false, configurable: false });
  // Error.prepareStackTrace would run script code whenever any error is made,
  // host-made ones included; pin it to undefined.
  const prepare = getOwnPropertyDescriptor(ErrorC, 'prepareStackTrace');
  if (prepare && prepare.configurable) {
    defineProperty(ErrorC, 'prepareStackTrace', { value: undefined, writable: false, enumerable: false, configurable: false });
  }
  // Error.stackTraceLimit is engine state behind a setter that freezing
  // does not stop: 0 would hide the script's lines from the harness.
  const limit = getOwnPropertyDescriptor(ErrorC, 'stackTraceLimit');
  if (limit && limit.configurable) {
    defineProperty(ErrorC, 'stackTraceLimit', { value: ErrorC.stackTraceLimit, writable: false, enumerable: false, configurable: false });
  }
  // Text crossing to the host must be well-formed UTF-16: a lone surrogate
  // has no UTF-8 form.
  const toWellFormed = StringC.prototype.toWellFormed;
  const wellFormed = (s) => apply(toWellFormed, s, []);

  // Errors the harness throws into the script. Their code is kept here, out
  // of the script's reach; `name` is only for the script's convenience.
  const harnessErrors = new WeakMapC();
  function makeError(code, message, toolName, callId, site) {
    const e = new ErrorC(message);
    // Frames of the call site, so an uncaught tool error has the line of
    // its call.
    if (site) defineProperty(e, 'stack', { value: site, writable: true, enumerable: false, configurable: true });
    defineProperty(e, 'name', { value: code, writable: true, enumerable: false, configurable: true });
    if (toolName !== undefined) e.toolName = toolName;
    if (callId !== undefined) e.callId = callId;
    apply(weakSet, harnessErrors, [e, freeze([code, toolName, callId])]);
    return e;
  }

  // What the handler threw, as fields of the script's error: `code`
  // (`ENOENT`), `status`, `cause` and `errors` where it had them, and the
  // whole summary (its `name` too) as `details`. `name` stays the
  // harness's code. The JSON is the host's, bounded; a parse failure (out
  // of stack) just leaves the fields out.
  function withDetails(e, json) {
    let d;
    try {
      d = jsonParse(json);
    } catch (x) {
      return;
    }
    if (d === null || typeof d !== 'object') return;
    e.details = d;
    for (const key of ['code', 'status', 'cause', 'errors']) {
      if (hasOwn(d, key)) defineProperty(e, key, { value: d[key], writable: true, enumerable: false, configurable: true });
    }
  }

  // Deep-freezes what the prelude builds for one script (its context from
  // JSON, its console): own properties, natively; their prototypes are
  // intrinsics, frozen with the realm.
  const deepFreeze = host.freezeOwn;

  // Frozen prototypes make `obj.toString = f` on an ordinary object throw
  // (the "override mistake"). For the properties scripts commonly set on
  // their own objects, an accessor defines the property on the receiver
  // instead, while the prototype itself stays unchanged.
  function enableOverride(proto, key) {
    const d = getOwnPropertyDescriptor(proto, key);
    if (!d || !hasOwn(d, 'value') || !d.configurable) return;
    const value = d.value;
    defineProperty(proto, key, {
      get() { return value; },
      set(v) {
        if (this === proto) throw new TypeErrorC("Cannot assign to read only property '" + StringC(key) + "'");
        defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: d.enumerable,
      configurable: false,
    });
  }
  for (const key of ['toString', 'valueOf', 'constructor', 'toLocaleString', 'hasOwnProperty']) {
    enableOverride(Object.prototype, key);
  }
  for (const E of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]) {
    for (const key of ['name', 'message', 'constructor', 'toString']) enableOverride(E.prototype, key);
  }
  enableOverride(Function.prototype, 'toString');

  // console: formatted here, kept and counted by the host.
  function show(v, depth) {
    switch (typeof v) {
      case 'string': return depth === 0 ? v : jsonStringify(v);
      case 'function': return '[Function ' + (v.name || 'anonymous') + ']';
      case 'symbol': case 'bigint': case 'number': case 'boolean': case 'undefined':
        return StringC(v) + (typeof v === 'bigint' ? 'n' : '');
    }
    if (v === null) return 'null';
    if (v instanceof ErrorC) return StringC(v.name) + ': ' + StringC(v.message);
    try {
      const s = jsonStringify(v, (k, x) => (typeof x === 'bigint' ? StringC(x) + 'n' : x));
      return s === undefined ? StringC(v) : s;
    } catch (e) {
      return '[object]';
    }
  }
  // A script's console: its entries go to its own `log` native. One object
  // literal per script (its methods are named by it).
  function format(args) {
    const parts = [];
    for (const a of args) {
      let s;
      try { s = show(a, 0); } catch (e) { s = '[unprintable]'; }
      apply(arrayPush, parts, [s]);
    }
    return wellFormed(apply(arrayJoin, parts, [' ']));
  }
  function makeConsole(log) {
    const out = {
      log(...args) { log(0, format(args)); },
      info(...args) { log(1, format(args)); },
      warn(...args) { log(2, format(args)); },
      error(...args) { log(3, format(args)); },
    };
    out.debug = out.log;
    // All it reaches: four methods (no `prototype` of their own; their
    // `name` and `length` are data) under one object: frozen one by one,
    // without the walk.
    freeze(out.log);
    freeze(out.info);
    freeze(out.warn);
    freeze(out.error);
    return freeze(out);
  }

  // Arguments nest at most 128 levels (the host refuses deeper JSON): the
  // walk stops there, well before the script's stack would run out (an
  // overflow ends the script; this is the script's catchable error).
  const MAX_ARG_DEPTH = 128;
  const TOO_DEEP = freeze({});
  // JSON.stringify, natively refusing (TypeError) a function, symbol or
  // bigint anywhere rather than dropping it, and throwing TOO_DEEP for an
  // object nested deeper than MAX_ARG_DEPTH (QuickJS patch 0010): what a
  // replacer checking each value would do, without a call per value.
  const argsJson = host.argsJson;
  function toJsonArgs(args) {
    if (args === undefined) return '{}';
    const json = argsJson(args, MAX_ARG_DEPTH, TOO_DEEP);
    // A `toJSON` that gives `undefined` leaves nothing to send.
    if (typeof json !== 'string') throw new TypeErrorC('they have no JSON form (a toJSON gave undefined)');
    return json;
  }

  // The losers of Promise.race and Promise.any over tool calls are aborted
  // as soon as the race settles: their handlers' signals fire, and their
  // promises reject. A tool promise maps to the abort of the script that
  // made it; no script can reach another's promises.
  const toolPromises = new WeakMapC();
  const promiseThen = Promise.prototype.then;
  const arrayFrom = Array.from;
  function abortLosers(items) {
    for (const item of items) {
      const entry = (typeof item === 'object' && item !== null) ? toolPromises.get(item) : undefined;
      if (entry !== undefined) entry[0](entry[1]);
    }
  }
  for (const name of ['race', 'any']) {
    const original = Promise[name];
    const wrapped = {
      [name](iterable) {
        const items = apply(arrayFrom, undefined, [iterable]);
        const settled = apply(original, this, [items]);
        const done = () => abortLosers(items);
        apply(promiseThen, settled, [done, done]);
        return settled;
      },
    }[name];
    defineProperty(Promise, name, { value: wrapped, writable: true, enumerable: false, configurable: true });
  }

  // One script's `tools`: a frozen tree; unknown names give a function that
  // rejects with ToolNotFoundError, so `tools.typo(...)` fails the way the
  // contract says. Calls go to the script's own natives; `pending` holds
  // the resolvers of its calls.
  const excluded = ['then', 'toJSON', 'constructor', 'valueOf', 'toString', 'inspect', 'asymmetricMatch', 'nodeType'];
  function makeTools(natives, pending) {
    // Arrows, not function declarations: nothing per script that is not
    // needed (a declaration also gets a `prototype` object).
    const abortCall = (index) => {
      const p = pending.get(index);
      if (p === undefined || !natives.abort(index)) return;
      pending.delete(index);
      p[1](makeError('ToolExecutionError', 'tools.' + p[2] + ' was aborted: it lost a Promise.race or Promise.any', p[2], undefined, p[3]));
    };
    const callTool = (index, path, args, tool) => {
      // The call's line: for the person asked to approve it, and for the
      // error if the call fails uncaught. The frames from the script's call
      // of `tool` down: the harness's own (this function, `tool`) are not
      // the script's to see, and formatting them was most of the cost.
      const holder = {};
      apply(captureStackTrace, ErrorC, [holder, tool]);
      // Well-formed: a function's name may hold a lone surrogate.
      const site = wellFormed(str(holder.stack) ?? '');
      let json;
      try {
        json = toJsonArgs(args);
      } catch (e) {
        // The same words as the host's own check of the JSON it receives.
        if (e === TOO_DEEP) return promiseReject(makeError('SerializationError', 'arguments of tools.' + path + ' are not JSON the host can read: they nest deeper than ' + MAX_ARG_DEPTH + ' levels', path, undefined, site));
        let why = 'not JSON';
        try { why = StringC(e && e.message); } catch (e2) { /* keep the default */ }
        return promiseReject(makeError('SerializationError', 'arguments of tools.' + path + ' are not JSON: ' + why, path, undefined, site));
      }
      const r = natives.call(index, json, wellFormed(path), site);
      if (typeof r !== 'number') return promiseReject(makeError(r[0], r[1], path, r[2], site));
      const p = new PromiseC((resolve, reject) => {
        pending.set(r, [resolve, reject, path, site]);
      });
      toolPromises.set(p, [abortCall, r]);
      return p;
    };
    const namespace = (node, prefix) => {
      const target = {};
      for (const key of ownKeys(node)) {
        const path = prefix === '' ? key : prefix + '.' + key;
        const child = node[key];
        if (typeof child === 'number' || arrayIsArray(child)) {
          const index = typeof child === 'number' ? child : child[0];
          // Named by the literal (`tools.exec.name` is 'exec'). Defined,
          // not assigned: `target.isPrototypeOf = ...` would meet the
          // frozen Object.prototype's read-only property and throw.
          const tool = freeze({ [key]: (args) => callTool(index, path, args, tool) }[key]);
          defineProperty(target, key, { value: tool, enumerable: true });
        } else {
          defineProperty(target, key, { value: namespace(child, path), enumerable: true });
        }
      }
      freeze(target);
      return new ProxyC(target, {
        get(t, key, receiver) {
          // A tool or namespace (the common case): a frozen own data property.
          if (typeof key === 'string' && hasOwn(t, key)) return t[key];
          if (typeof key !== 'string' || key in t || apply(arrayIncludes, excluded, [key])) {
            return apply(reflectGet, undefined, [t, key, receiver]);
          }
          const path = prefix === '' ? key : prefix + '.' + key;
          const unknown = freeze((args) => callTool(-1, path, args, unknown));
          return unknown;
        },
      });
    };
    return namespace(toolTree, '');
  }

  // Math.random draws from a generator the engine reseeds for each script:
  // QuickJS's own is one xorshift state per realm, which a script can
  // recover from a few outputs and so predict the next script's draws.
  defineProperty(Math, 'random', { value: host.random, writable: true, enumerable: false, configurable: true });

  // The clock a script reads is the engine's (host.now): the real clock,
  // or, in a resumed script, the readings of its first run again, so that
  // it takes the same path. `Date.now()`, `new Date()` and `Date()` read
  // it; a date made from arguments is the intrinsic Date's own. Subclasses
  // and `instanceof` work as before: the prototype is the intrinsic one.
  {
    const IntrinsicDate = G.Date;
    const now = host.now;
    const construct = Reflect.construct;
    const dateToString = IntrinsicDate.prototype.toString;
    // Seven parameters: Date.length is 7.
    // eslint-disable-next-line no-unused-vars
    const ScriptDate = function Date(year, month, day, hours, minutes, seconds, ms) {
      if (new.target === undefined) return apply(dateToString, construct(IntrinsicDate, [now()]), []);
      return arguments.length === 0
        ? construct(IntrinsicDate, [now()], new.target)
        : construct(IntrinsicDate, arguments, new.target);
    };
    defineProperty(ScriptDate, 'prototype', { value: IntrinsicDate.prototype, writable: false, enumerable: false, configurable: false });
    for (const key of ['UTC', 'parse']) {
      defineProperty(ScriptDate, key, { value: IntrinsicDate[key], writable: true, enumerable: false, configurable: true });
    }
    defineProperty(ScriptDate, 'now', { value: now, writable: true, enumerable: false, configurable: true });
    defineProperty(IntrinsicDate.prototype, 'constructor', { value: ScriptDate, writable: true, enumerable: false, configurable: true });
    defineProperty(G, 'Date', { value: ScriptDate, writable: true, enumerable: false, configurable: true });
  }

  // Freeze every intrinsic reachable from the global object or from values
  // the language makes without naming their constructors (iterators,
  // generators, async functions, typed arrays), and the global object
  // itself. The walk is native.
  host.harden([
    G,
    getPrototypeOf([][Symbol.iterator]()),
    getPrototypeOf(new Map().entries()),
    getPrototypeOf(new Set().values()),
    getPrototypeOf(''[Symbol.iterator]()),
    getPrototypeOf('a'.matchAll(/a/g)),
    // Iterator helpers and Iterator.from's wrapper have prototypes of their own.
    getPrototypeOf([].values().map((x) => x)),
    getPrototypeOf(G.Iterator.from({ next() { return { done: true }; } })),
    getPrototypeOf((function* () {})()),
    getPrototypeOf((async function* () {})()),
    getPrototypeOf(async function () {}),
    getPrototypeOf(Int8Array),
    getOwnPropertyDescriptor(Function.prototype, 'caller'),
    (function () { return arguments; })(),
  ]);

  function str(v) {
    try { return v === undefined ? undefined : StringC(v); } catch (e) { return '[unprintable]'; }
  }

  // The part of `context` the scripts of one tool set, limits and seed
  // share: parsed and deep-frozen once per realm, not per script. Held
  // here, out of every script's reach; frozen data only, so one script
  // leaves nothing in it for the next.
  const shared = { __proto__: null, json: undefined, object: undefined, keys: undefined };
  const MAX_SHARED_CONTEXT = 16 * 1024;

  // The engine's handle on this realm.
  return freeze({
    // A script starts: its `context`, `tools` and `console`, and its own
    // handle (`settle`). `natives` are the script's: call, log, abort,
    // progress.
    // `contextJson` is the context but for `scriptId` (null in its place).
    open(natives, contextJson, scriptId) {
      let { object, keys } = shared;
      if (contextJson !== shared.json) {
        object = deepFreeze(jsonParse(contextJson));
        keys = ownKeys(object);
        // A large one is not kept: what a realm keeps counts against the
        // garbage a clean script may leave, and past that the realm is
        // not reused.
        const keep = contextJson.length <= MAX_SHARED_CONTEXT;
        shared.json = keep ? contextJson : undefined;
        shared.object = keep ? object : undefined;
        shared.keys = keep ? keys : undefined;
      }
      // Its own top level (the values below it are the shared, frozen ones).
      const context = {};
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        defineProperty(context, key, { value: key === 'scriptId' ? scriptId : object[key], enumerable: true, writable: true, configurable: true });
      }
      const emitProgress = (message, kind) => {
        natives.progress(wellFormed(str(message) ?? ''), wellFormed(str(kind) ?? ''));
      };
      defineProperty(emitProgress, 'name', { value: 'emitProgress' });
      context.emitProgress = freeze(emitProgress);
      freeze(context);
      const pending = new MapC();
      const tools = makeTools(natives, pending);
      const script = freeze({
        settle(index, ok, payload, code, message, names, details) {
          const toolName = names[0];
          const callId = names[1];
          const p = pending.get(index);
          if (p === undefined) return;
          pending.delete(index);
          if (!ok) {
            const e = makeError(code, message, toolName, callId, p[3]);
            if (details !== '') withDetails(e, details);
            p[1](e);
            return;
          }
          let value;
          try {
            value = payload === '' ? undefined : jsonParse(payload);
          } catch (e) {
            // Too deep for this sandbox's stack (out of memory is the
            // harness's to report, from its own records).
            p[1](makeError('ToolExecutionError', 'the result of tools.' + toolName + ' could not be read in the sandbox: ' + (str(e && e.message) ?? 'unknown error'), toolName, callId, p[3]));
            return;
          }
          p[0](value);
        },
      });
      return [context, tools, makeConsole(natives.log), script];
    },
    // [harness code or '', name, message, stack, toolName, callId]
    describe(e) {
      const record = (typeof e === 'object' && e !== null) || typeof e === 'function'
        ? apply(weakGet, harnessErrors, [e]) : undefined;
      let name, message, stack;
      try {
        if (e instanceof ErrorC) {
          name = str(e.name);
          message = str(e.message);
          stack = str(e.stack);
        } else {
          message = show(e, 0);
        }
      } catch (x) {
        message = '[unprintable]';
      }
      if (message !== undefined && message.length > 4096) message = apply(stringSlice, message, [0, 4096]) + '…';
      return record === undefined
        ? ['', name, message, stack, undefined, undefined]
        : [record[0], name, message, stack, record[1], record[2]];
    },
    // The return value as JSON text (undefined for no value); throws when
    // it is not JSON.
    serialize(value) {
      if (value === undefined) return undefined;
      // A primitive needs no replacer (nothing in it can be refused).
      const t = typeof value;
      if (value === null || t === 'number' || t === 'string' || t === 'boolean') return jsonStringify(value);
      return jsonStringify(value, (k, v) => {
        const t = typeof v;
        if (t === 'function' || t === 'symbol' || t === 'bigint') {
          throw new TypeErrorC('the return value holds a ' + t + ', which is not JSON');
        }
        return v;
      });
    },
  });
})
