#ifndef TWINSLOT_CXXHASH_SHIM_H
#define TWINSLOT_CXXHASH_SHIM_H
#include <xxhash.h>
#endif
