/*
 * The state tree's engine compiled: storage/tree_engine.py (class PyTreeEngine) call for call, at a fraction of the
 * CPU and memory. That module's docstring is the description; tests hold the two to each other and to the tree's
 * definition (storage/smt.py) on roots, proofs, transactions, residency and damaged input.
 *
 * Layout: `hashes` and `kinds` hold every position of depths 0..B in heap order (position i has children 2i+1 and
 * 2i+2; depth d starts at 2^d - 1); `buckets[b]` is bucket b's sorted 64-byte records (NULL: resident and empty,
 * NONRES: not resident, read through `fetch`). Updates change all of it in place and log what they replace.
 *
 * Hash: BLAKE2b-256 (RFC 7693), from storage/blake2b.h, so that nothing but CPython's headers is needed to build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HLEN 32
#define RLEN 64
#define MAX_BITS 24

/* ---- BLAKE2b-256 ------------------------------------------------------------------------------------------- */

#include "blake2b.h"

static void blake2b_256(const uint8_t *in, size_t len, uint8_t out[HLEN]) { blake2b(in, len, out, HLEN); }

/* blake2b_256(tag ++ a ++ b) for the tree's 65-byte node encodings. */
static inline void node_hash(uint8_t tag, const uint8_t a[HLEN], const uint8_t b[HLEN], uint8_t out[HLEN]) {
    uint8_t buf[1 + 2 * HLEN];
    buf[0] = tag;
    memcpy(buf + 1, a, HLEN);
    memcpy(buf + 1 + HLEN, b, HLEN);
    blake2b_256(buf, sizeof buf, out);
}

/* ---- the engine ----------------------------------------------------------------------------------------------- */

enum { EMPTY = 0, LEAF = 1, INTERNAL = 2 };

static PyObject *StorageError = NULL;

typedef struct {
    uint32_t n, cap;
    uint8_t rec[][RLEN];
} Bucket;

#define NONRES ((Bucket *)1)

typedef struct {
    uint8_t what; /* 0: a position, 1: a bucket */
    uint8_t kind;
    uint32_t index;
    union {
        uint8_t hash[HLEN];
        Bucket *bucket;
    } old;
} Undo;

typedef struct {
    uint8_t path[HLEN];
    uint8_t value[HLEN];
    int present; /* 0: a delete */
} Entry;

typedef struct {
    PyObject_HEAD
    int bits;
    long long budget;   /* leaves */
    long long resident; /* leaves in resident buckets */
    PyObject *fetch;
    uint8_t *hashes;
    uint8_t *kinds;
    Bucket **buckets;
    uint8_t *refs;
    size_t hand;
    Undo *undo;
    size_t nundo, capundo;
    size_t *marks;
    size_t nmarks, capmarks;
    /* loading */
    long long load_bucket; /* -1: none open */
    Bucket *load_buf;
    uint8_t last[RLEN];
    int have_last;
    /* an update running with the GIL released (`apply`): other calls are refused meanwhile */
    int busy;
    PyThreadState *released; /* non-NULL while the GIL is released */
    /* the last update's changes, in their order: each key and value (owned; a value None's slot NULL) and its leaf
     * record (path, value hash), for `put_leaves` to take instead of hashing the same bytes again */
    PyObject **last_objs;
    uint8_t *last_records;
    Py_ssize_t last_n;
} Engine;

/* Take the GIL back inside `apply` (for a Python call or an error), and let it go again. No-ops with the GIL held. */
static inline void hold_gil(Engine *e) {
    if (e != NULL && e->released != NULL) {
        PyThreadState *ts = e->released;
        e->released = NULL;
        PyEval_RestoreThread(ts);
        e->released = (PyThreadState *)1; /* marker: to be released again */
    }
}

static inline void drop_gil(Engine *e) {
    if (e != NULL && e->released == (PyThreadState *)1) e->released = PyEval_SaveThread();
}

static void raise_nomem(Engine *e) {
    hold_gil(e);
    PyErr_NoMemory();
    drop_gil(e);
}

static inline size_t nbuckets(const Engine *e) { return (size_t)1 << e->bits; }
static inline size_t base_of(const Engine *e) { return ((size_t)1 << e->bits) - 1; }
static inline int bit_at(const uint8_t p[HLEN], int depth) { return (p[depth >> 3] >> (7 - (depth & 7))) & 1; }
static inline size_t bucket_of(const uint8_t p[HLEN], int bits) {
    if (bits == 0) return 0;
    uint32_t top = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
    return (size_t)(top >> (32 - bits));
}
static inline int is_resident(const Bucket *b) { return b != NONRES; }
static inline uint32_t count_of(const Bucket *b) { return (b == NULL || b == NONRES) ? 0 : b->n; }

/* a bucket for n records, NULL (no Python error: any thread may call it) when short of memory */
static Bucket *bucket_alloc(uint32_t n) {
    Bucket *b = PyMem_RawMalloc(sizeof(Bucket) + (size_t)(n ? n : 1) * RLEN);
    if (b == NULL) return NULL;
    b->n = n;
    b->cap = n ? n : 1;
    return b;
}

static Bucket *bucket_new(Engine *e, uint32_t n) {
    Bucket *b = bucket_alloc(n);
    if (b == NULL) raise_nomem(e);
    return b;
}

static void bucket_free(Bucket *b) {
    if (b != NULL && b != NONRES) PyMem_RawFree(b);
}

