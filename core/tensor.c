/* tensor.c — strided host views, the slice syntax, stats. */
#include "tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TensorView tv_make(const float *data, int ndim, const int *shape)
{
    TensorView v;
    memset(&v, 0, sizeof v);
    v.data = data;
    if (ndim < 0) ndim = 0;
    if (ndim > TV_MAX_DIMS) ndim = TV_MAX_DIMS;
    v.ndim = ndim;
    ptrdiff_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        v.shape[i] = shape[i];
        v.stride[i] = s;
        s *= shape[i] > 0 ? shape[i] : 1;
    }
    return v;
}

size_t tv_numel(const TensorView *v)
{
    size_t n = 1;
    for (int i = 0; i < v->ndim; i++) {
        if (v->shape[i] <= 0) return 0;
        n *= (size_t)v->shape[i];
    }
    return n;
}

float tv_get(const TensorView *v, size_t flat)
{
    ptrdiff_t off = 0;
    for (int i = v->ndim - 1; i >= 0; i--) {
        size_t n = (size_t)v->shape[i];
        off += (ptrdiff_t)(flat % n) * v->stride[i];
        flat /= n;
    }
    return v->data[off];
}

/* Walks a view one row (its last dimension) at a time. */
typedef struct {
    const TensorView *v;
    int idx[TV_MAX_DIMS];
    size_t row, rows;
    int len;         /* elements per row */
    ptrdiff_t step;  /* stride within a row */
} RowIter;

static void row_begin(RowIter *it, const TensorView *v)
{
    memset(it, 0, sizeof *it);
    it->v = v;
    size_t n = tv_numel(v);
    if (v->ndim == 0) {
        it->rows = 1;
        it->len = 1;
        it->step = 1;
    } else if (n) {
        it->len = v->shape[v->ndim - 1];
        it->step = v->stride[v->ndim - 1];
        it->rows = n / (size_t)it->len;
    }
}

/* Returns the first element of the next row, or NULL when done. */
static const float *row_next(RowIter *it)
{
    if (it->row >= it->rows) return NULL;
    const TensorView *v = it->v;
    ptrdiff_t off = 0;
    int last = v->ndim - 1;
    for (int d = 0; d < last; d++) off += (ptrdiff_t)it->idx[d] * v->stride[d];
    for (int d = last - 1; d >= 0; d--) {
        if (++it->idx[d] < v->shape[d]) break;
        it->idx[d] = 0;
    }
    it->row++;
    return v->data + off;
}

void tv_copy_out(const TensorView *v, float *dst)
{
    RowIter it;
    row_begin(&it, v);
    const float *p;
    while ((p = row_next(&it))) {
        if (it.step == 1) {
            memcpy(dst, p, (size_t)it.len * sizeof *dst);
        } else {
            for (int j = 0; j < it.len; j++) dst[j] = p[(ptrdiff_t)j * it.step];
        }
        dst += it.len;
    }
}

TvStats tv_stats(const TensorView *v)
{
    TvStats s;
    memset(&s, 0, sizeof s);
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    RowIter it;
    const float *p;
    row_begin(&it, v);
    while ((p = row_next(&it))) {
        for (int j = 0; j < it.len; j++) {
            double x = p[(ptrdiff_t)j * it.step];
            if (isnan(x)) { s.nan_count++; continue; }
            if (isinf(x)) { s.inf_count++; continue; }
            s.n++;
            sum += x;
            if (x < mn) mn = x;
            if (x > mx) mx = x;
        }
    }
    s.sum = sum;
    if (s.n == 0) {
        s.mean = s.std = s.var = s.min = s.max = NAN;
        return s;
    }
    s.mean = sum / (double)s.n;
    s.min = mn;
    s.max = mx;
    double ss = 0;
    row_begin(&it, v);
    while ((p = row_next(&it))) {
        for (int j = 0; j < it.len; j++) {
            double x = p[(ptrdiff_t)j * it.step];
            if (isnan(x) || isinf(x)) continue;
            ss += (x - s.mean) * (x - s.mean);
        }
    }
    s.var = ss / (double)s.n;
    s.std = sqrt(s.var);
    return s;
}

