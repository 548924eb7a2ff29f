"""The compute provider (`btt-chain miner`) and the demo clinic: off-chain workers that talk to a node over
JSON-RPC. `engine` computes results and openings (no network), `store` keeps them on disk, `rpc_loop` and
`clinic` drive them against a node, `demo` runs both beside a dev node (`--demo-economy`)."""
