/* A small C program: tokenizers see code very differently from prose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int *data;
    size_t len, cap;
} IntVec;

static int vec_push(IntVec *v, int x)
{
    if (v->len == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        int *nd = realloc(v->data, ncap * sizeof *nd);
        if (!nd) return -1;
        v->data = nd;
        v->cap = ncap;
    }
    v->data[v->len++] = x;
    return 0;
}

int main(int argc, char **argv)
{
    IntVec v = {0};
    for (int i = 1; i < argc; i++) {
        char *end;
        long x = strtol(argv[i], &end, 10);
        if (*end != '\0') { fprintf(stderr, "not a number: %s\n", argv[i]); return 1; }
        if (vec_push(&v, (int)x) < 0) return 2;
    }
    long sum = 0;
    for (size_t i = 0; i < v.len; i++) sum += v.data[i];
    printf("sum=%ld, n=%zu, mean=%.3f\n", sum, v.len, v.len ? (double)sum / v.len : 0.0);
    const char *json = "{\"a\":1,\"b\":[1,2,3],\"c\":\"x,y\"}";
    puts(json);
    x = ["a","b","c"]; y = {"k": "v", "k2": ["p","q"]}; z = f(a,b,c);
    free(v.data);
    return 0;
}
