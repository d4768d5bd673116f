// What reaches the model, the approver and events from a value the host
// threw or gave as a reason: built from data only (an Error's own message,
// a string, a redacted rendering), never by running a getter, toJSON or
// toString of the host's, and never a function's source.

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|auth|credential|cookie|private[-_]?key/i
const MAX_MESSAGE_CHARS = 8192
const MAX_RENDERING_CHARS = 1024
/** A `cause` chain is summarised this deep, and at most this many AggregateError members. */
const MAX_DETAIL_DEPTH = 3
const MAX_DETAIL_ERRORS = 10

const objectTag = Object.prototype.toString

/** `TypeError: <field>: <message>`, the shape of every misuse error. */
export function typeError(field: string, message: string): TypeError {
  return new TypeError(`${field}: ${message}`)
}

export function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function isError(e: unknown): e is Error {
  return e instanceof Error || objectTag.call(e) === '[object Error]'
}

/** What a handler threw, as the script's error message. */
export function messageOf(e: unknown): string {
  try {
    if (isError(e)) {
      // Only a message that is text is shown as the handler's words; no
      // getter or toString of the host's runs.
      const d = Object.getOwnPropertyDescriptor(e, 'message')
      if (d === undefined) return ''
      if ('value' in d && typeof d.value === 'string') return cut(d.value, MAX_MESSAGE_CHARS)
      return `the tool threw an Error whose message is not text: ${'value' in d ? render(d.value) : '[Getter]'}`
    }
    if (typeof e === 'string') return cut(e, MAX_MESSAGE_CHARS)
    const what =
      e === null ? 'null'
      : Array.isArray(e) ? 'an array'
      : typeof e === 'object' ? 'an object'
      : typeof e === 'undefined' ? 'undefined'
      : `a ${typeof e}`
    const head = `the tool threw ${what} (not an Error)`
    if (e === null || e === undefined || typeof e === 'function') return head
    return `${head}: ${render(e)}`
  } catch {
    return 'the tool threw a value that cannot be shown'
  }
}

/** A data property of `o` or its prototypes (no getter runs); undefined otherwise. */
function dataOf(o: object, key: string): unknown {
  for (let p: object | null = o, hops = 0; p !== null && hops < 8; p = Object.getPrototypeOf(p), hops++) {
    const d = Object.getOwnPropertyDescriptor(p, key)
    if (d !== undefined) return 'value' in d ? d.value : undefined
  }
  return undefined
}

/** What the script sees of a thrown error besides its message. */
interface ErrorSummary {
  name?: string
  message: string
  code?: string | number
  status?: number
  cause?: ErrorSummary
  errors?: ErrorSummary[]
}

// A JSON-safe summary built from data properties only: `name`, `message`,
// `code` (`ENOENT`), `status` (an HTTP status), a `cause` chain and
// AggregateError members. Anything else of the error stays on the host: its
// other fields may hold what the script must not see.
function summary(e: unknown, depth: number): ErrorSummary {
  if (!isError(e)) return { message: messageOf(e) }
  const out: ErrorSummary = { message: '' }
  const name = dataOf(e, 'name')
  if (typeof name === 'string') out.name = cut(name, 200)
  out.message = messageOf(e)
  const code = Object.getOwnPropertyDescriptor(e, 'code')
  if (code !== undefined && typeof code.value === 'string') out.code = cut(code.value, 200)
  else if (code !== undefined && Number.isFinite(code.value)) out.code = code.value as number
  for (const key of ['status', 'statusCode']) {
    const d = Object.getOwnPropertyDescriptor(e, key)
    if (d !== undefined && Number.isInteger(d.value)) {
      out.status = d.value as number
      break
    }
  }
  const cause = Object.getOwnPropertyDescriptor(e, 'cause')
  if (cause !== undefined && 'value' in cause && cause.value !== undefined && depth < MAX_DETAIL_DEPTH) {
    out.cause = summary(cause.value, depth + 1)
  }
  const errors = Object.getOwnPropertyDescriptor(e, 'errors')
  if (errors !== undefined && Array.isArray(errors.value) && depth < MAX_DETAIL_DEPTH) {
    out.errors = (errors.value as unknown[]).slice(0, MAX_DETAIL_ERRORS).map((x) => summary(x, depth + 1))
  }
  return out
}

