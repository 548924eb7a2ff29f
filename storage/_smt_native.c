/*
 * The state tree's batch update (storage/smt.py, class _Batch) compiled: the same tree, node for node, and the same
 * use of the node cache, at a fraction of the CPU. storage/smt.py keeps the Python version, which defines what this
 * must do; tests run every tree test against both and compare roots, new nodes and cache contents.
 *
 * update(cache, limit, fetch, root, changes) -> (new_root, new_nodes)
 *   cache:   dict {node hash: 65-byte encoding}, read, popped from and added to exactly as _Batch does
 *   limit:   nodes at this depth or deeper are not cached
 *   fetch:   callable(node_hash) -> 65-byte encoding, raising StorageError (reads the store and pending nodes)
 *   root:    32-byte root of the tree to update (not the empty root: the caller builds a fresh tree itself)
 *   changes: dict {key bytes: value bytes or None}
 *
 * Hash: BLAKE2b-256 (RFC 7693), written out below so that nothing but CPython's headers is needed to build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HLEN 32
#define NLEN 65
#define PATH_BITS 256

/* ---- BLAKE2b-256 ------------------------------------------------------------------------------------------- */

static const uint64_t B2_IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static const uint8_t B2_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define B2_G(a, b, c, d, x, y)          \
    do {                                \
        v[a] = v[a] + v[b] + (x);       \
        v[d] = rotr64(v[d] ^ v[a], 32); \
        v[c] = v[c] + v[d];             \
        v[b] = rotr64(v[b] ^ v[c], 24); \
        v[a] = v[a] + v[b] + (y);       \
        v[d] = rotr64(v[d] ^ v[a], 16); \
        v[c] = v[c] + v[d];             \
        v[b] = rotr64(v[b] ^ v[c], 63); \
    } while (0)

static void b2_compress(uint64_t h[8], const uint8_t block[128], uint64_t t, int last) {
    uint64_t v[16], m[16];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = B2_IV[i];
    }
    v[12] ^= t;
    if (last) v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = B2_SIGMA[r];
        B2_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        B2_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        B2_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        B2_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        B2_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        B2_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        B2_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        B2_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* BLAKE2b with a 32-byte digest and no key, of `len` bytes. */
static void blake2b_256(const uint8_t *in, size_t len, uint8_t out[HLEN]) {
    uint64_t h[8];
    uint8_t block[128];
    uint64_t t = 0;
    for (int i = 0; i < 8; i++) h[i] = B2_IV[i];
    h[0] ^= 0x01010000ULL ^ HLEN;
    while (len > 128) {
        t += 128;
        b2_compress(h, in, t, 0);
        in += 128;
        len -= 128;
    }
    memset(block, 0, sizeof block);
    memcpy(block, in, len);
    t += len;
    b2_compress(h, block, t, 1);
    for (int i = 0; i < HLEN; i++) out[i] = (uint8_t)(h[i / 8] >> (8 * (i % 8)));
}

/* ---- the batch ------------------------------------------------------------------------------------------------ */

static const uint8_t ZERO[HLEN] = {0};
static PyObject *StorageError = NULL;

typedef struct {
    uint8_t path[HLEN];
    uint8_t value[HLEN]; /* the value's hash */
    int present;         /* 0: a delete */
} Entry;

typedef struct {
    PyObject *cache; /* dict */
    int limit;
    PyObject *fetch; /* callable */
    Entry *entries;  /* sorted by path */
    PyObject *new_nodes;
} Batch;

static inline int is_zero(const uint8_t h[HLEN]) { return memcmp(h, ZERO, HLEN) == 0; }
static inline int bit_at(const uint8_t p[HLEN], int depth) { return (p[depth >> 3] >> (7 - (depth & 7))) & 1; }

/* The depth of the node where two different paths part (their leaves sit one deeper). */
static int parting_depth(const uint8_t a[HLEN], const uint8_t b[HLEN]) {
    for (int i = 0; i < HLEN; i++) {
        unsigned x = a[i] ^ b[i];
        if (x) return i * 8 + (__builtin_clz(x) - 24);
    }
    return PATH_BITS;
}

