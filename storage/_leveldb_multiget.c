/* LevelDB reads of a list of keys on a thread of its own, without the GIL (storage/read_ahead.py).

plyvel, the project's LevelDB binding, reads one key a call: a Python thread that read ahead for the importing thread
would need the GIL after every read (and wait up to the switch interval for it), so the loop over keys is here, on a
pthread that never touches a Python object. It reads through LevelDB's own C API (leveldb_get), taken from the
library plyvel itself loaded (`configure`: dlopen with RTLD_NOLOAD, so nothing is loaded that was not), on plyvel's
open leveldb::DB: LevelDB's C handle, leveldb_t, is a struct holding only that pointer.

The pointer is a field of plyvel's `DB` object (plyvel 1.5.1, Cython: PyObject_HEAD, the vtable pointer, `_db`, the
leveldb::Options by value, `name`, `lock`, `iterators`). Nothing about it is guessed: `configure` takes the type and
refuses unless its size is exactly that layout's, and every ReadAhead refuses an object unless its type is exactly
that type, the word after the header is the type's vtable (the `__pyx_vtable__` capsule's pointer), the `name` word is
the very object its `name` attribute gives, `iterators` is a dict, and the leveldb::DB's own vtable lies in the
library configured. Refused: a LayoutError, and the caller reads the plain way.

A ReadAhead keeps the DB object alive; its owner (storage/leveldb.py) ends it (`close`: stop after the read under way
and join) before it closes or reopens the database, and before it writes: values read before a write may predate it.

A caller that asks for a key the thread has not reached reads it itself, at once, and the thread then skips it: each
key is read once, by whichever comes first (a slot is claimed by one compare-and-swap, PENDING to READING or TAKEN).
The caller asks in the list's order, so once it catches the thread up the two would go on side by side, the caller
often asking for the very key the thread is reading (and reading it again rather than wait for a thread that may
not be running): 861 of a block's 5,127 keys at 10 million accounts. So the thread jumps `LEAD` keys past the caller
whenever the caller is at most `NEAR` keys behind the slot it would claim next, and the caller reads the keys in
between alone (`caller_at`: a hint only, never a rule; every slot is still claimed once).
Its reads do not fill LevelDB's block cache (`fill_cache` off). Every key it reads is a hashed key (a state key, or
a warp chunk's), so the 4 KiB block holding it holds other keys no later read is more likely to want than any other;
and the value read goes into the flat-state cache above (storage/chaindb.py FlatState), which is what later reads
find. Kept in the block cache, each read's block would cost an insert and, once the cache is full (after a block or
two at 1 million accounts), an eviction: ~6 ms of CPU a 5,000-transfer block on the reading thread, ~7-13 ms of the
block's time (docs/benchmarks.md, the fifteenth round).
The same lookup is offered to other compiled parts through the capsule `_C_API` (storage/read_ahead_api.h): the
compiled transfers (runtime/_transfer_native.c) take a block's accounts from here without a Python call each. */

#define _GNU_SOURCE /* pthread_setname_np */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "read_ahead_api.h"

typedef struct leveldb_t {
    void *rep; /* leveldb::DB*: LevelDB's c.cc defines leveldb_t as exactly this */
} leveldb_t;
typedef struct leveldb_readoptions_t leveldb_readoptions_t;

typedef char *(*get_fn)(leveldb_t *, const leveldb_readoptions_t *, const char *, size_t, size_t *, char **);
typedef leveldb_readoptions_t *(*ropts_create_fn)(void);
typedef void (*ropts_destroy_fn)(leveldb_readoptions_t *);
typedef void (*ropts_set_fill_fn)(leveldb_readoptions_t *, unsigned char);
typedef void (*free_fn)(void *);

/* plyvel 1.5.1's `cdef class DB` as Cython lays it out (leveldb::Options: 96 bytes on LP64, LevelDB 1.22). */
typedef struct {
    PyObject_HEAD
    void *vtab;
    void *db;
    unsigned char options[96];
    PyObject *name;
    PyObject *lock;
    PyObject *iterators;
} PlyvelDB;

