/* fuzz/fuzz_dicomdir: DICOMDIR reading (io/dicomdir.h dicomdir_read: DCMTK's records,
 * then each Referenced File ID resolved inside the DICOMDIR's folder) on arbitrary bytes.
 * The input is written as DICOMDIR in the harness's own folder, which holds the files
 * the seeds reference (scripts/fuzz writes the seeds with dcmmkdir over CT/IMG1, CT/IMG2
 * and CR/IMG3), the last in lower case (matched case-insensitively), a link out of the
 * folder and a dangling link, so that every resolution state is reachable. Besides
 * crashes, a result that breaks the reader's promises (a resolved path outside the folder,
 * miscounted states) aborts. */
#include "fuzz/fuzz_support.h"
#include "io/dicomdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The referenced tree beside the DICOMDIR, made once per process. */
static void make_tree(const char *dir)
{
    static const char *const files[] = {"CT/IMG1", "CT/IMG2", "cr/img3"};
    char p[4200], q[4200];
    snprintf(p, sizeof p, "%s/CT", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/cr", dir);
    mkdir(p, 0700);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *f = fopen(p, "wb");
        if (f)
            fclose(f);
    }
    snprintf(p, sizeof p, "%s/CT/OUT", dir);   /* leads out of the folder */
    snprintf(q, sizeof q, "%s/../..", dir);
    int bad = symlink(q, p) != 0;
    snprintf(p, sizeof p, "%s/CT/GONE", dir);  /* dangling */
    bad |= symlink("NOWHERE", p) != 0;
    if (bad)
        fprintf(stderr, "fuzz_dicomdir: cannot make the links in %s (the OUTSIDE / MISSING paths go unreached)\n", dir);
}

/* What dicomdir_read promises about its result (io/dicomdir.h); abort() makes a broken
 * promise a libFuzzer finding like a crash. */
static void check_promises(const dicomdir_info *d, const char *dir)
{
    int missing = 0, outside = 0;
    size_t n = strlen(dir);
    for (int i = 0; i < d->n_files; i++) {
        const dicomdir_file *f = &d->files[i];
        missing += f->state == DICOMDIR_FILE_MISSING;
        outside += f->state == DICOMDIR_FILE_OUTSIDE;
        /* a resolved file lies inside the DICOMDIR's folder, and only a referenced one */
        if (!f->file_id[0] || (f->state == DICOMDIR_FILE_OK && (strncmp(f->path, dir, n) != 0 || f->path[n] != '/')))
            abort();
    }
    if (missing != d->n_missing || outside != d->n_outside || d->n_files < 0 ||
        d->n_patients + d->n_studies + d->n_series + d->n_images + d->n_other < d->n_files)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int tree_made;
    const char *dir = fuzz_temp_folder();
    if (!dir)
        return 0;
    if (!tree_made) {
        make_tree(dir);
        tree_made = 1;
    }
    dicomdir_info d;
    c2_err e = {0};
    const char *path = fuzz_write_in_folder(data, size, "DICOMDIR");
    if (path && dicomdir_read(path, &d, &e) == C2_OK) {
        check_promises(&d, dir);
        dicomdir_free(&d);
    }
    return 0;
}
