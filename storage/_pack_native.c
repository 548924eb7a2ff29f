/*
 * msgpack for the records a block stores beside it, compiled: the very bytes `msgpack.packb(value, use_bin_type=True)`
 * gives (btt_chain.primitives.codec.pack), for the value kinds those records hold: None, bool, int (-2^63..2^64-1),
 * str, bytes, list and tuple, nested. Any other kind (a float, a dict, a subclass, an int past 64 bits) is refused
 * with None, and the caller packs that value the Python way: a fallback, never a second format.
 *
 * `pack_each(values)` packs each value of a list and returns (their encodings joined, u32 little-endian offsets
 * [0, end of the first, ...]): storage/block_meta.py's `RecordTable.build` (~15,000 event records a block).
 * `pack_journal(changes)` packs a journal {key: value or None} as `[[key, present, value or b""], ...]`:
 * storage/chaindb.py's `encode_journal` (~10,000 entries a block). tests/storage/test_pack_native.py holds both to
 * msgpack's bytes. `index_records(records, count)` numbers a block's event records' kinds and finds where each
 * extrinsic's start (storage/block_meta.py's `_index`, ~16 -> ~0.4 ms for 20,000 records), for records in the
 * executive's order only; the same test file holds it to the Python rule.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} buf_t;

static int grow(buf_t *b, Py_ssize_t more) {
    if (b->len + more <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static int put(buf_t *b, const void *p, Py_ssize_t n) {
    if (grow(b, n) < 0) return -1;
    memcpy(b->data + b->len, p, (size_t)n);
    b->len += n;
    return 0;
}

static int put_byte(buf_t *b, unsigned char c) { return put(b, &c, 1); }

static int put_be(buf_t *b, unsigned char tag, uint64_t v, int bytes) {
    unsigned char out[9];
    out[0] = tag;
    for (int i = 0; i < bytes; i++) out[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    return put(b, out, 1 + bytes);
}

/* msgpack's header for a str/bin/array of n: the smallest form msgpack-python picks. */
static int put_array_header(buf_t *b, Py_ssize_t n) {
    if (n < 16) return put_byte(b, (unsigned char)(0x90 | n));
    if (n < 0x10000) return put_be(b, 0xdc, (uint64_t)n, 2);
    if ((uint64_t)n <= 0xffffffffULL) return put_be(b, 0xdd, (uint64_t)n, 4);
    return 1;
}

static int put_bin(buf_t *b, const char *p, Py_ssize_t n) {
    int rc;
    if (n < 0x100)
        rc = put_be(b, 0xc4, (uint64_t)n, 1);
    else if (n < 0x10000)
        rc = put_be(b, 0xc5, (uint64_t)n, 2);
    else if ((uint64_t)n <= 0xffffffffULL)
        rc = put_be(b, 0xc6, (uint64_t)n, 4);
    else
        return 1;
    return rc < 0 ? -1 : put(b, p, n);
}

#define MAX_DEPTH 64