static get_fn ldb_get = NULL;
static ropts_create_fn ldb_ropts_create = NULL;
static ropts_destroy_fn ldb_ropts_destroy = NULL;
static ropts_set_fill_fn ldb_ropts_set_fill_cache = NULL;
static free_fn ldb_free = NULL;
static void *lib_base = NULL;     /* where the configured libleveldb is mapped */
static PyTypeObject *db_type = NULL;
static void *db_vtable = NULL;
static PyObject *LayoutError = NULL;

enum { PENDING = 0, PRESENT = 1, ABSENT = 2, FAILED = 3, READING = 4, TAKEN = 5 };
enum { NEAR = 2, LEAD = 16 }; /* the thread jumps to caller_at + LEAD when its next slot is <= caller_at + NEAR */
/* PENDING: nobody has claimed the slot; READING: the thread reads it; TAKEN: a caller reads it (holding the GIL);
   then PRESENT, ABSENT or FAILED (value and value_len set before, with release order) */

typedef struct {
    PyObject_HEAD
    PyObject *db;        /* the plyvel DB, kept alive */
    PyObject *index;     /* {key: slot} */
    Py_ssize_t n;
    char *keys;          /* every key, back to back */
    size_t *key_at;      /* n + 1 offsets into keys */
    char **value;        /* LevelDB's malloc'd copy, NULL when absent */
    size_t *value_len;
    _Atomic int *state;  /* PENDING until the slot is read; set after value and value_len (release) */
    _Atomic int cancel;
    _Atomic Py_ssize_t caller_at; /* the slot a caller asked for last (-1: none yet); written under the GIL */
    leveldb_t handle;
    leveldb_readoptions_t *ropts;
    pthread_t thread;
    pthread_mutex_t join_lock; /* held while joining: a second caller waits until the thread is joined */
    int started;         /* the thread was started and not yet joined (under join_lock once started) */
    pid_t pid;           /* the process that started it: a forked child has no such thread to join */
    int closed;
    double cpu_s;        /* the thread's CPU, once joined */
    Py_ssize_t taken;    /* slots a caller read itself before the thread reached them (under the GIL) */
} ReadAhead;

/* Keys listed, taken by a caller before the thread reached them, and read by a caller while the thread was reading
   them too, over the process's life (under the GIL): `counters()`, which `bench import` reports. */
static long long listed_total = 0, taken_total = 0, doubled_total = 0;

/* Read slot i's key from LevelDB (no Python object touched): 0 with *value LevelDB's malloc'd copy (NULL: absent),
   or -1 when the read failed (left to the plain read, which raises LevelDB's error where the caller expects it). */
static int read_slot(ReadAhead *r, Py_ssize_t i, char **value, size_t *value_len) {
    char *err = NULL;
    *value_len = 0;
    *value = ldb_get(&r->handle, r->ropts, r->keys + r->key_at[i], r->key_at[i + 1] - r->key_at[i], value_len, &err);
    if (err == NULL) return 0;
    ldb_free(err);
    if (*value != NULL) ldb_free(*value);
    *value = NULL;
    return -1;
}

static void *reader(void *arg) {
    ReadAhead *r = arg;
    pthread_setname_np(pthread_self(), "leveldb-ahead");
    for (Py_ssize_t i = 0; i < r->n; i++) {
        if (atomic_load_explicit(&r->cancel, memory_order_relaxed)) break;
        Py_ssize_t caller = atomic_load_explicit(&r->caller_at, memory_order_relaxed);
        if (caller >= 0 && i <= caller + NEAR) { /* side by side with the caller: get ahead of it */
            i = caller + LEAD;
            if (i >= r->n) break;
        }
        int pending = PENDING;
        if (!atomic_compare_exchange_strong(&r->state[i], &pending, READING)) continue; /* a caller took it */
        char *v;
        size_t len;
        if (read_slot(r, i, &v, &len) < 0) {
            atomic_store_explicit(&r->state[i], FAILED, memory_order_release);
            continue;
        }
        r->value[i] = v;
        r->value_len[i] = len;
        atomic_store_explicit(&r->state[i], v != NULL ? PRESENT : ABSENT, memory_order_release);
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) r->cpu_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    return NULL;
}

