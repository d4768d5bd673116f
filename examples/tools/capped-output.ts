// Output of a command, kept to a fixed size: the head and the tail survive
// (the start says what ran, the end holds the summary and the error), the
// middle is replaced by a marker that says how much was cut.

export class CappedOutput {
  private head: Buffer[] = []
  private headBytes = 0
  private tail: Buffer = Buffer.alloc(0)
  private total = 0

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length
    const headRoom = Math.ceil(this.maxBytes / 2) - this.headBytes
    if (headRoom > 0) {
      const part = chunk.subarray(0, headRoom)
      this.head.push(part)
      this.headBytes += part.length
      chunk = chunk.subarray(part.length)
    }
    if (chunk.length === 0) return
    // Keep only the last half: concatenating and slicing per chunk is cheap
    // at these sizes (64 KiB) and keeps the code obvious.
    const keep = Math.floor(this.maxBytes / 2)
    this.tail = Buffer.concat([this.tail, chunk])
    if (this.tail.length > keep) this.tail = this.tail.subarray(this.tail.length - keep)
  }

  /** Bytes received, whether kept or not. */
  get totalBytes(): number {
    return this.total
  }

  toString(): string {
    const head = Buffer.concat(this.head).toString('utf8')
    const cut = this.total - this.headBytes - this.tail.length
    if (cut <= 0) return head + this.tail.toString('utf8')
    return `${head}\n[… ${cut} bytes of output cut (${this.total} in all, ${this.maxBytes} kept) …]\n${this.tail.toString('utf8')}`
  }
}
