/* Training history files. The SVG is drawn by hand (two panels: training loss and
 * validation Dice per epoch) so that a run's curves can be looked at in any browser
 * without a plotting dependency. */
#include "train/trainlog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void trainlog_init(trainlog *l, const char *stage)
{
    memset(l, 0, sizeof *l);
    snprintf(l->stage, sizeof l->stage, "%s", stage);
}

void trainlog_free(trainlog *l)
{
    free(l->rows);
    memset(l, 0, sizeof *l);
}

int trainlog_add(trainlog *l, const trainlog_row *row, c2_err *e)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        trainlog_row *r = realloc(l->rows, (size_t)cap * sizeof *r);
        if (!r)
            return c2_fail(e, C2_ENOMEM, "out of memory for the training log");
        l->rows = r;
        l->cap = cap;
    }
    l->rows[l->n++] = *row;
    return C2_OK;
}

/* A growable string for the text outputs. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void json_num(sbuf *b, double v)
{
    if (isfinite(v))
        sb_printf(b, "%.6g", v);
    else
        sb_printf(b, "null");
}

/* One panel: a polyline of y(x) in a box at (x0, y0) of size w x h. */
static void svg_panel(sbuf *b, const trainlog *l, int which, double x0, double y0, double w, double h,
                      const char *title, const char *colour)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < l->n; i++) {
        double v = which == 0 ? l->rows[i].loss : l->rows[i].val_dice;
        if (isfinite(v)) {
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    }
    sb_printf(b, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#999'/>\n", x0, y0, w, h);
    sb_printf(b, "<text x='%.0f' y='%.0f' font-size='14' font-family='sans-serif'>%s</text>\n", x0, y0 - 6, title);
    if (!isfinite(lo)) {
        sb_printf(b, "<text x='%.0f' y='%.0f' font-size='12' fill='#777'>no data</text>\n", x0 + 10, y0 + 20);
        return;
    }
    if (hi - lo < 1e-12) {
        hi += 0.5;
        lo -= 0.5;
    }
    sb_printf(b, "<text x='%.0f' y='%.0f' font-size='11' text-anchor='end'>%.4g</text>\n", x0 - 4, y0 + 10, hi);
    sb_printf(b, "<text x='%.0f' y='%.0f' font-size='11' text-anchor='end'>%.4g</text>\n", x0 - 4, y0 + h, lo);
    sb_printf(b, "<text x='%.0f' y='%.0f' font-size='11' text-anchor='end'>epoch %d</text>\n", x0 + w, y0 + h + 14,
              l->n ? l->rows[l->n - 1].epoch : 0);
    sb_printf(b, "<polyline fill='none' stroke='%s' stroke-width='2' points='", colour);
    int first = l->n ? l->rows[0].epoch : 0, last = l->n ? l->rows[l->n - 1].epoch : 1;
    double span = last > first ? last - first : 1;
    for (int i = 0; i < l->n; i++) {
        double v = which == 0 ? l->rows[i].loss : l->rows[i].val_dice;
        if (!isfinite(v))
            continue;
        double px = x0 + w * (l->rows[i].epoch - first) / span;
        double py = y0 + h - h * (v - lo) / (hi - lo);
        sb_printf(b, "%.1f,%.1f ", px, py);
    }
    sb_printf(b, "'/>\n");
}

int trainlog_svg(const trainlog *l, char **svg_out, c2_err *e)
{
    sbuf b = {0};
    sb_printf(&b, "<?xml version='1.0' encoding='UTF-8'?>\n"
                  "<svg xmlns='http://www.w3.org/2000/svg' width='720' height='300' viewBox='0 0 720 300'>\n"
                  "<rect width='720' height='300' fill='white'/>\n");
    svg_panel(&b, l, 0, 60, 40, 280, 220, "training loss", "#c0392b");
    svg_panel(&b, l, 1, 420, 40, 280, 220, "validation Dice", "#2471a3");
    sb_printf(&b, "</svg>\n");
    if (b.oom) {
        free(b.s);
        return c2_fail(e, C2_ENOMEM, "out of memory drawing the training curves");
    }
    *svg_out = b.s;
    return C2_OK;
}

int trainlog_write(const trainlog *l, const char *prefix, c2_err *e)
{
    char path[4200];
    sbuf csv = {0}, js = {0};
    sb_printf(&csv, "epoch,step,loss,lr,val_dice,val_iou,images_per_s,seconds\n");
    sb_printf(&js, "{\"stage\":\"%s\",\"epochs\":[", l->stage);
    for (int i = 0; i < l->n; i++) {
        const trainlog_row *r = &l->rows[i];
        sb_printf(&csv, "%d,%lld,%.6g,%.6g,%.6g,%.6g,%.3f,%.3f\n", r->epoch, (long long)r->step, r->loss, r->lr,
                  r->val_dice, r->val_iou, r->images_per_s, r->seconds);
        sb_printf(&js, "%s{\"epoch\":%d,\"step\":%lld,\"loss\":", i ? "," : "", r->epoch, (long long)r->step);
        json_num(&js, r->loss);
        sb_printf(&js, ",\"lr\":");
        json_num(&js, r->lr);
        sb_printf(&js, ",\"val_dice\":");
        json_num(&js, r->val_dice);
        sb_printf(&js, ",\"val_iou\":");
        json_num(&js, r->val_iou);
        sb_printf(&js, ",\"images_per_s\":");
        json_num(&js, r->images_per_s);
        sb_printf(&js, ",\"seconds\":");
        json_num(&js, r->seconds);
        sb_printf(&js, "}");
    }
    sb_printf(&js, "]}\n");
    char *svg = NULL;
    int rc = (csv.oom || js.oom) ? c2_fail(e, C2_ENOMEM, "out of memory writing the training log") : C2_OK;
    if (!rc)
        rc = trainlog_svg(l, &svg, e);
    if (!rc) {
        snprintf(path, sizeof path, "%s.csv", prefix);
        rc = c2_write_file(path, csv.s, csv.n, e);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s.json", prefix);
        rc = c2_write_file(path, js.s, js.n, e);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s.svg", prefix);
        rc = c2_write_file(path, svg, strlen(svg), e);
    }
    free(csv.s);
    free(js.s);
    free(svg);
    return rc;
}