/* Join the reader (after telling it to stop if `cancel`), the GIL released meanwhile; every caller returns only
   once the thread is joined. */
static void finish(ReadAhead *r, int cancel) {
    if (cancel) atomic_store(&r->cancel, 1);
    if (r->pid != getpid()) return; /* never started, or started by the parent of this forked process */
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&r->join_lock);
    if (r->started) {
        pthread_join(r->thread, NULL);
        r->started = 0;
    }
    pthread_mutex_unlock(&r->join_lock);
    Py_END_ALLOW_THREADS
}

static int refuse(const char *why) {
    PyErr_SetString(LayoutError, why);
    return -1;
}

/* The checks on an object before its `_db` word is used; 0 if it is plyvel's open DB laid out as expected. */
static int check_db(PyObject *obj) {
    if (db_type == NULL) return refuse("not configured");
    if (Py_TYPE(obj) != db_type) return refuse("not exactly the configured plyvel.DB type");
    PlyvelDB *p = (PlyvelDB *)obj;
    if (p->vtab != db_vtable) return refuse("the word after the object header is not the type's vtable");
    PyObject *name = PyObject_GetAttrString(obj, "name");
    if (name == NULL) return -1;
    int same = name == p->name;
    Py_DECREF(name);
    if (!same) return refuse("the `name` word is not the object's name attribute");
    if (p->iterators == NULL || !PyDict_CheckExact(p->iterators) || p->lock == NULL)
        return refuse("`lock` and `iterators` are not where the layout puts them");
    if (p->db == NULL) return refuse("the database is closed");
    Dl_info info;
    void *vptr = *(void **)p->db;
    if (dladdr(vptr, &info) == 0 || info.dli_fbase != lib_base)
        return refuse("the leveldb::DB's vtable is not in the configured LevelDB library");
    return 0;
}

static PyObject *ReadAhead_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    ReadAhead *r = (ReadAhead *)type->tp_alloc(type, 0);
    if (r != NULL) pthread_mutex_init(&r->join_lock, NULL);
    return (PyObject *)r;
}