/* the first record in [lo, hi) whose path has bit `depth` set */
static uint32_t split_at(uint8_t (*rec)[RLEN], int depth, uint32_t lo, uint32_t hi) {
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (bit_at(rec[mid], depth))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* (hash, kind) of the subtree at `depth` over the sorted records [lo, hi) */
static int subtree(uint8_t (*rec)[RLEN], int depth, uint32_t lo, uint32_t hi, uint8_t out[HLEN]) {
    uint32_t n = hi - lo;
    if (n == 0) {
        memset(out, 0, HLEN);
        return EMPTY;
    }
    if (n == 1) {
        node_hash(0, rec[lo], rec[lo] + HLEN, out);
        return LEAF;
    }
    uint32_t mid = split_at(rec, depth, lo, hi);
    uint8_t left[HLEN], right[HLEN];
    subtree(rec, depth + 1, lo, mid, left);
    subtree(rec, depth + 1, mid, hi, right);
    node_hash(1, left, right, out);
    return INTERNAL;
}

static int join(const uint8_t *lh, int lk, const uint8_t *rh, int rk, uint8_t out[HLEN]) {
    if (lk == EMPTY) {
        if (rk == EMPTY) {
            memset(out, 0, HLEN);
            return EMPTY;
        }
        if (rk == LEAF) {
            memcpy(out, rh, HLEN);
            return LEAF;
        }
    } else if (rk == EMPTY && lk == LEAF) {
        memcpy(out, lh, HLEN);
        return LEAF;
    }
    node_hash(1, lh, rh, out);
    return INTERNAL;
}

/* What the half of an update that runs on a helper thread (`update_halves`) changes besides the tree's arrays: its own
 * undo log, appended to the engine's once it is joined, the change in resident leaves, and whether it ran short of
 * memory (it cannot raise: it holds no thread state). */
typedef struct {
    Undo *undo;
    size_t n, cap;
    long long resident;
    int nomem;
    /* the half's buckets not held, read back by the calling thread before the helper starts (in ascending order; each
     * taken, and owned, by the update of its bucket) */
    size_t *fetched_at;
    Bucket **fetched;
    size_t nfetched, next;
} Side;

/* The bucket `b` read back for this half (the caller's then), NULL if it was not (no update reaches one: a bug). */
static Bucket *side_take(Side *side, size_t b) {
    while (side->next < side->nfetched && side->fetched_at[side->next] < b) side->next++;
    if (side->next == side->nfetched || side->fetched_at[side->next] != b) return NULL;
    Bucket *bk = side->fetched[side->next];
    side->fetched[side->next] = NULL;
    return bk;
}

static int log_push(Engine *e, Side *side, const Undo *u) {
    if (side != NULL) {
        if (side->n == side->cap) {
            size_t cap = side->cap ? 2 * side->cap : 4096;
            Undo *grown = PyMem_RawRealloc(side->undo, cap * sizeof(Undo));
            if (grown == NULL) {
                side->nomem = 1;
                return -1;
            }
            side->undo = grown;
            side->cap = cap;
        }
        side->undo[side->n++] = *u;
        return 0;
    }
    if (e->nundo == e->capundo) {
        size_t cap = e->capundo ? 2 * e->capundo : 4096;
        Undo *grown = PyMem_RawRealloc(e->undo, cap * sizeof(Undo));
        if (grown == NULL) {
            raise_nomem(e);
            return -1;
        }
        e->undo = grown;
        e->capundo = cap;
    }
    e->undo[e->nundo++] = *u;
    return 0;
}

static int set_position(Engine *e, Side *side, size_t flat, const uint8_t h[HLEN], int kind) {
    Undo u;
    u.what = 0;
    u.kind = e->kinds[flat];
    u.index = (uint32_t)flat;
    memcpy(u.old.hash, e->hashes + flat * HLEN, HLEN);
    if (log_push(e, side, &u) < 0) return -1;
    memcpy(e->hashes + flat * HLEN, h, HLEN);
    e->kinds[flat] = (uint8_t)kind;
    return 0;
}

static inline int position_equals(const Engine *e, size_t flat, const uint8_t h[HLEN], int kind) {
    return e->kinds[flat] == kind && memcmp(e->hashes + flat * HLEN, h, HLEN) == 0;
}

/* recompute a position from its children: 1 if it changed, 0 if not, -1 on error */
static int recompute(Engine *e, Side *side, size_t flat, int logged) {
    size_t c = 2 * flat + 1;
    uint8_t h[HLEN];
    int kind = join(e->hashes + c * HLEN, e->kinds[c], e->hashes + (c + 1) * HLEN, e->kinds[c + 1], h);
    if (position_equals(e, flat, h, kind)) return 0;
    if (logged) return set_position(e, side, flat, h, kind) < 0 ? -1 : 1;
    memcpy(e->hashes + flat * HLEN, h, HLEN);
    e->kinds[flat] = (uint8_t)kind;
    return 1;
}

/* undo one logged change */
static void undo_one(Engine *e, const Undo *u) {
    if (u->what == 0) {
        memcpy(e->hashes + (size_t)u->index * HLEN, u->old.hash, HLEN);
        e->kinds[u->index] = u->kind;
    } else {
        Bucket *cur = e->buckets[u->index];
        e->resident += (long long)count_of(u->old.bucket) - (long long)count_of(cur);
        bucket_free(cur);
        e->buckets[u->index] = u->old.bucket;
    }
}

/* undo every logged change above `mark` */
static void undo_to(Engine *e, size_t mark) {
    while (e->nundo > mark) undo_one(e, &e->undo[--e->nundo]);
}

/* forget the log (the outermost commit): buckets it replaced are freed */
static void forget_log(Engine *e) {
    for (size_t i = 0; i < e->nundo; i++)
        if (e->undo[i].what == 1) bucket_free(e->undo[i].old.bucket);
    e->nundo = 0;
}

static void evict(Engine *e) {
    size_t n = nbuckets(e), passes = 0;
    while (e->resident > e->budget && passes < 2 * n) {
        size_t b = e->hand;
        e->hand = (b + 1) % n;
        passes++;
        Bucket *bk = e->buckets[b];
        if (bk == NULL || bk == NONRES || bk->n == 0) continue;
        if (e->refs[b]) {
            e->refs[b] = 0;
            continue;
        }
        e->resident -= bk->n;
        bucket_free(bk);
        e->buckets[b] = NONRES;
    }
}

/* A non-resident bucket's records through `fetch`, checked; a new Bucket the caller owns. Holds the GIL throughout
 * (it calls Python). */
static Bucket *fetch_bucket(Engine *e, size_t b) {
    hold_gil(e);
    Bucket *bk = NULL;
    PyObject *raw = PyObject_CallFunction(e->fetch, "n", (Py_ssize_t)b);
    if (raw == NULL) goto done;
    if (!PyBytes_CheckExact(raw) || PyBytes_GET_SIZE(raw) % RLEN) {
        PyErr_Format(StorageError, "state tree bucket %zu: leaves are not whole records (database damaged)", b);
        goto done;
    }
    uint32_t n = (uint32_t)(PyBytes_GET_SIZE(raw) / RLEN);
    bk = bucket_new(NULL, n);
    if (bk == NULL) goto done;
    memcpy(bk->rec, PyBytes_AS_STRING(raw), (size_t)n * RLEN);
    for (uint32_t i = 0; i < n; i++) {
        if (bucket_of(bk->rec[i], e->bits) != b || (i && memcmp(bk->rec[i - 1], bk->rec[i], RLEN) >= 0)) {
            PyMem_RawFree(bk);
            bk = NULL;
            PyErr_Format(StorageError, "state tree bucket %zu: leaves out of place or order (database damaged)", b);
            goto done;
        }
    }
done:
    Py_XDECREF(raw);
    drop_gil(e);
    return bk;
}

/* ---- the Python type ------------------------------------------------------------------------------------------ */

#define REFUSE_IF_BUSY(e)                                                                                  \
    do {                                                                                                  \
        if ((e)->busy) {                                                                                  \
            PyErr_SetString(PyExc_RuntimeError, "the state tree is being updated on another thread");     \
            return NULL;                                                                                  \
        }                                                                                                 \
    } while (0)

static void release_objects(PyObject **objects, Py_ssize_t n);

/* Drop the last update's kept changes (the GIL held). */
static void forget_last(Engine *e) {
    if (e->last_objs != NULL) release_objects(e->last_objs, e->last_n);
    PyMem_RawFree(e->last_records);
    e->last_objs = NULL;
    e->last_records = NULL;
    e->last_n = 0;
}

static void Engine_dealloc(Engine *e) {
    if (e->buckets != NULL) {
        forget_log(e);
        for (size_t i = 0; i < nbuckets(e); i++) bucket_free(e->buckets[i]);
    }
    bucket_free(e->load_buf);
    PyMem_RawFree(e->buckets);
    PyMem_RawFree(e->hashes);
    PyMem_RawFree(e->kinds);
    PyMem_RawFree(e->refs);
    PyMem_RawFree(e->undo);
    PyMem_RawFree(e->marks);
    forget_last(e);
    Py_XDECREF(e->fetch);
    Py_TYPE(e)->tp_free((PyObject *)e);
}

static int Engine_init(Engine *e, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"bucket_bits", "budget_leaves", "fetch", NULL};
    int bits;
    long long budget;
    PyObject *fetch;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iLO:TreeEngine", kwlist, &bits, &budget, &fetch)) return -1;
    if (bits < 0 || bits > MAX_BITS) {
        PyErr_Format(PyExc_ValueError, "bucket_bits must be 0-%d, got %d", MAX_BITS, bits);
        return -1;
    }
    if (e->buckets != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a TreeEngine is initialised once");
        return -1;
    }
    size_t positions = ((size_t)2 << bits) - 1, n = (size_t)1 << bits;
    e->bits = bits;
    e->budget = budget < 0 ? 0 : budget;
    e->hashes = PyMem_RawCalloc(positions, HLEN);
    e->kinds = PyMem_RawCalloc(positions, 1);
    e->buckets = PyMem_RawCalloc(n, sizeof(Bucket *));
    e->refs = PyMem_RawCalloc(n, 1);
    if (e->hashes == NULL || e->kinds == NULL || e->buckets == NULL || e->refs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(fetch);
    e->fetch = fetch;
    e->load_bucket = -1;
    return 0;
}

static PyObject *Engine_get_root(Engine *e, void *Py_UNUSED(closure)) {
    REFUSE_IF_BUSY(e);
    return PyBytes_FromStringAndSize((const char *)e->hashes, HLEN);
}

static PyObject *Engine_get_bits(Engine *e, void *Py_UNUSED(closure)) { return PyLong_FromLong(e->bits); }

static PyObject *Engine_get_depth(Engine *e, void *Py_UNUSED(closure)) { return PyLong_FromSize_t(e->nmarks); }

static PyObject *Engine_stats(Engine *e, PyObject *Py_UNUSED(ignored)) {
    REFUSE_IF_BUSY(e);
    size_t resident = 0, n = nbuckets(e);
    for (size_t i = 0; i < n; i++) resident += e->buckets[i] != NONRES;
    size_t positions = ((size_t)2 << e->bits) - 1;
    return Py_BuildValue("{s:i,s:n,s:n,s:L,s:L,s:n}", "bucket_bits", e->bits, "buckets", (Py_ssize_t)n,
                         "resident_buckets", (Py_ssize_t)resident, "resident_leaves", e->resident, "budget_leaves",
                         e->budget, "top_bytes", (Py_ssize_t)(positions * (HLEN + 1)));
}

/* positions(depth): every position of level `depth` (0 <= depth <= bits), left to right, 33 bytes each (hash, kind) */
static PyObject *Engine_positions(Engine *e, PyObject *arg) {
    REFUSE_IF_BUSY(e);
    if (!PyLong_CheckExact(arg)) {
        PyErr_Format(PyExc_TypeError, "depth must be an int, got %s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    int overflow;
    long depth = PyLong_AsLongAndOverflow(arg, &overflow);
    if (depth == -1 && PyErr_Occurred()) return NULL;
    if (overflow || depth < 0 || depth > e->bits) {
        PyErr_Format(PyExc_ValueError, "the tree holds positions at depths 0-%d (its bucket_bits), not at depth %S",
                     e->bits, arg);
        return NULL;
    }
    size_t count = (size_t)1 << depth, start = count - 1;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(count * (HLEN + 1)));
    if (out == NULL) return NULL;
    uint8_t *at = (uint8_t *)PyBytes_AS_STRING(out);
    for (size_t i = 0; i < count; i++, at += HLEN + 1) {
        memcpy(at, e->hashes + (start + i) * HLEN, HLEN);
        at[HLEN] = e->kinds[start + i];
    }
    return out;
}

/* ---- loading ---- */

/* The bucket being loaded is gathered in `load_buf` (a scratch buffer reused for every bucket); a bucket that is
 * held gets an allocation of exactly its size. */
static int close_loading(Engine *e) {
    if (e->load_bucket < 0) return 0;
    size_t b = (size_t)e->load_bucket, flat = base_of(e) + b;
    Bucket *scratch = e->load_buf;
    uint32_t n = scratch->n;
    e->load_bucket = -1;
    e->kinds[flat] = (uint8_t)subtree(scratch->rec, e->bits, 0, n, e->hashes + flat * HLEN);
    if (e->resident + n <= e->budget) {
        Bucket *bk = bucket_new(NULL, n);
        if (bk == NULL) return -1;
        memcpy(bk->rec, scratch->rec, (size_t)n * RLEN);
        e->resident += n;
        e->buckets[b] = bk;
    } else {
        e->buckets[b] = NONRES;
    }
    scratch->n = 0;
    return 0;
}

static PyObject *Engine_load(Engine *e, PyObject *arg) {
    REFUSE_IF_BUSY(e);
    if (!PyBytes_CheckExact(arg) || PyBytes_GET_SIZE(arg) % RLEN) {
        PyErr_SetString(StorageError, "state tree leaves are not whole 64-byte records (database damaged)");
        return NULL;
    }
    const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg) / RLEN;
    if (e->load_buf == NULL) {
        e->load_buf = bucket_new(NULL, 64);
        if (e->load_buf == NULL) return NULL;
        e->load_buf->n = 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t *rec = data + i * RLEN;
        if (e->have_last && memcmp(rec, e->last, RLEN) <= 0) {
            PyErr_SetString(StorageError, "state tree leaves out of order (database damaged)");
            return NULL;
        }
        memcpy(e->last, rec, RLEN);
        e->have_last = 1;
        size_t b = bucket_of(rec, e->bits);
        if (e->load_bucket != (long long)b) {
            if (close_loading(e) < 0) return NULL;
            e->load_bucket = (long long)b;
        }
        Bucket *bk = e->load_buf;
        if (bk->n == bk->cap) {
            Bucket *grown = PyMem_RawRealloc(bk, sizeof(Bucket) + (size_t)bk->cap * 2 * RLEN);
            if (grown == NULL) return PyErr_NoMemory();
            grown->cap *= 2;
            e->load_buf = bk = grown;
        }
        memcpy(bk->rec[bk->n++], rec, RLEN);
    }
    Py_RETURN_NONE;
}

static PyObject *Engine_finish_load(Engine *e, PyObject *Py_UNUSED(ignored)) {
    REFUSE_IF_BUSY(e);
    if (close_loading(e) < 0) return NULL;
    bucket_free(e->load_buf);
    e->load_buf = NULL;
    for (size_t flat = base_of(e); flat-- > 0;) recompute(e, NULL, flat, 0);
    return Engine_get_root(e, NULL);
}

/* ---- transactions ---- */

static int begin(Engine *e) {
    if (e->nmarks == e->capmarks) {
        size_t cap = e->capmarks ? 2 * e->capmarks : 8;
        size_t *grown = PyMem_RawRealloc(e->marks, cap * sizeof(size_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        e->marks = grown;
        e->capmarks = cap;
    }
    e->marks[e->nmarks++] = e->nundo;
    return 0;
}

/* keep the innermost transaction's changes (evicting nothing: the store may not hold them yet) */
static void release(Engine *e) {
    e->nmarks--;
    if (e->nmarks == 0) forget_log(e);
}

static void rollback(Engine *e) { undo_to(e, e->marks[--e->nmarks]); }

static PyObject *Engine_begin(Engine *e, PyObject *Py_UNUSED(ignored)) {
    REFUSE_IF_BUSY(e);
    if (begin(e) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Engine_commit(Engine *e, PyObject *Py_UNUSED(ignored)) {
    REFUSE_IF_BUSY(e);
    if (e->nmarks == 0) {
        PyErr_SetString(PyExc_RuntimeError, "commit without a transaction");
        return NULL;
    }
    release(e);
    if (e->nmarks == 0) evict(e);
    Py_RETURN_NONE;
}

static PyObject *Engine_rollback(Engine *e, PyObject *Py_UNUSED(ignored)) {
    REFUSE_IF_BUSY(e);
    if (e->nmarks == 0) {
        PyErr_SetString(PyExc_RuntimeError, "rollback without a transaction");
        return NULL;
    }
    rollback(e);
    Py_RETURN_NONE;
}

/* ---- updating ---- */

static int compare_entries(const void *a, const void *b) {
    return memcmp(((const Entry *)a)->path, ((const Entry *)b)->path, HLEN);
}

static int hash_bytes(PyObject *obj, uint8_t out[HLEN]) {
    char *data;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(obj, &data, &len) < 0) return -1;
    blake2b_256((const uint8_t *)data, (size_t)len, out);
    return 0;
}

/* The changes dict as entries, not hashed yet: NULL (error set) or an array of *count, with `*objects` holding a
 * new reference to each key and value (2 * count, a value None's slot NULL) for `hash_changes`, which may run without
 * the GIL, and `release_objects` after it. */
static Entry *parse_changes(PyObject *changes, Py_ssize_t *count, PyObject ***objects) {
    Py_ssize_t n = PyDict_GET_SIZE(changes), pos = 0, i = 0;
    Entry *entries = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(Entry));
    PyObject **objs = PyMem_RawCalloc((size_t)(n ? 2 * n : 1), sizeof(PyObject *));
    if (entries == NULL || objs == NULL) {
        PyMem_RawFree(entries);
        PyMem_RawFree(objs);
        PyErr_NoMemory();
        return NULL;
    }
    PyObject *key, *value;
    while (PyDict_Next(changes, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key)) {
            PyErr_Format(PyExc_TypeError, "state keys must be bytes, got %s", Py_TYPE(key)->tp_name);
            goto fail;
        }
        if (value != Py_None && !PyBytes_CheckExact(value)) {
            PyErr_Format(PyExc_TypeError, "state values must be bytes or None, got %s", Py_TYPE(value)->tp_name);
            goto fail;
        }
        entries[i].present = value != Py_None;
        objs[2 * i] = Py_NewRef(key);
        objs[2 * i + 1] = value == Py_None ? NULL : Py_NewRef(value);
        i++;
    }
    *count = n;
    *objects = objs;
    return entries;
fail:
    for (Py_ssize_t k = 0; k < 2 * i; k++) Py_XDECREF(objs[k]);
    PyMem_RawFree(objs);
    PyMem_RawFree(entries);
    return NULL;
}

/* Hash entries [lo, hi)'s keys and values (bytes objects, immutable, held by `objects`) and write each leaf record
 * (path, value hash) into `records` in the changes' order when it is not NULL: no Python call, so any thread may run it
 * without the GIL. */
static void hash_changes_range(Entry *entries, PyObject **objects, Py_ssize_t lo, Py_ssize_t hi, uint8_t *records) {
    for (Py_ssize_t i = lo; i < hi; i++) {
        PyObject *key = objects[2 * i], *value = objects[2 * i + 1];
        blake2b_256((const uint8_t *)PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key), entries[i].path);
        if (value != NULL)
            blake2b_256((const uint8_t *)PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value), entries[i].value);
        else
            memset(entries[i].value, 0, HLEN);
        if (records != NULL) {
            memcpy(records + (size_t)i * RLEN, entries[i].path, HLEN);
            memcpy(records + (size_t)i * RLEN + HLEN, entries[i].value, HLEN);
        }
    }
}

