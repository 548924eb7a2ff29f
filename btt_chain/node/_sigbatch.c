/* A batch of ed25519 signature checks that threads share without the GIL (btt_chain/node/sigbatch.py).

Each check is the chain's rule, btt_chain/primitives/ed25519.py, item for item: the signature is 64 bytes and the
public key 32; S < L; A and R canonical (y < p) and not of small order (y not in the listed set, whatever the sign
bit); then libsodium's crypto_sign_open over sig || message. The constants (L, p, the small-order y values) and the
crypto_sign_open function itself come from Python at `configure` (ed25519.py's values and PyNaCl's own libsodium), so
this file holds no second copy of the rule's numbers or of the curve code.

A Batch holds its items (borrowed pointers into bytes objects it keeps alive). `run()` releases the GIL and takes
items from a shared counter until none is left: any number of threads may call it at once (a verify thread, and the
importing thread once it has executed the block: work stealing), each item checked exactly once. `verdicts()` gives
one byte per item (1 valid, 0 not) once every item is done. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storage/blake2b.h"

typedef int (*sign_open_fn)(unsigned char *m, unsigned long long *mlen, const unsigned char *sm,
                            unsigned long long smlen, const unsigned char *pk);

#define MAX_SMALL 16
static sign_open_fn sign_open = NULL;
static unsigned char ORDER_L[32];       /* little-endian */
static unsigned char FIELD_P[32];       /* little-endian */
static unsigned char SMALL[MAX_SMALL][32];
static int n_small = 0;

/* a < b for 32-byte little-endian numbers */
static int le_less(const unsigned char *a, const unsigned char *b) {
    for (int i = 31; i >= 0; i--) {
        if (a[i] != b[i]) return a[i] < b[i];
    }
    return 0;
}

static int acceptable_point(const unsigned char *enc) {
    unsigned char y[32];
    memcpy(y, enc, 32);
    y[31] &= 0x7f;
    if (!le_less(y, FIELD_P)) return 0;
    for (int i = 0; i < n_small; i++) {
        if (memcmp(y, SMALL[i], 32) == 0) return 0;
    }
    return 1;
}

/* The rule on one item; 1 valid, 0 not. */
static int check(const unsigned char *pk, Py_ssize_t pklen, const unsigned char *msg, Py_ssize_t msglen,
                 const unsigned char *sig, Py_ssize_t siglen) {
    if (pklen != 32 || siglen != 64) return 0;
    if (!le_less(sig + 32, ORDER_L)) return 0;
    if (!acceptable_point(pk) || !acceptable_point(sig)) return 0;
    size_t smlen = 64 + (size_t)msglen;
    unsigned char stack_sm[1024], stack_m[1024];
    unsigned char *sm = stack_sm, *m = stack_m;
    if (smlen > sizeof stack_sm) {
        sm = malloc(smlen);
        m = malloc(smlen);
        if (sm == NULL || m == NULL) {
            free(sm);
            free(m);
            return -1;
        }
    }
    memcpy(sm, sig, 64);
    memcpy(sm + 64, msg, (size_t)msglen);
    unsigned long long mlen = 0;
    int ok = sign_open(m, &mlen, sm, (unsigned long long)smlen, pk) == 0;
    if (sm != stack_sm) {
        free(sm);
        free(m);
    }
    return ok;
}

typedef struct {
    PyObject_HEAD
    PyObject *items;  /* the list given, kept alive: the pointers below point into its bytes */
    Py_ssize_t n;
    const unsigned char **pk, **msg, **sig;
    Py_ssize_t *pklen, *msglen, *siglen;
    unsigned char *verdict;
    Py_ssize_t next;     /* the next item to take (atomic) */
    Py_ssize_t finished; /* items checked (atomic) */
    int failed;          /* out of memory in a check */
} Batch;