static void ReadAhead_dealloc(ReadAhead *r) {
    finish(r, 1);
    pthread_mutex_destroy(&r->join_lock);
    if (r->value != NULL) {
        for (Py_ssize_t i = 0; i < r->n; i++) {
            if (r->value[i] != NULL) ldb_free(r->value[i]);
        }
    }
    if (r->ropts != NULL) ldb_ropts_destroy(r->ropts);
    free(r->keys);
    free(r->key_at);
    free(r->value);
    free(r->value_len);
    free((void *)r->state);
    Py_XDECREF(r->index);
    Py_XDECREF(r->db);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

/* Start the reader thread unless it was started before, there is nothing to read, or the ReadAhead is closed: 0, or
   -1 with an error set. Called with the GIL held (so by one caller at a time). */
static int start_thread(ReadAhead *r) {
    if (r->n == 0 || r->closed || r->pid != 0) return 0;
    int rc = pthread_create(&r->thread, NULL, reader, r);
    if (rc != 0) {
        PyErr_SetString(PyExc_OSError, "cannot start the read-ahead thread");
        return -1;
    }
    r->started = 1; /* the thread cannot be joined before this returns: joiners hold the GIL until finish() */
    r->pid = getpid();
    return 0;
}

/* ReadAhead(db, keys, start=True): start reading `keys` (a list of distinct bytes) from plyvel DB `db` on a thread
   (start=False: no thread, every key is read by the caller that asks for it, as for one the thread has not reached). */
static int ReadAhead_init(ReadAhead *r, PyObject *args, PyObject *kwds) {
    PyObject *db, *keys;
    int start = 1;
    static char *kwlist[] = {"db", "keys", "start", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO!|p", kwlist, &db, &PyList_Type, &keys, &start)) return -1;
    if (r->index != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a ReadAhead is initialised once");
        return -1;
    }
    if (check_db(db) < 0) return -1;
    Py_ssize_t n = PyList_GET_SIZE(keys);
    size_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        if (!PyBytes_CheckExact(k)) {
            PyErr_SetString(PyExc_TypeError, "keys must be bytes");
            return -1;
        }
        total += (size_t)PyBytes_GET_SIZE(k);
    }
    size_t cnt = n > 0 ? (size_t)n : 1;
    r->index = PyDict_New();
    r->keys = malloc(total > 0 ? total : 1);
    r->key_at = malloc((cnt + 1) * sizeof *r->key_at);
    r->value = calloc(cnt, sizeof *r->value);
    r->value_len = calloc(cnt, sizeof *r->value_len);
    r->state = calloc(cnt, sizeof *r->state);
    if (r->index == NULL || !r->keys || !r->key_at || !r->value || !r->value_len || !r->state) {
        PyErr_NoMemory();
        return -1;
    }
    size_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        PyObject *slot = PyLong_FromSsize_t(i);
        if (slot == NULL) return -1;
        int failed = PyDict_SetItem(r->index, k, slot);
        Py_DECREF(slot);
        if (failed < 0) return -1;
        r->key_at[i] = at;
        memcpy(r->keys + at, PyBytes_AS_STRING(k), (size_t)PyBytes_GET_SIZE(k));
        at += (size_t)PyBytes_GET_SIZE(k);
    }
    r->key_at[n] = at;
    if (PyDict_GET_SIZE(r->index) != n) {
        PyErr_SetString(PyExc_ValueError, "keys must be distinct");
        return -1;
    }
    r->n = n;
    atomic_store(&r->caller_at, -1);
    listed_total += n;
    r->ropts = ldb_ropts_create();
    if (r->ropts == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    ldb_ropts_set_fill_cache(r->ropts, 0); /* hashed keys: see the top of this file */
    Py_INCREF(db);
    r->db = db;
    r->handle.rep = ((PlyvelDB *)db)->db;
    return start ? start_thread(r) : 0;
}

/* The slot's value once it is read: a new reference (Py_None: absent), or NULL with no error set (failed). */
static PyObject *slot_value(ReadAhead *r, Py_ssize_t i, int state) {
    if (state == PRESENT) return PyBytes_FromStringAndSize(r->value[i], (Py_ssize_t)r->value_len[i]);
    if (state == ABSENT) Py_RETURN_NONE;
    return NULL;
}

/* Read slot i's key on the calling thread: a new reference (Py_None: absent), or NULL with no error set (failed). */
static PyObject *read_here(ReadAhead *r, Py_ssize_t i, char **kept, size_t *kept_len) {
    char *v;
    size_t len;
    if (read_slot(r, i, &v, &len) < 0) return NULL;
    PyObject *out = v == NULL ? Py_NewRef(Py_None) : PyBytes_FromStringAndSize(v, (Py_ssize_t)len);
    if (kept != NULL) {
        *kept = v;
        *kept_len = len;
    } else if (v != NULL) {
        ldb_free(v);
    }
    return out;
}

/* The value of `key` (bytes) as the database holds it: a new reference (Py_None: absent), or NULL with no error set
   when the key is not in the list, its read failed, or the ReadAhead is closed (the caller then reads the plain way),
   or NULL with an error set (no memory). A key the thread has not reached is read here, now, and the thread skips it;
   one the thread is reading at this moment is read here too, without waiting for a thread that may not be running.
   The caller holds the GIL (callers are serialised by it). */
static PyObject *lookup(PyObject *self, PyObject *key) {
    ReadAhead *r = (ReadAhead *)self;
    if (r->closed || r->db == NULL) return NULL;
    PyObject *slot = PyDict_GetItemWithError(r->index, key);
    if (slot == NULL) return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(slot);
    atomic_store_explicit(&r->caller_at, i, memory_order_relaxed);
    int state = atomic_load_explicit(&r->state[i], memory_order_acquire);
    if (state == PENDING && atomic_compare_exchange_strong(&r->state[i], &state, TAKEN)) {
        r->taken++;
        taken_total++;
        char *v = NULL;
        size_t len = 0;
        PyObject *out = read_here(r, i, &v, &len);
        if (out == NULL && !PyErr_Occurred()) { /* the read failed: left to the plain read, which raises its error */
            atomic_store_explicit(&r->state[i], FAILED, memory_order_release);
            return NULL;
        }
        r->value[i] = v; /* kept (and freed with the ReadAhead) even when no bytes object could be made of it */
        r->value_len[i] = len;
        atomic_store_explicit(&r->state[i], v != NULL ? PRESENT : ABSENT, memory_order_release);
        return out;
    }
    if (state == READING) {
        doubled_total++;
        return read_here(r, i, NULL, NULL);
    }
    return slot_value(r, i, state);
}

/* get(key, default): the value (None: absent), read here if the thread has not reached it; `default` when the key is
   not in the list, its read failed, or the ReadAhead is closed. */
static PyObject *ReadAhead_get(ReadAhead *r, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "get(key, default)");
        return NULL;
    }
    if (!PyBytes_CheckExact(args[0])) return Py_NewRef(args[1]);
    PyObject *value = lookup((PyObject *)r, args[0]);
    if (value == NULL && !PyErr_Occurred()) return Py_NewRef(args[1]);
    return value;
}

