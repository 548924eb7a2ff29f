"""The compute module's start-of-block work, weighed and bounded (spec 19).

Under spec 18 the hook did everything that had fallen due, charged nothing to the block, and had no bound but the
market's own: after an outage, or with `compute.max_open_jobs` at its governance bound, one block's start could close
100,000 jobs and end hundreds of thousands of places (~7 s for the expiries alone, `btt-chain bench hooks`), more
than a slot. Now, as FRAME's `on_initialize` returns the weight it used and its scheduler carries an overfull agenda
to the next block:

- every item a step handles is charged its weight (below, from `btt-chain bench hooks`), and the hook's weight is
  charged to the block before any extrinsic (`CallContext.initialize_weight`): a block whose start did much work
  carries fewer transactions, so its whole import stays within `block.max_weight`;
- the hook takes at most `compute.hook_max_weight` a block. The due steps run in their order; each handles its due
  items in time order while the budget lasts, and once one stops short, no later step handles anything in that block:
  the rest waits, in time order, for the next block's start. At least one item is handled each block, however heavy.
- while due work waits (`backlog`), the compute module's calls from accounts are refused (`paused`: at the pool's
  door and in a block, costing nothing; nested in a batch or a proxy, failing as a call), but for a party's
  obligations (`OBLIGATIONS`: commits, reveals, outputs, a clinic's sealed inputs and decoys), which check their own
  times: so no call acts on a job past its deadline still open, a window closed but not yet acted on, or a late-reveal
  or challenge time over but not yet settled, and nobody misses a window because the chain was catching up.
  Governance's calls go through (a referendum may raise the budget). The event `WorkCarried` says when work waits and
  how much the block did.

The epoch's credits are the first due step: the credits that matured are moved into the epoch's distribution as far as
the budget goes, and the distribution runs in the block that moved the last of them (it is charged for every provider
it pays, whatever the budget has left: its split needs every claim at once). The draw (`assignment.assign_queued`)
takes what budget is left too; jobs it does not reach wait in the queue as they always could, so its stopping short
pauses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import U8
from runtime.context import Origin
from runtime.overlay import Overlay

from ..compute import errors
from ..items import StorageValue

# What each item costs, in weight units (1 us of import on the reference host, as every weight): the highest figures
# of `btt-chain bench hooks` on 2026-11-28 (the fastest of 3, at 64 to 1,024 items, runs an hour apart), rounded up by
# a third or more, or, where the bench does not reach a step, the step it costs most like, said beside it.
QUEUE_READ = 2
"""A queued job the draw reads (every block while jobs wait): ~1 us."""
PROVIDER_READ = 4
"""A registered provider read: the draw's pool of eligible providers, an unserved job's search for one able to serve
it (like a queued job read with its provider record decoded)."""
EXPIRE_JOB = 100
"""A job closed at its deadline, refunded (its unserved check beside it): 54-72 us."""
EXPIRE_PLACE = 160
"""Each open place of a job closed at its deadline (its mark, fee and pause, `outage.missed`): as a stall."""
DRAW_PLACE = 110
"""A place drawn: 65-84 us."""
STALL_PLACE = 160
"""A place whose commit window closed: 94-118 us."""
REVEAL_MISSED = 340
"""A place whose reveal window closed (its fee and pause, the job closed or not, the place posted again): 186-272 us."""
UNSERVED_CHECK = 100
"""An unserved-job check (the job read, closed and refunded or watched again): as an expiry; plus `PROVIDER_READ`
for each provider it reads."""
LATE_CLOSE = 140
"""A late-reveal time ended (the withholding slash, the place settled): 96-102 us."""
WINDOW_CLOSE = 180
"""A challenge window closed (the place paid, its escrow split, its credit pending; or slashed for outputs withheld, or
voided): 134 us."""
SAMPLE_FIX = 100
"""A commit's sample fixed (the job written, the reveal indexed): as an expiry."""
MATURE_CREDIT = 30
"""A verified place's work credit matured at an epoch's start (into the epoch's distribution and the provider's
history): 10-21 us; plus `HISTORY_BUCKET` for each epoch of its provider's history the first time the block reads it."""
HISTORY_BUCKET = 3
"""An epoch of a provider's credit history read and written again (up to `consensus.work_window_epochs` of them, 720
on btt-21m): 1.3 us at 64 providers, 2.4 us at 1,000 in one block (the buckets' objects weigh on the collector)."""
REWARD_CLAIM = 25
"""A provider credited in the epoch, paid its mining reward at the epoch's start (charged, never carried: the split
needs every claim at once; the claims are bounded by the providers registered, each with a bond): 16 us."""

STEPS = ("credits", "expiries", "unserved checks", "commit windows", "reveal windows", "late reveals",
         "challenge windows")
"""The due steps, in the order they run: work waiting in any of them pauses the module's calls (`backlog`)."""

BACKLOG_DOC = ("Absent when the last block's start handled all that was due; else 1 + the index of the due step it "
               "stopped in (0 the epoch's credits, 1 expiries, 2 unserved checks, 3 commit windows, 4 reveal windows, "
               "5 late reveals, 6 challenge windows): the module's calls from accounts, but a party's obligations, "
               "wait until it is gone (spec 19).")
backlog: StorageValue[int] = StorageValue("compute", "hook_backlog", U8, default=0, doc=BACKLOG_DOC)


@dataclass
class HookBudget:
    """The weight one block's start may still use. `take` charges an item before it is handled; once an item does
    not fit, nothing more does in that block (`short`), so the steps after it wait whole."""

    limit: int
    used: int = 0
    short: bool = False

    def take(self, weight: int) -> bool:
        """Charge `weight` if it fits (the block's first item always does); False, from now on, once one did not."""
        if self.short:
            return False
        if self.used and self.used + weight > self.limit:
            self.short = True
            return False
        self.used += weight
        return True

    def charge(self, weight: int) -> None:
        """Charge work already done whatever the budget (reads whose number is known only after them)."""
        self.used += weight

    def room(self, each: int) -> int:
        """How many items of `each` fit in what is left (at least one in a block that has done nothing)."""
        if self.short:
            return 0
        if not self.used:
            return max(1, self.limit // max(each, 1))
        return max(0, (self.limit - self.used) // max(each, 1))


OBLIGATIONS = frozenset({"commit_result", "reveal_result", "reveal_private_result", "post_outputs",
                         "submit_sealed_inputs", "flag_items", "reveal_decoys"})
"""The calls a party owes by a time, with a fee or a slash if it misses it: taken while work waits, so that the chain's
catching up never makes a provider or a clinic miss a window. Each checks its own times (the job's deadline in
`jobs.get_open_job`, the commit window, the reveal window and the late-reveal time in `verify`, the outputs' due time in
`outputs`, the sealing and decoy windows in `private`), so none acts on work a block's start has yet to end."""


def paused(state: Overlay, origin: Origin, call: str) -> None:
    """Refuse an account's compute call, other than an obligation (`OBLIGATIONS`), while work the start of the last
    block found due still waits for a later block's (`backlog`)."""
    if origin.kind != "signed" or call in OBLIGATIONS:
        return
    step = backlog.get(state)
    if step:
        raise errors.CatchingUp(
            f"the compute market is catching up: work that fell due ({STEPS[step - 1]} and what follows them) waits "
            "for the next block's start (compute.hook_max_weight); submit again in a block or two")
