// libsecret for Swift: the non-variadic *v API is used directly; these helpers cover the
// GLib macros Swift cannot import. Only LatchkeyStore imports this module.
#ifndef LATCHKEY_CLIBSECRET_SHIM_H
#define LATCHKEY_CLIBSECRET_SHIM_H
#include <libsecret/secret.h>

static inline GHashTable *lk_secret_attributes_new(void) {
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}
static inline void lk_secret_attributes_insert(GHashTable *table, const char *key, const char *value) {
    g_hash_table_insert(table, g_strdup(key), g_strdup(value));
}
static inline const char *lk_secret_collection_default(void) { return SECRET_COLLECTION_DEFAULT; }
#endif
