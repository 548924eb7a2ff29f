module.exports = class Data1795620033777 {
    name = 'Data1795620033777'

    async up(db) {
        await db.query(`CREATE TABLE "indexed_event" ("id" character varying NOT NULL, "block_number" integer NOT NULL, "block_hash" text NOT NULL, "block_timestamp" bigint, "event_index" integer NOT NULL, "phase" text NOT NULL, "extrinsic_index" integer, "name" text NOT NULL, CONSTRAINT "PK_fcaf26fcde17b8a6249be8a9343" PRIMARY KEY ("id"))`)
        await db.query(`CREATE INDEX "IDX_c8951ecdc368ebff7b2760df27" ON "indexed_event" ("block_number") `)
    }

    async down(db) {
        await db.query(`DROP TABLE "indexed_event"`)
        await db.query(`DROP INDEX "public"."IDX_c8951ecdc368ebff7b2760df27"`)
    }
}
