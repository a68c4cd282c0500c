// libcurl through dlopen (include/ccurl.h): one load, guarded by pthread_once; never unloaded.
#include "ccurl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct {
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} lk;
static pthread_once_t lk_once = PTHREAD_ONCE_INIT;
static int lk_ready;
static char lk_failure[512];

#define LK_RESOLVE(field, name)                                                                  \
    do {                                                                                         \
        *(void **)&lk.field = dlsym(library, name);                                              \
        if (lk.field == NULL) {                                                                  \
            snprintf(lk_failure, sizeof lk_failure, "libcurl.so.4 has no %s", name);            \
            return;                                                                              \
        }                                                                                        \
    } while (0)

static void lk_curl_load_once(void) {
    // RTLD_LOCAL: libcurl's symbols stay out of the global scope; RTLD_NOW: a missing
    // dependency fails here, not in the middle of a transfer.
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(lk_failure, sizeof lk_failure, "cannot load libcurl.so.4: %s", why ? why : "unknown error");
        return;
    }
    CURLcode (*global_init)(long);
    *(void **)&global_init = dlsym(library, "curl_global_init");
    if (global_init == NULL) {
        snprintf(lk_failure, sizeof lk_failure, "libcurl.so.4 has no curl_global_init");
        return;
    }
    LK_RESOLVE(easy_init, "curl_easy_init");
    LK_RESOLVE(easy_cleanup, "curl_easy_cleanup");
    LK_RESOLVE(easy_perform, "curl_easy_perform");
    LK_RESOLVE(easy_strerror, "curl_easy_strerror");
    LK_RESOLVE(easy_setopt, "curl_easy_setopt");
    LK_RESOLVE(easy_getinfo, "curl_easy_getinfo");
    LK_RESOLVE(slist_append, "curl_slist_append");
    LK_RESOLVE(slist_free_all, "curl_slist_free_all");
    CURLcode code = global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(lk_failure, sizeof lk_failure, "curl_global_init failed (%d)", (int)code);
        return;
    }
    lk_ready = 1;
}

const char *lk_curl_load(void) {
    pthread_once(&lk_once, lk_curl_load_once);
    return lk_ready ? NULL : lk_failure;
}

CURL *lk_curl_easy_init(void) { return lk_ready ? lk.easy_init() : NULL; }
void lk_curl_easy_cleanup(CURL *handle) { lk.easy_cleanup(handle); }
CURLcode lk_curl_easy_perform(CURL *handle) { return lk.easy_perform(handle); }
const char *lk_curl_easy_strerror(CURLcode code) { return lk_ready ? lk.easy_strerror(code) : "libcurl is not loaded"; }
struct curl_slist *lk_curl_slist_append(struct curl_slist *list, const char *text) { return lk.slist_append(list, text); }
void lk_curl_slist_free_all(struct curl_slist *list) { if (list != NULL) lk.slist_free_all(list); }

CURLcode lk_curl_setopt_long(CURL *handle, CURLoption option, long value) { return lk.easy_setopt(handle, option, value); }
CURLcode lk_curl_setopt_string(CURL *handle, CURLoption option, const char *value) { return lk.easy_setopt(handle, option, value); }
CURLcode lk_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) { return lk.easy_setopt(handle, option, value); }
CURLcode lk_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return lk.easy_setopt(handle, option, value);
}
CURLcode lk_curl_setopt_data_callback(CURL *handle, CURLoption option, lk_curl_data_callback cb) {
    return lk.easy_setopt(handle, option, cb);
}
CURLcode lk_curl_setopt_xferinfo(CURL *handle, lk_curl_xferinfo_callback cb) {
    return lk.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, cb);
}
CURLcode lk_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) { return lk.easy_getinfo(handle, info, value); }
