#ifndef TWINSLOT_CZLIB_SHIM_H
#define TWINSLOT_CZLIB_SHIM_H
#include <zlib.h>
#endif
