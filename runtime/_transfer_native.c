/*
 * A run of plain balance transfers applied in C: what runtime/executive.py's `apply_extrinsic` does for
 * `balances.transfer_allow_death` / `transfer_keep_alive` whose signature was checked (its `_check`, then the fused
 * `_apply_transfer`), for the one case that is most of a busy block: the nonce is the account's, the fee and the
 * amount are spendable, no lock source and no fee discount knows the signer, the recipient ends at or above the
 * existential deposit and the sender keeps at least it. Anything else (a refusal, a failed call, dust, a lock, a
 * discount, a full block, a value that would not encode, a stored value that does not decode) stops the run BEFORE
 * that extrinsic with nothing of it written: the Python path then applies it, and is the rule (runtime/
 * transfer_native.py prepares the run and says what each argument is; tests/runtime/test_transfer_native.py holds the
 * two to each other write for write, event for event).
 *
 * Writes go where `Overlay.set_decoded` puts them (the overlay's top-level changes: a run starts only without a
 * snapshot open); reads follow `Overlay.get` (changes, then the read cache, then the backend, whose answer the cache
 * keeps). Amounts are u128 (unsigned __int128); anything wider stops the run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "../storage/blake2b.h"
#include "../storage/native_struct.h"
#include "../storage/read_ahead_api.h"

#define U128_MAX (~(u128)0)

/* ---- integers ---------------------------------------------------------------------------------------------- */

