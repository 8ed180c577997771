// Node 20 lacks Promise.withResolvers (added in Node 22) and the js-libp2p 3.x
// stack calls it on start/stop. Load this before libp2p:
//   node --import ./polyfill.mjs script.mjs
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}
