// What the scripts driving @polkadot/api share: a bound on each wait, and the client's own warnings collected.
import { ApiPromise, WsProvider } from "@polkadot/api";
import { cryptoWaitReady } from "@polkadot/util-crypto";

// `promise`, or an error naming `what` after `ms` milliseconds (a guard against a hang, not a measure)
export function withTimeout(promise, ms, what) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

// Every console.warn and console.error from here on, as "level: text" lines, still printed as well: polkadot.js
// reports what it could not decode there, so a test asserts on them.
export function collectWarnings() {
  const warnings = [];
  for (const level of ["warn", "error"]) {
    const original = console[level];
    console[level] = (...args) => { warnings.push(`${level}: ${args.map(String).join(" ")}`); original(...args); };
  }
  return warnings;
}

// An ApiPromise connected to `url` once the crypto is ready, with polkadot.js's start-up warnings on.
export async function connect(url) {
  await cryptoWaitReady();
  return withTimeout(ApiPromise.create({ provider: new WsProvider(url), noInitWarn: false }), 60000, "ApiPromise.create");
}