/* Append `v`'s msgpack: 0 done, 1 a kind this packer leaves to Python (nothing useful appended), -1 error. */
static int pack_value(buf_t *b, PyObject *v, int depth) {
    if (depth > MAX_DEPTH) return 1;
    if (v == Py_None) return put_byte(b, 0xc0);
    if (v == Py_True) return put_byte(b, 0xc3);
    if (v == Py_False) return put_byte(b, 0xc2);
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow == 0 && x == -1 && PyErr_Occurred()) return -1;
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(v);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                return 1; /* past 64 bits: msgpack refuses it too, the Python way says how */
            }
            return put_be(b, 0xcf, u, 8);
        }
        if (overflow < 0) return 1;
        if (x >= 0) {
            if (x < 0x80) return put_byte(b, (unsigned char)x);
            if (x < 0x100) return put_be(b, 0xcc, (uint64_t)x, 1);
            if (x < 0x10000) return put_be(b, 0xcd, (uint64_t)x, 2);
            if (x < 0x100000000LL) return put_be(b, 0xce, (uint64_t)x, 4);
            return put_be(b, 0xcf, (uint64_t)x, 8);
        }
        if (x >= -32) return put_byte(b, (unsigned char)(x & 0xff));
        if (x >= -128) return put_be(b, 0xd0, (uint64_t)x, 1);
        if (x >= -32768) return put_be(b, 0xd1, (uint64_t)x, 2);
        if (x >= -2147483648LL) return put_be(b, 0xd2, (uint64_t)x, 4);
        return put_be(b, 0xd3, (uint64_t)x, 8);
    }
    if (PyBytes_CheckExact(v)) return put_bin(b, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    if (PyUnicode_CheckExact(v)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(v, &n);
        if (s == NULL) {
            PyErr_Clear(); /* a lone surrogate: msgpack's own error, the Python way */
            return 1;
        }
        int rc;
        if (n < 32)
            rc = put_byte(b, (unsigned char)(0xa0 | n));
        else if (n < 0x100)
            rc = put_be(b, 0xd9, (uint64_t)n, 1);
        else if (n < 0x10000)
            rc = put_be(b, 0xda, (uint64_t)n, 2);
        else if ((uint64_t)n <= 0xffffffffULL)
            rc = put_be(b, 0xdb, (uint64_t)n, 4);
        else
            return 1;
        return rc < 0 ? -1 : put(b, s, n);
    }
    if (PyList_CheckExact(v) || PyTuple_CheckExact(v)) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(v);
        int rc = put_array_header(b, n);
        if (rc != 0) return rc;
        PyObject **items = PySequence_Fast_ITEMS(v);
        for (Py_ssize_t i = 0; i < n; i++) {
            rc = pack_value(b, items[i], depth + 1);
            if (rc != 0) return rc;
        }
        return 0;
    }
    return 1;
}

static int put_u32le(buf_t *b, uint32_t v) {
    unsigned char out[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                            (unsigned char)(v >> 24)};
    return put(b, out, 4);
}

/* pack_each(values: list) -> (blob, offsets) | None */
static PyObject *pack_each(PyObject *Py_UNUSED(self), PyObject *values) {
    if (!PyList_CheckExact(values)) {
        PyErr_SetString(PyExc_TypeError, "pack_each(values: list)");
        return NULL;
    }
    buf_t blob = {NULL, 0, 0}, offsets = {NULL, 0, 0};
    PyObject *result = NULL;
    if (put_u32le(&offsets, 0) < 0) goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(values); i++) {
        int rc = pack_value(&blob, PyList_GET_ITEM(values, i), 0);
        if (rc < 0) goto done;
        if (rc > 0 || (uint64_t)blob.len > 0xffffffffULL) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        if (put_u32le(&offsets, (uint32_t)blob.len) < 0) goto done;
    }
    result = Py_BuildValue("(y#y#)", blob.data ? blob.data : "", blob.len, offsets.data, offsets.len);
done:
    PyMem_Free(blob.data);
    PyMem_Free(offsets.data);
    return result;
}

/* pack_journal(changes: dict) -> bytes | None: `[[key, value is not None, value or b""], ...]` in the dict's order. */
static PyObject *pack_journal(PyObject *Py_UNUSED(self), PyObject *changes) {
    if (!PyDict_CheckExact(changes)) {
        PyErr_SetString(PyExc_TypeError, "pack_journal(changes: dict)");
        return NULL;
    }
    buf_t b = {NULL, 0, 0};
    PyObject *result = NULL;
    int rc = put_array_header(&b, PyDict_GET_SIZE(changes));
    if (rc != 0) goto refused;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(changes, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key) || (value != Py_None && !PyBytes_CheckExact(value))) goto leave_to_python;
        if (put_byte(&b, 0x93) < 0) goto done;
        rc = put_bin(&b, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key));
        if (rc != 0) goto refused;
        if (put_byte(&b, value == Py_None ? 0xc2 : 0xc3) < 0) goto done;
        rc = value == Py_None ? put_bin(&b, "", 0) : put_bin(&b, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
        if (rc != 0) goto refused;
    }
    result = PyBytes_FromStringAndSize(b.data ? b.data : "", b.len);
    goto done;
