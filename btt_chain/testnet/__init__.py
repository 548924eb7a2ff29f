"""The testnet runner: a manifest of nodes, each `btt-chain node` in its own Linux network namespace on one
bridge, a load generator, a perturbation schedule (kill, pause, disconnect, partition, restart, clock), and
checks at the end (one finalized chain, finality through every perturbation, no slashing of honest validators,
the issuance invariant, every accepted transfer included once or reported dropped, CPU and memory; for a partition
timed to an epoch boundary, that the fork race happened and finality came back within the manifest's bound).

Modules: manifest (TOML parsing, clear errors), netns (bridge, veth pairs, namespaces, routes; cleanup by
prefix, a reaper process for a killed runner), perturbations (the schedule as timed actions), load (transfers
over `author_submitAndWatchExtrinsic`), checks (pure functions over what was observed), report (text),
runner (processes, sampling, the run itself).
"""
