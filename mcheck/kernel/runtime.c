/* ---- the fixed part of every kernel (mcheck/kernel/runtime.c) ---------------------------------
 *
 * The model's part above defines NV, NW, NT, NROOTS, ATOMIC, TID_T, SYMMETRY, PROC, INIT and the
 * functions step, stuck_tasks, overflow, quiescent, canon, pack, unpack. This part is the search:
 * the visited set (states packed into NW words, a parent index and the step's first transition,
 * an open-addressing table of indices), the BFS (states are numbered in the order found, so each
 * depth's frontier is a range of indices) and, with atomic polls, a poll run through to the
 * quiescent states where it ends, as bfs.poll_ends does, in the same order.
 */
#include <stdlib.h>

#define NONE 0xffffffffu
#define CHAIN 64
#define BATCH 16

enum { K_RUNNING = 0, K_STUCK = 1, K_EXHAUSTED = 2, K_LIMIT_STATES = 3, K_LIMIT_DEPTH = 4, K_NOMEM = 5,
       K_ERR_RANGE = 6, K_ERR_POLL = 7 };

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t hash_words(const uint64_t *w) {
    uint64_t h = w[0];
    for (int i = 1; i < NW; i++) h = (h ^ (h >> 29)) * 0x9e3779b97f4a7c15ULL + w[i];
    return mix64(h);
}

static inline uint64_t hash_vals(const val_t *s) {
    /* eight bytes at a time, two independent lanes: the multiplies overlap */
    const unsigned char *p = (const unsigned char *)s;
    const size_t n = sizeof(val_t) * NV;
    uint64_t a = 0x243f6a8885a308d3ULL, b = 0x13198a2e03707344ULL, x, y;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&x, p + i, 8);
        memcpy(&y, p + i + 8, 8);
        a = (a ^ x) * 0x9e3779b97f4a7c15ULL;
        b = (b ^ y) * 0xc2b2ae3d27d4eb4fULL;
        a ^= a >> 29;
        b ^= b >> 31;
    }
    if (i + 8 <= n) {
        memcpy(&x, p + i, 8);
        a = (a ^ x) * 0x9e3779b97f4a7c15ULL;
        i += 8;
    }
    if (i < n) {
        x = 0;
        memcpy(&x, p + i, n - i);
        b = (b ^ x) * 0xc2b2ae3d27d4eb4fULL;
    }
    return mix64(a ^ (b * 0x165667b19e3779f9ULL));
}

/* A set of unpacked states, emptied in O(1) (a slot counts only when stamped with the epoch):
 * the ends of one poll, and the intermediate states seen while running one poll through. */
typedef struct {
    val_t *data;   /* the members, in the order added */
    int32_t *tid;    /* a transition per member (the ends' first transitions) */
    uint32_t *slot;  /* member index + 1 */
    uint32_t *stamp;
    uint32_t n, cap, slots, epoch;
} sset;

static void sset_clear(sset *t) {
    t->n = 0;
    if (++t->epoch == 0) {  /* wrapped: no stamp may look current */
        if (t->stamp) memset(t->stamp, 0, sizeof(uint32_t) * t->slots);
        t->epoch = 1;
    }
}

static int sset_grow_slots(sset *t) {
    uint32_t slots = t->slots ? t->slots * 2 : 64;
    uint32_t *slot = calloc(slots, sizeof *slot), *stamp = calloc(slots, sizeof *stamp);
    if (!slot || !stamp) { free(slot); free(stamp); return -1; }
    for (uint32_t k = 0; k < t->n; k++) {
        uint32_t i = (uint32_t)hash_vals(t->data + (size_t)k * NV) & (slots - 1);
        while (stamp[i] == 1) i = (i + 1) & (slots - 1);
        stamp[i] = 1;
        slot[i] = k + 1;
    }
    free(t->slot); free(t->stamp);
    t->slot = slot; t->stamp = stamp; t->slots = slots;
    /* the new arrays use epoch 1 for the members copied; later epochs start above it */
    for (uint32_t i = 0; i < slots; i++) if (stamp[i] != 1) stamp[i] = 0;
    t->epoch = 1;
    return 0;
}