refused:
    if (rc < 0) goto done;
leave_to_python:
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(b.data);
    return result;
}

static PyObject *s_wire;

/* event_records(events, kinds, describe) -> [[phase, module, name, wire], ...]: btt_chain/node/chain.py's
 * `event_records` over (phase, event) pairs. `kinds` maps an event class to (module, name, writer), filled from
 * `describe(class)` the first time a class is met; a module of "" means the class makes its own record (the record is
 * `[phase, *writer(event)]`). The wire is the event's `_wire` (kept by the compiled transfers), else the writer's,
 * once per event object. A phase below zero is stored as 2^32 + phase. */
static PyObject *event_records(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 3 || !(PyList_CheckExact(argv[0]) || PyTuple_CheckExact(argv[0])) || !PyDict_CheckExact(argv[1]) ||
        !PyCallable_Check(argv[2])) {
        PyErr_SetString(PyExc_TypeError, "event_records(events, kinds: dict, describe)");
        return NULL;
    }
    PyObject *events = argv[0], *kinds = argv[1], *describe = argv[2];
    Py_ssize_t n = PySequence_Fast_GET_SIZE(events);
    PyObject **items = PySequence_Fast_ITEMS(events);
    PyObject *out = PyList_New(n), *memo = PyDict_New();
    if (out == NULL || memo == NULL) goto error;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = items[i];
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "event_records: each event is a (phase, event) pair");
            goto error;
        }
        PyObject *phase = PyTuple_GET_ITEM(pair, 0), *ev = PyTuple_GET_ITEM(pair, 1);
        PyObject *kind = (PyObject *)Py_TYPE(ev);
        PyObject *info = PyDict_GetItemWithError(kinds, kind);
        if (info == NULL) {
            if (PyErr_Occurred()) goto error;
            info = PyObject_CallOneArg(describe, kind);
            if (info == NULL) goto error;
            int rc = PyDict_SetItem(kinds, kind, info);
            Py_DECREF(info); /* the dict holds it */
            if (rc < 0) goto error;
        }
        if (!PyTuple_CheckExact(info) || PyTuple_GET_SIZE(info) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(info, 0))) {
            PyErr_SetString(PyExc_TypeError, "event_records: describe gives (module, name, writer)");
            goto error;
        }
        PyObject *wire = NULL, *d = PyObject_GenericGetDict(ev, NULL);
        if (d == NULL) {
            PyErr_Clear();
        } else {
            wire = PyDict_GetItemWithError(d, s_wire);
            Py_XINCREF(wire);
            Py_DECREF(d);
            if (wire == NULL && PyErr_Occurred()) goto error;
        }
        if (wire == NULL) {
            PyObject *id = PyLong_FromVoidPtr(ev);
            if (id == NULL) goto error;
            wire = PyDict_GetItemWithError(memo, id);
            if (wire != NULL) {
                Py_INCREF(wire);
            } else if (!PyErr_Occurred()) {
                wire = PyObject_CallOneArg(PyTuple_GET_ITEM(info, 2), ev);
                if (wire != NULL && PyDict_SetItem(memo, id, wire) < 0) Py_CLEAR(wire);
            }
            Py_DECREF(id);
            if (wire == NULL) goto error;
        }
        PyObject *stored_phase;
        if (PyLong_CheckExact(phase) && _PyLong_Sign(phase) < 0) {
            long long p = PyLong_AsLongLong(phase);
            if (p == -1 && PyErr_Occurred()) {
                Py_DECREF(wire);
                goto error;
            }
            stored_phase = PyLong_FromLongLong(4294967296LL + p);
        } else {
            stored_phase = Py_NewRef(phase);
        }
        if (stored_phase == NULL) {
            Py_DECREF(wire);
            goto error;
        }
        PyObject *record;
        if (PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(info, 0)) > 0) {
            record = PyList_New(4);
            if (record != NULL) {
                PyList_SET_ITEM(record, 0, stored_phase);
                PyList_SET_ITEM(record, 1, Py_NewRef(PyTuple_GET_ITEM(info, 0)));
                PyList_SET_ITEM(record, 2, Py_NewRef(PyTuple_GET_ITEM(info, 1)));
                PyList_SET_ITEM(record, 3, wire);
            } else {
                Py_DECREF(stored_phase);
                Py_DECREF(wire);
            }
        } else { /* the class's own record: [phase, *record] */
            PyObject *whole = PySequence_List(wire);
            Py_DECREF(wire);
            record = NULL;
            if (whole != NULL && PyList_Insert(whole, 0, stored_phase) == 0) record = Py_NewRef(whole);
            Py_XDECREF(whole);
            Py_DECREF(stored_phase);
        }
        if (record == NULL) goto error;
        PyList_SET_ITEM(out, i, record);
    }
    Py_DECREF(memo);
    return out;
