"""Module `proxy` (FRAME's `pallet_proxy`): an account lets other accounts (its delegates) make calls for it, each
delegate within its proxy type: Any, NonTransfer, Governance or Staking (`filters.py` says what each may do).

- `add_proxy(delegate, proxy_type, delay)`: reserves a deposit, `proxy.deposit_base` once plus
  `proxy.deposit_factor` per proxy, recomputed at today's parameters whenever a proxy is added; at most
  `proxy.max_proxies` proxies. `delay` must be 0 (no announcements here: `DelayNotSupported`).
- `remove_proxy(delegate, proxy_type, delay)`: its share of the deposit returns (never more is taken: a removal cannot
  fail for want of money), all of it with the last proxy; `remove_proxies()`: every one, the whole deposit back.
- `proxy(real, force_proxy_type, call)`: the delegate makes `call` as `real`. The call and everything it carries (a
  batch's calls, another proxy's call, at any depth) must pass the filter of the delegate's type and of every proxy
  around it; its result, a refusal included, is in `ProxyExecuted` (the proxy call itself succeeds and pays its fee,
  as FRAME's). A removed proxy is no proxy: `NotProxy`.

Events ProxyExecuted, ProxyAdded and ProxyRemoved (one per proxy, `remove_proxies` too); errors FRAME's at FRAME's
indices. Storage `Proxies` keyed as FRAME keys it, so `api.query.proxy.proxies(account)` reads it.
"""