/** The summary as JSON for the engine, or undefined when it says nothing the message does not. */
export function detailsOf(e: unknown): string | undefined {
  try {
    const s = summary(e, 0)
    if (s.name === undefined && s.code === undefined && s.status === undefined && s.cause === undefined && s.errors === undefined) {
      return undefined
    }
    return JSON.stringify(s)
  } catch {
    return undefined
  }
}

/**
 * A rendering of a value built from its data alone: own enumerable data
 * properties (no getter or toJSON of the host runs), values under
 * secret-looking keys redacted, functions and symbols named, cycles and
 * depth cut, at most MAX_RENDERING_CHARS long.
 */
export function render(root: unknown): string {
  let out = ''
  const seen = new Set<object>()
  const walk = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case 'string': out += JSON.stringify(cut(v, 256)); return
      case 'number': case 'boolean': out += String(v); return
      case 'bigint': out += `${v}n`; return
      case 'undefined': out += 'undefined'; return
      case 'function': out += '[Function]'; return
      case 'symbol': out += `[${String(v)}]`; return
    }
    if (v === null) { out += 'null'; return }
    const o = v as object
    if (seen.has(o) || depth > 8) { out += '[…]'; return }
    seen.add(o)
    const array = Array.isArray(o)
    out += array ? '[' : '{'
    let first = true
    for (const key of Reflect.ownKeys(o)) {
      if (out.length > MAX_RENDERING_CHARS) break
      const d = typeof key === 'string' ? Object.getOwnPropertyDescriptor(o, key) : undefined
      if (d === undefined || !d.enumerable) continue
      if (!first) out += ','
      first = false
      if (!array) out += `${JSON.stringify(key)}:`
      if (SECRET_KEY.test(key as string)) out += '"[redacted]"'
      else if (!('value' in d)) out += '[Getter]'
      else walk(d.value, depth + 1)
    }
    out += array ? ']' : '}'
    seen.delete(o)
  }
  walk(root, 0)
  return cut(out, MAX_RENDERING_CHARS)
}

/** An abort reason as the script's error and events show it: an Error's (or DOMException's) message, a string, or a rendering of anything else. */
export function reasonText(r: unknown): string {
  try {
    if (r === undefined) return ''
    if (typeof r === 'string') return cut(r, MAX_MESSAGE_CHARS)
    const tag = objectTag.call(r)
    // What abort() without a reason gives: no reason to tell.
    if (tag === '[object DOMException]' && (r as DOMException).name === 'AbortError') return ''
    // A DOMException's message is an accessor of its prototype, which
    // messageOf does not read; the reason is the host's own value.
    if (tag === '[object DOMException]') {
      const m = (r as DOMException).message
      return typeof m === 'string' ? cut(m, MAX_MESSAGE_CHARS) : ''
    }
    if (isError(r)) return messageOf(r)
    return render(r)
  } catch {
    return 'a reason that cannot be shown'
  }
}

/** Standard Schema issues as the script reads them: `/path: message`, at most five. */
export function issuesText(issues: readonly unknown[]): string {
  const shown = issues.slice(0, 5).map((issue) => {
    let where = ''
    let message = 'invalid'
    // The issues are the schema library's objects: read defensively.
    try {
      const { path, message: m } = issue as { path?: Iterable<unknown>; message?: unknown }
      for (const p of path ?? []) {
        const k = p !== null && typeof p === 'object' ? (p as { key: unknown }).key : p
        where += `/${String(k)}`
      }
      if (typeof m === 'string') message = cut(m, 500)
    } catch {}
    return `${where || '(the argument object)'}: ${message}`
  })
  if (issues.length > 5) shown.push(`and ${issues.length - 5} more`)
  return shown.join('; ')
}