/* `hash_changes_range` over all n entries, then sort them by path. */
static void hash_changes(Entry *entries, PyObject **objects, Py_ssize_t n, uint8_t *records) {
    hash_changes_range(entries, objects, 0, n, records);
    qsort(entries, (size_t)n, sizeof(Entry), compare_entries);
}

static void release_objects(PyObject **objects, Py_ssize_t n) {
    for (Py_ssize_t k = 0; k < 2 * n; k++) Py_XDECREF(objects[k]);
    PyMem_RawFree(objects);
}

/* Merge sorted entries [lo, hi) of bucket b into it: 1 if its position changed, 0 if not, -1 on error. With `side`
 * (a helper thread's half) the bucket is resident (`update_halves` checks) and nothing calls Python. */
static int update_bucket(Engine *e, Side *side, size_t b, const Entry *en, Py_ssize_t lo, Py_ssize_t hi) {
    Bucket *cur = e->buckets[b], *old = cur, *fetched = NULL;
    e->refs[b] = 1;
    if (cur == NONRES) {
        if (side != NULL) {
            fetched = side_take(side, b);
            if (fetched == NULL) {
                side->nomem = 1; /* unreachable: every bucket of the half not held was read back before */
                return -1;
            }
        } else {
            fetched = fetch_bucket(e, b);
        }
        if (fetched == NULL) return -1;
        old = fetched;
    }
    uint32_t on = count_of(old);
    Bucket *nb = side != NULL ? bucket_alloc(on + (uint32_t)(hi - lo)) : bucket_new(e, on + (uint32_t)(hi - lo));
    if (nb == NULL) {
        if (side != NULL) side->nomem = 1;
        bucket_free(fetched);
        return -1;
    }
    uint32_t i = 0, k = 0;
    for (Py_ssize_t j = lo; j < hi; j++) {
        const Entry *x = &en[j];
        while (i < on && memcmp(old->rec[i], x->path, HLEN) < 0) memcpy(nb->rec[k++], old->rec[i++], RLEN);
        int present = i < on && memcmp(old->rec[i], x->path, HLEN) == 0;
        if (present) i++;
        if (x->present) {
            memcpy(nb->rec[k], x->path, HLEN);
            memcpy(nb->rec[k] + HLEN, x->value, HLEN);
            k++;
        }
    }
    while (i < on) memcpy(nb->rec[k++], old->rec[i++], RLEN);
    nb->n = k;
    if (k == on && (k == 0 || memcmp(nb->rec, old->rec, (size_t)k * RLEN) == 0)) {
        PyMem_RawFree(nb);
        bucket_free(fetched);
        return 0;
    }
    Undo u;
    u.what = 1;
    u.kind = 0;
    u.index = (uint32_t)b;
    u.old.bucket = cur;
    if (log_push(e, side, &u) < 0) {
        PyMem_RawFree(nb);
        bucket_free(fetched);
        return -1;
    }
    bucket_free(fetched);
    *(side != NULL ? &side->resident : &e->resident) += (long long)k - (long long)(cur == NONRES ? 0 : on);
    e->buckets[b] = nb;
    uint8_t h[HLEN];
    int kind = subtree(nb->rec, e->bits, 0, k, h);
    size_t flat = base_of(e) + b;
    if (position_equals(e, flat, h, kind)) return 0;
    return set_position(e, side, flat, h, kind) < 0 ? -1 : 1;
}

