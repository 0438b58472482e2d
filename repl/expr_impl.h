/* expr_impl.h — inside the expression module: what the evaluator (expr.c) and the
 * function table (expr_fns.c) share. Short names for the helpers, with the module's
 * prefix on the symbols. */
#ifndef GR_EXPR_IMPL_H
#define GR_EXPR_IMPL_H

#include "expr.h"

#define EXPR_MAX_ELEMS ((size_t)1 << 28) /* largest tensor an expression may build */
#define EXPR_MAX_ARGS 4
/* Work functions stay out of the recursive parser frames, so deep nesting uses little stack. */
#define NOINLINE __attribute__((noinline))

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE,
       OP_AND, OP_OR, OP_MIN, OP_MAX };

#define val_init expr_val_init
#define val_numel expr_val_numel
#define to_f expr_to_f
#define truth expr_truth
#define val_alloc expr_val_alloc
#define val_scalar expr_val_scalar
#define val_string expr_val_string
#define val_get expr_val_get
#define val_from_view expr_val_from_view
#define shape_str expr_shape_str
#define safe_div expr_safe_div
#define binop expr_binop
#define map expr_map
#define find_fn expr_find_fn
#define call_fn expr_call_fn

void val_init(ExprValue *v);
size_t val_numel(const ExprValue *v);
float to_f(double d);
int truth(double x);
/* Allocates v's data for a shape (dimnames may be NULL). */
int val_alloc(ExprValue *v, int ndim, const int *shape, const char *names, GrErr *e);
int val_scalar(ExprValue *v, double d, int is_bool, GrErr *e);
/* A string value: s[0..n) copied. */
int val_string(ExprValue *v, const char *s, size_t n, GrErr *e);
double val_get(const ExprValue *v, size_t i);
int val_from_view(const TensorView *t, ExprValue *out, GrErr *e);
void shape_str(const ExprValue *v, char *buf, size_t n);
double safe_div(double x, double y);
/* out = a op b with numpy broadcasting (scalars, size-1 dims, missing leading dims). */
int binop(int op, const ExprValue *a, const ExprValue *b, ExprValue *out, GrErr *e);
/* Elementwise f over a value (scalars stay double). */
int map(const ExprValue *a, double (*f)(double), int is_bool, ExprValue *out, GrErr *e);

/* The function table (expr_fns.c). */
typedef struct FnInfo {
    const char *name;
    int kind, min_args, max_args;
    const char *usage;
    const char *help;
    unsigned str_args; /* bit i: argument i may (or must) be a string */
} FnInfo;
const FnInfo *find_fn(const char *s, int len);
/* a @ b */
int expr_matmul(const ExprValue *a, const ExprValue *b, ExprValue *out, GrErr *e);
int call_fn(const FnInfo *f, ExprValue *args, int nargs, const ExprHost *host, ExprValue *out, GrErr *e);

#endif
