/* Error context and the warning sink. One sentence per failure, prefixed by the
 * caller with the file it concerns, so the CLI can print "file: reason" lines. */
#include "base/base.h"

#include <stdarg.h>
#include <string.h>

int c2_fail(c2_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int c2_err_prefix(c2_err *e, const char *fmt, ...)
{
    if (!e)
        return C2_OK;
    char prefix[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old);
    return e->code;
}

void c2_err_clear(c2_err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = 0;
    }
}

static void warn_to_stderr(void *user, const char *msg)
{
    (void)user;
    char safe[1024];
    fprintf(stderr, "warning: %s\n", c2_printable(safe, sizeof safe, msg));
}

static c2_warn_fn warn_fn = warn_to_stderr;
static void *warn_user;

void c2_set_warn_sink(c2_warn_fn fn, void *user)
{
    warn_fn = fn ? fn : warn_to_stderr;
    warn_user = user;
}

void c2_warn(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    warn_fn(warn_user, msg);
}

const char *c2_version(void)
{
    return C2SEG_VERSION;
}