/* Apply sorted entries [lo, hi) to their buckets and recompute the positions above them up to depth `top` (0: the
 * root; 1: one half of the tree, whose entries all share their first bit): how many positions of depth `top` changed
 * (0 or 1), -1 on error (with `side`, flagged there; else raised). */
static int apply_range(Engine *e, Side *side, const Entry *en, Py_ssize_t lo, Py_ssize_t hi, int top) {
    size_t *changed = PyMem_RawMalloc((size_t)(hi > lo ? hi - lo : 1) * sizeof(size_t));
    if (changed == NULL) {
        if (side != NULL)
            side->nomem = 1;
        else
            raise_nomem(e);
        return -1;
    }
    size_t nchanged = 0, base = base_of(e);
    Py_ssize_t i = lo;
    while (i < hi) {
        size_t b = bucket_of(en[i].path, e->bits);
        Py_ssize_t j = i + 1;
        while (j < hi && bucket_of(en[j].path, e->bits) == b) j++;
        int r = update_bucket(e, side, b, en, i, j);
        if (r < 0) goto fail;
        if (r) changed[nchanged++] = base + b;
        i = j;
    }
    for (int level = top; level < e->bits; level++) {
        size_t nparents = 0;
        for (size_t k = 0; k < nchanged; k++) {
            size_t parent = (changed[k] - 1) >> 1;
            if (nparents && changed[nparents - 1] == parent) continue;
            int r = recompute(e, side, parent, 1);
            if (r < 0) goto fail;
            if (r) changed[nparents++] = parent;
        }
        nchanged = nparents;
    }
    PyMem_RawFree(changed);
    return (int)nchanged;
fail:
    PyMem_RawFree(changed);
    return -1;
}

