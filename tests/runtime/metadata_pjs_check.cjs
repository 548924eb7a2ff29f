// Reads btt's metadata with @polkadot/types (as @polkadot/api does) and prints what it makes of it as JSON.
// usage: node metadata_pjs_check.cjs <dir with node_modules/@polkadot/types> <metadata.bin> <call hex>
//        <signed extrinsic hex> <Vec<EventRecord> hex> <account id hex>
'use strict';

const path = require('node:path');
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');

const [cacheDir, metadataPath, callHex, extrinsicHex, eventsHex, accountHex] = process.argv.slice(2);
const warnings = [];
process.on('uncaughtException', (e) => { process.stderr.write(String(e.stack)); process.exit(1); });
for (const level of ['warn', 'error', 'log']) {
  console[level] = (...args) => warnings.push(`${level}: ${args.join(' ')}`);
}
const load = createRequire(path.join(path.resolve(cacheDir), 'package.json'));
const { TypeRegistry, Metadata, expandMetadata } = load('@polkadot/types');

const registry = new TypeRegistry();
const metadata = new Metadata(registry, '0x' + readFileSync(metadataPath).toString('hex'));
registry.setMetadata(metadata);

const variants = (opt) => (opt.isSome ? registry.lookup.getSiType(opt.unwrap().type).def.asVariant.variants : []);
const report = {
  version: metadata.version,
  pallets: metadata.asLatest.pallets.map((p) => ({
    name: p.name.toString(),
    index: p.index.toNumber(),
    calls: variants(p.calls).map((v) => v.name.toString()),
    events: variants(p.events).map((v) => v.name.toString()),
    errors: variants(p.errors).map((v) => v.name.toString()),
    storage: p.storage.isSome ? p.storage.unwrap().items.map((i) => i.name.toString()) : [],
    constants: p.constants.map((c) => c.name.toString()),
  })),
  signedExtensions: registry.signedExtensions,
};

const call = registry.createType('Call', callHex);
report.call = { section: call.section, method: call.method, hex: call.toHex() };

const xt = registry.createType('Extrinsic', extrinsicHex);
report.extrinsic = {
  isSigned: xt.isSigned,
  method: { section: xt.method.section, method: xt.method.method },
  era: xt.era.toHuman(),
  nonce: xt.nonce.toNumber(),
  hex: xt.toHex(),
};

const records = registry.createType('Vec<EventRecord>', eventsHex);
report.events = records.map((r) => ({ section: r.event.section, method: r.event.method, data: r.event.data.toHuman() }));
const failed = records.find((r) => r.event.method === 'ExtrinsicFailed');
const dispatchError = failed.event.data[0];
if (dispatchError.isModule) {
  const meta = registry.findMetaError(dispatchError.asModule);
  report.moduleError = { section: meta.section, name: meta.name };
}

// what ApiPromise builds from the metadata: api.consts, api.query keys, api.tx
const api = expandMetadata(registry, metadata);
report.consts = {
  ss58Prefix: api.consts.system.ss58Prefix.toNumber(),
  blockHashCount: api.consts.system.blockHashCount.toNumber(),
  existentialDeposit: api.consts.balances.existentialDeposit.toString(),
};
report.accountKey = registry.createType('StorageKey', [api.query.system.account, [accountHex]]).toHex();
report.tx = api.tx.balances.transferKeepAlive({ Id: accountHex }, 5).toHex();
report.accountInfo = registry.createType('FrameSystemAccountInfo').toHuman();
report.digestItem = registry.createType('DigestItem', '0x06706f775f0c010203').toHuman();
report.warnings = warnings;
process.stdout.write(JSON.stringify(report, (k, v) => (typeof v === 'bigint' ? v.toString() : v)));