static int sset_reserve(sset *t) {
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        val_t *data = realloc(t->data, sizeof(val_t) * NV * (size_t)cap);
        if (!data) return -1;
        t->data = data;
        int32_t *tids = realloc(t->tid, sizeof(int32_t) * (size_t)cap);
        if (!tids) return -1;
        t->tid = tids;
        t->cap = cap;
    }
    return 0;
}

/* Append without looking for s (the members are then a list, not a set). */
static int sset_append(sset *t, const val_t *s, int32_t tid) {
    if (sset_reserve(t)) return -1;
    memcpy(t->data + (size_t)t->n * NV, s, sizeof(val_t) * NV);
    t->tid[t->n++] = tid;
    return 0;
}

/* 1: added, 0: already there, -1: out of memory. */
static int sset_add(sset *t, const val_t *s, int32_t tid) {
    if ((t->n + 1) * 2 > t->slots && sset_grow_slots(t)) return -1;
    if (sset_reserve(t)) return -1;
    uint32_t i = (uint32_t)hash_vals(s) & (t->slots - 1);
    while (t->stamp[i] == t->epoch) {
        if (!memcmp(t->data + (size_t)(t->slot[i] - 1) * NV, s, sizeof(val_t) * NV)) return 0;
        i = (i + 1) & (t->slots - 1);
    }
    t->stamp[i] = t->epoch;
    t->slot[i] = t->n + 1;
    memcpy(t->data + (size_t)t->n * NV, s, sizeof(val_t) * NV);
    t->tid[t->n] = tid;
    t->n++;
    return 1;
}

static void sset_free(sset *t) { free(t->data); free(t->tid); free(t->slot); free(t->stamp); }

typedef struct kctx {
    /* the visited set: state k is words[k*NW ..], parent[k], tid[k] */
    uint64_t *words;
    uint32_t *parent;
    TID_T *tid;
    uint64_t n, cap;
    uint32_t *table;  /* state index + 1, or 0 */
    uint64_t tslots;
    /* the search */
    uint64_t head, level_end, max_states;
    int64_t depth, max_depth, overflow_index, stuck_index;
    uint64_t transitions;
    /* scratch */
    val_t *first, *next;
    int32_t *first_tids, *next_tids;
    sset ends, seen;
    val_t *stack, *chain;
    uint64_t stack_n, stack_cap;
    val_t err_state[NV];
    int err_var;
} kctx;

static int table_resize(kctx *c, uint64_t slots) {
    uint32_t *t = calloc(slots, sizeof *t);
    if (!t) return -1;
    for (uint64_t k = 0; k < c->n; k++) {
        uint64_t i = hash_words(c->words + k * NW) & (slots - 1);
        while (t[i]) i = (i + 1) & (slots - 1);
        t[i] = (uint32_t)(k + 1);
    }
    free(c->table);
    c->table = t;
    c->tslots = slots;
    return 0;
}