static int apply(Engine *e, const Entry *en, Py_ssize_t n) { return apply_range(e, NULL, en, 0, n, 0) < 0 ? -1 : 0; }

/* ---- an update's two halves on two threads ---- */

static Py_ssize_t parallel_min = 2048; /* read and written atomically: engines update on threads of their own */
static unsigned long long halves_run = 0; /* updates run in halves (tests, benchmarks), counted atomically */
/* Updates of at least this many changes (with buckets of depth 2 or more) hash and apply their halves on two threads:
 * the changes' first half is hashed, and the entries under the tree's left half applied, by the calling thread, the
 * rest by a helper. Each half's buckets and positions are the other's untouched; the root is joined after. */

typedef struct {
    Engine *e;
    Entry *en;
    PyObject **objects;
    uint8_t *records;
    Py_ssize_t lo, hi;
    Side side;
    int changed;
} Half;

static void release_fetched(Side *side) {
    for (size_t i = 0; i < side->nfetched; i++) bucket_free(side->fetched[i]);
    PyMem_RawFree(side->fetched);
    PyMem_RawFree(side->fetched_at);
    side->fetched = NULL;
    side->fetched_at = NULL;
    side->nfetched = 0;
}

static void *hash_half(void *arg) {
    Half *h = arg;
    hash_changes_range(h->en, h->objects, h->lo, h->hi, h->records);
    return NULL;
}

static void *apply_half(void *arg) {
    Half *h = arg;
    h->changed = apply_range(h->e, &h->side, h->en, h->lo, h->hi, 1);
    return NULL;
}

/* Hash the changes and apply them as `hash_changes` and `apply` do, in two halves on two threads (the GIL released):
 * -1 on error (raised, with every change either half made logged for the caller's rollback), 0 once done; 1 when it
 * did nothing because a half cannot run on a helper here (a bucket not resident, or no thread), for the serial path. */
