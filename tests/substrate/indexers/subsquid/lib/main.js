"use strict";
// A minimal squid: every event of every block from BTT_FROM_BLOCK on, with its block's number, hash and timestamp,
// its phase and extrinsic index and its name, stored by the TypeORM store in PostgreSQL (DB_* variables, as every
// squid is configured). The node is reached over its WebSocket RPC (BTT_RPC_URL); there is no Subsquid gateway
// for a new chain, so the processor reads everything from the node.
const { SubstrateBatchProcessor } = require("@subsquid/substrate-processor");
const { TypeormDatabase } = require("@subsquid/typeorm-store");
const { IndexedEvent } = require("./model/indexedEvent");

const processor = new SubstrateBatchProcessor()
    .setRpcEndpoint({ url: process.env.BTT_RPC_URL, rateLimit: 200 })
    .setRpcDataIngestionSettings({ headPollInterval: 1000 })
    .setBlockRange({ from: Number(process.env.BTT_FROM_BLOCK || "0") })
    .setFields({
        block: { timestamp: true },
        event: { name: true, phase: true },
    })
    .addEvent({ extrinsic: true });

processor.run(new TypeormDatabase({ supportHotBlocks: false }), async (ctx) => {
    const rows = [];
    for (const block of ctx.blocks) {
        for (const event of block.events) {
            rows.push(new IndexedEvent({
                id: event.id,
                blockNumber: block.header.height,
                blockHash: block.header.hash,
                blockTimestamp: block.header.timestamp == null ? null : block.header.timestamp,
                eventIndex: event.index,
                phase: event.phase,
                extrinsicIndex: event.extrinsicIndex == null ? null : event.extrinsicIndex,
                name: event.name,
            }));
        }
        ctx.log.info(`block ${block.header.height}: ${block.events.length} events, ` +
            `timestamp ${block.header.timestamp == null ? "none" : block.header.timestamp}`);
    }
    await ctx.store.insert(rows);
});
