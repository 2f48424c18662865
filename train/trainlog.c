/* Training history files. The SVG is drawn by hand (two panels: training loss and
 * the stage's score per epoch) so that a run's curves can be looked at in any browser
 * without a plotting dependency. */
#include "train/trainlog.h"

#include <cjson/cJSON.h>
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
    if (c2_grow(&l->rows, sizeof *l->rows, (size_t)l->n + 1, &l->cap))
        return c2_fail(e, C2_ENOMEM, "out of memory for the training log");
    l->rows[l->n++] = *row;
    return C2_OK;
}

static int is_pretrain(const trainlog *l) { return strcmp(l->stage, "pretrain") == 0; }

/* The score a stage's log plots: validation Dice (train) or retrieval accuracy (pretrain). */
static double row_score(const trainlog *l, const trainlog_row *r)
{
    return is_pretrain(l) ? r->retrieval_accuracy : r->val_dice;
}

static double json_number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int trainlog_read(trainlog *l, const char *prefix, c2_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s.json", prefix);
    uint8_t *text = NULL;
    size_t n = 0;
    int rc = c2_read_file(path, (size_t)64 << 20, &text, &n, e);
    if (rc)
        return rc;
    cJSON *j = cJSON_ParseWithLength((const char *)text, n);
    free(text);
    const cJSON *stage = cJSON_GetObjectItemCaseSensitive(j, "stage");
    const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(j, "epochs");
    if (!cJSON_IsString(stage) || !cJSON_IsArray(epochs)) {
        cJSON_Delete(j);
        return c2_fail(e, C2_EINVAL, "%s: not a training log (no stage and epochs)", path);
    }
    trainlog_init(l, stage->valuestring);
    const cJSON *ep;
    cJSON_ArrayForEach(ep, epochs)
    {
        trainlog_row row = {.epoch = (int)json_number(ep, "epoch"), .step = (int64_t)json_number(ep, "step"),
                            .loss = json_number(ep, "loss"), .lr = json_number(ep, "lr"),
                            .val_dice = json_number(ep, "val_dice"), .val_iou = json_number(ep, "val_iou"),
                            .retrieval_accuracy = json_number(ep, "retrieval_accuracy"),
                            .images_per_s = json_number(ep, "images_per_s"), .seconds = json_number(ep, "seconds")};
        if (is_pretrain(l) && !cJSON_HasObjectItem(ep, "retrieval_accuracy")) { /* an earlier version's log */
            row.retrieval_accuracy = row.val_dice;
            row.val_dice = NAN;
        }
        if ((rc = trainlog_add(l, &row, e)))
            break;
    }
    cJSON_Delete(j);
    if (rc)
        trainlog_free(l);
    return rc;
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
        double v = which == 0 ? l->rows[i].loss : row_score(l, &l->rows[i]);
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
        double v = which == 0 ? l->rows[i].loss : row_score(l, &l->rows[i]);
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
    svg_panel(&b, l, 1, 420, 40, 280, 220, is_pretrain(l) ? "retrieval accuracy" : "validation Dice", "#2471a3");
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
    int pre = is_pretrain(l);
    sb_printf(&csv, pre ? "epoch,step,loss,lr,retrieval_accuracy,images_per_s,seconds\n"
                        : "epoch,step,loss,lr,val_dice,val_iou,images_per_s,seconds\n");
    sb_printf(&js, "{\"stage\":\"%s\",\"epochs\":[", l->stage);
    for (int i = 0; i < l->n; i++) {
        const trainlog_row *r = &l->rows[i];
        sb_printf(&csv, "%d,%lld,%.6g,%.6g,", r->epoch, (long long)r->step, r->loss, r->lr);
        if (pre)
            sb_printf(&csv, "%.6g,", r->retrieval_accuracy);
        else
            sb_printf(&csv, "%.6g,%.6g,", r->val_dice, r->val_iou);
        sb_printf(&csv, "%.3f,%.3f\n", r->images_per_s, r->seconds);
        sb_printf(&js, "%s{\"epoch\":%d,\"step\":%lld", i ? "," : "", r->epoch, (long long)r->step);
        const char *keys[] = {"loss", "lr", "val_dice", "val_iou", "retrieval_accuracy", "images_per_s", "seconds"};
        double v[] = {r->loss, r->lr, r->val_dice, r->val_iou, r->retrieval_accuracy, r->images_per_s, r->seconds};
        for (int k = 0; k < 7; k++) {
            int score = k >= 2 && k <= 4, validation = k == 2 || k == 3;
            if (score && validation == pre)
                continue; /* the other stage's score columns */
            sb_printf(&js, ",\"%s\":", keys[k]);
            json_num(&js, v[k]);
        }
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