error:
    Py_XDECREF(out);
    Py_XDECREF(memo);
    return NULL;
}

static PyObject *s_index, *s_success, *s_fee, *s_weight, *s_error;

/* A field of a struct value: from its instance dict (a frozen dataclass keeps its fields there), else as an attribute.
 * A new reference, or NULL with an error set. */
static PyObject *field(PyObject *dict, PyObject *obj, PyObject *name) {
    PyObject *v = dict == NULL ? NULL : PyDict_GetItemWithError(dict, name);
    if (v != NULL) return Py_NewRef(v);
    if (PyErr_Occurred()) return NULL;
    return PyObject_GetAttr(obj, name);
}

/* outcome_records(outcomes) -> [[index, success, fee as 16 bytes big-endian, weight, error or ""], ...]: chain's
 * `outcome_records` over ApplyOutcome values. A fee that is not an int of 0..2^128-1 fails as `int.to_bytes` does. */
static PyObject *outcome_records(PyObject *Py_UNUSED(self), PyObject *outcomes) {
    if (!PyList_CheckExact(outcomes) && !PyTuple_CheckExact(outcomes)) {
        PyErr_SetString(PyExc_TypeError, "outcome_records(outcomes: list or tuple)");
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(outcomes);
    PyObject **items = PySequence_Fast_ITEMS(outcomes);
    PyObject *out = PyList_New(n), *empty = PyUnicode_FromString("");
    if (out == NULL || empty == NULL) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = items[i], *dict = PyObject_GenericGetDict(o, NULL);
        if (dict == NULL) PyErr_Clear();
        PyObject *index = field(dict, o, s_index), *success = index ? field(dict, o, s_success) : NULL;
        PyObject *fee = success ? field(dict, o, s_fee) : NULL, *weight = fee ? field(dict, o, s_weight) : NULL;
        PyObject *error = weight ? field(dict, o, s_error) : NULL, *fee16 = NULL, *record = NULL;
        Py_XDECREF(dict);
        if (error != NULL) {
            if (PyLong_Check(fee)) {
                fee16 = PyBytes_FromStringAndSize(NULL, 16);
                if (fee16 != NULL &&
                    _PyLong_AsByteArray((PyLongObject *)fee, (unsigned char *)PyBytes_AS_STRING(fee16), 16, 0, 0) < 0)
                    Py_CLEAR(fee16);
            } else {
                fee16 = PyObject_CallMethod(fee, "to_bytes", "is", 16, "big"); /* what the Python way calls */
            }
            int truthy = fee16 == NULL ? -1 : PyObject_IsTrue(error);
            if (truthy >= 0) record = Py_BuildValue("[OOOOO]", index, success, fee16, weight, truthy ? error : empty);
        }
        Py_XDECREF(index);
        Py_XDECREF(success);
        Py_XDECREF(fee);
        Py_XDECREF(weight);
        Py_XDECREF(error);
        Py_XDECREF(fee16);
        if (record == NULL) goto fail;
        PyList_SET_ITEM(out, i, record);
    }
    Py_DECREF(empty);
    return out;
fail:
    Py_XDECREF(out);
    Py_XDECREF(empty);
    return NULL;
}

