#ifndef TWINSLOT_CLIBCONFIG_SHIM_H
#define TWINSLOT_CLIBCONFIG_SHIM_H
#include <libconfig.h>

/* libconfig's accessors for the error and a setting's source line are function-like macros,
   which Swift cannot import. */
static inline int twinslot_config_error_line(const config_t *config) { return config_error_line(config); }
static inline const char *twinslot_config_error_text(const config_t *config) { return config_error_text(config); }
static inline config_setting_t *twinslot_config_root(const config_t *config) { return config_root_setting(config); }
#endif
