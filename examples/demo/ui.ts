// The demo's terminal output: streamed model text and event lines that do
// not run into each other, colors only on a terminal, and output held back
// while an approval question waits for an answer.

type Paint = (s: string) => string

export interface Palette {
  dim: Paint
  bold: Paint
  red: Paint
  green: Paint
  yellow: Paint
  cyan: Paint
  magenta: Paint
}

function palette(enabled: boolean): Palette {
  const sgr = (open: number, close: number): Paint => (enabled ? (s) => `\x1b[${open}m${s}\x1b[${close}m` : (s) => s)
  return { dim: sgr(2, 22), bold: sgr(1, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), magenta: sgr(35, 39) }
}

export class Terminal {
  readonly c: Palette
  /** Newlines at the end of what was emitted so far (1: at a line start, 2: after a blank line). */
  private newlines = 1
  /** While an approval question is open, everything else waits here. */
  private held: string[] | null = null
  /** Printed where the model's text starts, and again where it resumes after event lines. */
  private speaker = ''
  /** The word being streamed: shown once it is complete, so event lines never split a word. */
  private partial = ''
  /** Other lines were printed since the last model text. */
  private resumed = true

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.c = palette(Boolean(out.isTTY) && !process.env.NO_COLOR)
  }

  /** Starts a stretch of model text, introduced by `speaker`. */
  startText(speaker: string): void {
    this.speaker = speaker
    this.resumed = true
  }

  /** Model text as it streams. */
  text(s: string): void {
    this.partial += s
    const cut = Math.max(this.partial.lastIndexOf(' '), this.partial.lastIndexOf('\n')) + 1
    if (cut === 0) return
    this.showText(this.partial.slice(0, cut))
    this.partial = this.partial.slice(cut)
  }

  /** Ends the model's text: shows the last word and ends the line. */
  endText(): void {
    this.showText(this.partial)
    this.partial = ''
    if (this.newlines === 0) this.emit('\n')
  }

  /** A whole line of its own: starts on a fresh line even in the middle of streamed text. */
  line(s = ''): void {
    this.emit((this.newlines > 0 ? '' : '\n') + s + '\n')
    this.resumed = true
  }

  /** Holds every other output until `release()`; what `direct` writes still goes out. */
  hold(): void {
    this.held ??= []
  }

  release(): void {
    const held = this.held
    this.held = null
    for (const s of held ?? []) this.out.write(s)
  }

  /** Writes now, even while held: the approval question itself. */
  direct(s: string): void {
    this.out.write(s)
  }

  /**
   * At most one blank line in a row (a script held back leaves several), and
   * text resuming after event lines starts with the speaker again.
   */
  private showText(s: string): void {
    if (this.resumed) {
      s = s.replace(/^\n+/, '')
      if (!s) return
      this.emit(this.speaker)
      this.resumed = false
    }
    let out = ''
    let newlines = this.newlines
    for (const ch of s) {
      if (ch === '\n') {
        if (newlines >= 2) continue
        newlines++
      } else if (ch !== '\r') newlines = 0
      out += ch
    }
    if (out) this.emit(out)
  }

  /** In output order whether held or not, so `newlines` follows what the reader will see. */
  private emit(s: string): void {
    const trailing = s.length - s.replace(/\n+$/, '').length
    this.newlines = trailing === s.length ? this.newlines + trailing : trailing
    if (this.held) this.held.push(s)
    else this.out.write(s)
  }
}

/** One line of JSON, cut to `max` characters. */
export function brief(value: unknown, max = 160): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined'
  const flat = s.replace(/\s*\n\s*/g, ' ⏎ ')
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}
