/* jpeg2000: one JPEG 2000 frame -> int32 stored values, through OpenJPEG reading from
 * memory. See io/jpeg2000.h; the DICOM side (fragments, frames) is in io/dicom_dcmtk.cc. */
#include "io/jpeg2000.h"

#include <openjpeg.h>
#include <string.h>

/* The bytes OpenJPEG reads from, with a cursor. */
typedef struct memory_stream {
    const uint8_t *data;
    size_t n, at;
} memory_stream;

static OPJ_SIZE_T stream_read(void *buf, OPJ_SIZE_T want, void *user)
{
    memory_stream *m = user;
    if (m->at >= m->n)
        return (OPJ_SIZE_T)-1; /* OpenJPEG's end-of-stream marker */
    size_t k = m->n - m->at < want ? m->n - m->at : want;
    memcpy(buf, m->data + m->at, k);
    m->at += k;
    return k;
}

static OPJ_OFF_T stream_skip(OPJ_OFF_T delta, void *user)
{
    memory_stream *m = user;
    if (delta < 0 && (size_t)(-delta) > m->at)
        delta = -(OPJ_OFF_T)m->at;
    if (delta > 0 && (size_t)delta > m->n - m->at)
        delta = (OPJ_OFF_T)(m->n - m->at);
    m->at += delta;
    return delta;
}

static OPJ_BOOL stream_seek(OPJ_OFF_T pos, void *user)
{
    memory_stream *m = user;
    if (pos < 0 || (size_t)pos > m->n)
        return OPJ_FALSE;
    m->at = (size_t)pos;
    return OPJ_TRUE;
}

/* OpenJPEG reports errors through a callback: keep the first one for our message. */
static void keep_first_error(const char *msg, void *user)
{
    char *buf = user;
    if (buf[0] == '\0') {
        snprintf(buf, 200, "%s", msg);
        size_t k = strlen(buf);
        while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' '))
            buf[--k] = '\0';
    }
}

static void ignore_message(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

/* JP2 file signature box, or the J2K SOC + SIZ markers. */
static int container_of(const uint8_t *d, size_t n, OPJ_CODEC_FORMAT *fmt)
{
    static const uint8_t jp2[12] = {0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
    if (n >= 12 && memcmp(d, jp2, 12) == 0) {
        *fmt = OPJ_CODEC_JP2;
        return 1;
    }
    if (n >= 4 && d[0] == 0xFF && d[1] == 0x4F && d[2] == 0xFF && d[3] == 0x51) {
        *fmt = OPJ_CODEC_J2K;
        return 1;
    }
    return 0;
}

/* Copies the decoded planar components into interleaved int32, fixing the sign. */
static void image_copy_out(const opj_image_t *img, int rows, int cols, int samples,
                           int pixel_representation, int32_t *out)
{
    size_t n = (size_t)rows * (size_t)cols;
    for (int s = 0; s < samples; s++) {
        const opj_image_comp_t *c = &img->comps[s];
        int extend = !c->sgnd && pixel_representation == 1 && c->prec > 0 && c->prec < 32;
        uint32_t sign = extend ? 1u << (c->prec - 1) : 0;
        for (size_t i = 0; i < n; i++) {
            int32_t v = c->data[i];
            if (extend)
                v = (int32_t)(((uint32_t)v ^ sign) - sign); /* two's complement in prec bits */
            out[i * (size_t)samples + (size_t)s] = v;
        }
    }
}

int jpeg2000_decode(const char *what, const uint8_t *data, size_t n, int rows, int cols,
                    int samples, int pixel_representation, int32_t *out, c2_err *e)
{
    OPJ_CODEC_FORMAT fmt;
    if (!container_of(data, n, &fmt))
        return c2_fail(e, C2_EINVAL, "%s: JPEG 2000 frame starts with neither a J2K codestream nor a JP2 signature", what);

    memory_stream m = {data, n, 0};
    char opj_msg[200] = "";
    int rc = C2_OK;
    opj_image_t *img = NULL;
    opj_stream_t *st = opj_stream_default_create(OPJ_TRUE);
    opj_codec_t *codec = opj_create_decompress(fmt);
    if (!st || !codec) {
        rc = c2_fail(e, C2_ENOMEM, "%s: cannot create a JPEG 2000 decoder", what);
        goto done;
    }
    opj_stream_set_read_function(st, stream_read);
    opj_stream_set_skip_function(st, stream_skip);
    opj_stream_set_seek_function(st, stream_seek);
    opj_stream_set_user_data(st, &m, NULL);
    opj_stream_set_user_data_length(st, (OPJ_UINT64)n);
    opj_set_error_handler(codec, keep_first_error, opj_msg);
    opj_set_warning_handler(codec, ignore_message, NULL);
    opj_set_info_handler(codec, ignore_message, NULL);

    opj_dparameters_t par;
    opj_set_default_decoder_parameters(&par);
    if (!opj_setup_decoder(codec, &par) || !opj_read_header(st, codec, &img) || !img) {
        rc = c2_fail(e, C2_EINVAL, "%s: JPEG 2000 header unreadable (%s)", what, opj_msg[0] ? opj_msg : "no detail");
        goto done;
    }
    if ((int)img->numcomps < samples || (int)img->comps[0].w != cols || (int)img->comps[0].h != rows) {
        rc = c2_fail(e, C2_EINVAL, "%s: JPEG 2000 stream is %ux%u with %u components, DICOM says %dx%d with %d",
                     what, img->comps[0].w, img->comps[0].h, img->numcomps, cols, rows, samples);
        goto done;
    }
    if (!opj_decode(codec, st, img) || !opj_end_decompress(codec, st)) {
        rc = c2_fail(e, C2_EINVAL, "%s: JPEG 2000 decoding failed (%s)", what, opj_msg[0] ? opj_msg : "corrupt codestream");
        goto done;
    }
    for (int s = 0; s < samples; s++) {
        const opj_image_comp_t *c = &img->comps[s];
        if (!c->data || (int)c->w != cols || (int)c->h != rows || c->dx != 1 || c->dy != 1) {
            rc = c2_fail(e, C2_EUNSUPPORTED, "%s: JPEG 2000 component %d is subsampled or missing", what, s);
            goto done;
        }
    }
    image_copy_out(img, rows, cols, samples, pixel_representation, out);
done:
    if (img)
        opj_image_destroy(img);
    if (codec)
        opj_destroy_codec(codec);
    if (st)
        opj_stream_destroy(st);
    return rc;
}
