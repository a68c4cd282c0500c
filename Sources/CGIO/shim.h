// GIO's D-Bus client for desktop notifications (org.freedesktop.Notifications). Only
// LatchkeyNotify imports this module.
#ifndef LATCHKEY_CGIO_SHIM_H
#define LATCHKEY_CGIO_SHIM_H
#include <gio/gio.h>

// The Notify call's parameters, "(susssasa{sv}i)": g_variant_new is variadic.
static inline GVariant *lk_notify_parameters(const char *app, const char *summary, const char *body, int timeout_ms) {
    return g_variant_new("(susssasa{sv}i)", app, (guint32)0, "dialog-password", summary, body, NULL, NULL, timeout_ms);
}
#endif