static void Batch_dealloc(Batch *b) {
    Py_XDECREF(b->items);
    free(b->pk);
    free(b->msg);
    free(b->sig);
    free(b->pklen);
    free(b->msglen);
    free(b->siglen);
    free(b->verdict);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

/* Batch(items): items a list of (public key, message, signature) bytes triples (the 64-byte signature, without
   MultiSignature's variant byte). */
static int Batch_init(Batch *b, PyObject *args, PyObject *kwds) {
    PyObject *items;
    static char *kwlist[] = {"items", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!", kwlist, &PyList_Type, &items)) return -1;
    if (sign_open == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_sigbatch is not configured: call configure() first");
        return -1;
    }
    if (b->items != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Batch is initialised once");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(items);
    size_t cnt = n > 0 ? (size_t)n : 1;
    b->pk = malloc(cnt * sizeof *b->pk);
    b->msg = malloc(cnt * sizeof *b->msg);
    b->sig = malloc(cnt * sizeof *b->sig);
    b->pklen = malloc(cnt * sizeof *b->pklen);
    b->msglen = malloc(cnt * sizeof *b->msglen);
    b->siglen = malloc(cnt * sizeof *b->siglen);
    b->verdict = calloc(cnt, 1);
    if (!b->pk || !b->msg || !b->sig || !b->pklen || !b->msglen || !b->siglen || !b->verdict) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(items, i);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
            PyErr_SetString(PyExc_TypeError, "each item is a (public key, message, signature) tuple");
            return -1;
        }
        PyObject *a = PyTuple_GET_ITEM(t, 0), *m = PyTuple_GET_ITEM(t, 1), *s = PyTuple_GET_ITEM(t, 2);
        if (!PyBytes_CheckExact(a) || !PyBytes_CheckExact(m) || !PyBytes_CheckExact(s)) {
            PyErr_SetString(PyExc_TypeError, "public key, message and signature must be bytes");
            return -1;
        }
        b->pk[i] = (const unsigned char *)PyBytes_AS_STRING(a);
        b->pklen[i] = PyBytes_GET_SIZE(a);
        b->msg[i] = (const unsigned char *)PyBytes_AS_STRING(m);
        b->msglen[i] = PyBytes_GET_SIZE(m);
        b->sig[i] = (const unsigned char *)PyBytes_AS_STRING(s);
        b->siglen[i] = PyBytes_GET_SIZE(s);
    }
    Py_INCREF(items);
    b->items = items;
    b->n = n;
    return 0;
}

static PyObject *Batch_run(Batch *b, PyObject *Py_UNUSED(ignored)) {
    if (b->items == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Batch not initialised");
        return NULL;
    }
    Py_ssize_t mine = 0;
    int oom = 0;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        Py_ssize_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
        if (i >= b->n) break;
        int ok = check(b->pk[i], b->pklen[i], b->msg[i], b->msglen[i], b->sig[i], b->siglen[i]);
        if (ok < 0) {
            oom = 1;
            ok = 0;
        }
        b->verdict[i] = (unsigned char)ok;
        __atomic_fetch_add(&b->finished, 1, __ATOMIC_RELEASE);
        mine++;
    }
    Py_END_ALLOW_THREADS
    if (oom) {
        b->failed = 1;
    }
    return PyLong_FromSsize_t(mine);
}

static PyObject *Batch_done(Batch *b, PyObject *Py_UNUSED(ignored)) {
    return PyBool_FromLong(__atomic_load_n(&b->finished, __ATOMIC_ACQUIRE) >= b->n);
}

static PyObject *Batch_verdicts(Batch *b, PyObject *Py_UNUSED(ignored)) {
    if (__atomic_load_n(&b->finished, __ATOMIC_ACQUIRE) < b->n) {
        PyErr_SetString(PyExc_RuntimeError, "the batch is not finished: run() it to the end first");
        return NULL;
    }
    if (b->failed) {
        PyErr_SetString(PyExc_MemoryError, "out of memory while checking signatures");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)b->verdict, b->n);
}

static PyObject *Batch_len(Batch *b, PyObject *Py_UNUSED(ignored)) { return PyLong_FromSsize_t(b->n); }

