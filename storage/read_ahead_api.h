/*
 * What storage/_leveldb_multiget.c offers other compiled parts, through the capsule
 * `storage._leveldb_multiget._C_API`: a read-ahead's lookup of one key, without a Python call. The store hands the
 * capsule over with the read-ahead (`LevelDBStore.reads_ahead`, `FlatState.ahead_reads`), so a reader such as
 * runtime/_transfer_native.c, which takes a block's accounts from it, imports nothing of the store's.
 */
#ifndef BTT_READ_AHEAD_API_H
#define BTT_READ_AHEAD_API_H
#include <Python.h>

#define READ_AHEAD_API_NAME "storage._leveldb_multiget._C_API"
#define READ_AHEAD_API_VERSION 1

typedef struct {
    int version;        /* READ_AHEAD_API_VERSION */
    PyTypeObject *type; /* ReadAhead: `lookup` takes exactly an object of this type */
    /* The value of `key` (exact bytes) as the database holds it: a new reference (Py_None: absent), or NULL with no
     * error set when the read-ahead cannot answer (the key is not in its list, its read failed, it is closed): the
     * caller then reads the plain way. NULL with an error set: an error. A key the read-ahead's thread has not
     * reached is read by the caller, at once. Call with the GIL held. */
    PyObject *(*lookup)(PyObject *reads, PyObject *key);
} ReadAheadAPI;

#endif