/* A Python int in 0..2^128-1 into *out: 0; anything else: -1 (no error left set). */
static int to_u128(PyObject *v, u128 *out) {
    if (!PyLong_CheckExact(v)) return -1;
    if (_PyLong_Sign(v) < 0) return -1;
    size_t bits = _PyLong_NumBits(v);
    if (bits == (size_t)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (bits > 128) return -1;
    unsigned char buf[16];
    if (_PyLong_AsByteArray((PyLongObject *)v, buf, 16, 1, 0) < 0) {
        PyErr_Clear();
        return -1;
    }
    u128 r = 0;
    for (int i = 15; i >= 0; i--) r = (r << 8) | buf[i];
    *out = r;
    return 0;
}

static u128 load_u128(const unsigned char *p) {
    u128 r = 0;
    for (int i = 15; i >= 0; i--) r = (r << 8) | p[i];
    return r;
}

static void store_u128(unsigned char *p, u128 v) {
    for (int i = 0; i < 16; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t load_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- accounts (runtime/system/types.py, AccountInfo: 80 bytes) ----------------------------------------------- */

typedef struct {
    uint32_t nonce;
    u128 free, reserved, frozen;
} account_t;

#define NEW_LOGIC ((u128)1 << 127)

/* `AccountInfo.decode_stored`'s checks on exactly 80 bytes: 0, or -1 where it would refuse (the run stops). */
static int decode_account(PyObject *raw, account_t *a) {
    if (!PyBytes_CheckExact(raw) || PyBytes_GET_SIZE(raw) != 80) return -1;
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(raw);
    a->nonce = load_u32(p);
    uint32_t consumers = load_u32(p + 4), providers = load_u32(p + 8), sufficients = load_u32(p + 12);
    a->free = load_u128(p + 16);
    a->reserved = load_u128(p + 32);
    a->frozen = load_u128(p + 48);
    u128 flags = load_u128(p + 64);
    uint32_t want_consumers = (a->reserved || a->frozen) ? 1 : 0;
    if (consumers != want_consumers || providers != 1 || sufficients != 0 || flags != NEW_LOGIC) return -1;
    return 0;
}

/* `AccountInfo.encode_scale` (the caller has checked the ranges: nonce is a u32, balances u128). */
static PyObject *encode_account(const account_t *a) {
    unsigned char buf[80];
    store_u32(buf, a->nonce);
    store_u32(buf + 4, (a->reserved || a->frozen) ? 1 : 0);
    store_u32(buf + 8, 1);
    store_u32(buf + 12, 0);
    store_u128(buf + 16, a->free);
    store_u128(buf + 32, a->reserved);
    store_u128(buf + 48, a->frozen);
    store_u128(buf + 64, NEW_LOGIC);
    return PyBytes_FromStringAndSize((const char *)buf, 80);
}

static u128 spendable(const account_t *a) { return a->free > a->frozen ? a->free - a->frozen : 0; }

/* ---- the run's context ------------------------------------------------------------------------------------- */

typedef struct {
    PyObject *changes;        /* dict: the overlay's top-level writes */
    PyObject *cache;          /* dict: the overlay's read cache */
    PyObject *backend_get;    /* callable: the backend's get */
    PyObject *backend_cache;  /* dict or None: values the backend's get has cached (`FlatState.read_cache`) */
    PyObject *known;          /* dict: account -> its System.Account key (the item's memo) */
    PyObject *full_key;       /* callable: account -> its System.Account key */
    PyObject *account_prefix; /* bytes: System.Account's prefix (twox128 ++ twox128) */
    PyObject *absent;         /* tuple of bytes: prefixes whose (prefix + signer) must hold nothing */
    PyObject *calls;          /* dict: (module << 8 | function) -> (keep_alive, weight, success event, amount limit) */
    PyObject *events;         /* list of (phase, event) */
    PyObject *outcomes;       /* list of ApplyOutcome */
    PyObject *extrinsic_type; /* Extrinsic */
    PyObject *outcome_type, *transfer_type, *new_account_type, *fee_paid_type;
    PyObject *number;         /* the block's number (a mortal era's check) */
    /* the flat state's read-ahead (`FlatState.ahead_reads`), or NULL: a key missing from the caches is looked up there
     * (read by this thread if the read-ahead has not reached it) and kept in `backend_cache` as `backend_get` would */
    PyObject *ahead;          /* the ReadAhead */
    PyObject *ahead_prefix;   /* bytes: the store's prefix of a state key */
    PyObject *backend_old;    /* dict: the flat state's older cache generation (a key there is left to backend_get) */
    Py_ssize_t backend_half;  /* a cache generation's size: at it, the next insert is backend_get's (it rotates) */
    const ReadAheadAPI *ahead_api;
    u128 max_weight, max_bytes, max_extrinsics, weight_used, bytes_used;
    u128 fee_base, per_byte, per_weight, ed;
} run_t;

static PyObject *s_signer, *s_nonce, *s_tip, *s_era, *s_call, *s_module, *s_function, *s_args, *s_period, *s_encode,
    *s_is_alive_at, *s_source, *s_dest, *s_amount, *s_account, *s_who, *s_actual_fee, *s_index, *s_success, *s_fee,
    *s_weight, *s_error, *s_wire;

/* The value at `key` as `Overlay.get` reads it without a snapshot open (a new reference; Py_None for none), or NULL
 * with an error set. */
static PyObject *read_key(run_t *r, PyObject *key) {
    PyObject *v = PyDict_GetItemWithError(r->changes, key);
    if (v != NULL) return Py_NewRef(v);
    if (PyErr_Occurred()) return NULL;
    /* the overlay's read cache and the backend's both hold the backend's values, which do not change during a block:
     * the backend's first, where most of a block's reads are found */
    v = r->backend_cache == Py_None ? NULL : PyDict_GetItemWithError(r->backend_cache, key);
    if (v != NULL) return Py_NewRef(v);
    if (PyErr_Occurred()) return NULL;
    v = PyDict_GetItemWithError(r->cache, key);
    if (v != NULL) return Py_NewRef(v);
    if (PyErr_Occurred()) return NULL;
    v = NULL;
    if (r->ahead != NULL && PyBytes_CheckExact(key)) {
        /* what `FlatState.get` does for a key in neither generation while the young one has room: the store's value
         * (from the read-ahead, which holds no key of the batch still landing and ends at any write) kept in the
         * young generation */
        int old = PyDict_Contains(r->backend_old, key);
        if (old < 0) return NULL;
        if (!old && PyDict_GET_SIZE(r->backend_cache) < r->backend_half) {
            PyObject *full = PyBytes_FromStringAndSize(NULL, PyBytes_GET_SIZE(r->ahead_prefix) + PyBytes_GET_SIZE(key));
            if (full == NULL) return NULL;
            memcpy(PyBytes_AS_STRING(full), PyBytes_AS_STRING(r->ahead_prefix), (size_t)PyBytes_GET_SIZE(r->ahead_prefix));
            memcpy(PyBytes_AS_STRING(full) + PyBytes_GET_SIZE(r->ahead_prefix), PyBytes_AS_STRING(key),
                   (size_t)PyBytes_GET_SIZE(key));
            v = r->ahead_api->lookup(r->ahead, full);
            Py_DECREF(full);
            if (v == NULL && PyErr_Occurred()) return NULL;
            if (v != NULL && PyDict_SetItem(r->backend_cache, key, v) < 0) {
                Py_DECREF(v);
                return NULL;
            }
        }
        /* a full young generation: `backend_get` begins a new one, and `backend_cache` is then the older one, which
         * nothing here may add to (the flat state drops it at the next rotation without asking) */
        if (v == NULL && PyDict_GET_SIZE(r->backend_cache) >= r->backend_half) r->ahead = NULL;
    }
    if (v == NULL) v = PyObject_CallOneArg(r->backend_get, key);
    if (v == NULL) return NULL;
    if (PyDict_SetItem(r->cache, key, v) < 0) {
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

/* The account at `key`: 1 read (a missing one is the default, all zero), 0 where it does not decode, -1 error. */
static int read_account(run_t *r, PyObject *key, account_t *a) {
    PyObject *raw = read_key(r, key);
    if (raw == NULL) return -1;
    int ok;
    if (raw == Py_None) {
        memset(a, 0, sizeof *a);
        ok = 1;
    } else {
        ok = decode_account(raw, a) == 0;
    }
    Py_DECREF(raw);
    return ok;
}

/* prefix ++ blake2_128(who) ++ who: `System.Account`'s key of a 32-byte account (Blake2_128Concat). */
static PyObject *hashed_key(PyObject *prefix, const char *who) {
    Py_ssize_t plen = PyBytes_GET_SIZE(prefix);
    PyObject *key = PyBytes_FromStringAndSize(NULL, plen + 48);
    if (key == NULL) return NULL;
    char *p = PyBytes_AS_STRING(key);
    memcpy(p, PyBytes_AS_STRING(prefix), (size_t)plen);
    blake2b((const uint8_t *)who, 32, (uint8_t *)p + plen, 16);
    memcpy(p + plen + 16, who, 32);
    return key;
}

/* The account's key: the item's memo, else computed here (a 32-byte account), else the item's own function. */
static PyObject *account_key(run_t *r, PyObject *who) {
    PyObject *key = PyDict_GetItemWithError(r->known, who);
    if (key != NULL) return Py_NewRef(key);
    if (PyErr_Occurred()) return NULL;
    if (PyBytes_CheckExact(who) && PyBytes_GET_SIZE(who) == 32)
        return hashed_key(r->account_prefix, PyBytes_AS_STRING(who));
    return PyObject_CallOneArg(r->full_key, who);
}

/* 16 bytes big-endian: an amount's wire form (codec.U128.to_wire). */
static PyObject *amount_wire(u128 v) {
    unsigned char buf[16];
    for (int i = 0; i < 16; i++) buf[15 - i] = (unsigned char)(v >> (8 * i));
    return PyBytes_FromStringAndSize((const char *)buf, 16);
}

/* Append (phase, event) to the block's events, `event` holding `wire` (its `to_wire()`, as the generated writer gives
 * it) in its dict as `_wire`, which the block's event records take instead of converting it again
 * (storage/_pack_native.c, `event_records`). Steals `event` and `wire` (either may be NULL: an error set). */
static int emit_with_wire(run_t *r, PyObject *phase, PyObject *event, PyObject *wire) {
    int rc = -1;
    if (event != NULL && wire != NULL) {
        PyObject *d = PyObject_GenericGetDict(event, NULL);
        if (d != NULL && PyDict_SetItem(d, s_wire, wire) == 0) {
            PyObject *pair = PyTuple_Pack(2, phase, event);
            rc = pair == NULL ? -1 : PyList_Append(r->events, pair);
            Py_XDECREF(pair);
        }
        Py_XDECREF(d);
    }
    Py_XDECREF(event);
    Py_XDECREF(wire);
    return rc;
}

static int emit(run_t *r, PyObject *phase, PyObject *event) {
    if (event == NULL) return -1;
    PyObject *pair = PyTuple_Pack(2, phase, event);
    Py_DECREF(event);
    if (pair == NULL) return -1;
    int rc = PyList_Append(r->events, pair);
    Py_DECREF(pair);
    return rc;
}

/* The arguments of a transfer as `dispatch._args_decoder`'s `address_and_compact` takes them (a MultiAddress::Id,
 * then a minimal compact up to `limit`, ending at the last byte): 0 with the recipient's 32 bytes at *dest and the
 * amount; -1 for anything else. */
static int decode_args(PyObject *data, u128 limit, const char **dest, u128 *amount) {
    if (!PyBytes_CheckExact(data)) return -1;
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(data);
    if (size < 34 || p[0]) return -1;
    unsigned char first = p[33];
    u128 value;
    switch (first & 3) {
        case 0:
            if (size != 34) return -1;
            value = first >> 2;
            break;
        case 1:
            if (size != 35) return -1;
            value = (u128)((p[33] | (uint32_t)p[34] << 8) >> 2);
            if (value < (1u << 6)) return -1;
            break;
        case 2:
            if (size != 37) return -1;
            value = (u128)(load_u32(p + 33) >> 2);
            if (value < (1u << 14)) return -1;
            break;
        default: {
            Py_ssize_t n = (first >> 2) + 4, end = 34 + n;
            if (size != end || p[end - 1] == 0 || n > 16) return -1;
            value = 0;
            for (Py_ssize_t i = n - 1; i >= 0; i--) value = (value << 8) | p[34 + i];
            if (value < ((u128)1 << 30)) return -1;
        }
    }
    if (value > limit) return -1;
    *dest = (const char *)p + 1;
    *amount = value;
    return 0;
}

/* a + b, or -1 past u128 */
static int add128(u128 a, u128 b, u128 *out) {
    if (a > U128_MAX - b) return -1;
    *out = a + b;
    return 0;
}

static int mul128(u128 a, u128 b, u128 *out) {
    if (a != 0 && b > U128_MAX / a) return -1;
    *out = a * b;
    return 0;
}

/* ---- one extrinsic ----------------------------------------------------------------------------------------- */

/* Apply `xt` (`length` encoded bytes, or -1 for its own encoding's; its index in the block is the number of outcomes
 * so far) if it is the common case: 1 applied, 0 not (nothing written), -1 error. Adds its fee and tip to *fees and
 * *tips, its weight and bytes to the run's. */
static int apply_one(run_t *r, PyObject *xt, Py_ssize_t length, u128 *fees, u128 *tips) {
    int result = 0;
    PyObject *signer = NULL, *nonce_o = NULL, *tip_o = NULL, *era = NULL, *call = NULL, *args = NULL, *spec = NULL;
    PyObject *src_key = NULL, *dest_o = NULL, *dst_key = NULL, *src_raw = NULL, *dst_raw = NULL, *phase = NULL;
    PyObject *amount_o = NULL, *charged_o = NULL, *fee_o = NULL;
    if (Py_TYPE(xt) != (PyTypeObject *)r->extrinsic_type) return 0;
    if (length < 0) {
        PyObject *enc = PyObject_CallMethodNoArgs(xt, s_encode);
        if (enc == NULL) return -1;
        if (!PyBytes_Check(enc)) {
            Py_DECREF(enc);
            return 0;
        }
        length = PyBytes_GET_SIZE(enc);
        Py_DECREF(enc);
    }
    /* the call: one of the run's transfers, its arguments decoding */
    call = PyObject_GetAttr(xt, s_call);
    if (call == NULL) goto error;
    PyObject *module = PyObject_GetAttr(call, s_module);
    if (module == NULL) goto error;
    PyObject *function = PyObject_GetAttr(call, s_function);
    if (function == NULL) {
        Py_DECREF(module);
        goto error;
    }
    long m = PyLong_Check(module) ? PyLong_AsLong(module) : -1, f = PyLong_Check(function) ? PyLong_AsLong(function) : -1;
    Py_DECREF(module);
    Py_DECREF(function);
    if (PyErr_Occurred()) PyErr_Clear();
    if (m < 0 || m > 255 || f < 0 || f > 255) goto done;
    PyObject *call_id = PyLong_FromLong(m << 8 | f);
    if (call_id == NULL) goto error;
    spec = PyDict_GetItemWithError(r->calls, call_id); /* borrowed */
    Py_DECREF(call_id);
    if (spec == NULL) {
        if (PyErr_Occurred()) goto error;
        goto done;
    }
    Py_INCREF(spec);
    int keep_alive = PyObject_IsTrue(PyTuple_GET_ITEM(spec, 0));
    u128 weight, limit;
    if (keep_alive < 0 || to_u128(PyTuple_GET_ITEM(spec, 1), &weight) < 0 ||
        to_u128(PyTuple_GET_ITEM(spec, 3), &limit) < 0) {
        PyErr_Clear();
        goto done;
    }
    args = PyObject_GetAttr(call, s_args);
    if (args == NULL) goto error;
    const char *dest;
    u128 amount;
    if (decode_args(args, limit, &dest, &amount) < 0) goto done;
    /* the era: immortal, or alive at this block (`Executive.check_era`) */
    era = PyObject_GetAttr(xt, s_era);
    if (era == NULL) goto error;
    PyObject *period = PyObject_GetAttr(era, s_period);
    if (period == NULL) goto error;
    int immortal = PyLong_CheckExact(period) && PyObject_IsTrue(period) == 0;
    Py_DECREF(period);
    if (!immortal) {
        PyObject *alive = PyObject_CallMethodOneArg(era, s_is_alive_at, r->number);
        if (alive == NULL) {
            PyErr_Clear();
            goto done;
        }
        int yes = alive == Py_True;
        Py_DECREF(alive);
        if (!yes) goto done;
    }
    /* the signer's account, with no lock source and no fee discount knowing it */
    signer = PyObject_GetAttr(xt, s_signer);
    if (signer == NULL) goto error;
    if (!PyBytes_CheckExact(signer) || PyBytes_GET_SIZE(signer) != 32) goto done;
    Py_ssize_t n_absent = PyTuple_GET_SIZE(r->absent);
    for (Py_ssize_t i = 0; i < n_absent; i++) {
        PyObject *key = PyBytes_FromStringAndSize(NULL, PyBytes_GET_SIZE(PyTuple_GET_ITEM(r->absent, i)) + 32);
        if (key == NULL) goto error;
        PyObject *prefix = PyTuple_GET_ITEM(r->absent, i);
        memcpy(PyBytes_AS_STRING(key), PyBytes_AS_STRING(prefix), PyBytes_GET_SIZE(prefix));
        memcpy(PyBytes_AS_STRING(key) + PyBytes_GET_SIZE(prefix), PyBytes_AS_STRING(signer), 32);
        PyObject *v = read_key(r, key);
        Py_DECREF(key);
        if (v == NULL) goto error;
        int none = v == Py_None;
        Py_DECREF(v);
        if (!none) goto done;
    }
    src_key = account_key(r, signer);
    if (src_key == NULL) goto error;
    account_t src;
    int ok = read_account(r, src_key, &src);
    if (ok < 0) goto error;
    if (!ok) goto done;
    /* the nonce is the account's, the call fits a block, the fee and tip are spendable */
    nonce_o = PyObject_GetAttr(xt, s_nonce);
    if (nonce_o == NULL) goto error;
    u128 nonce, tip;
    if (to_u128(nonce_o, &nonce) < 0 || nonce != src.nonce) goto done;
    tip_o = PyObject_GetAttr(xt, s_tip);
    if (tip_o == NULL) goto error;
    if (to_u128(tip_o, &tip) < 0) goto done;
    if (weight > r->max_weight) goto done;
    u128 by_length, by_weight, fee, charged;
    if (mul128(r->per_byte, (u128)length, &by_length) < 0 || mul128(r->per_weight, weight, &by_weight) < 0 ||
        add128(r->fee_base, by_length, &fee) < 0 || add128(fee, by_weight, &fee) < 0 ||
        add128(fee, tip, &charged) < 0)
        goto done;
    if (spendable(&src) < charged) goto done;
    /* the block's limits (`apply_extrinsic`: else BlockFull) */
    u128 weight_after, bytes_after;
    if (add128(r->weight_used, weight, &weight_after) < 0 || weight_after > r->max_weight) goto done;
    if (add128(r->bytes_used, (u128)length, &bytes_after) < 0 || bytes_after > r->max_bytes) goto done;
    if ((u128)PyList_GET_SIZE(r->outcomes) >= r->max_extrinsics) goto done;
    /* `_apply_transfer`: the fee leaves the account, then the transfer is decided on it */
    if (src.nonce == UINT32_MAX) goto done;
    account_t paid = src;
    paid.nonce += 1;
    paid.free -= charged; /* charged <= spendable <= free */
    if (amount == 0 || memcmp(dest, PyBytes_AS_STRING(signer), 32) == 0) goto done;
    if (spendable(&paid) < amount) goto done;
    dest_o = PyBytes_FromStringAndSize(dest, 32);
    if (dest_o == NULL) goto error;
    dst_key = account_key(r, dest_o);
    if (dst_key == NULL) goto error;
    account_t dst;
    ok = read_account(r, dst_key, &dst);
    if (ok < 0) goto error;
    if (!ok) goto done;
    u128 dst_total, dst_after, src_total;
    if (add128(dst.free, dst.reserved, &dst_total) < 0 || add128(dst_total, amount, &dst_after) < 0) goto done;
    if (dst_after < r->ed) goto done;                       /* ExistentialDeposit: refused */
    if (add128(paid.free, paid.reserved, &src_total) < 0) goto done;
    /* src_total >= paid.free >= amount; below the deposit: dust (allow-death) or KeepAlive, left to Python */
    if (src_total - amount < r->ed) goto done;
    (void)keep_alive; /* both calls agree on everything this path takes */
    account_t new_src = paid, new_dst = dst;
    new_src.free -= amount;
    if (add128(dst.free, amount, &new_dst.free) < 0) goto done; /* past u128: left to Python */
    /* decided: write the sender, then the recipient, then the events */
    src_raw = encode_account(&new_src);
    if (src_raw == NULL) goto error;
    dst_raw = encode_account(&new_dst);
    if (dst_raw == NULL) goto error;
    if (PyDict_SetItem(r->changes, src_key, src_raw) < 0 || PyDict_SetItem(r->changes, dst_key, dst_raw) < 0)
        goto error; /* cannot happen for bytes keys short of memory; the caller stops the block */
    phase = PyLong_FromSsize_t(PyList_GET_SIZE(r->outcomes));
    amount_o = int_of_u128(amount);
    charged_o = int_of_u128(charged);
    fee_o = int_of_u128(fee);
    if (phase == NULL || amount_o == NULL || charged_o == NULL || fee_o == NULL) goto error;
    PyObject *tnames[3] = {s_source, s_dest, s_amount}, *tvalues[3] = {signer, dest_o, amount_o};
    if (emit_with_wire(r, phase, new_frozen(r->transfer_type, 3, tnames, tvalues),
                       Py_BuildValue("[OON]", signer, dest_o, amount_wire(amount))) < 0)
        goto error;
    if (dst_total == 0) {
        PyObject *nnames[1] = {s_account}, *nvalues[1] = {dest_o};
        if (emit_with_wire(r, phase, new_frozen(r->new_account_type, 1, nnames, nvalues), Py_BuildValue("[O]", dest_o)) < 0)
            goto error;
    }
    PyObject *fnames[3] = {s_who, s_actual_fee, s_tip}, *fvalues[3] = {signer, charged_o, tip_o};
    if (emit_with_wire(r, phase, new_frozen(r->fee_paid_type, 3, fnames, fvalues),
                       Py_BuildValue("[ONN]", signer, amount_wire(charged), amount_wire(tip))) < 0)
        goto error;
    PyObject *success = PyTuple_GET_ITEM(spec, 2);
    Py_INCREF(success);
    if (emit(r, phase, success) < 0) goto error;
    PyObject *onames[5] = {s_index, s_success, s_fee, s_weight, s_error};
    PyObject *ovalues[5] = {phase, Py_True, fee_o, PyTuple_GET_ITEM(spec, 1), Py_None};
    PyObject *outcome = new_frozen(r->outcome_type, 5, onames, ovalues);
    if (outcome == NULL) goto error;
    int rc = PyList_Append(r->outcomes, outcome);
    Py_DECREF(outcome);
    if (rc < 0) goto error;
    r->weight_used = weight_after;
    r->bytes_used = bytes_after;
    *fees += fee; /* a block's fees and tips: far below u128 (each is, and a block holds a bounded number) */
    *tips += tip;
    result = 1;
    goto done;
error:
    result = -1;
done:
    Py_XDECREF(signer);
    Py_XDECREF(nonce_o);
    Py_XDECREF(tip_o);
    Py_XDECREF(era);
    Py_XDECREF(call);
    Py_XDECREF(args);
    Py_XDECREF(spec);
    Py_XDECREF(src_key);
    Py_XDECREF(dest_o);
    Py_XDECREF(dst_key);
    Py_XDECREF(src_raw);
    Py_XDECREF(dst_raw);
    Py_XDECREF(phase);
    Py_XDECREF(amount_o);
    Py_XDECREF(charged_o);
    Py_XDECREF(fee_o);
    return result;
}

/* ---- the module -------------------------------------------------------------------------------------------- */

static int field_u128(PyObject *t, Py_ssize_t i, u128 *out) {
    if (to_u128(PyTuple_GET_ITEM(t, i), out) < 0) {
        PyErr_Format(PyExc_ValueError, "run item %zd is not a u128", i);
        return -1;
    }
    return 0;
}

#define RUN_ITEMS 27

/* Run item 26: None, or (read-ahead, the capsule of its lookup, state key prefix, older generation, generation size)
 * from `FlatState.ahead_reads` (the backend hands the capsule over: the runtime imports nothing of the store's);
 * 0 with r->ahead set (or NULL for None), -1 with an error. */
static int take_ahead(run_t *r, PyObject *item) {
    r->ahead = NULL;
    if (item == Py_None) return 0;
    if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 5 || !PyBytes_CheckExact(PyTuple_GET_ITEM(item, 2)) ||
        !PyDict_CheckExact(PyTuple_GET_ITEM(item, 3)) || !PyLong_CheckExact(PyTuple_GET_ITEM(item, 4)) ||
        r->backend_cache == Py_None) {
        PyErr_SetString(PyExc_TypeError,
                        "apply: run item 26 is None or (read-ahead, its capsule, prefix, old generation, half)");
        return -1;
    }
    const ReadAheadAPI *api = PyCapsule_GetPointer(PyTuple_GET_ITEM(item, 1), READ_AHEAD_API_NAME);
    if (api == NULL) return -1; /* not a capsule of that name: TypeError or ValueError set */
    if (api->version != READ_AHEAD_API_VERSION || Py_TYPE(PyTuple_GET_ITEM(item, 0)) != api->type) {
        PyErr_SetString(PyExc_TypeError, "apply: run item 26's read-ahead is not the one its capsule reads");
        return -1;
    }
    r->backend_half = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 4));
    if (r->backend_half == -1 && PyErr_Occurred()) return -1;
    r->ahead = PyTuple_GET_ITEM(item, 0);
    r->ahead_prefix = PyTuple_GET_ITEM(item, 2);
    r->backend_old = PyTuple_GET_ITEM(item, 3);
    r->ahead_api = api;
    return 0;
}

/* apply(run, extrinsics, start, length) -> (applied, fees, tips, weight_used, bytes_used) */
static PyObject *transfer_apply(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 4 || !PyTuple_CheckExact(argv[0]) || PyTuple_GET_SIZE(argv[0]) != RUN_ITEMS ||
        !PyList_CheckExact(argv[1]) || !PyLong_Check(argv[2]) || !PyLong_Check(argv[3])) {
        PyErr_SetString(PyExc_TypeError, "apply(run: tuple, extrinsics: list, start: int, length: int)");
        return NULL;
    }
    PyObject *t = argv[0];
    run_t r;
    r.changes = PyTuple_GET_ITEM(t, 0);
    r.cache = PyTuple_GET_ITEM(t, 1);
    r.backend_get = PyTuple_GET_ITEM(t, 2);
    r.known = PyTuple_GET_ITEM(t, 3);
    r.full_key = PyTuple_GET_ITEM(t, 4);
    r.absent = PyTuple_GET_ITEM(t, 5);
    r.calls = PyTuple_GET_ITEM(t, 6);
    r.events = PyTuple_GET_ITEM(t, 7);
    r.outcomes = PyTuple_GET_ITEM(t, 8);
    r.extrinsic_type = PyTuple_GET_ITEM(t, 9);
    r.outcome_type = PyTuple_GET_ITEM(t, 10);
    r.transfer_type = PyTuple_GET_ITEM(t, 11);
    r.new_account_type = PyTuple_GET_ITEM(t, 12);
    r.fee_paid_type = PyTuple_GET_ITEM(t, 13);
    r.number = PyTuple_GET_ITEM(t, 14);
    if (!PyDict_CheckExact(r.changes) || !PyDict_CheckExact(r.cache) || !PyCallable_Check(r.backend_get) ||
        !PyDict_CheckExact(r.known) || !PyCallable_Check(r.full_key) || !PyTuple_CheckExact(r.absent) ||
        !PyDict_CheckExact(r.calls) || !PyList_CheckExact(r.events) || !PyList_CheckExact(r.outcomes) ||
        !PyType_Check(r.extrinsic_type) || !PyType_Check(r.outcome_type) || !PyType_Check(r.transfer_type) ||
        !PyType_Check(r.new_account_type) || !PyType_Check(r.fee_paid_type) || !PyLong_CheckExact(r.number)) {
        PyErr_SetString(PyExc_TypeError, "apply: a run item of the wrong type");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(r.absent); i++) {
        if (!PyBytes_CheckExact(PyTuple_GET_ITEM(r.absent, i))) {
            PyErr_SetString(PyExc_TypeError, "apply: the absent prefixes are bytes");
            return NULL;
        }
    }
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(r.calls, &pos, &k, &v)) {
        if (!PyTuple_CheckExact(v) || PyTuple_GET_SIZE(v) != 4) {
            PyErr_SetString(PyExc_TypeError, "apply: a call entry is (keep_alive, weight, success event, limit)");
            return NULL;
        }
    }
    if (field_u128(t, 15, &r.max_weight) < 0 || field_u128(t, 16, &r.max_bytes) < 0 ||
        field_u128(t, 17, &r.max_extrinsics) < 0 || field_u128(t, 18, &r.weight_used) < 0 ||
        field_u128(t, 19, &r.bytes_used) < 0 || field_u128(t, 20, &r.fee_base) < 0 ||
        field_u128(t, 21, &r.per_byte) < 0 || field_u128(t, 22, &r.per_weight) < 0 || field_u128(t, 23, &r.ed) < 0)
        return NULL;
    r.backend_cache = PyTuple_GET_ITEM(t, 24);
    r.account_prefix = PyTuple_GET_ITEM(t, 25);
    if (!PyBytes_CheckExact(r.account_prefix)) {
        PyErr_SetString(PyExc_TypeError, "apply: run item 25 is System.Account's prefix (bytes)");
        return NULL;
    }
    if (r.backend_cache != Py_None && !PyDict_CheckExact(r.backend_cache)) {
        PyErr_SetString(PyExc_TypeError, "apply: run item 24 is the backend's read cache (a dict) or None");
        return NULL;
    }
    if (take_ahead(&r, PyTuple_GET_ITEM(t, 26)) < 0) return NULL;
    PyObject *xts = argv[1];
    Py_ssize_t start = PyLong_AsSsize_t(argv[2]), length = PyLong_AsSsize_t(argv[3]);
    if (PyErr_Occurred()) return NULL;
    if (start < 0) start = 0;
    Py_ssize_t i = start;
    u128 fees = 0, tips = 0;
    for (; i < PyList_GET_SIZE(xts); i++) {
        PyObject *xt = PyList_GET_ITEM(xts, i);
        Py_INCREF(xt);
        int rc = apply_one(&r, xt, length, &fees, &tips);
        Py_DECREF(xt);
        if (rc < 0) return NULL;
        if (rc == 0) break;
    }
    PyObject *f = int_of_u128(fees), *tp = int_of_u128(tips), *w = int_of_u128(r.weight_used), *b = int_of_u128(r.bytes_used);
    if (f == NULL || tp == NULL || w == NULL || b == NULL) {
        Py_XDECREF(f);
        Py_XDECREF(tp);
        Py_XDECREF(w);
        Py_XDECREF(b);
        return NULL;
    }
    return Py_BuildValue("(nNNNN)", i - start, f, tp, w, b);
}

