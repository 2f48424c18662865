/* pipeline/pacs's parsers of untrusted input, without a server: PACS addresses, UIDs,
 * their TLS options, server text, multipart/related bodies (WADO-RS answers: well-formed, with a preamble
 * and transport padding, truncated, without their boundary, with too many parts or an
 * endless header block) and the push ledger (a torn last line is not a confirmation). */
#include "pipeline/pacs/pacs.h"
#include "pipeline/pacs/pacs_dimse.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

static void endpoints_parse_and_refuse(void)
{
    pacs_endpoint ep;
    c2_err e = {0};
    memset(&ep, 0, sizeof ep);
    CHECK(pacs_endpoint_parse("dicom://ORTHANC@127.0.0.1:4242", &ep, &e) == C2_OK);
    CHECK(ep.kind == PACS_DIMSE && strcmp(ep.called_aet, "ORTHANC") == 0 && ep.port == 4242 &&
          strcmp(ep.host, "127.0.0.1") == 0 && strcmp(ep.calling_aet, "C2SEG") == 0 && ep.timeout_s == 30);
    /* options given before the address survive it */
    memset(&ep, 0, sizeof ep);
    CHECK(pacs_endpoint_option(&ep, "--aet", "MYAE", &e) == 2);
    CHECK(pacs_endpoint_option(&ep, "--timeout", "5", &e) == 2);
    CHECK(pacs_endpoint_option(&ep, "--insecure", NULL, &e) == 1);
    CHECK(pacs_endpoint_option(&ep, "--other", "x", &e) == 0);
    CHECK(pacs_endpoint_parse("https://user:pw@pacs.example:8443/dicom-web/", &ep, &e) == C2_OK);
    CHECK(ep.kind == PACS_WEB && strcmp(ep.url, "https://user:pw@pacs.example:8443/dicom-web") == 0);
    CHECK(strcmp(ep.calling_aet, "MYAE") == 0 && ep.timeout_s == 5 && ep.insecure == 1);
    CHECK(strcmp(pacs_endpoint_name(&ep), "https://pacs.example:8443/dicom-web") == 0); /* no password in messages */
    const char *bad[] = {"dicom://@host:1",          "dicom://WAYTOOLONGAETITLE17@h:1", "dicom://AE@host",
                         "dicom://AE@host:0",        "dicom://AE@host:70000",           "dicom://AE@ho st:1",
                         "dicom://AE@h/../x:1",      "ftp://host/x",                    "http://",
                         "http://host/a b",          "dicom://A\\E@h:1",                "/some/folder"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c2_err be = {0};
        memset(&ep, 0, sizeof ep);
        CHECK_MSG(pacs_endpoint_parse(bad[i], &ep, &be) == C2_EINVAL && be.msg[0], "%s", bad[i]);
    }
    CHECK(pacs_endpoint_option(&ep, "--aet", "", &e) < 0);
    CHECK(pacs_endpoint_option(&ep, "--timeout", "0", &e) < 0);
    CHECK(pacs_endpoint_option(&ep, "--timeout", NULL, &e) < 0);
}