static int update_halves(Engine *e, Entry *en, PyObject **objects, Py_ssize_t n, uint8_t *records) {
    pthread_t helper;
    Half right = {e, en, objects, records, n / 2, n, {NULL, 0, 0, 0, 0, NULL, NULL, 0, 0}, 0};
    if (pthread_create(&helper, NULL, hash_half, &right) != 0) return 1;
    hash_changes_range(en, objects, 0, n / 2, records);
    pthread_join(helper, NULL);
    qsort(en, (size_t)n, sizeof(Entry), compare_entries);
    /* the first entry under the right half of the tree: paths whose first bit is set */
    Py_ssize_t mid = 0;
    while (mid < n && !bit_at(en[mid].path, 0)) mid++;
    /* the right half's buckets not held are read back here (the helper calls no Python), before anything changes */
    Side *side = &right.side;
    size_t nonres = 0;
    for (Py_ssize_t i = mid; i < n; i++) {
        size_t b = bucket_of(en[i].path, e->bits);
        if (e->buckets[b] == NONRES && (i == mid || bucket_of(en[i - 1].path, e->bits) != b)) nonres++;
    }
    if (nonres) {
        side->fetched_at = PyMem_RawMalloc(nonres * sizeof(size_t));
        side->fetched = PyMem_RawCalloc(nonres, sizeof(Bucket *));
        if (side->fetched_at == NULL || side->fetched == NULL) {
            release_fetched(side);
            raise_nomem(e);
            return -1;
        }
        for (Py_ssize_t i = mid; i < n; i++) {
            size_t b = bucket_of(en[i].path, e->bits);
            if (e->buckets[b] != NONRES || (i != mid && bucket_of(en[i - 1].path, e->bits) == b)) continue;
            e->refs[b] = 1;
            Bucket *bk = fetch_bucket(e, b);
            if (bk == NULL) {
                release_fetched(side);
                return -1;
            }
            side->fetched_at[side->nfetched] = b;
            side->fetched[side->nfetched++] = bk;
        }
    }
    right.lo = mid;
    right.hi = n;
    if (pthread_create(&helper, NULL, apply_half, &right) != 0) {
        release_fetched(side);
        return apply(e, en, n) < 0 ? -1 : 0;
    }
    __atomic_fetch_add(&halves_run, 1, __ATOMIC_RELAXED);
    int left = apply_range(e, NULL, en, 0, mid, 1);
    pthread_join(helper, NULL);
    release_fetched(side); /* any the helper did not take (it failed first) */
    /* the helper's changes join the engine's log (the left half's are in it already), so a rollback undoes both */
    e->resident += side->resident;
    int failed = left < 0 || right.changed < 0;
    size_t need = e->nundo + side->n;
    if (need > e->capundo) {
        Undo *grown = PyMem_RawRealloc(e->undo, need * sizeof(Undo));
        if (grown == NULL) {
            for (size_t i = side->n; i-- > 0;) undo_one(e, &side->undo[i]); /* undone here: not in the log */
            PyMem_RawFree(side->undo);
            if (left >= 0) raise_nomem(e);
            return -1;
        }
        e->undo = grown;
        e->capundo = need;
    }
    if (side->n) memcpy(e->undo + e->nundo, side->undo, side->n * sizeof(Undo));
    e->nundo = need;
    PyMem_RawFree(side->undo);
    if (failed) {
        if (left >= 0) raise_nomem(e); /* the helper can only have run short of memory */
        return -1;
    }
    if ((left > 0 || right.changed > 0) && recompute(e, NULL, 0, 1) < 0) return -1;
    return 0;
}

static PyObject *Engine_update(Engine *e, PyObject *changes) {
    REFUSE_IF_BUSY(e);
    if (!PyDict_Check(changes)) {
        PyErr_Format(PyExc_TypeError, "changes must be a dict, got %s", Py_TYPE(changes)->tp_name);
        return NULL;
    }
    Py_ssize_t n;
    PyObject **objects;
    Entry *en = parse_changes(changes, &n, &objects);
    if (en == NULL) return NULL;
    if (n && begin(e) < 0) {
        release_objects(objects, n);
        PyMem_RawFree(en);
        return NULL;
    }
    int failed = 0;
    uint8_t *records = PyMem_RawMalloc((size_t)(n ? n : 1) * RLEN); /* kept for put_leaves; none if short of memory */
    if (n) {
        /* the hashing, of the changes too, runs without the GIL: a caller may run Python meanwhile on another thread */
        e->busy = 1;
        e->released = PyEval_SaveThread();
        int halves = n >= __atomic_load_n(&parallel_min, __ATOMIC_RELAXED) && e->bits >= 2
                         ? update_halves(e, en, objects, n, records)
                         : 1;
        if (halves == 1) {
            hash_changes(en, objects, n, records);
            failed = apply(e, en, n) < 0;
        } else {
            failed = halves < 0;
        }
        PyEval_RestoreThread(e->released);
        e->released = NULL;
        e->busy = 0;
    }
    forget_last(e);
    if (failed || records == NULL) {
        release_objects(objects, n);
        PyMem_RawFree(records);
    } else {
        e->last_objs = objects;
        e->last_records = records;
        e->last_n = n;
    }
    if (failed) {
        rollback(e);
        PyMem_RawFree(en);
        return NULL;
    }
    PyMem_RawFree(en);
    if (n) release(e);
    return Engine_get_root(e, NULL);
}

/* ---- proofs ---- */

/* a bucket's records for reading into *out (NULL: none): resident ones in place, others fetched into *tmp (freed by
 * the caller); -1 on error */
static int read_bucket(Engine *e, size_t b, Bucket **out, Bucket **tmp) {
    *tmp = NULL;
    e->refs[b] = 1;
    Bucket *bk = e->buckets[b];
    if (bk != NONRES) {
        *out = bk;
        return 0;
    }
    *tmp = *out = fetch_bucket(e, b);
    return *tmp == NULL ? -1 : 0;
}

static int append_hash(PyObject *list, const uint8_t h[HLEN]) {
    PyObject *s = PyBytes_FromStringAndSize((const char *)h, HLEN);
    if (s == NULL) return -1;
    int r = PyList_Append(list, s);
    Py_DECREF(s);
    return r;
}

static PyObject *prove_result(PyObject *siblings, const uint8_t *leaf) {
    if (PyList_Reverse(siblings) < 0) {
        Py_DECREF(siblings);
        return NULL;
    }
    if (leaf == NULL) return Py_BuildValue("(NO)", siblings, Py_None);
    return Py_BuildValue("(Ny#)", siblings, (const char *)leaf, (Py_ssize_t)RLEN);
}

