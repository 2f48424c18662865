/* pipeline/sandbox: a parse in a child process returns its result, and a crash, a hang
 * or a memory blow-up of the child becomes one error while this process goes on. */
#include "pipeline/pipeline.h"
#include "base/sandbox.h"
#include "io/io.h"
#include "tests/support/check.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fn_echo(void *arg, sandbox_out *out, c2_err *e)
{
    (void)e;
    const char *s = arg;
    return sandbox_out_append(out, s, strlen(s) + 1);
}

static int fn_fail(void *arg, sandbox_out *out, c2_err *e)
{
    (void)arg;
    sandbox_out_append(out, "ignored", 7);
    return c2_fail(e, C2_EUNSUPPORTED, "x.dcm: transfer syntax 1.2.3 is not supported");
}

static int fn_abort(void *arg, sandbox_out *out, c2_err *e)
{
    (void)arg;
    (void)out;
    (void)e;
    abort();
}

static int fn_killed(void *arg, sandbox_out *out, c2_err *e)
{
    (void)arg;
    (void)out;
    (void)e;
    kill(getpid(), SIGKILL);
    return C2_OK;
}

static int fn_hang(void *arg, sandbox_out *out, c2_err *e)
{
    (void)arg;
    (void)out;
    (void)e;
    sleep(3600);
    return C2_OK;
}

/* Tries to take 2 GiB, as a hostile header that declares a huge image would. */
static int fn_big_alloc(void *arg, sandbox_out *out, c2_err *e)
{
    (void)arg;
    size_t n = (size_t)2 << 30;
    char *p = malloc(n);
    if (!p)
        return c2_fail(e, C2_ENOMEM, "out of memory for %zu bytes", n);
    memset(p, 1, n);
    int rc = sandbox_out_append(out, p, 1);
    free(p);
    return rc;
}

/* Several MiB, more than a pipe buffer holds: the parent must drain while the child writes. */
static int fn_large_result(void *arg, sandbox_out *out, c2_err *e)
{
    (void)arg;
    (void)e;
    for (int i = 0; i < 3 << 20; i++) {
        uint8_t b = (uint8_t)(i * 7);
        if (sandbox_out_append(out, &b, 1) != C2_OK)
            return C2_ENOMEM;
    }
    return C2_OK;
}

static void result_comes_back_through_the_pipe(void)
{
    sandbox_out r;
    c2_err e = {0};
    CHECK(sandbox_run("x", "test parser", fn_echo, "hello", NULL, &r, &e) == C2_OK);
    CHECK(r.n == 6 && memcmp(r.data, "hello", 6) == 0);
    sandbox_out_free(&r);
    CHECK(sandbox_run("x", "test parser", fn_large_result, NULL, NULL, &r, &e) == C2_OK);
    CHECK(r.n == (size_t)3 << 20);
    int same = r.n == (size_t)3 << 20;
    for (size_t i = 0; same && i < r.n; i += 4099)
        same = r.data[i] == (uint8_t)(i * 7);
    CHECK(same);
    sandbox_out_free(&r);
}

static void child_error_keeps_code_and_message(void)
{
    sandbox_out r;
    c2_err e = {0};
    CHECK(sandbox_run("x.dcm", "test parser", fn_fail, NULL, NULL, &r, &e) == C2_EUNSUPPORTED);
    CHECK(strcmp(e.msg, "x.dcm: transfer syntax 1.2.3 is not supported") == 0);
    CHECK(r.n == 0 && r.data == NULL);
}

static void crash_becomes_an_error_naming_the_file_and_signal(void)
{
    sandbox_out r;
    c2_err e = {0};
    CHECK(sandbox_run("bad.dcm", "DICOM parser", fn_abort, NULL, NULL, &r, &e) == C2_EINVAL);
    CHECK_MSG(strstr(e.msg, "bad.dcm: the DICOM parser crashed (signal 6") == e.msg, "%s", e.msg);
    CHECK(sandbox_run("bad.dcm", "DICOM parser", fn_killed, NULL, NULL, &r, &e) == C2_EINVAL);
    CHECK_MSG(strstr(e.msg, "crashed (signal 9") != NULL, "%s", e.msg);
    CHECK(r.n == 0);
}