/* First index in [lo, hi) whose path has bit `depth` set (the paths there share every bit above it). */
static Py_ssize_t split_at(const Batch *b, int depth, Py_ssize_t lo, Py_ssize_t hi) {
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (bit_at(b->entries[mid].path, depth))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Index in [lo, hi) of the change to path `p`, or -1. */
static Py_ssize_t find_path(const Batch *b, const uint8_t p[HLEN], Py_ssize_t lo, Py_ssize_t hi) {
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        int c = memcmp(b->entries[mid].path, p, HLEN);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int copy_node(PyObject *enc, const uint8_t h[HLEN], uint8_t out[NLEN]) {
    if (!PyBytes_Check(enc) || PyBytes_GET_SIZE(enc) != NLEN || (uint8_t)PyBytes_AS_STRING(enc)[0] > 1) {
        char hex[2 * HLEN + 1];
        for (int i = 0; i < HLEN; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
        PyErr_Format(StorageError, "state tree node %s is malformed: database damaged", hex);
        return -1;
    }
    memcpy(out, PyBytes_AS_STRING(enc), NLEN);
    return 0;
}

static int fetch_node(Batch *b, PyObject *key, const uint8_t h[HLEN], uint8_t out[NLEN]) {
    PyObject *enc = PyObject_CallOneArg(b->fetch, key);
    if (enc == NULL) return -1;
    int r = copy_node(enc, h, out);
    Py_DECREF(enc);
    return r;
}

/* A node read through the cache: `cache.pop(h) or fetch(h)` when `pop` (a node about to be replaced), else
 * `cache.get(h) or fetch(h)` (a node that stays in the tree). An empty cached value is never a node. */
static int read_node(Batch *b, const uint8_t h[HLEN], uint8_t out[NLEN], int pop) {
    PyObject *key = PyBytes_FromStringAndSize((const char *)h, HLEN);
    if (key == NULL) return -1;
    PyObject *enc = PyDict_GetItemWithError(b->cache, key); /* borrowed */
    int r = 0;
    if (enc == NULL && PyErr_Occurred()) {
        r = -1;
    } else if (enc != NULL && PyBytes_Check(enc) && PyBytes_GET_SIZE(enc) > 0) {
        Py_INCREF(enc);
        if (pop) r = PyDict_DelItem(b->cache, key);
        if (r == 0) r = copy_node(enc, h, out);
        Py_DECREF(enc);
    } else {
        if (enc != NULL && pop) r = PyDict_DelItem(b->cache, key);
        if (r == 0) r = fetch_node(b, key, h, out);
    }
    Py_DECREF(key);
    return r;
}

static inline int take(Batch *b, const uint8_t h[HLEN], uint8_t out[NLEN]) { return read_node(b, h, out, 1); }
static inline int load(Batch *b, const uint8_t h[HLEN], uint8_t out[NLEN]) { return read_node(b, h, out, 0); }

static int cache_put(Batch *b, const uint8_t h[HLEN], const uint8_t enc[NLEN]) {
    PyObject *key = PyBytes_FromStringAndSize((const char *)h, HLEN);
    if (key == NULL) return -1;
    PyObject *val = PyBytes_FromStringAndSize((const char *)enc, NLEN);
    if (val == NULL) {
        Py_DECREF(key);
        return -1;
    }
    int r = PyDict_SetItem(b->cache, key, val);
    Py_DECREF(key);
    Py_DECREF(val);
    return r;
}

/* Put back a node taken from the cache that stays in the tree, at `depth`. */
static int keep(Batch *b, const uint8_t h[HLEN], const uint8_t enc[NLEN], int depth) {
    return depth < b->limit ? cache_put(b, h, enc) : 0;
}

/* Hash a new node at `depth`, keeping it for the caller to persist (and cached above the limit). */
static int new_node(Batch *b, const uint8_t enc[NLEN], int depth, uint8_t out[HLEN]) {
    blake2b_256(enc, NLEN, out);
    PyObject *key = PyBytes_FromStringAndSize((const char *)out, HLEN);
    if (key == NULL) return -1;
    PyObject *val = PyBytes_FromStringAndSize((const char *)enc, NLEN);
    if (val == NULL) {
        Py_DECREF(key);
        return -1;
    }
    int r = PyDict_SetItem(b->new_nodes, key, val);
    if (r == 0 && depth < b->limit) r = PyDict_SetItem(b->cache, key, val);
    Py_DECREF(key);
    Py_DECREF(val);
    return r;
}

static int new_internal(Batch *b, const uint8_t left[HLEN], const uint8_t right[HLEN], int depth, uint8_t out[HLEN]) {
    uint8_t enc[NLEN];
    enc[0] = 1;
    memcpy(enc + 1, left, HLEN);
    memcpy(enc + 1 + HLEN, right, HLEN);
    return new_node(b, enc, depth, out);
}

static int new_leaf(Batch *b, const Entry *e, int depth, uint8_t out[HLEN]) {
    uint8_t enc[NLEN];
    enc[0] = 0;
    memcpy(enc + 1, e->path, HLEN);
    memcpy(enc + 1 + HLEN, e->value, HLEN);
    return new_node(b, enc, depth, out);
}

/* Leaf flags: 1 leaf, 0 not a leaf (or empty), -1 unchanged and not known. */

/* The subtree at `depth` holding exactly two leaves (see _Batch._pair). */
static int pair(Batch *b, int depth, const uint8_t a_path[HLEN], const uint8_t a_hash[HLEN],
                const uint8_t b_path[HLEN], const uint8_t b_hash[HLEN], uint8_t out[HLEN]) {
    int split = parting_depth(a_path, b_path);
    uint8_t node[HLEN];
    int r = bit_at(a_path, split) ? new_internal(b, b_hash, a_hash, split, node)
                                   : new_internal(b, a_hash, b_hash, split, node);
    if (r < 0) return -1;
    for (int d = split - 1; d >= depth; d--) {
        uint8_t up[HLEN];
        r = bit_at(a_path, d) ? new_internal(b, ZERO, node, d, up) : new_internal(b, node, ZERO, d, up);
        if (r < 0) return -1;
        memcpy(node, up, HLEN);
    }
    memcpy(out, node, HLEN);
    return 0;
}

/* The subtree at `depth` with these two children, kept canonical (see _Batch._join). */
static int join(Batch *b, int depth, const uint8_t left[HLEN], int left_leaf, const uint8_t right[HLEN],
                int right_leaf, uint8_t out[HLEN], int *out_leaf) {
    uint8_t enc[NLEN];
    if (is_zero(left)) {
        if (is_zero(right)) {
            memcpy(out, ZERO, HLEN);
            *out_leaf = 0;
            return 0;
        }
        if (right_leaf < 0) {
            if (load(b, right, enc) < 0) return -1;
            right_leaf = enc[0] == 0;
        }
        if (right_leaf) {
            memcpy(out, right, HLEN);
            *out_leaf = 1;
            return 0;
        }
    } else if (is_zero(right)) {
        if (left_leaf < 0) {
            if (load(b, left, enc) < 0) return -1;
            left_leaf = enc[0] == 0;
        }
        if (left_leaf) {
            memcpy(out, left, HLEN);
            *out_leaf = 1;
            return 0;
        }
    }
    *out_leaf = 0;
    return new_internal(b, left, right, depth, out);
}

typedef struct {
    const uint8_t *path; /* the existing leaf none of the changes touch */
    const uint8_t *hash;
    const uint8_t *enc;
} Extra;

/* The subtree at `depth` holding the changes [lo, hi) that set a value, plus `extra` if given (see _Batch._build). */
static int build(Batch *b, int depth, Py_ssize_t lo, Py_ssize_t hi, const Extra *extra, uint8_t out[HLEN],
                 int *out_leaf) {
    Py_ssize_t n = hi - lo;
    if (n == 0 || (n == 1 && !b->entries[lo].present)) {
        /* nothing set here: the subtree is `extra` alone, or empty */
        if (extra == NULL) {
            memcpy(out, ZERO, HLEN);
            *out_leaf = 0;
            return 0;
        }
        if (keep(b, extra->hash, extra->enc, depth) < 0) return -1;
        memcpy(out, extra->hash, HLEN);
        *out_leaf = 1;
        return 0;
    }
    if (n == 1) {
        const Entry *e = &b->entries[lo];
        if (extra == NULL) {
            *out_leaf = 1;
            return new_leaf(b, e, depth, out);
        }
        int leaves_at = parting_depth(e->path, extra->path) + 1;
        uint8_t leaf[HLEN];
        if (keep(b, extra->hash, extra->enc, leaves_at) < 0) return -1;
        if (new_leaf(b, e, leaves_at, leaf) < 0) return -1;
        *out_leaf = 0;
        return pair(b, depth, e->path, leaf, extra->path, extra->hash, out);
    }
    Py_ssize_t mid = split_at(b, depth, lo, hi);
    uint8_t left[HLEN], right[HLEN];
    int left_leaf, right_leaf;
    const Extra *to_left = NULL, *to_right = NULL;
    if (extra != NULL) {
        if (bit_at(extra->path, depth))
            to_right = extra;
        else
            to_left = extra;
    }
    if (build(b, depth + 1, lo, mid, to_left, left, &left_leaf) < 0) return -1;
    if (build(b, depth + 1, mid, hi, to_right, right, &right_leaf) < 0) return -1;
    return join(b, depth, left, left_leaf, right, right_leaf, out, out_leaf);
}

/* Put back the internal nodes visit_one took on a path that turned out unchanged. */
static int restore(Batch *b, const uint8_t node_in[HLEN], int depth, const uint8_t path[HLEN],
                   uint8_t (*path_nodes)[NLEN], int count) {
    uint8_t node[HLEN];
    memcpy(node, node_in, HLEN);
    int upto = b->limit - depth;
    if (upto > count) upto = count;
    for (int k = 0; k < upto; k++) {
        if (cache_put(b, node, path_nodes[k]) < 0) return -1;
        const uint8_t *enc = path_nodes[k];
        memcpy(node, bit_at(path, depth + k) ? enc + 1 + HLEN : enc + 1, HLEN);
    }
    return 0;
}

/* Apply the single change i to the existing subtree `node` at `depth`: walk down, then rehash up. */
static int visit_one(Batch *b, const uint8_t node[HLEN], int depth, Py_ssize_t i, uint8_t out[HLEN], int *out_leaf) {
    const Entry *e = &b->entries[i];
    uint8_t path_nodes[PATH_BITS + 1][NLEN];
    int count = 0;
    uint8_t cur[HLEN], enc[NLEN];
    int found = 0; /* enc holds a leaf */
    memcpy(cur, node, HLEN);
    while (!is_zero(cur)) {
        if (take(b, cur, enc) < 0) return -1;
        if (enc[0] == 0) {
            found = 1;
            break;
        }
        if (depth + count >= PATH_BITS) {
            PyErr_SetString(StorageError, "state tree deeper than its paths: database damaged");
            return -1;
        }
        memcpy(path_nodes[count], enc, NLEN);
        memcpy(cur, bit_at(e->path, depth + count) ? enc + 1 + HLEN : enc + 1, HLEN);
        count++;
    }
    int bottom = depth + count;
    uint8_t newh[HLEN];
    int newleaf;
    if (!found) {
        if (!e->present) {
            if (restore(b, node, depth, e->path, path_nodes, count) < 0) return -1;
            memcpy(out, node, HLEN);
            *out_leaf = 0;
            return 0;
        }
        if (new_leaf(b, e, bottom, newh) < 0) return -1;
        newleaf = 1;
    } else if (memcmp(enc + 1, e->path, HLEN) == 0) {
        if (!e->present) {
            memcpy(newh, ZERO, HLEN);
            newleaf = 0;
        } else if (memcmp(enc + 1 + HLEN, e->value, HLEN) == 0) {
            if (keep(b, cur, enc, bottom) < 0) return -1;
            if (restore(b, node, depth, e->path, path_nodes, count) < 0) return -1;
            memcpy(out, node, HLEN);
            *out_leaf = count == 0;
            return 0;
        } else {
            if (new_leaf(b, e, bottom, newh) < 0) return -1;
            newleaf = 1;
        }
    } else {
        if (!e->present) {
            if (keep(b, cur, enc, bottom) < 0) return -1;
            if (restore(b, node, depth, e->path, path_nodes, count) < 0) return -1;
            memcpy(out, node, HLEN);
            *out_leaf = count == 0;
            return 0;
        }
        uint8_t other[HLEN], leaf[HLEN];
        memcpy(other, enc + 1, HLEN);
        int leaves_at = parting_depth(e->path, other) + 1;
        if (keep(b, cur, enc, leaves_at) < 0) return -1;
        if (new_leaf(b, e, leaves_at, leaf) < 0) return -1;
        if (pair(b, bottom, e->path, leaf, other, cur, newh) < 0) return -1;
        newleaf = 0;
    }
    for (int k = count - 1; k >= 0; k--) {
        const uint8_t *parent = path_nodes[k];
        int pdepth = depth + k;
        int go_right = bit_at(e->path, pdepth);
        const uint8_t *sibling = go_right ? parent + 1 : parent + 1 + HLEN;
        if (is_zero(sibling)) {
            if (newleaf || is_zero(newh)) continue;
        } else if (is_zero(newh)) {
            uint8_t senc[NLEN];
            if (load(b, sibling, senc) < 0) return -1;
            if (senc[0] == 0) {
                memcpy(newh, sibling, HLEN);
                newleaf = 1;
                continue;
            }
        }
        uint8_t up[HLEN];
        if ((go_right ? new_internal(b, sibling, newh, pdepth, up) : new_internal(b, newh, sibling, pdepth, up)) < 0)
            return -1;
        memcpy(newh, up, HLEN);
        newleaf = 0;
    }
    memcpy(out, newh, HLEN);
    *out_leaf = newleaf;
    return 0;
}

/* Apply changes [lo, hi) to the existing subtree `node` at `depth` (see _Batch._visit). */
static int visit(Batch *b, const uint8_t node[HLEN], int depth, Py_ssize_t lo, Py_ssize_t hi, uint8_t out[HLEN],
                 int *out_leaf) {
    if (hi - lo == 1) return visit_one(b, node, depth, lo, out, out_leaf);
    if (is_zero(node)) return build(b, depth, lo, hi, NULL, out, out_leaf);
    if (depth >= PATH_BITS) {
        PyErr_SetString(StorageError, "state tree deeper than its paths: database damaged");
        return -1;
    }
    uint8_t enc[NLEN];
    if (take(b, node, enc) < 0) return -1;
    if (enc[0] == 0) {
        if (find_path(b, enc + 1, lo, hi) >= 0) return build(b, depth, lo, hi, NULL, out, out_leaf);
        Extra extra = {enc + 1, node, enc};
        return build(b, depth, lo, hi, &extra, out, out_leaf);
    }
    const uint8_t *left = enc + 1, *right = enc + 1 + HLEN;
    Py_ssize_t mid = split_at(b, depth, lo, hi);
    uint8_t new_left[HLEN], new_right[HLEN];
    int left_leaf = -1, right_leaf = -1;
    if (mid > lo) {
        if (visit(b, left, depth + 1, lo, mid, new_left, &left_leaf) < 0) return -1;
    } else {
        memcpy(new_left, left, HLEN);
    }
    if (hi > mid) {
        if (visit(b, right, depth + 1, mid, hi, new_right, &right_leaf) < 0) return -1;
    } else {
        memcpy(new_right, right, HLEN);
    }
    if (memcmp(new_left, left, HLEN) == 0 && memcmp(new_right, right, HLEN) == 0) {
        if (keep(b, node, enc, depth) < 0) return -1;
        memcpy(out, node, HLEN);
        *out_leaf = 0;
        return 0;
    }
    if (!is_zero(new_left) && !is_zero(new_right)) {
        *out_leaf = 0;
        return new_internal(b, new_left, new_right, depth, out);
    }
    return join(b, depth, new_left, left_leaf, new_right, right_leaf, out, out_leaf);
}

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

static PyObject *smt_update(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *cache, *fetch, *root, *changes;
    int limit;
    if (!PyArg_ParseTuple(args, "O!iOSO!:update", &PyDict_Type, &cache, &limit, &fetch, &root, &PyDict_Type,
                          &changes))
        return NULL;
    if (PyBytes_GET_SIZE(root) != HLEN) {
        PyErr_SetString(PyExc_ValueError, "state root must be 32 bytes");
        return NULL;
    }
    Py_ssize_t n = PyDict_GET_SIZE(changes);
    Entry *entries = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Entry));
    if (entries == NULL) return PyErr_NoMemory();
    Py_ssize_t pos = 0, i = 0;
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
        Entry *e = &entries[i++];
        if (hash_bytes(key, e->path) < 0) goto fail;
        e->present = value != Py_None;
        if (e->present) {
            if (hash_bytes(value, e->value) < 0) goto fail;
        } else {
            memset(e->value, 0, HLEN);
        }
    }
    qsort(entries, (size_t)n, sizeof(Entry), compare_entries);
    Batch b = {cache, limit, fetch, entries, PyDict_New()};
    if (b.new_nodes == NULL) goto fail;
    uint8_t new_root[HLEN];
    int leaf;
    if (n == 0) {
        memcpy(new_root, PyBytes_AS_STRING(root), HLEN);
    } else if (visit(&b, (const uint8_t *)PyBytes_AS_STRING(root), 0, 0, n, new_root, &leaf) < 0) {
        Py_DECREF(b.new_nodes);
        goto fail;
    }
    PyMem_Free(entries);
    PyObject *result = Py_BuildValue("(y#N)", (const char *)new_root, (Py_ssize_t)HLEN, b.new_nodes);
    return result;
fail:
    PyMem_Free(entries);
    return NULL;
}

