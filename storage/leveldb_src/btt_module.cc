// btt-chain: this LevelDB as the Python extension module storage.libleveldb_btt.
//
// Importing it loads LevelDB 1.22 built from this directory (seek compaction
// off, db/version_set.cc) under the SONAME plyvel's wheel needs its LevelDB by,
// so that plyvel, imported after it, binds to this build. See
// storage/leveldb_build.py. The module itself only says what it is.

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifndef BTT_LEVELDB_SONAME
#error "setup.py defines BTT_LEVELDB_SONAME, the SONAME it links this module with"
#endif

static struct PyModuleDef libleveldb_btt_module = {
    PyModuleDef_HEAD_INIT, "libleveldb_btt",
    "LevelDB 1.22 built by btt-chain without seek compaction (storage/leveldb_src).", -1, nullptr,
    nullptr, nullptr, nullptr, nullptr};

PyMODINIT_FUNC PyInit_libleveldb_btt(void) {
  PyObject* module = PyModule_Create(&libleveldb_btt_module);
  if (module == nullptr) return nullptr;
  if (PyModule_AddIntConstant(module, "SEEK_COMPACTION", 0) < 0 ||
      PyModule_AddStringConstant(module, "LEVELDB_VERSION", "1.22") < 0 ||
      PyModule_AddStringConstant(module, "SONAME", BTT_LEVELDB_SONAME) < 0) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