static PyObject *Engine_prove(Engine *e, PyObject *key) {
    REFUSE_IF_BUSY(e);
    if (!PyBytes_CheckExact(key)) {
        PyErr_Format(PyExc_TypeError, "state keys must be bytes, got %s", Py_TYPE(key)->tp_name);
        return NULL;
    }
    uint8_t path[HLEN];
    if (hash_bytes(key, path) < 0) return NULL;
    PyObject *siblings = PyList_New(0);
    if (siblings == NULL) return NULL;
    size_t flat = 0;
    int depth = 0;
    while (depth < e->bits) {
        int kind = e->kinds[flat];
        if (kind == EMPTY) return prove_result(siblings, NULL);
        if (kind == LEAF) {
            /* the one leaf below: follow the side that holds it down to its bucket */
            while (depth < e->bits) {
                size_t c = 2 * flat + 1;
                flat = e->kinds[c] == LEAF ? c : c + 1;
                depth++;
            }
            Bucket *tmp, *bk;
            if (read_bucket(e, flat - base_of(e), &bk, &tmp) < 0) goto fail;
            if (count_of(bk) != 1) {
                bucket_free(tmp);
                PyErr_SetString(StorageError, "state tree bucket disagrees with the tree above it (database damaged)");
                goto fail;
            }
            uint8_t leaf[RLEN];
            memcpy(leaf, bk->rec[0], RLEN);
            bucket_free(tmp);
            return prove_result(siblings, leaf);
        }
        int bit = bit_at(path, depth);
        size_t c = 2 * flat + 1;
        if (append_hash(siblings, e->hashes + (c + 1 - (size_t)bit) * HLEN) < 0) goto fail;
        flat = c + (size_t)bit;
        depth++;
    }
    Bucket *tmp, *bk;
    if (read_bucket(e, flat - base_of(e), &bk, &tmp) < 0) goto fail;
    uint32_t lo = 0, hi = count_of(bk);
    while (hi - lo > 1) {
        uint32_t mid = split_at(bk->rec, depth, lo, hi);
        uint8_t h[HLEN];
        if (bit_at(path, depth)) {
            subtree(bk->rec, depth + 1, lo, mid, h);
            lo = mid;
        } else {
            subtree(bk->rec, depth + 1, mid, hi, h);
            hi = mid;
        }
        if (append_hash(siblings, h) < 0) {
            bucket_free(tmp);
            goto fail;
        }
        depth++;
    }
    uint8_t leaf[RLEN];
    int found = hi > lo;
    if (found) memcpy(leaf, bk->rec[lo], RLEN);
    bucket_free(tmp);
    return prove_result(siblings, found ? leaf : NULL);
fail:
    Py_DECREF(siblings);
    return NULL;
}

/* ---- module functions ---- */

static PyObject *tree_blake2b_256(PyObject *Py_UNUSED(self), PyObject *arg) {
    uint8_t out[HLEN];
    if (hash_bytes(arg, out) < 0) return NULL;
    return PyBytes_FromStringAndSize((const char *)out, HLEN);
}

/* put_leaves(puts, deletes, prefix, changes): puts[prefix + H(k)] = H(v) for every k, v of the dict changes, or
 * deletes.append(prefix + H(k)) when v is None: a commit's state-tree leaves. */
static PyObject *tree_put_leaves(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *puts, *deletes, *prefix, *changes;
    if (!PyArg_ParseTuple(args, "O!O!SO!:put_leaves", &PyDict_Type, &puts, &PyList_Type, &deletes, &prefix,
                          &PyDict_Type, &changes))
        return NULL;
    Py_ssize_t plen = PyBytes_GET_SIZE(prefix), pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(changes, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key) || (value != Py_None && !PyBytes_CheckExact(value))) {
            PyErr_SetString(PyExc_TypeError, "state keys must be bytes and values bytes or None");
            return NULL;
        }
        PyObject *full = PyBytes_FromStringAndSize(NULL, plen + HLEN);
        if (full == NULL) return NULL;
        memcpy(PyBytes_AS_STRING(full), PyBytes_AS_STRING(prefix), (size_t)plen);
        blake2b_256((const uint8_t *)PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key),
                    (uint8_t *)PyBytes_AS_STRING(full) + plen);
        int r;
        if (value == Py_None) {
            r = PyList_Append(deletes, full);
        } else {
            PyObject *vh = PyBytes_FromStringAndSize(NULL, HLEN);
            if (vh == NULL) {
                Py_DECREF(full);
                return NULL;
            }
            blake2b_256((const uint8_t *)PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value),
                        (uint8_t *)PyBytes_AS_STRING(vh));
            r = PyDict_SetItem(puts, full, vh);
            Py_DECREF(vh);
        }
        Py_DECREF(full);
        if (r < 0) return NULL;
    }
    Py_RETURN_NONE;
}

static int compare_records(const void *a, const void *b) { return memcmp(a, b, RLEN); }

/* leaf_records(state): the state's leaf records (path, value hash), sorted: what a tree is loaded from. */
static PyObject *tree_leaf_records(PyObject *Py_UNUSED(self), PyObject *state) {
    if (!PyDict_Check(state)) {
        PyErr_Format(PyExc_TypeError, "state must be a dict, got %s", Py_TYPE(state)->tp_name);
        return NULL;
    }
    Py_ssize_t n = PyDict_GET_SIZE(state), pos = 0, i = 0;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * RLEN);
    if (out == NULL) return NULL;
    uint8_t *rec = (uint8_t *)PyBytes_AS_STRING(out);
    PyObject *key, *value;
    while (PyDict_Next(state, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key) || !PyBytes_CheckExact(value)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "state keys and values must be bytes");
            return NULL;
        }
        blake2b_256((const uint8_t *)PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key), rec + i * RLEN);
        blake2b_256((const uint8_t *)PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value),
                    rec + i * RLEN + HLEN);
        i++;
    }
    qsort(rec, (size_t)n, RLEN, compare_records);
    return out;
}

typedef struct {
    uint8_t path[HLEN];
    PyObject *key; /* borrowed from the dict */
} KeyPath;

static int compare_key_paths(const void *a, const void *b) {
    return memcmp(((const KeyPath *)a)->path, ((const KeyPath *)b)->path, HLEN);
}

/* tree_keys(prefix, state): ([prefix + H(k), ...], [k, ...]) for the keys k of the dict state, in path order: the
 * `k:` entries of a whole state. */
static PyObject *tree_tree_keys(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *prefix, *state;
    if (!PyArg_ParseTuple(args, "SO!:tree_keys", &prefix, &PyDict_Type, &state)) return NULL;
    Py_ssize_t n = PyDict_GET_SIZE(state), pos = 0, i = 0, plen = PyBytes_GET_SIZE(prefix);
    KeyPath *kp = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(KeyPath));
    if (kp == NULL) return PyErr_NoMemory();
    PyObject *key, *value, *entries = NULL, *keys = NULL;
    while (PyDict_Next(state, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key)) {
            PyErr_SetString(PyExc_TypeError, "state keys must be bytes");
            goto fail;
        }
        blake2b_256((const uint8_t *)PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key), kp[i].path);
        kp[i++].key = key;
    }
    qsort(kp, (size_t)n, sizeof(KeyPath), compare_key_paths);
    entries = PyList_New(n);
    keys = PyList_New(n);
    if (entries == NULL || keys == NULL) goto fail;
    for (i = 0; i < n; i++) {
        PyObject *full = PyBytes_FromStringAndSize(NULL, plen + HLEN);
        if (full == NULL) goto fail;
        memcpy(PyBytes_AS_STRING(full), PyBytes_AS_STRING(prefix), (size_t)plen);
        memcpy(PyBytes_AS_STRING(full) + plen, kp[i].path, HLEN);
        PyList_SET_ITEM(entries, i, full);
        Py_INCREF(kp[i].key);
        PyList_SET_ITEM(keys, i, kp[i].key);
    }
    PyMem_RawFree(kp);
    return Py_BuildValue("(NN)", entries, keys);