/* --tls, --ca, --cert, --key: kept through the address, refused where they do not fit */
static void endpoints_tls(void)
{
    pacs_endpoint ep;
    c2_err e = {0};
    memset(&ep, 0, sizeof ep);
    CHECK(pacs_endpoint_option(&ep, "--tls", NULL, &e) == 1);
    CHECK(pacs_endpoint_option(&ep, "--ca", "/dev/null", &e) == 2);
    CHECK(pacs_endpoint_option(&ep, "--cert", "/dev/null", &e) == 2);
    CHECK(pacs_endpoint_option(&ep, "--key", "/dev/null", &e) == 2);
    CHECK(pacs_endpoint_option(&ep, "--move-port", "11112", &e) == 2);
    CHECK(pacs_endpoint_option(&ep, "--key", NULL, &e) < 0);
    CHECK(pacs_endpoint_parse("dicom://PACS@pacs.example:2762", &ep, &e) == C2_OK);
    CHECK(ep.tls == 1 && ep.port == 2762 && strcmp(ep.ca_file, "/dev/null") == 0 && strcmp(ep.cert_file, "/dev/null") == 0 &&
          strcmp(ep.key_file, "/dev/null") == 0 && ep.move_port == 11112);
    /* --tls is DIMSE's: https says TLS itself */
    CHECK(pacs_endpoint_parse("https://pacs.example/dicom-web", &ep, &e) == C2_EINVAL && strstr(e.msg, "--tls"));
    /* our certificate without its key (and the reverse) */
    memset(&ep, 0, sizeof ep);
    ep.cert_file = "/dev/null";
    CHECK(pacs_endpoint_parse("https://pacs.example/dicom-web", &ep, &e) == C2_EINVAL && strstr(e.msg, "--key"));
    memset(&ep, 0, sizeof ep);
    ep.key_file = "/dev/null";
    CHECK(pacs_endpoint_parse("dicom://PACS@h:1", &ep, &e) == C2_EINVAL && strstr(e.msg, "--cert"));
    /* a file that cannot be read is named before any connection */
    memset(&ep, 0, sizeof ep);
    ep.ca_file = "/nonexistent/ca.pem";
    CHECK(pacs_endpoint_parse("https://pacs.example/dicom-web", &ep, &e) == C2_EINVAL && strstr(e.msg, "/nonexistent/ca.pem") &&
          strstr(e.msg, "--ca"));
    /* C-MOVE over TLS: our storage SCP needs a certificate */
    memset(&ep, 0, sizeof ep);
    ep.tls = 1;
    ep.move_port = 11112;
    CHECK(pacs_endpoint_parse("dicom://PACS@h:1", &ep, &e) == C2_EINVAL && strstr(e.msg, "--move-port"));
    /* predict's and report's --store options make the same endpoint */
    pacs_store_options so = {.dest = "dicom://PACS@h:2762", .aet = "ME", .tls = 1, .ca = "/dev/null", .cert = "/dev/null",
                             .key = "/dev/null"};
    CHECK(pacs_store_endpoint(&so, &ep, &e) == C2_OK);
    CHECK(ep.tls == 1 && strcmp(ep.calling_aet, "ME") == 0 && strcmp(ep.ca_file, "/dev/null") == 0 &&
          strcmp(ep.cert_file, "/dev/null") == 0 && strcmp(ep.key_file, "/dev/null") == 0);
    so.key = NULL;
    CHECK(pacs_store_endpoint(&so, &ep, &e) == C2_EINVAL);
}

static void uids_and_text(void)
{
    CHECK(pacs_is_uid("1.2.840.10008.5.1.4.1.1.66.4"));
    CHECK(pacs_is_uid("2.25.12345678901234567890123456789012345678901234567890123456789"));
    CHECK(!pacs_is_uid(""));
    CHECK(!pacs_is_uid("1..2"));
    CHECK(!pacs_is_uid(".1.2"));
    CHECK(!pacs_is_uid("1.2."));
    CHECK(!pacs_is_uid("1.2.3/../../etc"));
    CHECK(!pacs_is_uid("1.2.3 "));
    CHECK(!pacs_is_uid("2.25.123456789012345678901234567890123456789012345678901234567890x"));
    char o[8];
    pacs_copy_text(o, sizeof o, "  A\x01\nB\x7f C  ", 12);
    CHECK(strcmp(o, "AB C") == 0);
    pacs_copy_text(o, sizeof o, "0123456789", 10);
    CHECK(strcmp(o, "0123456") == 0);
}

static void boundaries(void)
{
    char b[80];
    c2_err e = {0};
    CHECK(pacs_multipart_boundary("multipart/related; type=\"application/dicom\"; boundary=abc-123", b, sizeof b,
                                  &e) == C2_OK &&
          strcmp(b, "abc-123") == 0);
    CHECK(pacs_multipart_boundary("Multipart/Related;boundary=\"q u\";type=application/dicom", b, sizeof b, &e) ==
              C2_OK &&
          strcmp(b, "q u") == 0);
    CHECK(pacs_multipart_boundary("application/dicom+json", b, sizeof b, &e) == C2_EINVAL);
    CHECK(pacs_multipart_boundary("multipart/related; type=application/dicom", b, sizeof b, &e) == C2_EINVAL);
    CHECK(pacs_multipart_boundary("multipart/related; boundary=", b, sizeof b, &e) == C2_EINVAL);
    char longb[200] = "multipart/related; boundary=";
    memset(longb + strlen(longb), 'x', 100);
    CHECK(pacs_multipart_boundary(longb, b, sizeof b, &e) == C2_EINVAL);
}

static int parse(const char *body, int max_parts, pacs_part **p, int *n)
{
    c2_err e = {0};
    return pacs_multipart_parse((const uint8_t *)body, strlen(body), "BND", p, n, max_parts, &e);
}

