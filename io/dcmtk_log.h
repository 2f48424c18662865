/* io/dcmtk_log: DCMTK's own log (oflog, its log4cplus) routed to a callback instead of
 * DCMTK's console appender, so its lines reach the user through the program's logger
 * (the `c2seg STAGE:` prefix, silenced by -q) and never straight to stderr.
 *
 * One appender replaces every appender of DCMTK's root logger. Threshold: warnings and
 * above, except dcmiod's and dcmseg's (errors only: dcmiod warns "Will not check
 * dimension consistency" on every SEG write, which DICOM_NOTES §2.1 item 4 says is
 * harmless), and dcmdata's "VR checker does not support this Specific Character Set" that
 * every UTF-8 file draws is dropped. Without a route
 * set, lines go to c2_warn. Every DCMTK user in this program calls dcmtk_log_setup()
 * before its first DCMTK call (it is idempotent and thread-safe), so DCMTK's default
 * console output is never installed. */
#ifndef C2SEG_IO_DCMTK_LOG_H
#define C2SEG_IO_DCMTK_LOG_H

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* level: 'F' fatal, 'E' error, 'W' warning (DCMTK's own letters); logger: DCMTK's
 * logger name ("dcmtk.dcmdata"); msg: the line without DCMTK's "W: " prefix. */
typedef void (*dcmtk_log_fn)(void *user, char level, const char *logger, const char *msg);

/* Sets where DCMTK's lines go (NULL: c2_warn) and installs the appender. */
void dcmtk_log_route(dcmtk_log_fn fn, void *user);
/* Installs the appender once (the route stays as set). */
void dcmtk_log_setup(void);

#ifdef __cplusplus
}
#endif
#endif
