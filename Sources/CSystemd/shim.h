#ifndef TWINSLOT_CSYSTEMD_SHIM_H
#define TWINSLOT_CSYSTEMD_SHIM_H
/* sd-bus (the D-Bus service) and sd-journal (structured logs) from libsystemd. */
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#endif