static void hang_is_stopped_at_the_time_limit(void)
{
    sandbox_out r;
    c2_err e = {0};
    sandbox_limits lim = {0, 0.3};
    double t0 = now_seconds();
    CHECK(sandbox_run("slow.dcm", "DICOM parser", fn_hang, NULL, &lim, &r, &e) == C2_ELIMIT);
    double dt = now_seconds() - t0;
    CHECK_MSG(dt >= 0.29 && dt < 5, "took %.2f s", dt);
    CHECK_MSG(strstr(e.msg, "slow.dcm: the DICOM parser did not finish within 0.3 s") == e.msg, "%s", e.msg);
}

static void memory_limit_makes_allocation_fail_in_the_child(void)
{
    if (!sandbox_memory_limit_enforced()) {
        fprintf(stderr, "  (AddressSanitizer build: memory limit not applied, skipped)\n");
        return;
    }
    sandbox_out r;
    c2_err e = {0};
    sandbox_limits lim = {(int64_t)512 << 20, 30};
    CHECK(sandbox_run("big.dcm", "DICOM parser", fn_big_alloc, NULL, &lim, &r, &e) == C2_ENOMEM);
    CHECK_MSG(strstr(e.msg, "out of memory") != NULL, "%s", e.msg);
}

/* The sandboxed metadata read gives the same object as the direct one; the facts are
 * those measured by dcmdump in ../shared/data/README.md (CT_small: 128 x 128, RI -1024). */
static void dicom_meta_in_child_matches_direct_read(void)
{
    const char *path = shared_path("data/dicom/ct_single/CT_small.dcm");
    dicom_object a, b;
    c2_err e = {0};
    CHECK(dicom_read_meta_isolated(path, &a, &e) == C2_OK);
    CHECK(dicom_read_meta(path, &b, &e) == C2_OK);
    CHECK(a.rows == 128 && a.cols == 128 && a.frames == 1);
    CHECK(a.frame != NULL && a.frame[0].intercept == -1024);
    CHECK(strcmp(a.sop_instance_uid, b.sop_instance_uid) == 0 && strcmp(a.modality, "CT") == 0);
    CHECK(memcmp(a.frame, b.frame, sizeof *a.frame) == 0);
    dicom_object_free(&a);
    dicom_object_free(&b);

    path = shared_path("data/dicom/multiframe/emri_small.dcm");
    CHECK(dicom_read_meta_isolated(path, &a, &e) == C2_OK);
    CHECK(a.frames == 10 && a.rows == 64 && a.cols == 64);
    dicom_object_free(&a);

    CHECK(dicom_read_meta_isolated(shared_path("data/dicom/broken/no_such_file.dcm"), &a, &e) != C2_OK);
    CHECK(strstr(e.msg, "no_such_file.dcm") != NULL);
    CHECK(a.frame == NULL && a.voi_lut == NULL);
}

/* The whole-file readers (io/isolated_files.c) give the direct readers' results byte for byte:
 * NIfTI-1 and NIfTI-2 (gzip) volumes and a header, PNG and JPEG images (one and a pair), and
 * SEGs (binary 512 x 512, RLE 1-bit, overlapping segments, a label map); a missing file is the
 * direct reader's error. */
