#ifndef TWINSLOT_CCURL_SHIM_H
#define TWINSLOT_CCURL_SHIM_H
/* libcurl's option setters are variadic, which Swift cannot call: typed wrappers, nothing else. */
#include <curl/curl.h>

typedef size_t (*ts_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode ts_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_set_callback(CURL *handle, CURLoption option, ts_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode ts_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode ts_curl_get_offset(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode ts_curl_get_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLMcode ts_curl_multi_set_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
#endif
