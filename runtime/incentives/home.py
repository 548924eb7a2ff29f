"""A patient's home oracle: the oracle whose group its new redemption requests join (`redemption.py` shares the
request table and the epoch's budget per group). The rule (issue 52, finding 5: the home was the oracle of the first
attestation, never moved, so a corrupt oracle that attested honest patients first held them in its group for good):

1. Every attestation adds its points to what its oracle has attested the patient in all (`storage.attested`).
2. The first attestation makes its oracle the patient's home. A later one moves the home to its oracle when that
   oracle has now attested the patient strictly more points than the home has (a tie keeps the home): the home is
   always an oracle that attested the patient the most.
3. The patient may choose its home among the oracles that have attested it and are oracles now
   (`incentives.choose_oracle`); once it has chosen, no attestation moves its home (it may choose again).
4. A request already in the epoch's table stays in the group it was filed in; a move applies from the patient's
   next new request. (Moving a row would let a patient carry it into a group a full table would not admit.)

So capture is paid for and undone: to pull an honest patient into its group a corrupt oracle must attest it more
points than its own clinic has, points the patient keeps and that count against the oracle's epoch cap
(`incentives.oracle_points_per_epoch`), and the patient's choice takes it back for good. Each step is a fixed number
of reads and writes: the home's total is read from `attested`, never summed over attestations.
"""

from __future__ import annotations

from runtime.context import CallContext
from runtime.overlay import Overlay

from ..incentives import errors, events, storage
from ..incentives.types import ACTIVITIES
from ..roles import logic as roles


def get_attested(state: Overlay, patient: bytes, oracle: bytes) -> int:
    """Points `oracle` has attested `patient`, over all its attestations."""
    return storage.attested.get(state, (patient, oracle))


def is_home_chosen(state: Overlay, patient: bytes) -> bool:
    """Whether `patient` chose its home oracle (then no attestation moves it)."""
    return storage.home_chosen.contains(state, patient)


def is_any_oracle(state: Overlay, who: bytes) -> bool:
    """Whether `who` is a health oracle of some activity now."""
    return any(roles.is_oracle(state, activity, who) for activity in ACTIVITIES)


def credit(ctx: CallContext, patient: bytes, oracle: bytes, points: int) -> None:
    """Count `points` more attested by `oracle` to `patient`, and move the patient's home to `oracle` if it now has
    attested strictly more than the home has (rules 1 and 2), unless the patient chose its home."""
    state = ctx.state
    total = storage.attested.get(state, (patient, oracle)) + points
    storage.attested.put(state, (patient, oracle), total)
    home = storage.home_oracle.get(state, patient)
    if home is None:
        storage.home_oracle.put(state, patient, oracle)
    elif (home != oracle and total > storage.attested.get(state, (patient, home))
          and not storage.home_chosen.contains(state, patient)):
        storage.home_oracle.put(state, patient, oracle)
        ctx.emit(events.HomeOracleMoved(patient, home, oracle, total))


def choose(ctx: CallContext, patient: bytes, oracle: bytes) -> None:
    """`patient` makes `oracle` its home for good (rule 3).

    Refused: an account no oracle has attested, an account that is not an oracle of any activity now, an oracle that
    has not attested the patient."""
    state = ctx.state
    home = storage.home_oracle.get(state, patient)
    if home is None:
        raise errors.NotPatient("no oracle has attested this account")
    if not is_any_oracle(state, oracle):
        raise errors.UnknownOracle(f"0x{oracle.hex()} is not an oracle of any activity")
    if storage.attested.get(state, (patient, oracle)) == 0:
        raise errors.NotAttestedBy(f"oracle 0x{oracle.hex()} has not attested you; your home oracle is "
                                   f"0x{home.hex()}")
    storage.home_oracle.put(state, patient, oracle)
    storage.home_chosen.put(state, patient, True)
    ctx.emit(events.HomeOracleChosen(patient, home, oracle))