static void whole_file_readers_in_a_worker_match_direct_reads(void)
{
    c2_err e = {0};
    const char *niftis[] = {"data/nifti/anatomical.nii", "data/nifti/example_nifti2.nii.gz"};
    for (int i = 0; i < 2; i++) {
        nifti_volume a, b;
        CHECK_MSG(nifti_volume_read_isolated(shared_path(niftis[i]), 0, &a, &e) == C2_OK, "%s", e.msg);
        CHECK(nifti_volume_read(shared_path(niftis[i]), 0, &b, &e) == C2_OK);
        size_t n = (size_t)(b.nx * b.ny * b.nz);
        CHECK(a.data && a.nx == b.nx && a.ny == b.ny && a.nz == b.nz && a.version == b.version);
        CHECK(memcmp(a.voxel_to_lps, b.voxel_to_lps, sizeof a.voxel_to_lps) == 0 && a.min_value == b.min_value);
        CHECK(a.data && memcmp(a.data, b.data, n * sizeof *a.data) == 0);
        nifti_volume_free(&a);
        nifti_volume_free(&b);
        CHECK(nifti_volume_read_header_isolated(shared_path(niftis[i]), &a, &e) == C2_OK);
        CHECK(nifti_volume_read_header(shared_path(niftis[i]), &b, &e) == C2_OK);
        CHECK(a.data == NULL && memcmp(&a, &b, sizeof a) == 0);
    }
    const char *images[] = {"data/qata/valid/images/sub-s11228_ses-e19964_run-1_bp-chest_vp-ap_dx.png",
                            "data/covid_ct_slices/Imgs/0.jpg", "data/covid_ct_slices/GT/0.png"};
    image2d im[3], pair[2];
    for (int i = 0; i < 3; i++) {
        image2d d;
        CHECK_MSG(image2d_read_isolated(shared_path(images[i]), &im[i], &e) == C2_OK, "%s", e.msg);
        CHECK(image2d_read(shared_path(images[i]), &d, &e) == C2_OK);
        CHECK(im[i].rows == d.rows && im[i].cols == d.cols && im[i].maxval == d.maxval &&
              im[i].source_channels == d.source_channels);
        CHECK(im[i].pixels && memcmp(im[i].pixels, d.pixels, (size_t)d.rows * d.cols * sizeof *d.pixels) == 0);
        image2d_free(&d);
    }
    char jpeg[4096];
    snprintf(jpeg, sizeof jpeg, "%s", shared_path(images[1]));
    CHECK_MSG(image2d_read_pair_isolated(jpeg, shared_path(images[2]), &pair[0], &pair[1], &e) == C2_OK, "%s", e.msg);
    for (int i = 0; i < 2; i++) {
        CHECK(pair[i].rows == im[i + 1].rows && pair[i].cols == im[i + 1].cols && pair[i].maxval == im[i + 1].maxval);
        CHECK(pair[i].pixels &&
              memcmp(pair[i].pixels, im[i + 1].pixels, (size_t)pair[i].rows * pair[i].cols * 2) == 0);
        image2d_free(&pair[i]);
    }
    for (int i = 0; i < 3; i++)
        image2d_free(&im[i]);
    CHECK(image2d_read_pair_isolated(jpeg, shared_path("data/covid_ct_slices/GT/no_such.png"), &pair[0], &pair[1],
                                     &e) == C2_ENOTFOUND);
    CHECK_MSG(strstr(e.msg, "no_such.png: cannot open the file") != NULL, "%s", e.msg);
    CHECK(pair[0].pixels == NULL && pair[1].pixels == NULL);
    const char *segs[] = {"data/dicom/seg/dcmqi_liver.dcm", "data/dicom/seg/liver_rle.dcm",
                          "data/dicom/seg/seg_image_ct_binary_overlap.dcm", "data/dicom/seg/sparse-labelmap-ppv5.dcm"};
    for (int i = 0; i < 4; i++) {
        seg_image a, b;
        CHECK_MSG(seg_read_isolated(shared_path(segs[i]), &a, &e) == C2_OK, "%s: %s", segs[i], e.msg);
        CHECK(seg_read(shared_path(segs[i]), &b, &e) == C2_OK);
        seg_image sa = a, sb = b;
        sa.pixels = sb.pixels = NULL;
        sa.frames = sb.frames = NULL;
        sa.segments = sb.segments = NULL;
        CHECK(memcmp(&sa, &sb, sizeof sa) == 0 && a.n_frames > 0);
        CHECK(a.pixels && memcmp(a.pixels, b.pixels, (size_t)b.n_frames * b.rows * b.cols) == 0);
        CHECK(a.frames && memcmp(a.frames, b.frames, (size_t)b.n_frames * sizeof *b.frames) == 0);
        CHECK(a.segments && memcmp(a.segments, b.segments, (size_t)b.n_segments * sizeof *b.segments) == 0);
        seg_image_free(&a);
        seg_image_free(&b);
    }
    nifti_volume v;
    CHECK(nifti_volume_read_isolated(shared_path("data/nifti/no_such.nii"), 0, &v, &e) == C2_ENOTFOUND);
    CHECK_MSG(strstr(e.msg, "no_such.nii: cannot open the file") != NULL, "%s", e.msg);
    CHECK(v.data == NULL);
}