fail:
    PyMem_RawFree(kp);
    Py_XDECREF(entries);
    Py_XDECREF(keys);
    return NULL;
}

static int put_leaf(PyObject *puts, PyObject *deletes, PyObject *prefix, const uint8_t path[HLEN],
                    const uint8_t *value_hash) {
    Py_ssize_t plen = PyBytes_GET_SIZE(prefix);
    PyObject *full = PyBytes_FromStringAndSize(NULL, plen + HLEN);
    if (full == NULL) return -1;
    memcpy(PyBytes_AS_STRING(full), PyBytes_AS_STRING(prefix), (size_t)plen);
    memcpy(PyBytes_AS_STRING(full) + plen, path, HLEN);
    int r;
    if (value_hash == NULL) {
        r = PyList_Append(deletes, full);
    } else {
        PyObject *vh = PyBytes_FromStringAndSize((const char *)value_hash, HLEN);
        r = vh == NULL ? -1 : PyDict_SetItem(puts, full, vh);
        Py_XDECREF(vh);
    }
    Py_DECREF(full);
    return r;
}

/* put_leaves(puts, deletes, prefix, changes): what the module's put_leaves gives, taking each leaf record from the
 * last update where the change at the same position is the very same key and value (objects; bytes are immutable),
 * hashing the others. */
static PyObject *Engine_put_leaves(Engine *e, PyObject *args) {
    REFUSE_IF_BUSY(e);
    PyObject *puts, *deletes, *prefix, *changes;
    if (!PyArg_ParseTuple(args, "O!O!SO!:put_leaves", &PyDict_Type, &puts, &PyList_Type, &deletes, &prefix,
                          &PyDict_Type, &changes))
        return NULL;
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(changes, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key) || (value != Py_None && !PyBytes_CheckExact(value))) {
            PyErr_SetString(PyExc_TypeError, "state keys must be bytes and values bytes or None");
            return NULL;
        }
        PyObject *v = value == Py_None ? NULL : value;
        uint8_t record[RLEN];
        const uint8_t *rec;
        if (i < e->last_n && e->last_objs[2 * i] == key && e->last_objs[2 * i + 1] == v) {
            rec = e->last_records + (size_t)i * RLEN;
        } else {
            blake2b_256((const uint8_t *)PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key), record);
            if (v != NULL)
                blake2b_256((const uint8_t *)PyBytes_AS_STRING(v), (size_t)PyBytes_GET_SIZE(v), record + HLEN);
            rec = record;
        }
        if (put_leaf(puts, deletes, prefix, rec, v == NULL ? NULL : rec + HLEN) < 0) return NULL;
        i++;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Engine_methods[] = {
    {"put_leaves", (PyCFunction)Engine_put_leaves, METH_VARARGS,
     "put_leaves(puts, deletes, prefix, changes): the module's put_leaves, with the last update's hashes."},
    {"load", (PyCFunction)Engine_load, METH_O, "Take the next run of sorted leaf records of a whole tree."},
    {"finish_load", (PyCFunction)Engine_finish_load, METH_NOARGS, "Compute the positions above the buckets."},
    {"begin", (PyCFunction)Engine_begin, METH_NOARGS, "Open a (nested) transaction."},
    {"commit", (PyCFunction)Engine_commit, METH_NOARGS, "Keep the innermost transaction's changes."},
    {"rollback", (PyCFunction)Engine_rollback, METH_NOARGS, "Undo the innermost transaction's changes."},
    {"update", (PyCFunction)Engine_update, METH_O, "Apply {key: value or None}; the new root."},
    {"prove", (PyCFunction)Engine_prove, METH_O, "(siblings from the leaf up, leaf record or None) of a key."},
    {"stats", (PyCFunction)Engine_stats, METH_NOARGS, "Sizes: buckets, resident leaves, budget, top bytes."},
    {"positions", (PyCFunction)Engine_positions, METH_O, "Level `depth`'s positions, 33 bytes each (hash, kind)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Engine_getset[] = {
    {"root", (getter)Engine_get_root, NULL, "The root.", NULL},
    {"bucket_bits", (getter)Engine_get_bits, NULL, "The depth of the buckets.", NULL},
    {"depth", (getter)Engine_get_depth, NULL, "Open transactions.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "storage._tree_native.TreeEngine",
    .tp_basicsize = sizeof(Engine),
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The state tree as top levels plus leaf buckets (storage/tree_engine.py describes it).",
    .tp_methods = Engine_methods,
    .tp_getset = Engine_getset,
    .tp_init = (initproc)Engine_init,
    .tp_new = PyType_GenericNew,
};

/* set_parallel_min(n): updates of at least n changes run in two halves (tests set 1 to run every update so); the
 * previous value */
static PyObject *tree_set_parallel_min(PyObject *Py_UNUSED(self), PyObject *arg) {
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "the parallel minimum is at least 1");
        return NULL;
    }
    return PyLong_FromSsize_t(__atomic_exchange_n(&parallel_min, n, __ATOMIC_RELAXED));
}

static PyObject *tree_halves_run(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromUnsignedLongLong(__atomic_load_n(&halves_run, __ATOMIC_RELAXED));
}

static PyMethodDef methods[] = {
    {"halves_run", tree_halves_run, METH_NOARGS, "How many updates this process ran in two halves."},
    {"blake2b_256", tree_blake2b_256, METH_O, "BLAKE2b-256 of bytes (the tree's own hash, for tests)."},
    {"set_parallel_min", tree_set_parallel_min, METH_O, "Updates of at least this many changes run in two halves."},
    {"put_leaves", tree_put_leaves, METH_VARARGS, "A commit's leaf puts and deletes from its state changes."},
    {"leaf_records", tree_leaf_records, METH_O, "A state's sorted leaf records."},
    {"tree_keys", tree_tree_keys, METH_VARARGS, "A state's key-index entries and keys, in path order."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tree_native",
                                    "The state tree's engine, compiled (see storage/tree_engine.py).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__tree_native(void) {
    PyObject *errors = PyImport_ImportModule("btt_chain.primitives.errors");
    if (errors == NULL) return NULL;
    StorageError = PyObject_GetAttrString(errors, "StorageError");
    Py_DECREF(errors);
    if (StorageError == NULL) return NULL;
    if (PyType_Ready(&EngineType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&EngineType);
    if (PyModule_AddObject(m, "TreeEngine", (PyObject *)&EngineType) < 0) {
        Py_DECREF(&EngineType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
