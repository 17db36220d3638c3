/* ---- the fixed part of every kernel (mcheck/kernel/runtime.c) ---------------------------------
 *
 * The model's part above defines NV, NW, NT, NROOTS, ATOMIC, TID_T, SYMMETRY, PROC, INIT and the
 * functions step, stuck_tasks, overflow, quiescent, canon, pack, unpack. This part is the search:
 * the visited set (states packed into NW words, a parent index and the step's first transition,
 * an open-addressing table of indices), the BFS (states are numbered in the order found, so each
 * depth's frontier is a range of indices) and, with atomic polls, a poll run through to the
 * quiescent states where it ends, as bfs.poll_ends does, in the same order. Several threads
 * expand a level's states (NOTE(kernel-workers)): a block of the level at a time, each thread
 * claiming a chunk of states and packing their successors into a buffer of its own; then one
 * thread stores the block's successors state by state in index order, so the visited set, the
 * numbering, the parents and where the search stops are exactly those of one thread.
 */
#include <pthread.h>
#include <stdlib.h>

#define NONE 0xffffffffu
#define CHAIN 64
#define BATCH 16
#define BLOCK 32768  /* states of a level expanded before their ends are stored */
#define CHUNK 8  /* states a worker claims at a time */
#define MAX_WORKERS 64

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

/* What one thread needs to expand states: the scratch of poll_ends, and the ends of the states it
 * expanded in the current block, packed (words, hash, first transition) in the order found. */
typedef struct worker {
    val_t *first, *next;
    int32_t *first_tids, *next_tids;
    sset ends, seen;
    val_t *stack, *chain;
    uint64_t stack_n, stack_cap;
    val_t err_state[NV];
    int err_var;
    uint64_t *w, *h;
    int32_t *etid;
    uint64_t n, cap;
    struct kctx *c;
    pthread_t thread;
} worker;

/* What expanding one state of a block gave, read by the merge in the states' order: R_NEXT (its
 * k ends follow, from `off` in worker `worker`'s buffer), R_OVERFLOW, R_STUCK, or the K_ code of
 * an error that ends the search (the worker's err_state says where). */
enum { R_NEXT = 16, R_OVERFLOW = 17, R_STUCK = 18 };
typedef struct {
    int32_t what;
    uint32_t k;
    uint32_t worker;
    uint64_t off;
} rec_t;

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
    /* the workers, and the block of the current level they expand: states block_lo + next_chunk
     * on are not claimed yet; none past `stop` (a state that ends the search) is needed */
    worker *wk;
    int nworkers, err_worker;
    rec_t *rec;
    uint64_t block_lo, block_hi, next_chunk, stop;
    uint64_t threaded_blocks;  /* blocks expanded on more than one thread */
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