/* ---- the long-lived worker of sandbox_call ---- */

static int job_echo(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    (void)e;
    return sandbox_out_append(out, req, n);
}

static int job_segv(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    (void)req, (void)n, (void)out, (void)e;
    signal(SIGSEGV, SIG_DFL); /* past AddressSanitizer's handler */
    raise(SIGSEGV);
    return C2_OK;
}

static int job_pid(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    (void)req, (void)n, (void)e;
    int32_t pid = (int32_t)getpid();
    return sandbox_out_append(out, &pid, sizeof pid);
}

static int32_t worker_pid(void)
{
    sandbox_out r;
    c2_err e = {0};
    int32_t pid = -1;
    if (sandbox_call("x", "test", "test parser", job_pid, "", 0, NULL, &r, &e) == C2_OK && r.n == sizeof pid)
        memcpy(&pid, r.data, sizeof pid);
    sandbox_out_free(&r);
    return pid;
}

/* 200 calls run in one worker process (not one fork per call), other than the caller. */
static void worker_is_reused_across_calls(void)
{
    int32_t pid = worker_pid();
    int64_t started = sandbox_workers_started();
    CHECK(pid > 0 && pid != (int32_t)getpid());
    for (int i = 0; i < 200; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "call %d", i);
        sandbox_out r;
        c2_err e = {0};
        CHECK(sandbox_call("x", "test", "test parser", job_echo, msg, strlen(msg), NULL, &r, &e) == C2_OK);
        CHECK(r.n == strlen(msg) && memcmp(r.data, msg, r.n) == 0);
        sandbox_out_free(&r);
    }
    CHECK(worker_pid() == pid);
    CHECK_MSG(sandbox_workers_started() == started, "%lld workers started for 200 calls",
              (long long)(sandbox_workers_started() - started));
}

/* A crash ends the worker with one error; the next call gets a fresh worker that works. */
static void crashed_worker_is_restarted(void)
{
    int32_t before = worker_pid();
    sandbox_out r;
    c2_err e = {0};
    CHECK(sandbox_call("bad.dcm", "test", "DICOM parser", job_segv, "", 0, NULL, &r, &e) == C2_EINVAL);
    CHECK_MSG(strstr(e.msg, "bad.dcm: the DICOM parser crashed (signal 11") == e.msg, "%s", e.msg);
    int32_t after = worker_pid();
    CHECK(after > 0 && after != before);
}

/* The fault hook fires inside a worker for its reader and file-name text only. */
static void fault_hook_is_honoured_in_the_worker(void)
{
    setenv("C2SEG_FAULT", "crash@test:boom;hang@other:boom", 1);
    sandbox_worker_stop(); /* a worker reads the environment it was forked with */
    sandbox_out r;
    c2_err e = {0};
    CHECK(sandbox_call("dir/boom.dcm", "test", "test parser", job_echo, "a", 1, NULL, &r, &e) == C2_EINVAL);
    CHECK_MSG(strstr(e.msg, "crashed") != NULL, "%s", e.msg);
    CHECK(sandbox_call("dir/fine.dcm", "test", "test parser", job_echo, "a", 1, NULL, &r, &e) == C2_OK);
    sandbox_out_free(&r);
    CHECK(sandbox_call("dir/boom.dcm", "third", "test parser", job_echo, "a", 1, NULL, &r, &e) == C2_OK);
    sandbox_out_free(&r);
    unsetenv("C2SEG_FAULT");
    sandbox_worker_stop();
}

