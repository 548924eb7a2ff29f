"""Module `roles`: who holds an appointed role, all changed only by governance. Asset verifiers, health
oracles per activity type, and the governance houses' membership data: the community representatives (changed
by referendum) and, from genesis, the founding institutions' weights and the decentralisation schedule. The
governance module reads the house data from here; roles owns it so that every membership list has one home."""
