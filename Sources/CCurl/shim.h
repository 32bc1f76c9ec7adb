#ifndef TWINSLOT_CCURL_SHIM_H
#define TWINSLOT_CCURL_SHIM_H
/* libcurl, loaded when the first HTTP transfer starts rather than linked: an install from a
 * file then maps none of libcurl's ~40 dependencies (about 4.5 MiB of resident memory). Each
 * function twinslot uses goes through this table; the option setters are variadic in libcurl,
 * which Swift cannot call, so typed wrappers make those calls here. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>

typedef size_t (*ts_curl_data_callback)(char *data, size_t size, size_t count, void *context);

struct ts_curl_api {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_pause)(CURL *, int);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
};

/* Loads libcurl and every function above into `ts_curl`; returns NULL on success or
 * dlerror()'s text. Called once; the table then lives as long as the process and every
 * wrapper below takes it as its first argument. */
static inline const char *ts_curl_load(struct ts_curl_api *table) {
#define ts_curl (*table)
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) return dlerror();
#define TS_CURL_SYMBOL(field, name) \
    if (!(*(void **)(&ts_curl.field) = dlsym(library, name))) return dlerror();
    TS_CURL_SYMBOL(global_init, "curl_global_init")
    TS_CURL_SYMBOL(easy_init, "curl_easy_init")
    TS_CURL_SYMBOL(easy_cleanup, "curl_easy_cleanup")
    TS_CURL_SYMBOL(easy_setopt, "curl_easy_setopt")
    TS_CURL_SYMBOL(easy_getinfo, "curl_easy_getinfo")
    TS_CURL_SYMBOL(easy_strerror, "curl_easy_strerror")
    TS_CURL_SYMBOL(easy_pause, "curl_easy_pause")
    TS_CURL_SYMBOL(slist_append, "curl_slist_append")
    TS_CURL_SYMBOL(slist_free_all, "curl_slist_free_all")
    TS_CURL_SYMBOL(multi_init, "curl_multi_init")
    TS_CURL_SYMBOL(multi_cleanup, "curl_multi_cleanup")
    TS_CURL_SYMBOL(multi_add_handle, "curl_multi_add_handle")
    TS_CURL_SYMBOL(multi_remove_handle, "curl_multi_remove_handle")
    TS_CURL_SYMBOL(multi_perform, "curl_multi_perform")
    TS_CURL_SYMBOL(multi_poll, "curl_multi_poll")
    TS_CURL_SYMBOL(multi_info_read, "curl_multi_info_read")
#undef TS_CURL_SYMBOL
    return table->global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? NULL : "curl_global_init failed";
#undef ts_curl
}

static inline CURL *ts_curl_easy_init(const struct ts_curl_api *api) { return api->easy_init(); }
static inline void ts_curl_easy_cleanup(const struct ts_curl_api *api, CURL *handle) { api->easy_cleanup(handle); }
static inline const char *ts_curl_easy_strerror(const struct ts_curl_api *api, CURLcode code) { return api->easy_strerror(code); }
static inline CURLcode ts_curl_easy_pause(const struct ts_curl_api *api, CURL *handle, int mask) { return api->easy_pause(handle, mask); }
static inline struct curl_slist *ts_curl_slist_append(const struct ts_curl_api *api, struct curl_slist *list, const char *line) {
    return api->slist_append(list, line);
}
static inline void ts_curl_slist_free_all(const struct ts_curl_api *api, struct curl_slist *list) { api->slist_free_all(list); }
static inline CURLM *ts_curl_multi_init(const struct ts_curl_api *api) { return api->multi_init(); }
static inline CURLMcode ts_curl_multi_cleanup(const struct ts_curl_api *api, CURLM *multi) { return api->multi_cleanup(multi); }
static inline CURLMcode ts_curl_multi_add_handle(const struct ts_curl_api *api, CURLM *multi, CURL *handle) {
    return api->multi_add_handle(multi, handle);
}
static inline CURLMcode ts_curl_multi_remove_handle(const struct ts_curl_api *api, CURLM *multi, CURL *handle) {
    return api->multi_remove_handle(multi, handle);
}
static inline CURLMcode ts_curl_multi_perform(const struct ts_curl_api *api, CURLM *multi, int *running) {
    return api->multi_perform(multi, running);
}
/* `ready` receives how many sockets had events: 0 means the wait ended by a timer. */
static inline CURLMcode ts_curl_multi_poll(const struct ts_curl_api *api, CURLM *multi, int timeout_ms, int *ready) {
    return api->multi_poll(multi, NULL, 0, timeout_ms, ready);
}
static inline CURLMsg *ts_curl_multi_info_read(const struct ts_curl_api *api, CURLM *multi, int *queued) {
    return api->multi_info_read(multi, queued);
}

static inline CURLcode ts_curl_set_long(const struct ts_curl_api *api, CURL *handle, CURLoption option, long value) {
    return api->easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_offset(const struct ts_curl_api *api, CURL *handle, CURLoption option, curl_off_t value) {
    return api->easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_string(const struct ts_curl_api *api, CURL *handle, CURLoption option, const char *value) {
    return api->easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_pointer(const struct ts_curl_api *api, CURL *handle, CURLoption option, void *value) {
    return api->easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_callback(const struct ts_curl_api *api, CURL *handle, CURLoption option, ts_curl_data_callback value) {
    return api->easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_get_long(const struct ts_curl_api *api, CURL *handle, CURLINFO info, long *value) {
    return api->easy_getinfo(handle, info, value);
}
#endif