/* 1: a new state (index c->n - 1), 0: known, -1: out of memory. `h` is hash_words(w). */
static int visit(kctx *c, const uint64_t *w, uint64_t h, uint32_t parent, int32_t tid) {
    if ((c->n + 1) * 4 > c->tslots * 3 && table_resize(c, c->tslots * 2)) return -1;
    uint64_t i = h & (c->tslots - 1);
    uint32_t e;
    while ((e = c->table[i]) != 0) {
        if (!memcmp(c->words + (uint64_t)(e - 1) * NW, w, sizeof(uint64_t) * NW)) return 0;
        i = (i + 1) & (c->tslots - 1);
    }
    if (c->n == c->cap) {
        uint64_t cap = c->cap + c->cap / 2 + 4096;
        uint64_t *words = realloc(c->words, sizeof(uint64_t) * NW * cap);
        if (!words) return -1;
        c->words = words;
        uint32_t *par = realloc(c->parent, sizeof(uint32_t) * cap);
        if (!par) return -1;
        c->parent = par;
        TID_T *tids = realloc(c->tid, sizeof(TID_T) * cap);
        if (!tids) return -1;
        c->tid = tids;
        c->cap = cap;
    }
    memcpy(c->words + c->n * NW, w, sizeof(uint64_t) * NW);
    c->parent[c->n] = parent;
    c->tid[c->n] = (TID_T)tid;
    c->table[i] = (uint32_t)(c->n + 1);
    c->n++;
    return 1;
}

static int push(kctx *c, const val_t *s) {
    if (c->stack_n == c->stack_cap) {
        uint64_t cap = c->stack_cap ? c->stack_cap * 2 : 64;
        val_t *st = realloc(c->stack, sizeof(val_t) * NV * cap);
        if (!st) return -1;
        c->stack = st;
        c->stack_cap = cap;
    }
    memcpy(c->stack + c->stack_n * NV, s, sizeof(val_t) * NV);
    c->stack_n++;
    return 0;
}

/* The steps from s into c->ends (members and first transitions): bfs.poll_ends. Returns how
 * many, or -K_NOMEM / -K_ERR_POLL (a poll stopped in the middle, at c->err_state). */
static int poll_ends(kctx *c, const val_t *s) {
    sset_clear(&c->ends);
    int k = step(s, c->first, c->first_tids);
    for (int i = 0; i < k; i++) {
        const val_t *t = c->first + (size_t)i * NV;
        int32_t tid = c->first_tids[i];
        if (!ATOMIC) {  /* every successor, as step lists them (none merged) */
            if (sset_append(&c->ends, t, tid)) return -K_NOMEM;
            continue;
        }
        if (quiescent(t)) {
            if (sset_add(&c->ends, t, tid) < 0) return -K_NOMEM;
            continue;
        }
        /* While the poll runs as a chain (one state to go on from, nothing else stacked), its
         * states are kept in a list, not hashed: they are exactly what bfs.poll_ends's `seen`
         * holds. A chain that revisits a state (a loop) is only unrolled: what its states lead
         * to is already known. At the first branch, or CHAIN states on, the list becomes the set. */
        sset_clear(&c->seen);
        c->stack_n = 0;
        val_t u[NV];
        memcpy(u, t, sizeof u);
        int chain = 0;
        for (;;) {
            int m = step(u, c->next, c->next_tids);
            if (m == 0) {
                memcpy(c->err_state, u, sizeof u);
                return -K_ERR_POLL;
            }
            int go = -1, more = 0;
            for (int j = 0; j < m; j++) {
                const val_t *v = c->next + (size_t)j * NV;
                if (quiescent(v)) {
                    if (sset_add(&c->ends, v, tid) < 0) return -K_NOMEM;
                } else if (go < 0) {
                    go = j;
                } else {
                    more = 1;
                }
            }
            if (go < 0) break;
            if (!more && chain < CHAIN) {
                memcpy(c->chain + (size_t)chain * NV, u, sizeof u);
                chain++;
                memcpy(u, c->next + (size_t)go * NV, sizeof u);
                continue;
            }
            for (int j = 0; j < chain; j++)
                if (sset_add(&c->seen, c->chain + (size_t)j * NV, 0) < 0) return -K_NOMEM;
            if (sset_add(&c->seen, u, 0) < 0) return -K_NOMEM;
            for (int j = 0; j < m; j++) {
                const val_t *v = c->next + (size_t)j * NV;
                if (quiescent(v)) continue;
                int r = sset_add(&c->seen, v, 0);
                if (r < 0) return -K_NOMEM;
                if (r && push(c, v)) return -K_NOMEM;
            }
            break;
        }
        while (c->stack_n) {
            c->stack_n--;
            memcpy(u, c->stack + c->stack_n * NV, sizeof u);
            int m = step(u, c->next, c->next_tids);
            if (m == 0) {
                memcpy(c->err_state, u, sizeof u);
                return -K_ERR_POLL;
            }
            for (int j = 0; j < m; j++) {
                const val_t *v = c->next + (size_t)j * NV;
                if (quiescent(v)) {
                    if (sset_add(&c->ends, v, tid) < 0) return -K_NOMEM;
                } else {
                    int r = sset_add(&c->seen, v, 0);
                    if (r < 0) return -K_NOMEM;
                    if (r && push(c, v)) return -K_NOMEM;
                }
            }
        }
    }
    return (int)c->ends.n;
}

