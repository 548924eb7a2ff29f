"use strict";
// The project's one handler (what `subql build` makes of a TypeScript mapping, minus the TypeScript): a BlockHandler
// that stores every event of the block (`block.events`, in order) with the block's number, hash and timestamp, the
// event's phase and extrinsic index and its section.method. `store` is the sandbox's global.
//
// Why a BlockHandler and not an EventHandler: @subql/node 6.4.6 hands an EventHandler the events of each extrinsic by
// `evt.extrinsic?.idx` (dist/indexer/indexer.manager.js, indexBlockData), which is falsy for extrinsic 0, so the
// events of extrinsic 0 (on FRAME chains the timestamp.set inherent) never reach an EventHandler, on any chain.
async function handleBlock(block) {
    const header = block.block.header;
    const number = header.number.toNumber();
    const blockHash = header.hash.toHex();
    const blockTimestamp = block.timestamp ? BigInt(block.timestamp.getTime()) : null;
    for (const [idx, record] of block.events.entries()) {
        const phase = record.phase;
        await store.set("IndexedEvent", `${number}-${idx}`, {
            id: `${number}-${idx}`,
            blockNumber: number,
            blockHash,
            blockTimestamp,
            eventIndex: idx,
            phase: phase.type,
            extrinsicIndex: phase.isApplyExtrinsic ? phase.asApplyExtrinsic.toNumber() : null,
            name: `${record.event.section}.${record.event.method}`,
        });
    }
}
exports.handleBlock = handleBlock;