/* index_records(records: list, count: int) -> (kind ids u16 LE, kind table, group starts u32 LE) | None: the indexes
 * storage/block_meta.py's `_index` gives a block's event records [phase, module, name, fields] when they are in the
 * executive's order (initialization, extrinsics 0..count-1 in order, then finalization) and every phase is an int:
 * kinds numbered by first appearance of (module, name), and where each group's records start. Anything else (phases
 * out of that order, a phase that is not an int, a name that is not a str, 2**16 kinds or more) is None: the Python
 * code decides it. */
#define PHASE_INIT 0xffffffffLL
#define RECENT_KINDS 8
typedef struct {
    PyObject *module, *name;
    uint16_t id;
} recent_t;
static PyObject *index_records(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 2 || !PyList_CheckExact(argv[0]) || !PyLong_CheckExact(argv[1])) {
        PyErr_SetString(PyExc_TypeError, "index_records(records: list, count: int)");
        return NULL;
    }
    PyObject *records = argv[0];
    int overflow = 0;
    long long count = PyLong_AsLongLongAndOverflow(argv[1], &overflow);
    if (count == -1 && PyErr_Occurred()) return NULL;
    if (overflow || count < 0 || count > 0xfffffffeLL) Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(records);
    if ((unsigned long long)n >= 0xffffffffULL) Py_RETURN_NONE;
    PyObject *result = NULL, *kinds = PyDict_New(), *table = PyList_New(0);
    uint16_t *ids = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(uint16_t));
    uint32_t *starts = PyMem_Calloc((size_t)count + 2, sizeof(uint32_t));
    if (kinds == NULL || table == NULL || ids == NULL || starts == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    /* groups: 0 initialization, 1 + i extrinsic i, count + 1 finalization; a record's group may not go back */
    long long group = 0;
    recent_t recent[RECENT_KINDS] = {{NULL, NULL, 0}};
    int next_recent = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *rec = PyList_GET_ITEM(records, i);
        if (!PyList_CheckExact(rec) || PyList_GET_SIZE(rec) < 3) goto none;
        PyObject *phase_o = PyList_GET_ITEM(rec, 0);
        if (!PyLong_CheckExact(phase_o)) goto none;
        long long phase = PyLong_AsLongLongAndOverflow(phase_o, &overflow);
        if (phase == -1 && PyErr_Occurred()) goto done;
        if (overflow) goto none;
        long long g;
        if (phase == PHASE_INIT) g = 0;
        else if (phase >= 0 && phase < count) g = phase + 1;
        else if (phase >= count) g = count + 1;
        else goto none; /* a negative phase */
        if (g < group) goto none;
        group = g;
        starts[g] += 1;
        /* the same (module, name) objects recur (a block's records share them): found by identity first, which the
         * dict's lookup would also match on */
        PyObject *module = PyList_GET_ITEM(rec, 1), *name = PyList_GET_ITEM(rec, 2);
        /* str names only: their hashing and comparing run no Python code that could change the records meanwhile */
        if (!PyUnicode_CheckExact(module) || !PyUnicode_CheckExact(name)) goto none;
        int seen = -1;
        for (int c = 0; c < RECENT_KINDS; c++)
            if (recent[c].module == module && recent[c].name == name) {
                seen = c;
                break;
            }
        if (seen >= 0) {
            ids[i] = recent[seen].id;
            continue;
        }
        PyObject *key = PyTuple_Pack(2, module, name);
        if (key == NULL) goto done;
        PyObject *id = PyDict_GetItemWithError(kinds, key);
        if (id == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(key);
                goto done;
            }
            Py_ssize_t next = PyDict_GET_SIZE(kinds);
            if (next >= 0xffff) { /* 2**16 kinds: the Python rule refuses them */
                Py_DECREF(key);
                goto none;
            }
            PyObject *pair = PyList_New(2), *num = PyLong_FromSsize_t(next);
            if (pair == NULL || num == NULL || PyDict_SetItem(kinds, key, num) < 0) {
                Py_XDECREF(pair);
                Py_XDECREF(num);
                Py_DECREF(key);
                goto done;
            }
            PyList_SET_ITEM(pair, 0, Py_NewRef(PyTuple_GET_ITEM(key, 0)));
            PyList_SET_ITEM(pair, 1, Py_NewRef(PyTuple_GET_ITEM(key, 1)));
            int rc = PyList_Append(table, pair);
            Py_DECREF(pair);
            Py_DECREF(num);
            if (rc < 0) {
                Py_DECREF(key);
                goto done;
            }
            ids[i] = (uint16_t)next;
        } else {
            ids[i] = (uint16_t)PyLong_AsLong(id);
        }
        Py_DECREF(key);
        /* kept in `kinds` (through the key tuple) until the end: the pointers stay valid */
        recent[next_recent] = (recent_t){module, name, ids[i]};
        next_recent = (next_recent + 1) % RECENT_KINDS;
    }
    {
        /* where each group starts, from extrinsic 0's group on: [first of 1, ..., first of count + 1, n] */
        PyObject *ids_b = PyBytes_FromStringAndSize(NULL, n * 2);
        PyObject *starts_b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(count + 1) * 4);
        if (ids_b == NULL || starts_b == NULL) {
            Py_XDECREF(ids_b);
            Py_XDECREF(starts_b);
            goto done;
        }
        unsigned char *o = (unsigned char *)PyBytes_AS_STRING(ids_b);
        for (Py_ssize_t i = 0; i < n; i++) {
            o[2 * i] = (unsigned char)ids[i];
            o[2 * i + 1] = (unsigned char)(ids[i] >> 8);
        }
        unsigned char *p = (unsigned char *)PyBytes_AS_STRING(starts_b);
        uint32_t at = 0;
        for (long long g = 0; g <= count; g++) {
            at += starts[g];
            p[4 * g] = (unsigned char)at;
            p[4 * g + 1] = (unsigned char)(at >> 8);
            p[4 * g + 2] = (unsigned char)(at >> 16);
            p[4 * g + 3] = (unsigned char)(at >> 24);
        }
        result = PyTuple_Pack(3, ids_b, table, starts_b);
        Py_DECREF(ids_b);
        Py_DECREF(starts_b);
    }
    goto done;
none:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(kinds);
    Py_XDECREF(table);
    PyMem_Free(ids);
    PyMem_Free(starts);
    return result;
}

static PyMethodDef methods[] = {
    {"index_records", (PyCFunction)(void (*)(void))index_records, METH_FASTCALL,
     "index_records(records, count) -> (kind ids, kind table, group starts) or None: block_meta._index's parts."},
    {"outcome_records", outcome_records, METH_O,
     "outcome_records(outcomes) -> a block's outcome records (btt_chain/node/chain.py)."},
    {"event_records", (PyCFunction)(void (*)(void))event_records, METH_FASTCALL,
     "event_records(events, kinds, describe) -> a block's event records (btt_chain/node/chain.py)."},
    {"pack_each", pack_each, METH_O,
     "pack_each(values) -> (joined msgpack encodings, u32 LE offsets) or None: RecordTable.build's bytes."},
    {"pack_journal", pack_journal, METH_O,
     "pack_journal(changes) -> msgpack of [[key, present, value or b''], ...] or None: encode_journal's bytes."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_pack_native",
                                        "msgpack for a block's stored records (storage/_pack_native.c).", -1, methods,
                                        NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__pack_native(void) {
    if ((s_wire = PyUnicode_InternFromString("_wire")) == NULL || (s_index = PyUnicode_InternFromString("index")) == NULL ||
        (s_success = PyUnicode_InternFromString("success")) == NULL || (s_fee = PyUnicode_InternFromString("fee")) == NULL ||
        (s_weight = PyUnicode_InternFromString("weight")) == NULL || (s_error = PyUnicode_InternFromString("error")) == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
