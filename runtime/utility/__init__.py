"""Module `utility` (FRAME's `pallet_utility`): several calls in one extrinsic, dispatched from the caller's origin.

- `batch(calls)` runs them in order and stops at the first that fails: `BatchInterrupted {index, error}`; the calls
  before it stay done. Else `BatchCompleted`. The extrinsic itself succeeds either way.
- `batch_all(calls)` is atomic: if one fails, the extrinsic fails with that call's error and nothing of any of them
  is kept (the fee is charged, as for any failed extrinsic).
- `force_batch(calls)` runs every one: `ItemFailed {error}` for each that fails (its own writes undone), then
  `BatchCompletedWithErrors` or `BatchCompleted`.

Each call that succeeds emits `ItemCompleted`. Call and event indices are FRAME's (batch 0, batch_all 2, force_batch
4; as_derivative 1 and dispatch_as 3 are not offered). A batch weighs the sum of its calls' weights plus its own and a
per-call overhead (`calls.py`), so it pays for its calls as if sent one by one; each call is weighed again on the
state it meets before it runs and fails (`CallWeightExceeded`) where that is more than what is left of what the batch
paid for, so a batch never does more work than its weight. At most `utility.max_calls` calls (a parameter); batches
nest no deeper than `btt_chain.primitives.extrinsic.MAX_CALL_DEPTH` (the decoder refuses deeper ones, for free).

Every call runs with the batch's origin, under the filters of any proxy around it (`nested.py`): a call its origin
may not make (an inherent, a governance call from a signed account) fails as it would alone. A call inside a batch
sees no extrinsic fee of its own (`CallContext.fee` is 0), so nothing that reimburses a fee (compute's output
postings) pays it back once per call.
"""