/* account_keys(extrinsics, transfers, prefix, known) -> [key, ...]: each signed extrinsic's signer's `System.Account`
 * key (prefix ++ blake2_128(account) ++ account; `known` first), and after it, for a call whose (module << 8 | call) is
 * in `transfers` with a MultiAddress::Id first argument, the recipient's: what `chain._accounts_read_first` reads
 * ahead. Anything that is not an Extrinsic (an inherent), or not shaped so, adds nothing. */
static PyObject *transfer_account_keys(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 5 || !PyList_CheckExact(argv[0]) || !PyAnySet_Check(argv[1]) || !PyBytes_CheckExact(argv[2]) ||
        !PyDict_CheckExact(argv[3]) || !PyType_Check(argv[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "account_keys(extrinsics: list, transfers: set, prefix: bytes, known: dict, Extrinsic)");
        return NULL;
    }
    PyObject *xts = argv[0], *transfers = argv[1], *prefix = argv[2], *known = argv[3];
    PyTypeObject *extrinsic_type = (PyTypeObject *)argv[4];
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(xts); i++) {
        PyObject *xt = PyList_GET_ITEM(xts, i);
        if (Py_TYPE(xt) != extrinsic_type) continue;
        PyObject *who[2] = {PyObject_GetAttr(xt, s_signer), NULL};
        if (who[0] == NULL) goto error;
        PyObject *call = PyObject_GetAttr(xt, s_call);
        if (call == NULL) {
            Py_DECREF(who[0]);
            goto error;
        }
        PyObject *module = PyObject_GetAttr(call, s_module), *function = PyObject_GetAttr(call, s_function);
        PyObject *args = PyObject_GetAttr(call, s_args);
        Py_DECREF(call);
        if (module == NULL || function == NULL || args == NULL) {
            Py_XDECREF(module);
            Py_XDECREF(function);
            Py_XDECREF(args);
            Py_DECREF(who[0]);
            goto error;
        }
        long m = PyLong_Check(module) ? PyLong_AsLong(module) : -1, f = PyLong_Check(function) ? PyLong_AsLong(function) : -1;
        Py_DECREF(module);
        Py_DECREF(function);
        if (PyErr_Occurred()) PyErr_Clear();
        if (m >= 0 && m <= 255 && f >= 0 && f <= 255 && PyBytes_CheckExact(args) && PyBytes_GET_SIZE(args) > 32 &&
            PyBytes_AS_STRING(args)[0] == 0) {
            PyObject *id = PyLong_FromLong(m << 8 | f);
            int is_transfer = id == NULL ? -1 : PySet_Contains(transfers, id);
            Py_XDECREF(id);
            if (is_transfer < 0) {
                Py_DECREF(args);
                Py_DECREF(who[0]);
                goto error;
            }
            if (is_transfer) who[1] = PyBytes_FromStringAndSize(PyBytes_AS_STRING(args) + 1, 32);
        }
        Py_DECREF(args);
        for (int k = 0; k < 2; k++) {
            PyObject *account = who[k];
            if (account == NULL) continue;
            PyObject *key = NULL;
            if (PyBytes_CheckExact(account) && PyBytes_GET_SIZE(account) == 32) {
                key = PyDict_GetItemWithError(known, account);
                if (key != NULL) {
                    Py_INCREF(key);
                } else if (!PyErr_Occurred()) {
                    key = hashed_key(prefix, PyBytes_AS_STRING(account));
                }
            }
            int rc = key == NULL ? (PyErr_Occurred() ? -1 : 0) : PyList_Append(out, key);
            Py_XDECREF(key);
            if (rc < 0) {
                Py_XDECREF(who[0]);
                Py_XDECREF(who[1]);
                goto error;
            }
        }
        Py_XDECREF(who[0]);
        Py_XDECREF(who[1]);
    }
    return out;
error:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"account_keys", (PyCFunction)(void (*)(void))transfer_account_keys, METH_FASTCALL,
     "account_keys(extrinsics, transfers, prefix, known, Extrinsic) -> the signers' and transfer recipients' "
     "System.Account keys, in order (btt_chain/node/chain.py, `_accounts_read_first`)."},
    {"apply", (PyCFunction)(void (*)(void))transfer_apply, METH_FASTCALL,
     "apply(run, extrinsics, start, length) -> (applied, fees, tips, weight_used, bytes_used): the common transfers "
     "from `start` on, up to the first that is not (runtime/transfer_native.py)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_transfer_native",
                                        "Plain balance transfers applied in C (runtime/transfer_native.py).", -1,
                                        methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__transfer_native(void) {
    INTERN(s_signer, "signer");
    INTERN(s_nonce, "nonce");
    INTERN(s_tip, "tip");
    INTERN(s_era, "era");
    INTERN(s_call, "call");
    INTERN(s_module, "module");
    INTERN(s_function, "function");
    INTERN(s_args, "args");
    INTERN(s_period, "period");
    INTERN(s_encode, "encode");
    INTERN(s_is_alive_at, "is_alive_at");
    INTERN(s_source, "source");
    INTERN(s_dest, "dest");
    INTERN(s_amount, "amount");
    INTERN(s_account, "account");
    INTERN(s_who, "who");
    INTERN(s_actual_fee, "actual_fee");
    INTERN(s_index, "index");
    INTERN(s_success, "success");
    INTERN(s_fee, "fee");
    INTERN(s_weight, "weight");
    INTERN(s_error, "error");
    INTERN(s_wire, "_wire");
    return PyModule_Create(&module_def);
}