kctx *k_new(uint64_t max_states, int64_t max_depth) {
    kctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->max_states = max_states < 0xfffffff0ULL ? max_states : 0xfffffff0ULL;
    c->max_depth = max_depth;
    c->overflow_index = -1;
    c->stuck_index = -1;
    c->first = malloc(sizeof(val_t) * NV * NT);
    c->next = malloc(sizeof(val_t) * NV * NT);
    c->first_tids = malloc(sizeof(int32_t) * NT);
    c->next_tids = malloc(sizeof(int32_t) * NT);
    c->chain = malloc(sizeof(val_t) * NV * CHAIN);
    if (!c->first || !c->next || !c->chain || !c->first_tids || !c->next_tids || table_resize(c, 1 << 12)) goto fail;
    return c;
fail:
    free(c->first); free(c->next); free(c->first_tids); free(c->next_tids); free(c->table); free(c->chain);
    sset_free(&c->ends);
    free(c);
    return NULL;
}

void k_free(kctx *c) {
    if (!c) return;
    free(c->words); free(c->parent); free(c->tid); free(c->table);
    free(c->first); free(c->next); free(c->first_tids); free(c->next_tids); free(c->stack); free(c->chain);
    sset_free(&c->ends); sset_free(&c->seen);
    free(c);
}

/* s's representative packed into w (0), or -K_ERR_RANGE. */
static int encode(kctx *c, const val_t *s, uint64_t *w) {
    val_t t[NV];
    memcpy(t, s, sizeof t);
    if (SYMMETRY) canon(t);
    int bad = pack(t, w);
    if (bad) {
        memcpy(c->err_state, t, sizeof t);
        c->err_var = bad - 1;
        return -K_ERR_RANGE;
    }
    return 0;
}

static int store(kctx *c, const val_t *s, uint32_t parent, int32_t tid) {
    uint64_t w[NW];
    int bad = encode(c, s, w);
    if (bad) return bad;
    int r = visit(c, w, hash_words(w), parent, tid);
    return r < 0 ? -K_NOMEM : r;
}

/* Start the search: the initial state (its representative) is state 0. */
int k_start(kctx *c) {
    int r = store(c, INIT, NONE, 0);
    if (r < 0) return -r;
    c->head = 0;
    c->level_end = 1;
    c->depth = 0;
    return c->max_depth <= 0 ? K_LIMIT_DEPTH : K_RUNNING;
}

/* Expand at most `quota` states, then return K_RUNNING (the caller looks at its budget and calls
 * again) or how the search ended; bfs.search, step for step. */
