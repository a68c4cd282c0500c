// Typed wrappers for libcurl's variadic functions and the macros Swift cannot import.
// Only LatchkeyHTTP imports this module.
#ifndef LATCHKEY_CCURL_SHIM_H
#define LATCHKEY_CCURL_SHIM_H
#include <curl/curl.h>

typedef size_t (*lk_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);
typedef int (*lk_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode lk_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode lk_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode lk_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode lk_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode lk_curl_setopt_data_callback(CURL *handle, CURLoption option, lk_curl_data_callback cb) {
    return curl_easy_setopt(handle, option, cb);
}
static inline CURLcode lk_curl_setopt_xferinfo(CURL *handle, lk_curl_xferinfo_callback cb) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, cb);
}
static inline CURLcode lk_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline long lk_curl_auth_negotiate(void) { return (long)CURLAUTH_NEGOTIATE; }
static inline long lk_curl_protocols_http_https(void) { return (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS); }
#endif