/* ---- pixels through the worker's shared mapping (sandbox_call_shared) ---- */

/* Request: uint64 n, uint8 seed, uint8 mode; writes n bytes (seed + i * 7) into the mapping and
 * answers "ok". mode 1: crashes halfway through the write; mode 2: claims more bytes than the
 * mapping holds. Without a mapping the bytes go into the answer after "ok". */
static int job_fill_shared(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    uint64_t count = 0;
    if (n != sizeof count + 2)
        return c2_fail(e, C2_EINVAL, "bad request");
    memcpy(&count, req, sizeof count);
    uint8_t seed = req[sizeof count], mode = req[sizeof count + 1];
    uint8_t *dst = out->shared && count <= out->shared_cap ? out->shared : NULL;
    int rc = sandbox_out_append(out, "ok", 2);
    for (uint64_t i = 0; rc == C2_OK && i < count; i++) {
        uint8_t b = (uint8_t)(seed + i * 7);
        if (mode == 1 && i == count / 2) {
            signal(SIGSEGV, SIG_DFL);
            raise(SIGSEGV);
        }
        if (dst)
            dst[i] = b;
        else
            rc = sandbox_out_append(out, &b, 1);
    }
    if (dst)
        out->shared_n = mode == 2 ? out->shared_cap + 1 : (size_t)count;
    return rc;
}

/* Runs job_fill_shared for count bytes; 1 when the answer is "ok" and the count bytes of the
 * pattern, from the mapping (*via_shared = 1) or the socket. */
static int fill_call(uint64_t count, uint8_t seed, uint8_t mode, int *via_shared, c2_err *e)
{
    uint8_t req[sizeof count + 2];
    memcpy(req, &count, sizeof count);
    req[sizeof count] = seed;
    req[sizeof count + 1] = mode;
    sandbox_out r;
    if (sandbox_call_shared("x.dcm", "test", "test parser", job_fill_shared, req, sizeof req, (size_t)count, NULL,
                            &r, e) != C2_OK)
        return 0;
    *via_shared = r.shared_n > 0;
    const uint8_t *px = r.shared_n ? r.shared : r.data + 2;
    int ok = r.n >= 2 && memcmp(r.data, "ok", 2) == 0 && (r.shared_n ? r.shared_n == count && r.n == 2
                                                                     : r.n == 2 + count);
    for (uint64_t i = 0; ok && i < count; i++)
        ok = px[i] == (uint8_t)(seed + i * 7);
    sandbox_out_free(&r);
    return ok;
}

/* The bytes come through the mapping, not the socket; a larger request gets a larger mapping
 * in the same worker (no restart); a smaller one reuses it. */
static void shared_mapping_carries_pixels_and_grows(void)
{
    c2_err e = {0};
    int via = 0;
    int32_t pid = worker_pid();
    int64_t started = sandbox_workers_started();
    CHECK_MSG(fill_call(64 << 10, 3, 0, &via, &e) && via, "%s", e.msg);
    CHECK_MSG(fill_call(5 << 20, 11, 0, &via, &e) && via, "%s", e.msg);   /* grown: a new memfd */
    CHECK_MSG(fill_call(1000, 17, 0, &via, &e) && via, "%s", e.msg);
    CHECK(worker_pid() == pid && sandbox_workers_started() == started);
}

/* A worker that dies halfway through writing the mapping is one error; the next worker gets the
 * mapping again and its answer is whole. A length past the mapping is refused, not read. */
static void shared_mapping_survives_a_crash_and_refuses_bad_lengths(void)
{
    c2_err e = {0};
    int via = 0;
    CHECK(fill_call(256 << 10, 1, 1, &via, &e) == 0);
    CHECK_MSG(strstr(e.msg, "x.dcm: the test parser crashed (signal 11") == e.msg, "%s", e.msg);
    CHECK_MSG(fill_call(256 << 10, 9, 0, &via, &e) && via, "%s", e.msg);
    CHECK(fill_call(4096, 2, 2, &via, &e) == 0);
    CHECK_MSG(strstr(e.msg, "inconsistent result") != NULL, "%s", e.msg);
    CHECK_MSG(fill_call(4096, 4, 0, &via, &e) && via, "%s", e.msg);
    /* in-process (C2SEG_SANDBOX=0) there is no mapping: the socket path, same bytes */
    setenv("C2SEG_SANDBOX", "0", 1);
    CHECK_MSG(fill_call(4096, 6, 0, &via, &e) && !via, "%s", e.msg);
    unsetenv("C2SEG_SANDBOX");
}

