"""Module `multisig`: M-of-N accounts without a key. Signatories approve one encoded call; when the
threshold is reached the call runs with the multisig account as its signed origin.

The multisig account is derived from the threshold and the sorted signatories
(`btt_chain.primitives.accounts.multisig_account`), so anyone approving with a different signatory list
or threshold approves for a different account. The first approver reserves a deposit, returned when the
call runs (whatever its outcome) or when that approver cancels.

Nesting: a multisig may itself be a signatory of another multisig (the executed call is then
`multisig.approve` for the outer one), but only one level deep: a multisig call executed from inside a
multisig execution may not execute a further multisig call (NestingTooDeep), so dispatch never recurses
without bound.
"""
