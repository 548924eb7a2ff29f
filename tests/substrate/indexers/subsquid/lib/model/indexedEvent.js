"use strict";
// The entity class of schema.graphql's IndexedEvent (what squid-typeorm-codegen makes of it, minus the TypeScript).
class IndexedEvent {
    constructor(props) {
        Object.assign(this, props);
    }
}
exports.IndexedEvent = IndexedEvent;