static PyObject *ReadAhead_close(ReadAhead *r, PyObject *Py_UNUSED(ignored)) {
    r->closed = 1;
    finish(r, 1);
    Py_RETURN_NONE;
}

static PyObject *ReadAhead_start(ReadAhead *r, PyObject *Py_UNUSED(ignored)) {
    if (r->db == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the ReadAhead is not initialised");
        return NULL;
    }
    if (start_thread(r) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *ReadAhead_wait(ReadAhead *r, PyObject *Py_UNUSED(ignored)) {
    finish(r, 0);
    Py_RETURN_NONE;
}

static PyObject *ReadAhead_done(ReadAhead *r, PyObject *Py_UNUSED(ignored)) {
    Py_ssize_t done = 0;
    for (Py_ssize_t i = 0; i < r->n; i++) {
        int state = atomic_load_explicit(&r->state[i], memory_order_acquire);
        if (state == PRESENT || state == ABSENT || state == FAILED) done++;
    }
    return PyLong_FromSsize_t(done);
}

static PyObject *ReadAhead_taken(ReadAhead *r, PyObject *Py_UNUSED(ignored)) { return PyLong_FromSsize_t(r->taken); }

static PyObject *ReadAhead_cpu_seconds(ReadAhead *r, PyObject *Py_UNUSED(ignored)) {
    if (r->pid != getpid()) return PyFloat_FromDouble(0.0);
    pthread_mutex_lock(&r->join_lock);
    double cpu = r->started ? 0.0 : r->cpu_s;
    pthread_mutex_unlock(&r->join_lock);
    return PyFloat_FromDouble(cpu);
}

static PyMethodDef ReadAhead_methods[] = {
    {"get", (PyCFunction)(void (*)(void))ReadAhead_get, METH_FASTCALL,
     "get(key, default): the value (None: absent), read now if the thread has not reached it; else `default`."},
    {"close", (PyCFunction)ReadAhead_close, METH_NOARGS, "Stop after the read under way and join the thread."},
    {"start", (PyCFunction)ReadAhead_start, METH_NOARGS,
     "Start the thread of a ReadAhead made with start=False (nothing if it was started, or is closed)."},
    {"wait", (PyCFunction)ReadAhead_wait, METH_NOARGS, "Join the thread once it has read every key it claims."},
    {"done", (PyCFunction)ReadAhead_done, METH_NOARGS, "How many keys are read (or failed)."},
    {"taken", (PyCFunction)ReadAhead_taken, METH_NOARGS, "How many keys a caller read before the thread reached them."},
    {"cpu_seconds", (PyCFunction)ReadAhead_cpu_seconds, METH_NOARGS, "The thread's CPU once it is joined (else 0)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ReadAheadType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "storage._leveldb_multiget.ReadAhead",
    .tp_basicsize = sizeof(ReadAhead),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = ReadAhead_new,
    .tp_init = (initproc)ReadAhead_init,
    .tp_dealloc = (destructor)ReadAhead_dealloc,
    .tp_methods = ReadAhead_methods,
    .tp_doc = "LevelDB reads of a list of keys on a thread of their own, without the GIL.",
};

/* configure(library_path, db_type): take LevelDB's C API from the library at `library_path`, which must already
   be loaded, and plyvel's DB type, whose size and vtable must be the layout's. Nothing changes if either is refused. */
static PyObject *configure(PyObject *self, PyObject *args) {
    const char *path;
    PyObject *type;
    if (!PyArg_ParseTuple(args, "sO!", &path, &PyType_Type, &type)) return NULL;
    PyTypeObject *t = (PyTypeObject *)type;
    if (t->tp_basicsize != (Py_ssize_t)sizeof(PlyvelDB)) {
        refuse("the type's size is not plyvel 1.5.1's DB layout");
        return NULL;
    }
    PyObject *capsule = PyDict_GetItemString(t->tp_dict, "__pyx_vtable__");
    if (capsule == NULL || !PyCapsule_CheckExact(capsule)) {
        refuse("the type has no Cython vtable");
        return NULL;
    }
    void *vtable = PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule));
    if (vtable == NULL) return NULL;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (lib == NULL) {
        refuse("the LevelDB library is not loaded");
        return NULL;
    }
    get_fn g = (get_fn)dlsym(lib, "leveldb_get");
    ropts_create_fn c = (ropts_create_fn)dlsym(lib, "leveldb_readoptions_create");
    ropts_destroy_fn d = (ropts_destroy_fn)dlsym(lib, "leveldb_readoptions_destroy");
    ropts_set_fill_fn sf = (ropts_set_fill_fn)dlsym(lib, "leveldb_readoptions_set_fill_cache");
    free_fn f = (free_fn)dlsym(lib, "leveldb_free");
    Dl_info info;
    if (g == NULL || c == NULL || d == NULL || sf == NULL || f == NULL || dladdr((void *)g, &info) == 0) {
        dlclose(lib);
        refuse("the library does not export LevelDB's C API");
        return NULL;
    }
    /* the handle stays open (the library is plyvel's, loaded for the life of the process) */
    ldb_get = g;
    ldb_ropts_create = c;
    ldb_ropts_destroy = d;
    ldb_ropts_set_fill_cache = sf;
    ldb_free = f;
    lib_base = info.dli_fbase;
    Py_XDECREF(db_type);
    Py_INCREF(type);
    db_type = t;
    db_vtable = vtable;
    Py_RETURN_NONE;
}

static PyObject *counters(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("(LLL)", listed_total, taken_total, doubled_total);
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS, "configure(library_path, db_type)"},
    {"counters", counters, METH_NOARGS,
     "(keys listed, keys a caller read before the thread, keys a caller read while the thread did) in this process"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_leveldb_multiget", NULL, -1, module_methods};

PyMODINIT_FUNC PyInit__leveldb_multiget(void) {
    if (PyType_Ready(&ReadAheadType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    LayoutError = PyErr_NewException("storage._leveldb_multiget.LayoutError", PyExc_RuntimeError, NULL);
    if (LayoutError == NULL || PyModule_AddObject(m, "LayoutError", Py_NewRef(LayoutError)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "NEAR", NEAR) < 0 || PyModule_AddIntConstant(m, "LEAD", LEAD) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ReadAheadType);
    if (PyModule_AddObject(m, "ReadAhead", (PyObject *)&ReadAheadType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    static ReadAheadAPI api = {READ_AHEAD_API_VERSION, &ReadAheadType, lookup};
    PyObject *capsule = PyCapsule_New(&api, READ_AHEAD_API_NAME, NULL);
    if (capsule == NULL || PyModule_AddObject(m, "_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