static void multipart_bodies(void)
{
    pacs_part *p = NULL;
    int n = 0;
    const char *ok = "preamble\r\n--BND  \r\nContent-Type: application/dicom\r\n\r\nAAA\r\n--BND\r\n"
                     "content-type:application/dicom\r\nX: y\r\n\r\nB--BND\r\nC\r\n--BND--\r\nepilogue";
    CHECK(parse(ok, 10, &p, &n) == C2_OK && n == 2);
    if (n == 2) {
        CHECK(p[0].len == 3 && memcmp(ok + p[0].off, "AAA", 3) == 0 && strcmp(p[0].type, "application/dicom") == 0);
        /* a part may contain the boundary text when it does not follow a CRLF */
        CHECK(p[1].len == 9 && memcmp(ok + p[1].off, "B--BND\r\nC", 9) == 0);
    }
    free(p);
    /* a part without headers; the body starts with the delimiter */
    CHECK(parse("--BND\r\n\r\nXY\r\n--BND--", 10, &p, &n) == C2_OK && n == 1 && p[0].len == 2);
    free(p);
    CHECK(parse("--BND--\r\n", 10, &p, &n) == C2_OK && n == 0);
    free(p);
    /* truncated: a part that is never closed, a delimiter line without its end */
    CHECK(parse("--BND\r\nContent-Type: a\r\n\r\nAAAA", 10, &p, &n) == C2_EINVAL && !p);
    CHECK(parse("--BND", 10, &p, &n) == C2_EINVAL && !p);
    CHECK(parse("--BND\r\nContent-Type: a", 10, &p, &n) == C2_EINVAL && !p);
    /* no boundary at all */
    CHECK(parse("<html>error</html>", 10, &p, &n) == C2_EINVAL && !p);
    /* more parts than allowed */
    CHECK(parse("--BND\r\n\r\n1\r\n--BND\r\n\r\n2\r\n--BND\r\n\r\n3\r\n--BND--", 2, &p, &n) == C2_ELIMIT && !p);
    /* a header block that never ends within 16 KiB */
    size_t big = 40000;
    char *h = malloc(big + 64);
    strcpy(h, "--BND\r\n");
    size_t at = strlen(h);
    while (at < big) {
        memcpy(h + at, "X-Pad: aaaaaaaa\r\n", 17);
        at += 17;
    }
    strcpy(h + at, "\r\nbody\r\n--BND--");
    CHECK(parse(h, 10, &p, &n) == C2_EINVAL && !p);
    free(h);
}

static void ledger_confirms_whole_lines_only(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/ledger.tsv", test_tmpdir());
    FILE *f = fopen(path, "wb");
    fputs("dicom://A@h:1\t1.2.3\tx.dcm\nnot a line\ndicom://A@h:1\t1.2.4\tbad\tuid\nhttp://h/w\t1.2.5\ty.dcm\n"
          "dicom://A@h:1\t1.2.9\tz.d",
          f);
    fclose(f);
    pacs_ledger *l = NULL;
    c2_err e = {0};
    CHECK(pacs_ledger_open(&l, path, &e) == C2_OK);
    if (!l)
        return;
    CHECK(pacs_ledger_has(l, "dicom://A@h:1", "1.2.3"));
    CHECK(!pacs_ledger_has(l, "http://h/w", "1.2.3"));    /* per destination */
    CHECK(pacs_ledger_has(l, "http://h/w", "1.2.5"));
    CHECK(!pacs_ledger_has(l, "dicom://A@h:1", "1.2.9")); /* the torn last line */
    CHECK(pacs_ledger_add(l, "dicom://A@h:1", "1.2.10", "a\tb.dcm", &e) == C2_OK);
    pacs_ledger_close(l);
    CHECK(pacs_ledger_open(&l, path, &e) == C2_OK);
    if (l) {
        CHECK(pacs_ledger_has(l, "dicom://A@h:1", "1.2.10"));
        CHECK(!pacs_ledger_has(l, "dicom://A@h:1", "1.2.9"));
        pacs_ledger_close(l);
    }
    /* opening a whole ledger changes nothing in it */
    uint8_t *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    CHECK(c2_read_file(path, 1 << 20, &before, &nb, &e) == C2_OK);
    CHECK(pacs_ledger_open(&l, path, &e) == C2_OK);
    pacs_ledger_close(l);
    CHECK(c2_read_file(path, 1 << 20, &after, &na, &e) == C2_OK);
    CHECK(nb > 0 && na == nb && memcmp(before, after, nb) == 0);
    free(before);
    free(after);
}

int main(void)
{
    RUN_TEST(endpoints_parse_and_refuse);
    RUN_TEST(endpoints_tls);
    RUN_TEST(uids_and_text);
    RUN_TEST(boundaries);
    RUN_TEST(multipart_bodies);
    RUN_TEST(ledger_confirms_whole_lines_only);
    return test_summary();
}
