"use strict";
// The squid's model, loaded by @subsquid/typeorm-config from lib/model: schema.graphql as a TypeORM EntitySchema
// (columns are snake_cased by the squid's naming strategy).
const { EntitySchema } = require("typeorm");
const { IndexedEvent } = require("./indexedEvent");

exports.IndexedEventSchema = new EntitySchema({
    name: "IndexedEvent",
    target: IndexedEvent,
    columns: {
        id: { type: "character varying", primary: true },
        blockNumber: { type: "int4" },
        blockHash: { type: "text" },
        blockTimestamp: { type: "int8", nullable: true },
        eventIndex: { type: "int4" },
        phase: { type: "text" },
        extrinsicIndex: { type: "int4", nullable: true },
        name: { type: "text" },
    },
    indices: [{ columns: ["blockNumber"] }],
});
