/*
 * A block's signed extrinsics decoded in C, for the one shape most of them have: what `AnyExtrinsicField.decode_scale`
 * (btt_chain/primitives/extrinsic.py: the length prefix, then `Extrinsic.decode_body`) gives for a signed v4 extrinsic
 * by a MultiAddress::Id signer with an immortal era. `decode_run` decodes such extrinsics one after the other and
 * stops BEFORE the first that is anything else (an inherent, a mortal era, any byte the Python decoder would refuse or
 * that this one is unsure of), which the Python decoder then takes: it stays the rule, and names every fault.
 * tests/primitives/test_extrinsic_native.py holds the two to each other on random blocks and on every truncation and
 * byte change of them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "../../storage/native_struct.h"

#define SIGNED_V4 0x84
#define ADDRESS_ID 0x00
#define MIN_BODY 100

static PyObject *s_signer, *s_nonce, *s_tip, *s_era, *s_call, *s_signature, *s_scheme, *s_module, *s_function,
    *s_args, *s_encoded;

/* A minimal SCALE compact integer at p[0..len) of at most `limit`, as `scale.decode_compact` accepts it: its value and
 * size (bytes read), or 0 where that refuses it (or it is wider than 16 bytes). */
static Py_ssize_t compact(const unsigned char *p, Py_ssize_t len, u128 limit, u128 *value) {
    if (len < 1) return 0;
    unsigned first = p[0];
    u128 v;
    Py_ssize_t size;
    switch (first & 3) {
        case 0:
            v = first >> 2;
            size = 1;
            break;
        case 1:
            if (len < 2) return 0;
            v = (u128)((p[0] | (unsigned)p[1] << 8) >> 2);
            if (v < 64) return 0;
            size = 2;
            break;
        case 2:
            if (len < 4) return 0;
            v = (u128)(((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24) >> 2);
            if (v < 16384) return 0;
            size = 4;
            break;
        default: {
            Py_ssize_t n = (first >> 2) + 4;
            if (n > 16 || len < 1 + n || p[n] == 0) return 0;
            v = 0;
            for (Py_ssize_t i = n; i >= 1; i--) v = (v << 8) | p[i];
            if (v < ((u128)1 << 30)) return 0;
            size = 1 + n;
        }
    }
    if (v > limit) return 0;
    *value = v;
    return size;
}

/* `new_frozen` that takes over `values` (any of them NULL: an error already set, nothing made). */
static PyObject *make(PyObject *type, int n, PyObject **names, PyObject **values) {
    PyObject *obj = NULL;
    int complete = 1;
    for (int i = 0; i < n; i++) complete &= values[i] != NULL;
    if (complete) obj = new_frozen(type, n, names, values);
    for (int i = 0; i < n; i++) Py_XDECREF(values[i]);
    return obj;
}

/* decode_run(data, pos, count, Extrinsic, Call, IMMORTAL, signature_lengths, max_size, nonce_max) -> (list, pos):
 * up to `count` extrinsics from `pos`, stopping before the first not of the common shape. */
static PyObject *decode_run(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 9 || !PyBytes_CheckExact(argv[0]) || !PyLong_Check(argv[1]) || !PyLong_Check(argv[2]) ||
        !PyType_Check(argv[3]) || !PyType_Check(argv[4]) || !PyDict_CheckExact(argv[6]) || !PyLong_Check(argv[7]) ||
        !PyLong_Check(argv[8])) {
        PyErr_SetString(PyExc_TypeError,
                        "decode_run(data, pos, count, Extrinsic, Call, IMMORTAL, lengths, max_size, nonce_max)");
        return NULL;
    }
    PyObject *data = argv[0], *xt_type = argv[3], *call_type = argv[4], *immortal = argv[5], *lengths = argv[6];
    Py_ssize_t pos = PyLong_AsSsize_t(argv[1]), count = PyLong_AsSsize_t(argv[2]);
    Py_ssize_t max_size = PyLong_AsSsize_t(argv[7]);
    unsigned long long nonce_max = PyLong_AsUnsignedLongLong(argv[8]);
    if (PyErr_Occurred()) return NULL;
    Py_ssize_t sig_len[3] = {-1, -1, -1};
    for (int scheme = 0; scheme < 3; scheme++) {
        PyObject *k = PyLong_FromLong(scheme);
        if (k == NULL) return NULL;
        PyObject *v = PyDict_GetItemWithError(lengths, k);
        Py_DECREF(k);
        if (v == NULL && PyErr_Occurred()) return NULL;
        if (v != NULL) sig_len[scheme] = PyLong_AsSsize_t(v);
        if (PyErr_Occurred()) return NULL;
    }
    const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    if (pos < 0 || pos > size) count = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        u128 length;
        Py_ssize_t prefix = compact(buf + pos, size - pos, (u128)max_size, &length);
        if (prefix == 0) break;
        Py_ssize_t start = pos + prefix, end = start + (Py_ssize_t)length;
        if (end > size) break;
        const unsigned char *body = buf + start;
        Py_ssize_t blen = (Py_ssize_t)length;
        if (blen < MIN_BODY || body[0] != SIGNED_V4 || body[1] != ADDRESS_ID) break;
        unsigned scheme = body[34];
        if (scheme > 2 || sig_len[scheme] < 0) break;
        Py_ssize_t at = 35 + sig_len[scheme];
        if (at >= blen || body[at] != 0) break; /* a mortal era (or none): the Python decoder's */
        at += 1;
        u128 nonce, tip;
        Py_ssize_t used = compact(body + at, blen - at, (u128)nonce_max, &nonce);
        if (used == 0) break;
        at += used;
        used = compact(body + at, blen - at, ~(u128)0, &tip);
        if (used == 0) break;
        at += used;
        if (at + 2 > blen) break;
        PyObject *cnames[3] = {s_module, s_function, s_args};
        PyObject *cvalues[3] = {PyLong_FromLong(body[at]), PyLong_FromLong(body[at + 1]),
                                PyBytes_FromStringAndSize((const char *)body + at + 2, blen - at - 2)};
        PyObject *call = make(call_type, 3, cnames, cvalues);
        PyObject *names[7] = {s_signer, s_nonce, s_tip, s_era, s_call, s_signature, s_scheme};
        PyObject *values[7] = {PyBytes_FromStringAndSize((const char *)body + 2, 32), int_of_u128(nonce),
                               int_of_u128(tip), Py_NewRef(immortal), call,
                               PyBytes_FromStringAndSize((const char *)body + 35, sig_len[scheme]),
                               PyLong_FromLong((long)scheme)};
        PyObject *xt = make(xt_type, 7, names, values);
        if (xt == NULL) goto error;
        PyObject *encoded = PyBytes_FromStringAndSize((const char *)buf + pos, end - pos);
        PyObject *d = encoded == NULL ? NULL : PyObject_GenericGetDict(xt, NULL);
        int rc = d == NULL ? -1 : PyDict_SetItem(d, s_encoded, encoded);
        Py_XDECREF(d);
        Py_XDECREF(encoded);
        if (rc < 0 || PyList_Append(out, xt) < 0) {
            Py_DECREF(xt);
            goto error;
        }
        Py_DECREF(xt);
        pos = end;
    }
    return Py_BuildValue("(Nn)", out, pos);
error:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"decode_run", (PyCFunction)(void (*)(void))decode_run, METH_FASTCALL,
     "decode_run(data, pos, count, Extrinsic, Call, IMMORTAL, lengths, max_size, nonce_max) -> (extrinsics, pos)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_extrinsic_native",
                                        "A block's common signed extrinsics decoded in C (extrinsic.py).", -1, methods,
                                        NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__extrinsic_native(void) {
    INTERN(s_signer, "signer");
    INTERN(s_nonce, "nonce");
    INTERN(s_tip, "tip");
    INTERN(s_era, "era");
    INTERN(s_call, "call");
    INTERN(s_signature, "signature");
    INTERN(s_scheme, "scheme");
    INTERN(s_module, "module");
    INTERN(s_function, "function");
    INTERN(s_args, "args");
    INTERN(s_encoded, "_encoded");
    return PyModule_Create(&module_def);
}