static PyMethodDef Batch_methods[] = {
    {"run", (PyCFunction)Batch_run, METH_NOARGS,
     "Check items taken from the shared counter, without the GIL, until none is left; returns how many this call did."},
    {"done", (PyCFunction)Batch_done, METH_NOARGS, "Whether every item has been checked."},
    {"verdicts", (PyCFunction)Batch_verdicts, METH_NOARGS, "One byte per item, 1 valid, 0 not (once done)."},
    {"size", (PyCFunction)Batch_len, METH_NOARGS, "How many items."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BatchType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "btt_chain.node._sigbatch.Batch",
    .tp_basicsize = sizeof(Batch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Batch_init,
    .tp_dealloc = (destructor)Batch_dealloc,
    .tp_methods = Batch_methods,
    .tp_doc = "ed25519 checks under the chain's rule, shared by threads without the GIL.",
};

/* configure(crypto_sign_open address, L, p, small-order y values): each number 32 bytes little-endian. */
static PyObject *configure(PyObject *Py_UNUSED(self), PyObject *args) {
    unsigned long long address;
    Py_buffer l, p;
    PyObject *small;
    if (!PyArg_ParseTuple(args, "Ky*y*O!", &address, &l, &p, &PyList_Type, &small)) return NULL;
    PyObject *result = NULL;
    if (l.len != 32 || p.len != 32 || PyList_GET_SIZE(small) > MAX_SMALL || address == 0) {
        PyErr_SetString(PyExc_ValueError, "configure(address, L, p, [small-order y]): 32-byte numbers, at most 16");
        goto out;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(small); i++) {
        PyObject *y = PyList_GET_ITEM(small, i);
        if (!PyBytes_CheckExact(y) || PyBytes_GET_SIZE(y) != 32) {
            PyErr_SetString(PyExc_ValueError, "a small-order y is 32 bytes");
            goto out;
        }
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(small); i++) {
        memcpy(SMALL[i], PyBytes_AS_STRING(PyList_GET_ITEM(small, i)), 32);
    }
    n_small = (int)PyList_GET_SIZE(small);
    memcpy(ORDER_L, l.buf, 32);
    memcpy(FIELD_P, p.buf, 32);
    sign_open = (sign_open_fn)(uintptr_t)address;
    result = Py_NewRef(Py_None);
out:
    PyBuffer_Release(&l);
    PyBuffer_Release(&p);
    return result;
}

/* signature_items(encodings, births, versions, lengths, no_signature, hash_over) -> (keys, items): what
 * btt_chain/node/precheck.py's `signature_items` gives, for a block `Block.decode` accepted: for each extrinsic's
 * encoding, its signature cache key and (signer, message, MultiSignature), an inherent's NO_SIGNATURE and empty
 * check. `versions` is spec ++ transaction version ++ genesis hash, `lengths` the signature length by scheme (a
 * 3-tuple), `hash_over` the payload length past which the message is its BLAKE2b-256. ValueError for an encoding that
 * is not such an extrinsic's (the caller then cuts them the Python way, which says what is wrong). */
static PyObject *signature_items(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *encodings, *births, *versions, *lengths, *no_signature;
    Py_ssize_t hash_over;
    if (!PyArg_ParseTuple(args, "O!O!SO!Sn:signature_items", &PyList_Type, &encodings, &PyList_Type, &births,
                          &versions, &PyTuple_Type, &lengths, &no_signature, &hash_over))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(encodings);
    if (PyList_GET_SIZE(births) != n || PyTuple_GET_SIZE(lengths) != 3) {
        PyErr_SetString(PyExc_ValueError, "signature_items: one birth per extrinsic, three signature lengths");
        return NULL;
    }
    Py_ssize_t sig_len[3];
    for (int i = 0; i < 3; i++) {
        sig_len[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(lengths, i));
        if (sig_len[i] == -1 && PyErr_Occurred()) return NULL;
    }
    PyObject *keys = PyList_New(n), *items = PyList_New(n), *empty = PyBytes_FromStringAndSize(NULL, 0);
    PyObject *empty_item = empty == NULL ? NULL : PyTuple_Pack(3, empty, empty, empty);
    unsigned char *payload = NULL;
    Py_ssize_t payload_cap = 0;
    const char *vp = PyBytes_AS_STRING(versions);
    Py_ssize_t vlen = PyBytes_GET_SIZE(versions);
    if (keys == NULL || items == NULL || empty_item == NULL) goto error;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *enc = PyList_GET_ITEM(encodings, k), *birth = PyList_GET_ITEM(births, k);
        if (!PyBytes_CheckExact(enc) || !PyBytes_CheckExact(birth)) goto malformed;
        const unsigned char *xt = (const unsigned char *)PyBytes_AS_STRING(enc);
        Py_ssize_t len = PyBytes_GET_SIZE(enc);
        if (len < 1) goto malformed;
        unsigned mode = xt[0] & 3;
        Py_ssize_t at = mode == 0 ? 1 : mode == 1 ? 2 : 4;
        if (at >= len) goto malformed;
        if (xt[at] == 0x04) {
            PyList_SET_ITEM(keys, k, Py_NewRef(no_signature));
            PyList_SET_ITEM(items, k, Py_NewRef(empty_item));
            continue;
        }
        if (at + 35 > len || xt[at + 34] > 2) goto malformed;
        Py_ssize_t extra = at + 35 + sig_len[xt[at + 34]];
        if (extra >= len) goto malformed;
        Py_ssize_t pos = xt[extra] == 0 ? extra + 1 : extra + 2;
        for (int c = 0; c < 2; c++) { /* nonce, tip */
            if (pos >= len) goto malformed;
            unsigned m = xt[pos] & 3;
            pos += m == 0 ? 1 : m == 1 ? 2 : m == 2 ? 4 : 5 + (xt[pos] >> 2);
        }
        if (pos > len) goto malformed;
        Py_ssize_t blen = PyBytes_GET_SIZE(birth), plen = (len - pos) + (pos - extra) + vlen + blen;
        if (plen > payload_cap) {
            unsigned char *grown = PyMem_Realloc(payload, (size_t)plen);
            if (grown == NULL) {
                PyErr_NoMemory();
                goto error;
            }
            payload = grown;
            payload_cap = plen;
        }
        unsigned char *p = payload;
        memcpy(p, xt + pos, (size_t)(len - pos)); /* the call */
        p += len - pos;
        memcpy(p, xt + extra, (size_t)(pos - extra)); /* the extra: era, nonce, tip */
        p += pos - extra;
        memcpy(p, vp, (size_t)vlen);
        p += vlen;
        memcpy(p, PyBytes_AS_STRING(birth), (size_t)blen);
        PyObject *msg;
        if (plen > hash_over) {
            unsigned char digest[32];
            blake2b(payload, (size_t)plen, digest, 32);
            msg = PyBytes_FromStringAndSize((const char *)digest, 32);
        } else {
            msg = PyBytes_FromStringAndSize((const char *)payload, plen);
        }
        PyObject *signer = PyBytes_FromStringAndSize((const char *)xt + at + 2, 32);
        PyObject *signature = PyBytes_FromStringAndSize((const char *)xt + at + 34, extra - (at + 34));
        PyObject *key = NULL, *item = NULL;
        if (msg != NULL && signer != NULL && signature != NULL) {
            Py_ssize_t mlen = PyBytes_GET_SIZE(msg), slen = PyBytes_GET_SIZE(signature);
            Py_ssize_t klen = mlen + 32 + slen;
            if (klen > payload_cap) {
                unsigned char *grown = PyMem_Realloc(payload, (size_t)klen);
                if (grown != NULL) {
                    payload = grown;
                    payload_cap = klen;
                }
            }
            if (klen <= payload_cap) {
                memcpy(payload, PyBytes_AS_STRING(msg), (size_t)mlen);
                memcpy(payload + mlen, PyBytes_AS_STRING(signer), 32);
                memcpy(payload + mlen + 32, PyBytes_AS_STRING(signature), (size_t)slen);
                unsigned char digest[32];
                blake2b(payload, (size_t)klen, digest, 32);
                key = PyBytes_FromStringAndSize((const char *)digest, 32);
                item = PyTuple_Pack(3, signer, msg, signature);
            } else {
                PyErr_NoMemory();
            }
        }
        Py_XDECREF(msg);
        Py_XDECREF(signer);
        Py_XDECREF(signature);
        if (key == NULL || item == NULL) {
            Py_XDECREF(key);
            Py_XDECREF(item);
            goto error;
        }
        PyList_SET_ITEM(keys, k, key);
        PyList_SET_ITEM(items, k, item);
    }
    PyMem_Free(payload);
    Py_DECREF(empty);
    Py_DECREF(empty_item);
    return Py_BuildValue("(NN)", keys, items);
malformed:
    PyErr_SetString(PyExc_ValueError, "signature_items: not a block's extrinsic encoding");
error:
    PyMem_Free(payload);
    Py_XDECREF(keys);
    Py_XDECREF(items);
    Py_XDECREF(empty);
    Py_XDECREF(empty_item);
    return NULL;
}

/* extrinsic_hashes_root(encodings, empty_root) -> (hashes, root): each encoding's BLAKE2b-256 (its extrinsic's hash)
 * and `hashing.merkle_root` over them (leaves BLAKE2b-256(0x00 ++ hash), nodes BLAKE2b-256(0x01 ++ left ++ right), an
 * odd node promoted; `empty_root` for none): a block's extrinsics root as `_start_checks_from_encoding` computes it. */
static PyObject *extrinsic_hashes_root(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *encodings, *empty_root;
    if (!PyArg_ParseTuple(args, "O!S:extrinsic_hashes_root", &PyList_Type, &encodings, &empty_root)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(encodings);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyBytes_CheckExact(PyList_GET_ITEM(encodings, i))) {
            PyErr_SetString(PyExc_TypeError, "extrinsic_hashes_root: encodings are bytes");
            return NULL;
        }
    }
    unsigned char *level = PyMem_Malloc((size_t)(n ? n : 1) * 32);
    PyObject *hashes = PyList_New(n);
    if (level == NULL || hashes == NULL) {
        PyMem_Free(level);
        Py_XDECREF(hashes);
        return PyErr_NoMemory();
    }
    unsigned char buf[65];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *enc = PyList_GET_ITEM(encodings, i);
        blake2b((const uint8_t *)PyBytes_AS_STRING(enc), (size_t)PyBytes_GET_SIZE(enc), buf + 1, 32);
        PyObject *h = PyBytes_FromStringAndSize((const char *)buf + 1, 32);
        if (h == NULL) {
            PyMem_Free(level);
            Py_DECREF(hashes);
            return NULL;
        }
        PyList_SET_ITEM(hashes, i, h);
        buf[0] = 0x00;
        blake2b(buf, 33, level + 32 * i, 32);
    }
    PyObject *root;
    if (n == 0) {
        root = Py_NewRef(empty_root);
    } else {
        Py_ssize_t width = n;
        while (width > 1) {
            Py_ssize_t next = 0;
            for (Py_ssize_t i = 0; i + 1 < width; i += 2) {
                buf[0] = 0x01;
                memcpy(buf + 1, level + 32 * i, 32);
                memcpy(buf + 33, level + 32 * (i + 1), 32);
                blake2b(buf, 65, level + 32 * next, 32);
                next++;
            }
            if (width % 2) {
                memmove(level + 32 * next, level + 32 * (width - 1), 32);
                next++;
            }
            width = next;
        }
        root = PyBytes_FromStringAndSize((const char *)level, 32);
    }
    PyMem_Free(level);
    if (root == NULL) {
        Py_DECREF(hashes);
        return NULL;
    }
    return Py_BuildValue("(NN)", hashes, root);
}

static PyMethodDef module_methods[] = {
    {"extrinsic_hashes_root", extrinsic_hashes_root, METH_VARARGS,
     "extrinsic_hashes_root(encodings, empty_root) -> (each encoding's hash, the Merkle root over them)."},
    {"configure", configure, METH_VARARGS, "Set crypto_sign_open's address and the rule's constants."},
    {"signature_items", signature_items, METH_VARARGS,
     "signature_items(encodings, births, versions, lengths, no_signature, hash_over) -> (keys, items)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sigbatch", NULL, -1, module_methods};

PyMODINIT_FUNC PyInit__sigbatch(void) {
    if (PyType_Ready(&BatchType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&BatchType);
    if (PyModule_AddObject(m, "Batch", (PyObject *)&BatchType) < 0) {
        Py_DECREF(&BatchType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
