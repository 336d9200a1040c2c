// Promise.withResolvers arrived in Node 22; aws-local-stepfunctions relies on it.
// Imported before the interpreter by every local run (tests, simulate, bench).
const PromiseWithResolvers = Promise as unknown as { withResolvers?: unknown };
if (typeof PromiseWithResolvers.withResolvers !== 'function') {
  PromiseWithResolvers.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
export {};
