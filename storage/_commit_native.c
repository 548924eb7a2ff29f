/*
 * A commit's loops over a block's state changes (~10,000 keys a block of transfers), compiled: storage/chaindb.py's
 * `FlatState.get_many`, `FlatState.appearing` and `schema.put_state` call for call, at a fraction of the interpreter's
 * cost. Each reads the flat state's cache dicts as the Python code does and calls its `get` for what they lack, so
 * the cache's generations turn over exactly as they would; tests/storage/test_commit_native.py holds each to its
 * Python twin across writes, deletes and turnovers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *s_cache, *s_old;

/* The flat state's current young generation (its `_cache` attribute: `get` may replace it). */
static PyObject *young(PyObject *flat) { return PyObject_GetAttr(flat, s_cache); }

/* get_many(flat, keys, get) -> {key: value}: `FlatState.get_many`. */
static PyObject *get_many(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 3 || !PyCallable_Check(argv[2])) {
        PyErr_SetString(PyExc_TypeError, "get_many(flat, keys, get)");
        return NULL;
    }
    PyObject *flat = argv[0], *get = argv[2];
    PyObject *out = PyDict_New(), *cache = young(flat), *it = PyObject_GetIter(argv[1]), *key;
    if (out == NULL || cache == NULL || it == NULL || !PyDict_Check(cache)) goto error;
    while ((key = PyIter_Next(it)) != NULL) {
        PyObject *value = PyDict_GetItemWithError(cache, key);
        if (value != NULL) {
            Py_INCREF(value);
        } else if (!PyErr_Occurred()) {
            value = PyObject_CallOneArg(get, key);
            Py_SETREF(cache, young(flat)); /* `get` may have begun a new generation */
            if (cache == NULL || !PyDict_Check(cache)) Py_CLEAR(value);
        }
        int rc = value == NULL ? -1 : PyDict_SetItem(out, key, value);
        Py_XDECREF(value);
        Py_DECREF(key);
        if (rc < 0) goto error;
    }
    if (PyErr_Occurred()) goto error;
    Py_DECREF(it);
    Py_DECREF(cache);
    return out;
error:
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "get_many: the flat state's cache is a dict");
    Py_XDECREF(out);
    Py_XDECREF(cache);
    Py_XDECREF(it);
    return NULL;
}

/* appearing(flat, changes, get) -> (added, removed): `FlatState.appearing`. */
static PyObject *appearing(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 3 || !PyDict_Check(argv[1]) || !PyCallable_Check(argv[2])) {
        PyErr_SetString(PyExc_TypeError, "appearing(flat, changes: dict, get)");
        return NULL;
    }
    PyObject *flat = argv[0], *changes = argv[1], *get = argv[2];
    PyObject *cache = PyObject_GetAttr(flat, s_cache), *old = cache ? PyObject_GetAttr(flat, s_old) : NULL;
    PyObject *added = PyList_New(0), *removed = PyList_New(0), *key, *value;
    if (cache == NULL || old == NULL || added == NULL || removed == NULL || !PyDict_Check(cache) || !PyDict_Check(old)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "appearing: the flat state's caches are dicts");
        goto error;
    }
    Py_ssize_t pos = 0;
    Py_INCREF(changes); /* held while `get` runs Python */
    while (PyDict_Next(changes, &pos, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        PyObject *before = PyDict_GetItemWithError(cache, key);
        if (before == NULL && !PyErr_Occurred()) before = PyDict_GetItemWithError(old, key);
        if (before != NULL) {
            Py_INCREF(before);
        } else if (!PyErr_Occurred()) {
            before = PyObject_CallOneArg(get, key);
        }
        int rc = before == NULL ? -1 : 0;
        if (rc == 0 && value == Py_None && before != Py_None) rc = PyList_Append(removed, key);
        else if (rc == 0 && value != Py_None && before == Py_None) rc = PyList_Append(added, key);
        Py_XDECREF(before);
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0) {
            Py_DECREF(changes);
            goto error;
        }
    }
    Py_DECREF(changes);
    Py_DECREF(cache);
    Py_DECREF(old);
    return Py_BuildValue("(NN)", added, removed);
error:
    Py_XDECREF(cache);
    Py_XDECREF(old);
    Py_XDECREF(added);
    Py_XDECREF(removed);
    return NULL;
}

/* put_state(puts, deletes, prefix, changes): `schema.put_state` (prefix ++ key for each change). */
static PyObject *put_state(PyObject *Py_UNUSED(self), PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 4 || !PyDict_Check(argv[0]) || !PyList_Check(argv[1]) || !PyBytes_CheckExact(argv[2]) ||
        !PyDict_Check(argv[3])) {
        PyErr_SetString(PyExc_TypeError, "put_state(puts: dict, deletes: list, prefix: bytes, changes: dict)");
        return NULL;
    }
    PyObject *puts = argv[0], *deletes = argv[1], *prefix = argv[2], *changes = argv[3], *key, *value;
    Py_ssize_t pos = 0, plen = PyBytes_GET_SIZE(prefix);
    while (PyDict_Next(changes, &pos, &key, &value)) {
        if (!PyBytes_Check(key)) {
            PyErr_Format(PyExc_TypeError, "can't concat %s to bytes", Py_TYPE(key)->tp_name);
            return NULL;
        }
        PyObject *full = PyBytes_FromStringAndSize(NULL, plen + PyBytes_GET_SIZE(key));
        if (full == NULL) return NULL;
        memcpy(PyBytes_AS_STRING(full), PyBytes_AS_STRING(prefix), (size_t)plen);
        memcpy(PyBytes_AS_STRING(full) + plen, PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key));
        int rc = value == Py_None ? PyList_Append(deletes, full) : PyDict_SetItem(puts, full, value);
        Py_DECREF(full);
        if (rc < 0) return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"get_many", (PyCFunction)(void (*)(void))get_many, METH_FASTCALL, "FlatState.get_many, compiled."},
    {"appearing", (PyCFunction)(void (*)(void))appearing, METH_FASTCALL, "FlatState.appearing, compiled."},
    {"put_state", (PyCFunction)(void (*)(void))put_state, METH_FASTCALL, "schema.put_state, compiled."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_commit_native",
                                        "A commit's loops over a block's state changes (storage/chaindb.py).", -1,
                                        methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__commit_native(void) {
    if ((s_cache = PyUnicode_InternFromString("_cache")) == NULL) return NULL;
    if ((s_old = PyUnicode_InternFromString("_old")) == NULL) return NULL;
    return PyModule_Create(&module_def);
}
