/* io/dicom_dict_dcmtk: the data dictionary from the build's table is DCMTK's own parse of its
 * text files, entry for entry. Each case runs in a fork()ed child (DCMTK's dictionary is one
 * per process, created on first use):
 *  - DCMDICTPATH unset: dicom_dictionary_preload uses the table (returns 1) and leaves no
 *    DCMDICTPATH behind;
 *  - DCMDICTPATH naming the same default files (dicom.dic, private.dic: found under
 *    /usr/share/libdcmtk*), so that DCMTK parses the text: preload returns 0, and the digest of
 *    every entry (tag range, VR, VM, name, version, restrictions, private creator; repeating
 *    entries in lookup order) and the entry count equal the table's;
 *  - DCMDICTPATH naming dicom.dic alone (a user's choice): it is honoured, the text is read
 *    and the private.dic entries are absent. */
#include "io/dicom.h"
#include "tests/support/check.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int used, entries, env_left;
    uint64_t digest;
} dict_result;

/* The dictionary loaded in a child with DCMDICTPATH = path (NULL: unset). */
static dict_result in_child(const char *path)
{
    dict_result r = {-1, -1, -1, 0};
    int fd[2];
    if (pipe(fd) != 0)
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        if (path)
            setenv("DCMDICTPATH", path, 1);
        else
            unsetenv("DCMDICTPATH");
        dict_result c;
        c.used = dicom_dictionary_preload();
        c.env_left = !path && getenv("DCMDICTPATH") != NULL;
        c.digest = dicom_dictionary_digest(&c.entries);
        ssize_t w = write(fd[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = pid > 0 ? read(fd[0], &r, sizeof r) : -1;
    close(fd[0]);
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        r.used = -1;
    return r;
}

/* The first path matching pattern, or "" */
static void first_match(const char *pattern, char *out, size_t cap)
{
    glob_t g;
    out[0] = 0;
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0)
        snprintf(out, cap, "%s", g.gl_pathv[0]);
    globfree(&g);
}

static void table_equals_text(void)
{
    char dic[512], priv[512], both[1100];
    first_match("/usr/share/libdcmtk*/dicom.dic", dic, sizeof dic);
    first_match("/usr/share/libdcmtk*/private.dic", priv, sizeof priv);
    CHECK_MSG(dic[0] && priv[0], "DCMTK's dicom.dic / private.dic not found (libdcmtk17)");
    snprintf(both, sizeof both, "%s:%s", dic, priv);

    dict_result table = in_child(NULL);
    CHECK_MSG(table.used == 1, "the table was not used (%d): stale build, or DCMTK's defaults moved", table.used);
    CHECK(table.env_left == 0);
    CHECK_MSG(table.entries > 7000, "%d entries", table.entries);

    dict_result text = in_child(both);
    CHECK(text.used == 0);
    CHECK_MSG(text.entries == table.entries, "text %d entries, table %d", text.entries, table.entries);
    CHECK_MSG(text.digest == table.digest, "digests differ: text %016llx, table %016llx",
              (unsigned long long)text.digest, (unsigned long long)table.digest);

    dict_result user = in_child(dic);
    CHECK(user.used == 0);
    CHECK_MSG(user.entries > 4000 && user.entries < table.entries - 1000, "dicom.dic alone: %d entries (both: %d)",
              user.entries, table.entries);
    fprintf(stderr, "  entries: table %d, text %d, dicom.dic alone %d\n", table.entries, text.entries, user.entries);
}

int main(void)
{
    RUN_TEST(table_equals_text);
    return test_summary();
}
