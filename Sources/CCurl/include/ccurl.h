// The one door to libcurl, loaded on the first transfer (dlopen), not at start-up: a daemon that
// serves cached tokens maps none of libcurl's ~18 libraries (docs/performance.md "Idle memory").
// Typed wrappers for its variadic functions and the macros Swift cannot import; the names are
// prefixed, so no libcurl symbol is defined here for libcurl's own calls to resolve to.
// Only LatchkeyHTTP imports this module.
#ifndef LATCHKEY_CCURL_H
#define LATCHKEY_CCURL_H
#include <curl/curl.h>

typedef size_t (*lk_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);
typedef int (*lk_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);

/// Loads libcurl.so.4 and runs curl_global_init once, on the first call from any thread. NULL
/// when libcurl is ready, else why not (the same text on every later call). The functions
/// below may be called only after it returned NULL.
const char *lk_curl_load(void);

CURL *lk_curl_easy_init(void);
void lk_curl_easy_cleanup(CURL *handle);
CURLcode lk_curl_easy_perform(CURL *handle);
const char *lk_curl_easy_strerror(CURLcode code);
struct curl_slist *lk_curl_slist_append(struct curl_slist *list, const char *text);
void lk_curl_slist_free_all(struct curl_slist *list);

CURLcode lk_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode lk_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode lk_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode lk_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode lk_curl_setopt_data_callback(CURL *handle, CURLoption option, lk_curl_data_callback cb);
CURLcode lk_curl_setopt_xferinfo(CURL *handle, lk_curl_xferinfo_callback cb);
CURLcode lk_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

static inline long lk_curl_auth_negotiate(void) { return (long)CURLAUTH_NEGOTIATE; }
static inline long lk_curl_protocols_http_https(void) { return (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS); }
#endif