/* io's readers that answer pixels through the mapping give what the in-process build gives:
 * a metadata call's plane (CT 128 x 128), a slice (windowed, resized) and frames of a
 * multi-frame MR. */
static void pixel_readers_match_the_in_process_build(void)
{
    c2_err e = {0};
    const char *ct = shared_path("data/dicom/ct_single/CT_small.dcm");
    const char *mr = shared_path("data/dicom/multiframe/emri_small.dcm");
    dicom_object o[2], m[2];
    float *plane[2] = {NULL, NULL}, *frames[2], *slice[2];
    dicom_slice_info info[2];
    dicom_slice_spec sp = {.size = 96, .mapping = DICOM_SLICE_WINDOW, .a = 40, .b = 400};
    orient_plan_make(&sp.plan, (const double[]){1, 0, 0}, (const double[]){0, 1, 0});
    for (int k = 0; k < 2; k++) {
        if (k == 1)
            setenv("C2SEG_SANDBOX", "0", 1);
        CHECK_MSG(dicom_read_meta_plane_isolated(ct, &o[k], &plane[k], 128 * 128, &e) == C2_OK, "%s", e.msg);
        CHECK_MSG(dicom_read_meta_isolated(mr, &m[k], &e) == C2_OK, "%s", e.msg);
        frames[k] = malloc((size_t)m[k].rows * m[k].cols * 3 * sizeof(float));
        slice[k] = malloc(96 * 96 * sizeof(float));
        CHECK(frames[k] && slice[k]);
        CHECK_MSG(dicom_read_frames_isolated(&m[k], 2, 3, frames[k], &e) == C2_OK, "%s", e.msg);
        CHECK_MSG(dicom_read_slice_isolated(&o[k], 0, &sp, slice[k], &info[k], &e) == C2_OK, "%s", e.msg);
        unsetenv("C2SEG_SANDBOX");
    }
    CHECK(plane[0] && plane[1] && memcmp(plane[0], plane[1], 128 * 128 * sizeof(float)) == 0);
    CHECK(memcmp(frames[0], frames[1], (size_t)m[0].rows * m[0].cols * 3 * sizeof(float)) == 0);
    CHECK(memcmp(slice[0], slice[1], 96 * 96 * sizeof(float)) == 0 && memcmp(&info[0], &info[1], sizeof info[0]) == 0);
    for (int k = 0; k < 2; k++) {
        free(plane[k]);
        free(frames[k]);
        free(slice[k]);
        dicom_object_free(&o[k]);
        dicom_object_free(&m[k]);
    }
}

int main(void)
{
    RUN_TEST(result_comes_back_through_the_pipe);
    RUN_TEST(child_error_keeps_code_and_message);
    RUN_TEST(crash_becomes_an_error_naming_the_file_and_signal);
    RUN_TEST(hang_is_stopped_at_the_time_limit);
    RUN_TEST(memory_limit_makes_allocation_fail_in_the_child);
    RUN_TEST(dicom_meta_in_child_matches_direct_read);
    RUN_TEST(whole_file_readers_in_a_worker_match_direct_reads);
    RUN_TEST(worker_is_reused_across_calls);
    RUN_TEST(crashed_worker_is_restarted);
    RUN_TEST(fault_hook_is_honoured_in_the_worker);
    RUN_TEST(shared_mapping_carries_pixels_and_grows);
    RUN_TEST(shared_mapping_survives_a_crash_and_refuses_bad_lengths);
    RUN_TEST(pixel_readers_match_the_in_process_build);
    return test_summary();
}