void tv_shape_str(const TensorView *v, char *buf, size_t n)
{
    if (!buf || n == 0) return;
    size_t len = 0;
    buf[0] = 0;
#define TV_PUT(...)                                                                  \
    do {                                                                             \
        if (len < n) {                                                               \
            int k_ = snprintf(buf + len, n - len, __VA_ARGS__);                      \
            if (k_ > 0) len += (size_t)k_;                                           \
        }                                                                            \
    } while (0)
    TV_PUT("(");
    for (int i = 0; i < v->ndim; i++) TV_PUT(i ? ", %d" : "%d", v->shape[i]);
    TV_PUT(v->ndim == 1 ? ",)" : ")");
#undef TV_PUT
}

/* ---- slices ---- */

typedef struct {
    int is_index;
    long long idx;              /* index */
    int has_start, has_stop;    /* range */
    long long start, stop, step;
    const char *txt;            /* the item as written (for messages) */
    int txtlen;
    int named;
} Sel;

#define SL_BIG 1000000000000LL  /* saturate user integers: far beyond any dimension */

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p)) p++;
    return p;
}

/* Optional integer at *pp (leading whitespace skipped). Returns 1 if one was read, 0 if
 * none is there, -1 on a malformed one (a sign without digits). */
static int parse_int(const char **pp, const char *end, long long *out)
{
    const char *p = skip_ws(*pp, end);
    int neg = 0;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
        p = skip_ws(p, end);
        if (p >= end || !is_digit(*p)) return -1;
    }
    if (p >= end || !is_digit(*p)) { *pp = p; return 0; }
    long long v = 0;
    while (p < end && is_digit(*p)) {
        if (v < SL_BIG) v = v * 10 + (*p - '0');
        p++;
    }
    if (v > SL_BIG) v = SL_BIG;
    *out = neg ? -v : v;
    *pp = skip_ws(p, end);
    return 1;
}

/* Parses "i", "a:b", "a:b:s" with any part of a range optional. */
static int parse_sel(const char *p, const char *end, Sel *s)
{
    long long v = 0;
    int r = parse_int(&p, end, &v);
    if (r < 0) return -1;
    if (p >= end) {
        if (!r) return -1;
        s->is_index = 1;
        s->idx = v;
        return 0;
    }
    if (*p != ':') return -1;
    p++;
    s->has_start = r;
    s->start = v;
    r = parse_int(&p, end, &v);
    if (r < 0) return -1;
    s->has_stop = r;
    s->stop = v;
    s->step = 1;
    if (p >= end) return 0;
    if (*p != ':') return -1;
    p++;
    r = parse_int(&p, end, &v);
    if (r < 0 || p < end) return -1;
    if (r) s->step = v;
    return 0;
}

static void dim_names(const TensorView *v, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < v->ndim; i++) {
        char c = v->dimname[i];
        if (!c) continue;
        if (len + 4 >= n) break;
        if (len) { buf[len++] = ','; buf[len++] = ' '; }
        buf[len++] = c;
        buf[len] = 0;
    }
}

static void dim_label(const TensorView *v, int d, int named, char *buf, size_t n)
{
    if (named && v->dimname[d]) snprintf(buf, n, "'%c'", v->dimname[d]);
    else snprintf(buf, n, "%d", d);
}