static PyObject *smt_blake2b_256(PyObject *Py_UNUSED(self), PyObject *arg) {
    uint8_t out[HLEN];
    if (hash_bytes(arg, out) < 0) return NULL;
    return PyBytes_FromStringAndSize((const char *)out, HLEN);
}

/* put_prefixed(target, prefix, source): target[prefix + k] = v for every k, v of the dict source (a block's new tree
 * nodes into its commit batch: ~80,000 keys, without the intermediate dict a comprehension makes). */
static PyObject *smt_put_prefixed(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *target, *prefix, *source;
    if (!PyArg_ParseTuple(args, "O!SO!:put_prefixed", &PyDict_Type, &target, &prefix, &PyDict_Type, &source))
        return NULL;
    Py_ssize_t plen = PyBytes_GET_SIZE(prefix), pos = 0;
    const char *pdata = PyBytes_AS_STRING(prefix);
    PyObject *key, *value;
    while (PyDict_Next(source, &pos, &key, &value)) {
        if (!PyBytes_CheckExact(key)) {
            PyErr_Format(PyExc_TypeError, "keys must be bytes, got %s", Py_TYPE(key)->tp_name);
            return NULL;
        }
        Py_ssize_t klen = PyBytes_GET_SIZE(key);
        PyObject *full = PyBytes_FromStringAndSize(NULL, plen + klen);
        if (full == NULL) return NULL;
        memcpy(PyBytes_AS_STRING(full), pdata, (size_t)plen);
        memcpy(PyBytes_AS_STRING(full) + plen, PyBytes_AS_STRING(key), (size_t)klen);
        int r = PyDict_SetItem(target, full, value);
        Py_DECREF(full);
        if (r < 0) return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"put_prefixed", smt_put_prefixed, METH_VARARGS, "target[prefix + k] = v for every item of the dict source."},
    {"update", smt_update, METH_VARARGS, "Apply changes to the state tree at a root: (new_root, new_nodes)."},
    {"blake2b_256", smt_blake2b_256, METH_O, "BLAKE2b-256 of bytes (the tree's own hash, for tests)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_smt_native",
                                    "The state tree's batch update, compiled (see storage/smt.py).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__smt_native(void) {
    PyObject *errors = PyImport_ImportModule("btt_chain.primitives.errors");
    if (errors == NULL) return NULL;
    StorageError = PyObject_GetAttrString(errors, "StorageError");
    Py_DECREF(errors);
    if (StorageError == NULL) return NULL;
    return PyModule_Create(&module);
}
