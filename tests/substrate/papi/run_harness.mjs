// What every polkadot-api script here shares: one JSON line of findings printed at the end (`out`), a failure that
// ends the run with its stack, polkadot-api's own console warnings and errors treated as failures, and timeouts
// scaled by BTT_TEST_TIMEOUT_SCALE.
export const scale = Number(process.env.BTT_TEST_TIMEOUT_SCALE || "1") || 1;

export const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));

export function runHarness(out) {
  function finish(code) {
    console.log(json(out));
    process.exit(code);
  }

  function fail(error) {
    out.failure = String((error && error.stack) || error);
    finish(1);
  }

  // polkadot-api reports what goes wrong inside its clients (a failed RPC call, a retry) with console.warn/error,
  // and keeps retrying: the first such line is where the client stopped, so it ends the run at once
  for (const level of ["warn", "error"]) {
    const original = console[level];
    console[level] = (...args) => {
      const line = args.map((a) => (a && a.stack) || String(a)).join(" ");
      out.warnings.push(`${level}: ${line}`);
      original(...args);
      fail(new Error(`polkadot-api logged (${level}) during "${out.steps.at(-1)}": ${line.split("\n")[0]}`));
    };
  }

  function withTimeout(promise, seconds, what) {
    const ms = seconds * 1000 * scale;
    let timer;
    return Promise.race([
      promise.finally(() => clearTimeout(timer)),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms); }),
    ]);
  }

  return { finish, fail, withTimeout };
}
