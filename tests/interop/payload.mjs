// The deterministic frame payload shared by pub.mjs and sub.mjs.
export function framePayload(group, frame, size) {
  const head = new TextEncoder().encode(`g${group}f${frame}:`);
  const out = new Uint8Array(Math.max(size, head.length));
  out.set(head);
  for (let i = head.length; i < out.length; i++) out[i] = (group * 31 + frame * 7 + i) & 0xff;
  return out;
}

export function checkPayload(payload) {
  const text = new TextDecoder().decode(payload.slice(0, 32));
  const m = /^g(\d+)f(\d+):/.exec(text);
  if (!m) return null;
  const expect = framePayload(Number(m[1]), Number(m[2]), payload.length);
  if (expect.length !== payload.length) return null;
  for (let i = 0; i < expect.length; i++) if (expect[i] !== payload[i]) return null;
  return { group: Number(m[1]), frame: Number(m[2]) };
}
