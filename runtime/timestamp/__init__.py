"""The timestamp module (FRAME's `pallet_timestamp`): each block's first extrinsic is the author's unsigned
`timestamp.set(now)` inherent, `now` the start of the block's slot, kept as `Timestamp.Now`."""