static int push(worker *c, const val_t *s) {
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
static int poll_ends(worker *c, const val_t *s) {
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

static int worker_init(worker *x, kctx *c) {
    x->c = c;
    x->first = malloc(sizeof(val_t) * NV * NT);
    x->next = malloc(sizeof(val_t) * NV * NT);
    x->first_tids = malloc(sizeof(int32_t) * NT);
    x->next_tids = malloc(sizeof(int32_t) * NT);
    x->chain = malloc(sizeof(val_t) * NV * CHAIN);
    return x->first && x->next && x->first_tids && x->next_tids && x->chain ? 0 : -1;
}

static void worker_free(worker *x) {
    free(x->first); free(x->next); free(x->first_tids); free(x->next_tids); free(x->stack); free(x->chain);
    free(x->w); free(x->h); free(x->etid);
    sset_free(&x->ends); sset_free(&x->seen);
}

void k_free(kctx *c) {
    if (!c) return;
    free(c->words); free(c->parent); free(c->tid); free(c->table); free(c->rec);
    if (c->wk) for (int i = 0; i < c->nworkers; i++) worker_free(c->wk + i);
    free(c->wk);
    free(c);
}

/* `workers` threads expand each block (1: the calling thread alone); the states found, their
 * order and the verdict do not depend on how many. */
kctx *k_new(uint64_t max_states, int64_t max_depth, int workers) {
    kctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->max_states = max_states < 0xfffffff0ULL ? max_states : 0xfffffff0ULL;
    c->max_depth = max_depth;
    c->overflow_index = -1;
    c->stuck_index = -1;
    c->nworkers = workers < 1 ? 1 : workers > MAX_WORKERS ? MAX_WORKERS : workers;
    c->wk = calloc((size_t)c->nworkers, sizeof *c->wk);
    c->rec = malloc(sizeof *c->rec * BLOCK);
    if (!c->wk || !c->rec || table_resize(c, 1 << 12)) goto fail;
    for (int i = 0; i < c->nworkers; i++)
        if (worker_init(c->wk + i, c)) goto fail;
    return c;
fail:
    k_free(c);
    return NULL;
}

/* s's representative packed into w (0), or -K_ERR_RANGE. */
static int encode(worker *x, const val_t *s, uint64_t *w) {
    val_t t[NV];
    memcpy(t, s, sizeof t);
    if (SYMMETRY) canon(t);
    int bad = pack(t, w);
    if (bad) {
        memcpy(x->err_state, t, sizeof t);
        x->err_var = bad - 1;
        return -K_ERR_RANGE;
    }
    return 0;
}

/* Start the search: the initial state (its representative) is state 0. */
int k_start(kctx *c) {
    uint64_t w[NW];
    c->err_worker = 0;
    int bad = encode(c->wk, INIT, w);
    if (bad) return -bad;
    if (visit(c, w, hash_words(w), NONE, 0) < 0) return K_NOMEM;
    c->head = 0;
    c->level_end = 1;
    c->depth = 0;
    return c->max_depth <= 0 ? K_LIMIT_DEPTH : K_RUNNING;
}

static int out_reserve(worker *x, uint64_t more) {
    if (x->n + more <= x->cap) return 0;
    uint64_t cap = x->cap * 2 + more + 256;
    uint64_t *w = realloc(x->w, sizeof(uint64_t) * NW * cap);
    if (!w) return -1;
    x->w = w;
    uint64_t *h = realloc(x->h, sizeof(uint64_t) * cap);
    if (!h) return -1;
    x->h = h;
    int32_t *t = realloc(x->etid, sizeof(int32_t) * cap);
    if (!t) return -1;
    x->etid = t;
    x->cap = cap;
    return 0;
}

/* State idx expanded into r (bfs.search's steps for one state, up to the visited set): its ends
 * packed and hashed into x's buffer, or why the search stops at it. */
static void expand(kctx *c, worker *x, uint64_t idx, rec_t *r) {
    val_t s[NV];
    uint8_t enabled[NROOTS];
    r->k = 0;
    r->worker = (uint32_t)(x - c->wk);
    r->off = x->n;
    unpack(c->words + idx * NW, s);
    if (overflow(s) && quiescent(s)) {
        r->what = R_OVERFLOW;
        return;
    }
    int k = poll_ends(x, s);
    if (k < 0) {
        r->what = -k;
        return;
    }
    if (ATOMIC || quiescent(s)) {
        memset(enabled, 0, sizeof enabled);
        for (int i = 0; i < k; i++) {
            int p = PROC[x->ends.tid[i]];
            if (p >= 0 && p < NROOTS) enabled[p] = 1;
        }
        if (stuck_tasks(s, enabled)) {
            r->what = R_STUCK;
            return;
        }
    }
    if (out_reserve(x, (uint64_t)k)) {
        r->what = K_NOMEM;
        return;
    }
    for (int i = 0; i < k; i++) {
        uint64_t *w = x->w + (x->n + (uint64_t)i) * NW;
        int bad = encode(x, x->ends.data + (size_t)i * NV, w);
        if (bad) {
            r->what = -bad;
            return;
        }
        x->h[x->n + (uint64_t)i] = hash_words(w);
        x->etid[x->n + (uint64_t)i] = x->ends.tid[i];
    }
    x->n += (uint64_t)k;
    r->k = (uint32_t)k;
    r->what = R_NEXT;
}

/* Claim CHUNK states of the block at a time and expand them, until none is left or a state that
 * ends the search was found before the next chunk (the merge reads nothing past it). A worker
 * stops at its own first such state, so its err_state stays that state's. */
static void expand_chunks(kctx *c, worker *x) {
    for (;;) {
        uint64_t lo = c->block_lo + __atomic_fetch_add(&c->next_chunk, CHUNK, __ATOMIC_RELAXED);
        if (lo >= c->block_hi || lo > __atomic_load_n(&c->stop, __ATOMIC_RELAXED)) return;
        uint64_t hi = lo + CHUNK < c->block_hi ? lo + CHUNK : c->block_hi;
        for (uint64_t idx = lo; idx < hi; idx++) {
            rec_t *r = c->rec + (idx - c->block_lo);
            expand(c, x, idx, r);
            if (r->what != R_NEXT && r->what != R_OVERFLOW) {
                uint64_t seen = __atomic_load_n(&c->stop, __ATOMIC_RELAXED);
                while (idx < seen && !__atomic_compare_exchange_n(&c->stop, &seen, idx, 0, __ATOMIC_RELAXED,
                                                                   __ATOMIC_RELAXED)) {}
                return;
            }
        }
    }
}

static void *worker_main(void *arg) {
    worker *x = arg;
    expand_chunks(x->c, x);
    return NULL;
}

/* States lo..hi-1 (of one level) expanded by the workers: the calling thread is worker 0, the
 * others run on threads of their own for this block (a thread that cannot be started leaves its
 * share to the rest). */
static void expand_block(kctx *c, uint64_t lo, uint64_t hi) {
    c->block_lo = lo;
    c->block_hi = hi;
    c->next_chunk = 0;
    c->stop = hi;
    uint64_t chunks = (hi - lo + CHUNK - 1) / CHUNK;
    int n = (uint64_t)c->nworkers < chunks ? c->nworkers : (int)chunks;
    uint8_t started[MAX_WORKERS] = {0};
    for (int i = 0; i < n; i++) c->wk[i].n = 0;
    int threads = 1;
    for (int i = 1; i < n; i++) {
        started[i] = pthread_create(&c->wk[i].thread, NULL, worker_main, c->wk + i) == 0;
        threads += started[i];
    }
    expand_chunks(c, c->wk);
    for (int i = 1; i < n; i++)
        if (started[i]) pthread_join(c->wk[i].thread, NULL);
    if (threads > 1) c->threaded_blocks++;
}

/* The block's ends into the visited set, state by state in index order, as one thread would have
 * stored them: the numbering, the parents and where the search stops are the same for any number
 * of workers. */
static int merge_block(kctx *c, uint64_t lo, uint64_t hi) {
    for (uint64_t idx = lo; idx < hi; idx++) {
        const rec_t *r = c->rec + (idx - lo);
        c->head = idx + 1;
        if (r->what == R_OVERFLOW) {
            if (c->overflow_index < 0) c->overflow_index = (int64_t)idx;
            continue;
        }
        if (r->what == R_STUCK) {
            c->stuck_index = (int64_t)idx;
            return K_STUCK;
        }
        if (r->what != R_NEXT) {
            c->err_worker = (int)r->worker;
            return r->what;
        }
        const worker *x = c->wk + r->worker;
        const uint64_t *h = x->h + r->off;
        for (uint32_t j = 0; j < r->k && j < BATCH; j++) __builtin_prefetch(c->table + (h[j] & (c->tslots - 1)));
        for (uint32_t j = 0; j < r->k; j++) {
            if (j + BATCH < r->k) __builtin_prefetch(c->table + (h[j + BATCH] & (c->tslots - 1)));
            c->transitions++;
            if (visit(c, x->w + (r->off + j) * NW, h[j], (uint32_t)idx, x->etid[r->off + j]) < 0) return K_NOMEM;
        }
        if (c->n >= c->max_states) return K_LIMIT_STATES;
    }
    return K_RUNNING;
}

/* Expand about `quota` states, then return K_RUNNING (the caller looks at its budget and calls
 * again) or how the search ended; bfs.search, step for step. A level is taken a block at a time:
 * the workers expand the block's states into their buffers, then one thread stores the ends. */
int k_run(kctx *c, uint64_t quota) {
    while (quota) {
        if (c->head == c->level_end) {
            if (c->level_end == c->n) return K_EXHAUSTED;
            c->depth++;
            c->level_end = c->n;
            if (c->depth >= c->max_depth) return K_LIMIT_DEPTH;
        }
        uint64_t lo = c->head, size = c->level_end - lo;
        if (size > quota) size = quota;
        if (size > BLOCK) size = BLOCK;
        quota -= size;
        expand_block(c, lo, lo + size);
        int r = merge_block(c, lo, lo + size);
        if (r != K_RUNNING) return r;
    }
    return K_RUNNING;
}

/* ---- what Python reads back ---- */
uint64_t k_states(kctx *c) { return c->n; }
int64_t k_depth(kctx *c) { return c->depth; }
uint64_t k_transitions(kctx *c) { return c->transitions; }
uint64_t k_threaded_blocks(kctx *c) { return c->threaded_blocks; }
int64_t k_overflow_index(kctx *c) { return c->overflow_index; }
int64_t k_stuck_index(kctx *c) { return c->stuck_index; }
int64_t k_parent(kctx *c, uint64_t idx) { return c->parent[idx] == NONE ? -1 : (int64_t)c->parent[idx]; }
int32_t k_tid(kctx *c, uint64_t idx) { return (int32_t)c->tid[idx]; }
void k_state(kctx *c, uint64_t idx, val_t *out) { unpack(c->words + idx * NW, out); }
int k_error_var(kctx *c) { return c->wk[c->err_worker].err_var; }
void k_error_state(kctx *c, val_t *out) { memcpy(out, c->wk[c->err_worker].err_state, sizeof(val_t) * NV); }
/* Bytes the visited set holds for its states: words, parent, first transition, table slots. */
uint64_t k_bytes(kctx *c) {
    return c->n * (sizeof(uint64_t) * NW + sizeof(uint32_t) + sizeof(TID_T)) + c->tslots * sizeof(uint32_t);
}
int k_nv(void) { return NV; }
int k_nw(void) { return NW; }
int k_nt(void) { return NT; }

/* ---- the model's functions one by one, for the differential test ---- */
int k_step(const val_t *s, val_t *out, int32_t *tids) { return step(s, out, tids); }
int k_poll_ends(kctx *c, const val_t *s) { return poll_ends(c->wk, s); }
int32_t k_end(kctx *c, int i, val_t *out) {
    memcpy(out, c->wk->ends.data + (size_t)i * NV, sizeof(val_t) * NV);
    return c->wk->ends.tid[i];
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
