// Host-side glue of the binding, evaluated once per harness on the Node main
// thread. It owns what only JavaScript can hold: the tool handlers, their
// AbortControllers, the callbacks and the promises returned by run(). Rust
// sends it batches of messages as JSON; it answers tool calls through
// `native.reply`. Type checks of options live here because a TypeError that
// names the field is easiest to raise where the value is seen.
(function () {
  'use strict';

  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  function typeError(field, message) {
    return new TypeError(`${field}: ${message}`);
  }
  // What reaches the model and the approver from a thrown value is built
  // from data: an Error's message or a string, cut to size; for anything
  // else its type and a redacted, cut rendering. Never a function's source.
  const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|auth|credential|cookie|private[-_]?key/i;
  const MAX_MESSAGE_CHARS = 8192;
  const MAX_RENDERING_CHARS = 1024;
  const cut = (s, max) => (s.length > max ? `${s.slice(0, max)}…` : s);
  const objectTag = Object.prototype.toString;
  function messageOf(e) {
    try {
      if (e instanceof Error || objectTag.call(e) === '[object Error]') {
        // Only a message that is text is shown as the handler's words; no
        // getter or toString of the host's runs.
        const d = Object.getOwnPropertyDescriptor(e, 'message');
        if (d === undefined) return '';
        if ('value' in d && typeof d.value === 'string') return cut(d.value, MAX_MESSAGE_CHARS);
        return `the tool threw an Error whose message is not text: ${'value' in d ? render(d.value) : '[Getter]'}`;
      }
      if (typeof e === 'string') return cut(e, MAX_MESSAGE_CHARS);
      const what = e === null ? 'null' : Array.isArray(e) ? 'an array' : typeof e === 'object' ? 'an object' : typeof e === 'undefined' ? 'undefined' : `a ${typeof e}`;
      const head = `the tool threw ${what} (not an Error)`;
      if (e === null || e === undefined || typeof e === 'function') return head;
      return `${head}: ${render(e)}`;
    } catch {
      return 'the tool threw a value that cannot be shown';
    }
  }

  // What the script sees of what a handler threw, besides the message: a
  // JSON-safe summary built from data properties only (no getter or
  // toJSON of the host's runs): `name`, `message`, `code` (`ENOENT`),
  // `status` (an HTTP status), a `cause` chain three deep and up to ten
  // AggregateError members. Anything else of the error stays on the host:
  // its other fields may hold what the script must not see.
  const MAX_DETAIL_DEPTH = 3;
  const MAX_DETAIL_ERRORS = 10;
  function dataOf(o, key) {
    for (let p = o, hops = 0; p !== null && hops < 8; p = Object.getPrototypeOf(p), hops++) {
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (d !== undefined) return 'value' in d ? d.value : undefined;
    }
    return undefined;
  }
  function summary(e, depth) {
    const isError = e instanceof Error || objectTag.call(e) === '[object Error]';
    if (!isError) return { message: messageOf(e) };
    const out = {};
    const name = dataOf(e, 'name');
    if (typeof name === 'string') out.name = cut(name, 200);
    out.message = messageOf(e);
    const code = Object.getOwnPropertyDescriptor(e, 'code');
    if (code !== undefined && typeof code.value === 'string') out.code = cut(code.value, 200);
    else if (code !== undefined && Number.isFinite(code.value)) out.code = code.value;
    for (const key of ['status', 'statusCode']) {
      const d = Object.getOwnPropertyDescriptor(e, key);
      if (d !== undefined && Number.isInteger(d.value)) {
        out.status = d.value;
        break;
      }
    }
    const cause = Object.getOwnPropertyDescriptor(e, 'cause');
    if (cause !== undefined && 'value' in cause && cause.value !== undefined && depth < MAX_DETAIL_DEPTH) {
      out.cause = summary(cause.value, depth + 1);
    }
    const errors = Object.getOwnPropertyDescriptor(e, 'errors');
    if (errors !== undefined && Array.isArray(errors.value) && depth < MAX_DETAIL_DEPTH) {
      out.errors = errors.value.slice(0, MAX_DETAIL_ERRORS).map((x) => summary(x, depth + 1));
    }
    return out;
  }
  // The summary as JSON for the engine, or undefined when it says nothing
  // the message does not.
  function detailsOf(e) {
    try {
      const s = summary(e, 0);
      if (s.name === undefined && s.code === undefined && s.status === undefined && s.cause === undefined && s.errors === undefined) return undefined;
      return JSON.stringify(s);
    } catch {
      return undefined;
    }
  }

  // A rendering of a value built from its data alone: own enumerable data
  // properties (no getter or toJSON of the host runs), values under
  // secret-looking keys redacted, functions and symbols named, cycles and
  // depth cut, at most MAX_RENDERING_CHARS long.
  function render(root) {
    let out = '';
    const seen = new Set();
    const walk = (v, depth) => {
      switch (typeof v) {
        case 'string': out += JSON.stringify(cut(v, 256)); return;
        case 'number': case 'boolean': out += String(v); return;
        case 'bigint': out += `${v}n`; return;
        case 'undefined': out += 'undefined'; return;
        case 'function': out += '[Function]'; return;
        case 'symbol': out += `[${String(v)}]`; return;
      }
      if (v === null) { out += 'null'; return; }
      if (seen.has(v) || depth > 8) { out += '[…]'; return; }
      seen.add(v);
      const array = Array.isArray(v);
      out += array ? '[' : '{';
      let first = true;
      for (const key of Reflect.ownKeys(v)) {
        if (out.length > MAX_RENDERING_CHARS) break;
        const d = typeof key === 'string' ? Object.getOwnPropertyDescriptor(v, key) : undefined;
        if (d === undefined || !d.enumerable) continue;
        if (!first) out += ',';
        first = false;
        if (!array) out += `${JSON.stringify(key)}:`;
        if (SECRET_KEY.test(key)) out += '"[redacted]"';
        else if (!('value' in d)) out += '[Getter]';
        else walk(d.value, depth + 1);
      }
      out += array ? ']' : '}';
      seen.delete(v);
    };
    walk(root, 0);
    return cut(out, MAX_RENDERING_CHARS);
  }
  // An abort reason as the script's error and events show it: an Error's
  // (or DOMException's) message, a string, or a rendering of anything else.
  function reasonText(r) {
    try {
      if (r === undefined) return '';
      if (typeof r === 'string') return cut(r, MAX_MESSAGE_CHARS);
      // What abort() without a reason gives: no reason to tell.
      if (objectTag.call(r) === '[object DOMException]' && r.name === 'AbortError') return '';
      // A DOMException's message is an accessor of its prototype, which
      // messageOf does not read; the reason is the host's own value.
      if (objectTag.call(r) === '[object DOMException]') return typeof r.message === 'string' ? cut(r.message, MAX_MESSAGE_CHARS) : '';
      if (r instanceof Error || objectTag.call(r) === '[object Error]') return messageOf(r);
      return render(r);
    } catch {
      return 'a reason that cannot be shown';
    }
  }
  const SEED_FIELDS = ['conversationId', 'sessionId', 'turnId', 'workingDirectory', 'provider', 'model'];
  const MODES = ['disabled', 'dry-run', 'enabled'];
  const FORMATS = ['responses', 'chat', 'messages'];

  function checkSeed(seed, field) {
    if (seed === undefined) return undefined;
    if (!isObject(seed)) throw typeError(field, 'must be an object');
    const out = {};
    for (const [k, v] of Object.entries(seed)) {
      if (!SEED_FIELDS.includes(k)) throw typeError(`${field}.${k}`, `is not a context field (use ${SEED_FIELDS.join(', ')})`);
      if (v === undefined) continue;
      if (typeof v !== 'string') throw typeError(`${field}.${k}`, 'must be a string');
      out[k] = v;
    }
    return out;
  }
  function checkLimits(limits, field) {
    if (limits === undefined) return undefined;
    if (!isObject(limits)) throw typeError(field, 'must be an object');
    for (const [k, v] of Object.entries(limits)) {
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
        throw typeError(`${field}.${k}`, 'must be a finite number');
      }
    }
    return limits;
  }
  function checkMode(mode, field) {
    if (mode === undefined) return undefined;
    if (!MODES.includes(mode)) throw typeError(field, `must be one of ${MODES.map((m) => `'${m}'`).join(', ')}`);
    return mode;
  }

  // Standard Schema issues as the script reads them: `/path: message`, at
  // most five.
  function issuesText(issues) {
    const shown = issues.slice(0, 5).map((issue) => {
      let where = '';
      try {
        for (const p of issue.path ?? []) {
          const k = p !== null && typeof p === 'object' ? p.key : p;
          where += `/${String(k)}`;
        }
      } catch {}
      const message = typeof issue.message === 'string' ? cut(issue.message, 500) : 'invalid';
      return `${where || '(the argument object)'}: ${message}`;
    });
    if (issues.length > 5) shown.push(`and ${issues.length - 5} more`);
    return shown.join('; ');
  }

  // A tool's `parameters` or `returns`: a JSON Schema as given, or a
  // Standard Schema with a JSON Schema view (zod 4, valibot, arktype, ...),
  // converted once, here, by the library itself. `view` is `input` for
  // arguments (what the script sends) and `output` for results. Anything
  // else that is not a plain object (a zod 3 schema, a class instance) is
  // refused: it would otherwise pass as a JSON Schema of unknown keywords
  // that checks nothing.
  function schemaOf(value, field, view) {
    if (value === undefined) return { json: undefined, standard: undefined };
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
      throw typeError(field, 'must be a JSON Schema object or a Standard Schema (zod 4, ...)');
    }
    const std = value['~standard'];
    if (std !== undefined) {
      const convert = std !== null && typeof std === 'object' && std.jsonSchema != null ? std.jsonSchema[view] : undefined;
      const vendor = std !== null && typeof std === 'object' && typeof std.vendor === 'string' ? std.vendor : 'unknown';
      if (typeof convert !== 'function') {
        throw typeError(field, `is a Standard Schema (${vendor}) without a JSON Schema view: use a library version that implements Standard JSON Schema (zod 4.2 or later, ...), or pass a JSON Schema`);
      }
      let json;
      try {
        json = convert.call(std.jsonSchema, { target: 'draft-2020-12' });
      } catch (e) {
        throw typeError(field, `its conversion to JSON Schema failed (${vendor}): ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!isObject(json)) throw typeError(field, `its conversion to JSON Schema (${vendor}) gave no object`);
      return { json, standard: typeof std.validate === 'function' ? std : undefined };
    }
    const proto = Object.getPrototypeOf(value);
    if (typeof value === 'function' || Array.isArray(value) || (proto !== Object.prototype && proto !== null)) {
      throw typeError(field, 'is neither a JSON Schema (a plain object) nor a Standard Schema with a JSON Schema view (zod 4, ...)');
    }
    return { json: value, standard: undefined };
  }

  // ScriptHarnessOptions → the plain data Rust validates further, plus the
  // functions that stay here.
  function normalizeOptions(options) {
    if (!isObject(options)) throw typeError('options', 'must be an object');
    const { tools, mode, limits, onApproval, onEvent, context, workers, isolation } = options;
    if (!Array.isArray(tools)) throw typeError('options.tools', 'must be an array of tool definitions');
    const handlers = [];
    const validators = [];
    const predicates = [];
    const approvals = [];
    const specs = tools.map((t, i) => {
      const field = `options.tools[${i}]`;
      if (!isObject(t)) throw typeError(field, 'must be an object');
      if (typeof t.name !== 'string') throw typeError(`${field}.name`, 'must be a string');
      if (typeof t.handler !== 'function') throw typeError(`${field}.handler`, 'must be a function');
      if (t.description !== undefined && typeof t.description !== 'string') throw typeError(`${field}.description`, 'must be a string');
      const parameters = schemaOf(t.parameters, `${field}.parameters`, 'input');
      const returns = schemaOf(t.returns, `${field}.returns`, 'output');
      const ra = t.requiresApproval;
      if (ra !== undefined && typeof ra !== 'boolean' && typeof ra !== 'function') {
        throw typeError(`${field}.requiresApproval`, 'must be a boolean or a function');
      }
      handlers.push(t.handler);
      validators.push(parameters.standard);
      predicates.push(typeof ra === 'function' ? ra : undefined);
      const approval = typeof ra === 'function' ? 'predicate' : ra === true ? 'always' : 'never';
      approvals.push(approval);
      return { name: t.name, description: t.description, parameters: parameters.json, returns: returns.json, approval };
    });
    if (onApproval !== undefined && typeof onApproval !== 'function') throw typeError('options.onApproval', 'must be a function');
    if (onEvent !== undefined && typeof onEvent !== 'function') throw typeError('options.onEvent', 'must be a function');
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 256)) {
      throw typeError('options.workers', 'must be an integer between 1 and 256');
    }
    if (isolation !== undefined && isolation !== 'pooled' && isolation !== 'script') {
      throw typeError('options.isolation', "must be 'pooled' or 'script'");
    }
    const data = {
      tools: specs,
      mode: checkMode(mode, 'options.mode'),
      limits: checkLimits(limits, 'options.limits'),
      context: checkSeed(context, 'options.context'),
      workers,
      isolation,
      events: onEvent !== undefined,
    };
    return { json: JSON.stringify(data), handlers, validators, predicates, approvals, onEvent, onApproval };
  }

  function normalizeRunOptions(options) {
    if (options === undefined) return undefined;
    if (!isObject(options)) throw typeError('options', 'must be an object');
    const { signal, mode, limits, context } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw typeError('options.signal', 'must be an AbortSignal');
    const data = {
      mode: checkMode(mode, 'options.mode'),
      limits: checkLimits(limits, 'options.limits'),
      context: checkSeed(context, 'options.context'),
    };
    const aborted = signal !== undefined && signal.aborted;
    return { json: JSON.stringify(data), signal, aborted, reason: aborted ? reasonText(signal.reason) : '' };
  }

  function createBridge(parts, native) {
    const { handlers, validators, predicates, approvals, onEvent, onApproval } = parts;
    let approvalCount = 0;
    const runs = new Map();
    const calls = new Map();
    const keyOf = (t) => `${t.worker}:${t.script}:${t.call}`;
    // The engine's gate decides, at the moment something of a call is
    // about to start, whether its script is still live: a cancel, close()
    // or deadline wins every race with messages still on their way.
    const AWAITING_APPROVAL = 2;
    const RUNNING = 3;
    const admit = (t, phase) => native.admit(t.run, t.worker, t.script, t.call, phase);

    function startCall(m) {
      const { token } = m;
      const key = keyOf(token);
      // The AbortController is made when a handler first reads ctx.signal:
      // most calls finish without anyone looking at it.
      const call = { controller: undefined, reason: undefined };
      calls.set(key, call);
      const signalOf = () => {
        if (call.controller === undefined) {
          call.controller = new AbortController();
          if (call.reason !== undefined) call.controller.abort(call.reason);
        }
        return call.controller.signal;
      };
      const ctx = {
        get signal() {
          return signalOf();
        },
        scriptId: m.scriptId,
        callId: m.callId,
        toolName: m.toolName,
      };
      const fail = (e) => {
        calls.delete(key);
        native.reply(token.run, token.worker, token.script, token.call, 'ToolExecutionError', messageOf(e), detailsOf(e));
      };
      const deny = (code, message) => {
        calls.delete(key);
        native.reply(token.run, token.worker, token.script, token.call, code, message);
      };
      // Not started: the engine hears it, so a script that ended does not
      // wait out its grace period for a call that will never answer.
      const skip = () => {
        calls.delete(key);
        native.reply(token.run, token.worker, token.script, token.call, 'NotStarted', undefined);
      };
      const start = (args) => {
        if (call.reason !== undefined || !admit(token, RUNNING)) {
          skip();
          return;
        }
        let out;
        try {
          out = handlers[m.tool](args, ctx);
        } catch (e) {
          fail(e);
          return;
        }
        settleCall(m, key, out);
      };
      // A Standard Schema's own validation runs last (the JSON Schema view
      // was checked by the engine already): refinements, and the parsed
      // value (defaults, transforms) is what the handler gets.
      const runHandler = () => {
        const std = validators[m.tool];
        if (std === undefined) return start(m.args);
        const invalid = (why) => deny('ToolValidationError', `tools.${m.toolName}: ${why}`);
        const checked = (r) => {
          if (r !== null && typeof r === 'object' && Array.isArray(r.issues)) invalid(issuesText(r.issues));
          else if (r !== null && typeof r === 'object' && 'value' in r) start(r.value);
          else invalid('its schema\'s validation gave no result');
        };
        let r;
        try {
          r = std.validate(m.args);
        } catch (e) {
          invalid(`its schema's validation threw: ${messageOf(e)}`);
          return;
        }
        if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
          Promise.resolve(r).then(checked, (e) => invalid(`its schema's validation threw: ${messageOf(e)}`));
        } else checked(r);
      };
      if (approvals[m.tool] === 'never') {
        runHandler();
        return;
      }
      // A stopped script's approval is never asked, nor its predicate run.
      const stillLive = () => call.reason === undefined && admit(token, AWAITING_APPROVAL);
      if (!stillLive()) {
        skip();
        return;
      }
      needsApproval(m).then((needed) => {
        if (!needed) return runHandler();
        if (!stillLive()) return skip();
        return askApproval(m, signalOf(), stillLive).then((decision) => {
          if (decision === 'approved') runHandler();
          else if (decision === 'timeout') deny('ApprovalTimeoutError', `no answer to the approval request for tools.${m.toolName} within ${m.approvalTimeoutMs} ms`);
          else deny('ApprovalDeniedError', `the user denied tools.${m.toolName}`);
        });
      }).catch((e) => e instanceof ApprovalTimeout
        ? deny('ApprovalTimeoutError', `the approval check for tools.${m.toolName} did not answer within ${m.approvalTimeoutMs} ms`)
        : deny('ApprovalDeniedError', `the approval check for tools.${m.toolName} failed`));
    }

    // Resolves true when the call must be approved; rejects when the
    // predicate throws or rejects, which denies the call (the contract).
    // A predicate answer other than false asks: doubt never skips approval.
    // The predicate gets its own copy of the arguments (the handler gets
    // exactly what was approved) and `approvalTimeoutMs` to answer.
    function needsApproval(m) {
      if (approvals[m.tool] === 'always') return Promise.resolve(true);
      let answer;
      try {
        answer = predicates[m.tool](structuredClone(m.args));
      } catch (e) {
        return Promise.reject(e);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new ApprovalTimeout()), m.approvalTimeoutMs);
        Promise.resolve(answer).then(
          (v) => { clearTimeout(timer); resolve(v !== false); },
          (e) => { clearTimeout(timer); reject(e); },
        );
      });
    }
    class ApprovalTimeout extends Error {}

    // Resolves to 'approved', 'denied' or 'timeout'; anything but 'approved'
    // or true from onApproval, and any throw, denies.
    function askApproval(m, signal, stillLive) {
      const request = {
        requestId: `${m.callId}-a${++approvalCount}`,
        scriptId: m.scriptId,
        callId: m.callId,
        toolName: m.toolName,
        args: m.displayArgs,
        scriptHash: m.scriptHash,
      };
      if (m.line !== undefined) request.line = m.line;
      emit({ type: 'approval_requested', scriptId: m.scriptId, timestamp: Date.now(), request });
      const resolved = (decision) => {
        emit({ type: 'approval_resolved', scriptId: m.scriptId, timestamp: Date.now(), requestId: request.requestId, decision });
        return decision;
      };
      // No one is asked for a script stopped meanwhile (onEvent may have
      // stopped it on approval_requested).
      if (onApproval === undefined || !stillLive()) return Promise.resolve(resolved('denied'));
      // While a person decides, the script's clock is paused.
      const { token } = m;
      native.approval(token.run, token.worker, token.script, token.call, true);
      return new Promise((resolve) => {
        let done = false;
        const finish = (d) => {
          if (done) return;
          done = true;
          // Stopped while the person decided: the call is denied, and
          // reported so, whatever the answer.
          if (d === 'approved' && !stillLive()) d = 'denied';
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          native.approval(token.run, token.worker, token.script, token.call, false);
          resolve(resolved(d));
        };
        const timer = setTimeout(() => finish('timeout'), m.approvalTimeoutMs);
        const onAbort = () => finish('denied');
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          Promise.resolve(onApproval(request)).then(
            (a) => finish(a === 'approved' || a === true ? 'approved' : 'denied'),
            () => finish('denied'),
          );
        } catch {
          // A throw, or an answer whose `then` or `constructor` throws.
          finish('denied');
        }
      });
    }

    // JSON.stringify drops functions and symbols without a word; a tool
    // result that holds one is refused instead, as arguments are.
    function strictJson(key, v) {
      const t = typeof v;
      if (t === 'function' || t === 'symbol') throw new TypeError(`it holds a ${t}`);
      return v;
    }

    function settleCall(m, key, out) {
      const { token } = m;
      const reply = (value) => {
        calls.delete(key);
        let json;
        try {
          json = value === undefined ? undefined : JSON.stringify(value, strictJson);
        } catch (e) {
          native.reply(token.run, token.worker, token.script, token.call, 'ToolExecutionError',
            `tools.${m.toolName} returned a value that is not JSON: ${messageOf(e)}`);
          return;
        }
        // UTF-16 units never outnumber UTF-8 bytes: longer is surely over
        // the limit, and is refused before it crosses (the engine checks
        // the exact byte count).
        if (json !== undefined && json.length > m.maxResultBytes) {
          native.reply(token.run, token.worker, token.script, token.call, 'ToolExecutionError',
            `tools.${m.toolName}: the tool returned more than ${m.maxResultBytes} bytes of JSON (maxToolResultBytes)`);
          return;
        }
        native.reply(token.run, token.worker, token.script, token.call, undefined, json);
      };
      const fail = (e) => {
        calls.delete(key);
        native.reply(token.run, token.worker, token.script, token.call, 'ToolExecutionError', messageOf(e), detailsOf(e));
      };
      // A plain value is answered at once; a thenable when it settles.
      let then;
      try {
        then = out !== null && (typeof out === 'object' || typeof out === 'function') ? out.then : undefined;
      } catch (e) {
        fail(e);
        return;
      }
      if (typeof then !== 'function') reply(out);
      else {
        try {
          Promise.resolve(out).then(reply, fail);
        } catch (e) {
          // A promise whose `constructor` getter throws.
          fail(e);
        }
      }
    }

    function abortCall(m) {
      const key = keyOf(m.token);
      const call = calls.get(key);
      if (call === undefined) return;
      calls.delete(key);
      // A run cancelled through its signal (or a stream's abort) hands its
      // calls the signal's own reason; otherwise an AbortError says why.
      const run = runs.get(m.token.run);
      let reason;
      if (run !== undefined && run.cancelled) reason = run.cancelReason;
      else {
        reason = new Error(m.reason);
        reason.name = 'AbortError';
      }
      call.reason = reason;
      if (call.controller !== undefined) call.controller.abort(reason);
    }

    function emit(event) {
      if (onEvent === undefined) return;
      try {
        const r = onEvent(event);
        // An async callback that rejects is ignored like one that throws.
        if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, () => {});
      } catch {
        // An event callback that throws must not break the script.
      }
    }

    function finish(m) {
      const run = runs.get(m.run);
      if (run === undefined) return;
      runs.delete(m.run);
      try {
        if (run.signal != null) run.signal.removeEventListener('abort', run.onAbort);
      } finally {
        run.resolve(m.result);
      }
    }

    // A call whose start failed inside the bridge: it ends as a tool error
    // rather than leaving its script waiting.
    function failCall(m, e) {
      const { token } = m;
      calls.delete(keyOf(token));
      native.reply(token.run, token.worker, token.script, token.call, 'ToolExecutionError', messageOf(e));
    }

    // The result of a script not run because an earlier one failed and the
    // host asked to stop (`stopAfterFailure`).
    function skipped() {
      return {
        ok: false,
        scriptId: native.scriptId(),
        error: {
          code: 'ScriptCancelledError',
          message: 'not run: an earlier script of this turn failed (stopAfterFailure)',
          phase: 'executing',
          retryable: false,
        },
        logs: [],
        toolCalls: [],
        metadata: { durationMs: 0, toolCallsMade: 0 },
      };
    }

    // Turn options are checked whole before anything runs: names and types
    // here, limit ranges against the harness's defaults in Rust.
    function checkTurnOptions(options) {
      normalizeRunOptions(options);
      if (options === undefined || options.limits === undefined) return;
      const problem = native.checkLimits(JSON.stringify(options.limits));
      if (problem !== '') {
        const [field, ...rest] = problem.split(': ');
        throw typeError(field, rest.join(': '));
      }
    }

    // What the turn's items and continuation are built from: a result
    // without its call records' values, and its console output cut to what
    // the model is shown, so a turn of many scripts stays far below V8's
    // longest string.
    const REPORTED_LOG_CHARS = 16 * 1024;
    function reported(r) {
      if (!Array.isArray(r.toolCalls) || !Array.isArray(r.logs)) return r;
      const logs = [];
      let chars = 0;
      for (const l of r.logs) {
        if (chars > REPORTED_LOG_CHARS) break;
        chars += l.message.length;
        logs.push(l);
      }
      const toolCalls = r.toolCalls.map((c) => ({ callId: c.callId, toolName: c.toolName, status: c.status }));
      return { ...r, logs, toolCalls };
    }

    function checkFormat(format) {
      if (!FORMATS.includes(format)) throw typeError('format', `must be one of ${FORMATS.map((f) => `'${f}'`).join(', ')}`);
    }

    // Runs (or validates) the scripts of a planned turn in order; `started`
    // holds runs a stream began early, in the same order.
    async function finishTurn(harness, format, response, options, mode, maxReturnBytes, started) {
      const plan = JSON.parse(native.planTurn(format, JSON.stringify(response)));
      if (!Array.isArray(plan)) {
        const [field, ...rest] = plan.error.split(': ');
        throw typeError(field, rest.join(': '));
      }
      const results = [];
      const reports = [];
      let early = 0;
      const stopAfterFailure = options !== undefined && options.stopAfterFailure === true;
      let failed = false;
      for (const piece of plan) {
        if (piece.kind !== 'script') continue;
        // A stream ran (or skipped) this script already, by the same rules:
        // in order, each after the previous one ended.
        if (mode === 'enabled' && early < started.length && started[early].source === piece.source) {
          results.push(await started[early++].result);
          if (!results[results.length - 1].ok) failed = true;
          continue;
        }
        if (failed && stopAfterFailure && mode === 'enabled') {
          results.push(skipped());
          continue;
        }
        if (mode === 'dry-run') {
          const report = JSON.parse(await native.validateLater(piece.source));
          reports.push(report);
          results.push(report);
        } else if (mode === 'disabled') {
          results.push(await harness.run(piece.source, { mode: 'disabled' }));
        } else {
          results.push(await harness.run(piece.source, options));
        }
        if (mode === 'enabled' && !results[results.length - 1].ok) failed = true;
      }
      const out = JSON.parse(native.finishTurn(format, JSON.stringify(plan), JSON.stringify(results.map(reported)), mode === 'dry-run', maxReturnBytes));
      const turn = { items: out.items, continuation: out.continuation, scripts: mode === 'dry-run' ? [] : results, problems: out.problems };
      if (mode === 'dry-run') turn.reports = reports;
      return turn;
    }

    // A streamed turn: assembles the provider's events into the response
    // processResponse takes, and runs each script as soon as it closes.
    function createStream(harness, format, options, mode, maxReturnBytes) {
      const controller = new AbortController();
      const userSignal = options && options.signal;
      if (userSignal) {
        if (userSignal.aborted) controller.abort(userSignal.reason);
        else userSignal.addEventListener('abort', () => controller.abort(userSignal.reason), { once: true });
      }
      const runOptions = { ...(options ?? {}), signal: controller.signal };
      const stopAfterFailure = options !== undefined && options.stopAfterFailure === true;
      const detectors = new Map();
      const started = [];
      // Scripts of a turn run one after another, as in processResponse: each
      // starts when its closing tag has arrived and the previous one ended.
      // `goOn` settles false once one failed and the host asked to stop.
      let goOn = Promise.resolve(true);
      let ended = false;
      // Assembled state per format.
      const items = [];
      let finalOutput;
      const chat = { role: 'assistant', content: null, reasoning: null, toolCalls: [], refusal: null };
      const blocks = [];

      function feed(key, text, out) {
        let id = detectors.get(key);
        if (id === undefined) {
          id = native.detectorOpen();
          detectors.set(key, id);
        }
        release(JSON.parse(native.detectorPush(id, text)), out);
      }
      // A text part is complete (its block or the whole response ended):
      // what its detector held back (a trailing `<` that could have opened a
      // tag, an unclosed block) is decided now and released.
      function finish(key, out) {
        const id = detectors.get(key);
        if (id === undefined) return;
        detectors.delete(key);
        release(JSON.parse(native.detectorFinish(id)), out);
      }
      function finishAll(out) {
        for (const key of [...detectors.keys()]) finish(key, out);
      }
      function release(segments, out) {
        for (const seg of segments) {
          if (seg.type === 'script') {
            if (mode === 'enabled') {
              const result = goOn.then((go) => (go ? harness.run(seg.source, runOptions) : skipped()));
              goOn = result.then((r) => r.ok || !stopAfterFailure, () => false);
              // A run that rejects (the harness was closed) rejects end(),
              // not the process: it must not count as unhandled here.
              result.catch(() => {});
              started.push({ source: seg.source, result });
            }
          } else {
            out.push(seg.text);
          }
        }
      }
      const bad = (why) => typeError('event', why);
      // A tool_use input cut short (max_tokens) is not JSON: its text is
      // kept as `partial_json` (the call's arguments), never a throw.
      function assembleToolInput(b) {
        const { partial } = b;
        delete b.partial;
        if (!partial) {
          b.input ??= {};
          return;
        }
        try {
          b.input = JSON.parse(partial);
        } catch {
          b.input = {};
          b.partial_json = partial;
        }
      }

      function pushResponses(e, out) {
        if (typeof e.type !== 'string' || !e.type.startsWith('response.')) throw bad(`not a Responses API stream event: ${JSON.stringify(e.type)}`);
        switch (e.type) {
          case 'response.output_item.added':
          case 'response.output_item.done':
            items[e.output_index] = structuredClone(e.item);
            break;
          case 'response.content_part.added':
            if (items[e.output_index]) (items[e.output_index].content ??= [])[e.content_index] = structuredClone(e.part);
            break;
          case 'response.output_text.delta': {
            const part = items[e.output_index]?.content?.[e.content_index];
            if (part) part.text = (part.text ?? '') + e.delta;
            feed(`${e.output_index}:${e.content_index}`, e.delta, out);
            break;
          }
          case 'response.output_text.done':
          case 'response.content_part.done':
            finish(`${e.output_index}:${e.content_index}`, out);
            break;
          case 'response.completed':
          case 'response.incomplete':
          case 'response.failed':
            if (e.response && Array.isArray(e.response.output)) finalOutput = e.response.output;
            finishAll(out);
            break;
        }
      }
      function pushChat(e, out) {
        if (e.object !== 'chat.completion.chunk' || !Array.isArray(e.choices)) throw bad('not a chat.completion.chunk');
        const choice = e.choices[0];
        const delta = choice?.delta ?? {};
        if (typeof delta.content === 'string') {
          chat.content = (chat.content ?? '') + delta.content;
          feed('content', delta.content, out);
        }
        if (typeof delta.reasoning_content === 'string') chat.reasoning = (chat.reasoning ?? '') + delta.reasoning_content;
        if (typeof delta.refusal === 'string') chat.refusal = (chat.refusal ?? '') + delta.refusal;
        for (const tc of delta.tool_calls ?? []) {
          const call = (chat.toolCalls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
          if (tc.id) call.id = tc.id;
          if (tc.function?.name) call.function.name += tc.function.name;
          if (tc.function?.arguments) call.function.arguments += tc.function.arguments;
        }
        if (choice?.finish_reason) finish('content', out);
      }
      function pushMessages(e, out) {
        switch (e.type) {
          case 'message_start':
          case 'message_delta':
          case 'ping':
            return;
          case 'message_stop':
            finishAll(out);
            return;
          case 'content_block_start':
            blocks[e.index] = structuredClone(e.content_block);
            if (blocks[e.index].type === 'tool_use') blocks[e.index].partial = '';
            return;
          case 'content_block_delta': {
            const b = blocks[e.index];
            const d = e.delta ?? {};
            if (!b) throw bad(`content_block_delta for block ${e.index} before its start`);
            if (d.type === 'text_delta') {
              b.text = (b.text ?? '') + d.text;
              feed(`${e.index}`, d.text, out);
            } else if (d.type === 'thinking_delta') b.thinking = (b.thinking ?? '') + d.thinking;
            else if (d.type === 'signature_delta') b.signature = (b.signature ?? '') + d.signature;
            else if (d.type === 'input_json_delta') b.partial += d.partial_json;
            return;
          }
          case 'content_block_stop': {
            const b = blocks[e.index];
            if (b && b.type === 'tool_use') assembleToolInput(b);
            finish(`${e.index}`, out);
            return;
          }
          default:
            throw bad(`not a Messages API stream event: ${JSON.stringify(e.type)}`);
        }
      }

      return {
        push(event) {
          if (ended) throw new TypeError('push: the stream has ended');
          if (event === null || typeof event !== 'object') throw bad('must be an object');
          const out = [];
          if (format === 'responses') pushResponses(event, out);
          else if (format === 'chat') pushChat(event, out);
          else pushMessages(event, out);
          return out.join('');
        },
        async end() {
          if (!ended) {
            ended = true;
            finishAll([]);
          }
          let response;
          if (format === 'responses') response = finalOutput ?? items.filter((i) => i !== undefined);
          else if (format === 'chat') {
            response = { role: 'assistant', content: chat.content, refusal: chat.refusal };
            if (chat.reasoning !== null) response.reasoning_content = chat.reasoning;
            if (chat.toolCalls.length > 0) response.tool_calls = chat.toolCalls.filter(Boolean);
          } else {
            response = blocks.filter((b) => b !== undefined).map((b) => {
              if (b.type === 'tool_use' && 'partial' in b) assembleToolInput(b);
              return b;
            });
          }
          return finishTurn(harness, format, response, runOptions, mode, maxReturnBytes, started);
        },
        abort(reason) {
          controller.abort(reason);
        },
      };
    }

    return {
      // Run options checked here; a bad one becomes a rejected promise.
      prepareRun(options) {
        try {
          return normalizeRunOptions(options) ?? null;
        } catch (error) {
          return { error };
        }
      },
      reject(kind, message) {
        return Promise.reject(kind === 'type' ? new TypeError(message) : new Error(message));
      },
      rejectWith(error) {
        return Promise.reject(error);
      },
      // processResponse: plan the turn (Rust), run its scripts in order,
      // then build items and continuation (Rust).
      async processTurn(harness, format, response, options, defaultMode, maxReturnBytes) {
        checkFormat(format);
        if (response === null || typeof response !== 'object') throw typeError('response', 'must be a response object or array');
        if (options === null) options = undefined;
        checkTurnOptions(options); // a bad option throws here, before anything runs
        const mode = (options && options.mode) ?? defaultMode;
        return finishTurn(harness, format, response, options, mode, maxReturnBytes, []);
      },
      createStream(harness, format, options, defaultMode, maxReturnBytes) {
        checkFormat(format);
        if (options === null) options = undefined;
        checkTurnOptions(options);
        const mode = (options && options.mode) ?? defaultMode;
        return createStream(harness, format, options, mode, maxReturnBytes);
      },
      resolved(json) {
        return Promise.resolve(JSON.parse(json));
      },
      parsed(promise) {
        return promise.then((json) => JSON.parse(json));
      },
      begin(run, signal) {
        return new Promise((resolve) => {
          const entry = { resolve, signal, onAbort: undefined, cancelled: false, cancelReason: undefined };
          runs.set(run, entry);
          if (signal != null) {
            entry.onAbort = () => {
              entry.cancelled = true;
              entry.cancelReason = signal.reason;
              native.cancel(run, reasonText(signal.reason));
            };
            if (signal.aborted) entry.onAbort();
            else signal.addEventListener('abort', entry.onAbort, { once: true });
          }
        });
      },
      // Messages from the sandbox threads, in order.
      dispatch(batch) {
        for (const m of JSON.parse(batch)) {
          // One message that fails (host code that throws where it should
          // not) must not drop the rest of the batch: other calls, other
          // runs' results.
          try {
            switch (m.t) {
              case 'call': startCall(m); break;
              case 'abort': abortCall(m); break;
              case 'event': emit(m.event); break;
              case 'done': finish(m); break;
            }
          } catch (e) {
            if (m.t === 'call') failCall(m, e);
          }
        }
      },
      stats(engineJson) {
        const e = JSON.parse(engineJson);
        return {
          workers: e.workers,
          activeScripts: e.activeScripts,
          scriptsFinished: e.scriptsFinished,
          pendingToolCalls: calls.size,
          sandboxHeapBytes: e.sandboxHeapBytes,
          workerRestarts: e.workerRestarts,
          threadsParked: e.threadsParked,
          realmsBuilt: e.realmsBuilt,
          realmsReused: e.realmsReused,
        };
      },
      // Resolves once every run has settled.
      settled() {
        return Promise.all([...runs.values()].map((r) => new Promise((res) => {
          const inner = r.resolve;
          r.resolve = (v) => { inner(v); res(); };
        }))).then(() => undefined);
      },
    };
  }

  return { normalizeOptions, normalizeRunOptions, createBridge };
})()
