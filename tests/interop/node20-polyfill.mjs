// Fills two gaps of Node 20 that @moq/net 0.3.4 relies on; a no-op on Node >= 22.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = () => {
    let resolve, reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
if (typeof Set.prototype.difference !== "function") {
  Object.defineProperty(Set.prototype, "difference", {
    value(other) {
      const out = new Set();
      for (const v of this) if (!other.has(v)) out.add(v);
      return out;
    },
    writable: true,
    configurable: true,
  });
}