int tv_slice(const TensorView *v, const char *spec, TensorView *out, GrErr *e)
{
    if (!spec) spec = "";
    const char *end = spec + strlen(spec);
    const char *p = skip_ws(spec, end);
    if (p == end) { *out = *v; return 0; }

    int nitems = 1;
    for (const char *q = spec; q < end; q++) nitems += *q == ',';
    if (nitems > v->ndim)
        return gr_fail(e, "too many indices (%d) for a %d-D tensor", nitems, v->ndim);

    Sel sel[TV_MAX_DIMS];
    int have[TV_MAX_DIMS] = {0};
    memset(sel, 0, sizeof sel);
    const char *item = spec;
    for (int k = 0; k < nitems; k++) {
        const char *iend = item;
        while (iend < end && *iend != ',') iend++;
        const char *a = skip_ws(item, iend), *b = iend;
        while (b > a && is_ws(b[-1])) b--;
        int tlen = (int)(b - a);
        if (tlen == 0)
            return gr_fail(e, "empty item in slice '%.*s'", (int)(end - spec) > 80 ? 80 : (int)(end - spec), spec);
        int shown = tlen > 60 ? 60 : tlen;

        Sel s;
        memset(&s, 0, sizeof s);
        s.txt = a;
        s.txtlen = tlen;
        const char *body = a;
        int dim = -1;
        if (is_alpha(*a)) {
            const char *n0 = a, *n1 = a;
            while (n1 < b && (is_alpha(*n1) || is_digit(*n1))) n1++;
            const char *eq = skip_ws(n1, b);
            if (eq >= b || *eq != '=' || (eq + 1 < b && eq[1] == '='))
                return gr_fail(e, "bad slice '%.*s'", shown, a);
            body = eq + 1;
            s.named = 1;
            int found = 0;
            if (n1 - n0 == 1) {
                for (int d = 0; d < v->ndim; d++) {
                    if (v->dimname[d] != *n0) continue;
                    found = 1;
                    if (!have[d]) { dim = d; break; }
                }
            }
            if (dim < 0) {
                if (found) return gr_fail(e, "dimension '%c' selected twice", *n0);
                char names[32];
                dim_names(v, names, sizeof names);
                int nl = (int)(n1 - n0) > 40 ? 40 : (int)(n1 - n0);
                if (!names[0])
                    return gr_fail(e, "unknown dimension name '%.*s' (this tensor has no named dimensions)", nl, n0);
                return gr_fail(e, "unknown dimension name '%.*s' (this tensor has %s)", nl, n0, names);
            }
        } else {
            for (int d = 0; d < v->ndim; d++)
                if (!have[d]) { dim = d; break; }
            if (dim < 0) return gr_fail(e, "too many indices (%d) for a %d-D tensor", nitems, v->ndim);
        }
        if (parse_sel(body, b, &s) < 0) return gr_fail(e, "bad slice '%.*s'", shown, a);
        if (!s.is_index && s.step < 1)
            return gr_fail(e, "slice step must be at least 1 in '%.*s'", shown, a);
        sel[dim] = s;
        have[dim] = 1;
        item = iend < end ? iend + 1 : iend;
    }

    TensorView r;
    memset(&r, 0, sizeof r);
    const float *data = v->data;
    ptrdiff_t off = 0;
    for (int d = 0; d < v->ndim; d++) {
        long long n = v->shape[d];
        if (!have[d]) {
            r.shape[r.ndim] = v->shape[d];
            r.stride[r.ndim] = v->stride[d];
            r.dimname[r.ndim] = v->dimname[d];
            r.ndim++;
            continue;
        }
        Sel *s = &sel[d];
        char lab[16];
        if (s->is_index) {
            long long i = s->idx < 0 ? s->idx + n : s->idx;
            if (i < 0 || i >= n) {
                dim_label(v, d, s->named, lab, sizeof lab);
                return gr_fail(e, "index %lld out of range for dim %s (size %lld)", s->idx, lab, n);
            }
            off += (ptrdiff_t)i * v->stride[d];
            continue;
        }
        long long a0 = 0, b0 = n;
        if (s->has_start) {
            a0 = s->start < 0 ? s->start + n : s->start;
            if (a0 < 0) a0 = 0;
            if (a0 > n) a0 = n;
        }
        if (s->has_stop) {
            b0 = s->stop < 0 ? s->stop + n : s->stop;
            if (b0 < 0) b0 = 0;
            if (b0 > n) b0 = n;
        }
        long long step = s->step > n ? (n > 0 ? n : 1) : s->step;
        long long len = b0 > a0 ? (b0 - a0 + step - 1) / step : 0;
        if (len == 0) {
            dim_label(v, d, s->named, lab, sizeof lab);
            int shown = s->txtlen > 60 ? 60 : s->txtlen;
            return gr_fail(e, "slice '%.*s' of dim %s (size %lld) is empty", shown, s->txt, lab, n);
        }
        off += (ptrdiff_t)a0 * v->stride[d];
        r.shape[r.ndim] = (int)len;
        r.stride[r.ndim] = v->stride[d] * (ptrdiff_t)step;
        r.dimname[r.ndim] = v->dimname[d];
        r.ndim++;
    }
    r.data = data + off;
    *out = r;
    return 0;
}
