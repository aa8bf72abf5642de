/** Unsigned varints (LEB128), the length prefix of every agentmesh message. */

/** Bytes the varint of `n` takes. */
export function varintLength(n: number): number {
  let bytes = 1
  for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++
  return bytes
}

/** Write the varint of `n` into `target` at `at`; returns the offset after it. */
export function writeVarint(target: Uint8Array, at: number, n: number): number {
  let rest = n
  let i = at
  while (rest >= 0x80) {
    target[i++] = (rest % 0x80) | 0x80
    rest = Math.floor(rest / 0x80)
  }
  target[i++] = rest
  return i
}
