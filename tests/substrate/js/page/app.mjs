// A wallet page built only on unchanged @polkadot/api and @polkadot/extension-dapp (the signer interface every
// Substrate browser wallet implements): balances of the extension's accounts, the latest blocks with their
// author, the latest events, and a transfer signed by the extension. Bundled by tests/substrate with esbuild.
import { ApiPromise, WsProvider } from "@polkadot/api";
import { web3Accounts, web3Enable, web3FromAddress } from "@polkadot/extension-dapp";

const $ = (id) => document.getElementById(id);
const log = (text) => { $("status").textContent = text; };

async function main() {
  const endpoint = new URLSearchParams(location.search).get("rpc");
  const api = await ApiPromise.create({ provider: new WsProvider(endpoint) });
  $("chain").textContent = `${await api.rpc.system.chain()} (spec ${api.runtimeVersion.specVersion})`;
  const extensions = await web3Enable("btt-chain test page");
  if (!extensions.length) { log("no wallet extension"); return; }
  const accounts = await web3Accounts();

  for (const account of accounts) {
    const row = document.createElement("tr");
    row.innerHTML = `<td class="name">${account.meta.name}</td><td class="address">${account.address}</td><td class="free">…</td>`;
    $("accounts").appendChild(row);
    api.query.system.account(account.address, (info) => {
      row.querySelector(".free").textContent = info.data.free.toString();
    });
  }

  await api.derive.chain.subscribeNewHeads((header) => {
    const row = document.createElement("tr");
    row.className = "block";
    row.innerHTML = `<td class="number">${header.number.toNumber()}</td><td class="hash">${header.hash.toHex()}</td>` +
      `<td class="author">${header.author ? header.author.toString() : ""}</td>`;
    $("blocks").prepend(row);
    while ($("blocks").children.length > 10) $("blocks").lastChild.remove();
  });

  await api.query.system.events((records) => {
    for (const { event, phase } of records) {
      const row = document.createElement("tr");
      row.className = "event";
      row.innerHTML = `<td class="name">${event.section}.${event.method}</td><td>${phase.toString()}</td>`;
      $("events").prepend(row);
    }
    while ($("events").children.length > 50) $("events").lastChild.remove();
  });

  $("send").onclick = async () => {
    const from = accounts[0].address;
    const to = accounts[1].address;
    const injector = await web3FromAddress(from);
    log("signing");
    try {
      await api.tx.balances.transferKeepAlive(to, $("amount").value).signAndSend(from, { signer: injector.signer }, (res) => {
        log(res.status.type);
        if (res.status.isInBlock) $("included").textContent = res.status.asInBlock.toHex();
      });
    } catch (e) { log(`error: ${e.message}`); }
  };
  log("ready");
}

main().catch((e) => log(`error: ${e.message}`));
