/*
 * What the compiled parts share when they make Python values: frozen dataclass instances built as `fast_init`'s
 * `__init__` builds them (btt_chain/primitives/frozen.py: `object.__new__`, then each field written into the instance
 * dict), u128 amounts as ints, and interned attribute names. Included by runtime/_transfer_native.c and
 * btt_chain/primitives/_extrinsic_native.c.
 */
#ifndef BTT_NATIVE_STRUCT_H
#define BTT_NATIVE_STRUCT_H
#include <Python.h>

typedef unsigned __int128 u128;

/* A new `type` instance with `names[i]` = `values[i]` in its dict (new references taken), or NULL with an error set. */
static PyObject *new_frozen(PyObject *type, int n, PyObject *const *names, PyObject *const *values) {
    static PyObject *no_args = NULL;
    if (no_args == NULL && (no_args = PyTuple_New(0)) == NULL) return NULL;
    PyObject *obj = PyBaseObject_Type.tp_new((PyTypeObject *)type, no_args, NULL);
    if (obj == NULL) return NULL;
    PyObject *d = PyObject_GenericGetDict(obj, NULL);
    if (d == NULL) {
        Py_DECREF(obj);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (PyDict_SetItem(d, names[i], values[i]) < 0) {
            Py_DECREF(d);
            Py_DECREF(obj);
            return NULL;
        }
    }
    Py_DECREF(d);
    return obj;
}

/* A u128 as a Python int. */
static PyObject *int_of_u128(u128 v) {
    if (v >> 64 == 0) return PyLong_FromUnsignedLongLong((unsigned long long)v);
    unsigned char buf[16];
    for (int i = 0; i < 16; i++) buf[i] = (unsigned char)(v >> (8 * i));
    return _PyLong_FromByteArray(buf, 16, 1, 0);
}

/* `var` = the interned str `text`, or return NULL from the module's init. */
#define INTERN(var, text)                                                  \
    do {                                                                   \
        if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL; \
    } while (0)

#endif