int k_run(kctx *c, uint64_t quota) {
    val_t s[NV];
    uint8_t enabled[NROOTS];
    while (quota--) {
        if (c->head == c->level_end) {
            if (c->level_end == c->n) return K_EXHAUSTED;
            c->depth++;
            c->level_end = c->n;
            if (c->depth >= c->max_depth) return K_LIMIT_DEPTH;
        }
        uint64_t idx = c->head++;
        unpack(c->words + idx * NW, s);
        if (overflow(s) && quiescent(s)) {
            if (c->overflow_index < 0) c->overflow_index = (int64_t)idx;
            continue;
        }
        int k = poll_ends(c, s);
        if (k < 0) {
            if (k == -K_ERR_POLL) return K_ERR_POLL;
            return K_NOMEM;
        }
        if (ATOMIC || quiescent(s)) {
            memset(enabled, 0, sizeof enabled);
            for (int i = 0; i < k; i++) {
                int p = PROC[c->ends.tid[i]];
                if (p >= 0 && p < NROOTS) enabled[p] = 1;
            }
            if (stuck_tasks(s, enabled)) {
                c->stuck_index = (int64_t)idx;
                return K_STUCK;
            }
        }
        /* all ends packed and hashed first, their table slots fetched while the next is packed */
        for (int i = 0; i < k; i += BATCH) {
            uint64_t w[BATCH][NW], h[BATCH];
            int m = k - i < BATCH ? k - i : BATCH;
            for (int j = 0; j < m; j++) {
                int bad = encode(c, c->ends.data + (size_t)(i + j) * NV, w[j]);
                if (bad) return -bad;
                h[j] = hash_words(w[j]);
                __builtin_prefetch(c->table + (h[j] & (c->tslots - 1)));
            }
            for (int j = 0; j < m; j++) {
                c->transitions++;
                if (visit(c, w[j], h[j], (uint32_t)idx, c->ends.tid[i + j]) < 0) return K_NOMEM;
            }
        }
        if (c->n >= c->max_states) return K_LIMIT_STATES;
    }
    return K_RUNNING;
}

/* ---- what Python reads back ---- */
uint64_t k_states(kctx *c) { return c->n; }
int64_t k_depth(kctx *c) { return c->depth; }
uint64_t k_transitions(kctx *c) { return c->transitions; }
int64_t k_overflow_index(kctx *c) { return c->overflow_index; }
int64_t k_stuck_index(kctx *c) { return c->stuck_index; }
int64_t k_parent(kctx *c, uint64_t idx) { return c->parent[idx] == NONE ? -1 : (int64_t)c->parent[idx]; }
int32_t k_tid(kctx *c, uint64_t idx) { return (int32_t)c->tid[idx]; }
void k_state(kctx *c, uint64_t idx, val_t *out) { unpack(c->words + idx * NW, out); }
int k_error_var(kctx *c) { return c->err_var; }
void k_error_state(kctx *c, val_t *out) { memcpy(out, c->err_state, sizeof c->err_state); }
/* Bytes the visited set holds for its states: words, parent, first transition, table slots. */
uint64_t k_bytes(kctx *c) {
    return c->n * (sizeof(uint64_t) * NW + sizeof(uint32_t) + sizeof(TID_T)) + c->tslots * sizeof(uint32_t);
}
int k_nv(void) { return NV; }
int k_nw(void) { return NW; }
int k_nt(void) { return NT; }

/* ---- the model's functions one by one, for the differential test ---- */
int k_step(const val_t *s, val_t *out, int32_t *tids) { return step(s, out, tids); }
int k_poll_ends(kctx *c, const val_t *s) { return poll_ends(c, s); }
int32_t k_end(kctx *c, int i, val_t *out) {
    memcpy(out, c->ends.data + (size_t)i * NV, sizeof(val_t) * NV);
    return c->ends.tid[i];
}
int k_stuck(const val_t *s, const uint8_t *enabled) { return stuck_tasks(s, enabled); }
int k_overflow(const val_t *s) { return overflow(s); }
int k_quiescent(const val_t *s) { return quiescent(s); }
void k_canon(val_t *s) { if (SYMMETRY) canon(s); }
/* s packed and unpacked (0), or the variable that does not fit (+1). */
int k_roundtrip(const val_t *s, val_t *out) {
    uint64_t w[NW];
    int bad = pack(s, w);
    if (!bad) unpack(w, out);
    return bad;
}
