/* A plain C light playout: the bench's reference for the numba rules core.
 *
 * Same rules and algorithm as alphago/kernels/board.py's random_playout: chains as a head
 * per stone and a ring of next pointers, exact liberty counts kept incrementally, a list
 * of empty points, uniform random moves (scan from a random empty point for the first one
 * that is legal and does not fill the mover's true eye), simple ko, two passes or
 * max_moves end the game, area score at the end. Compiled by scripts/bench.py with the
 * system compiler (cc -O2) and called through ctypes.
 */
#include <stdint.h>
#include <string.h>

#define MAXN 25
#define MAXP (MAXN * MAXN)
enum { EMPTY = 0, BLACK = 1, WHITE = 2 };

typedef struct {
    int n, nn;
    int nbr[MAXP][4], diag[MAXP][4];
    int color[MAXP], head[MAXP], next[MAXP], libs[MAXP], size[MAXP];
    int empty[MAXP], eidx[MAXP], nempty;
    int tomove, ko, passes;
    uint64_t rng;
} Board;

static uint32_t rnd(Board *b, uint32_t bound) {
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return (uint32_t)(((b->rng >> 32) * (uint64_t)bound) >> 32);
}

static void geometry(Board *b, int n) {
    static const int dn[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
    static const int dd[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
    b->n = n;
    b->nn = n * n;
    for (int p = 0; p < n * n; p++) {
        int r = p / n, c = p % n;
        for (int k = 0; k < 4; k++) {
            int rr = r + dn[k][0], cc = c + dn[k][1];
            b->nbr[p][k] = (rr >= 0 && rr < n && cc >= 0 && cc < n) ? rr * n + cc : -1;
            rr = r + dd[k][0], cc = c + dd[k][1];
            b->diag[p][k] = (rr >= 0 && rr < n && cc >= 0 && cc < n) ? rr * n + cc : -1;
        }
    }
}

static void clear(Board *b) {
    for (int p = 0; p < b->nn; p++) {
        b->color[p] = EMPTY;
        b->head[p] = b->next[p] = -1;
        b->libs[p] = b->size[p] = 0;
        b->empty[p] = b->eidx[p] = p;
    }
    b->nempty = b->nn;
    b->tomove = BLACK;
    b->ko = -1;
    b->passes = 0;
}

static void empty_remove(Board *b, int p) {
    int i = b->eidx[p], last = --b->nempty, q = b->empty[last];
    b->empty[i] = q;
    b->eidx[q] = i;
    b->empty[last] = p;
    b->eidx[p] = last;
}

static void empty_add(Board *b, int p) {
    b->empty[b->nempty] = p;
    b->eidx[p] = b->nempty++;
}

static int true_eye(const Board *b, int p, int color) {
    for (int k = 0; k < 4; k++) {
        int r = b->nbr[p][k];
        if (r >= 0 && b->color[r] != color) return 0;
    }
    int bad = 0, edge = 0;
    for (int k = 0; k < 4; k++) {
        int r = b->diag[p][k];
        if (r < 0) edge = 1;
        else if (b->color[r] == 3 - color) bad++;
    }
    return bad + edge < 2;
}

static int legal(const Board *b, int p, int color) {
    if (p == b->ko) return 0;
    for (int k = 0; k < 4; k++) {
        int r = b->nbr[p][k];
        if (r < 0) continue;
        int c = b->color[r];
        if (c == EMPTY) return 1;
        int l = b->libs[b->head[r]];
        if (c == color ? l > 1 : l == 1) return 1;
    }
    return 0;
}

/* The distinct chains next to q, by head, into heads[]; returns how many. */
static int nbr_chains(const Board *b, int q, int heads[4]) {
    int n = 0;
    for (int k = 0; k < 4; k++) {
        int r = b->nbr[q][k];
        if (r < 0 || b->color[r] == EMPTY) continue;
        int h = b->head[r], seen = 0;
        for (int i = 0; i < n; i++) seen |= heads[i] == h;
        if (!seen) heads[n++] = h;
    }
    return n;
}

static int remove_chain(Board *b, int h) {
    int removed = 0, q = h;
    do {
        b->color[q] = EMPTY;
        empty_add(b, q);
        removed++;
        q = b->next[q];
    } while (q != h);
    q = h;
    do {
        int heads[4], n = nbr_chains(b, q, heads);
        for (int i = 0; i < n; i++) b->libs[heads[i]]++;
        int nxt = b->next[q];
        b->head[q] = b->next[q] = -1;
        q = nxt;
    } while (q != h);
    return removed;
}

static void merge(Board *b, int big, int small) {
    int q = small;
    do {
        for (int k = 0; k < 4; k++) {
            int a = b->nbr[q][k];
            if (a < 0 || b->color[a] != EMPTY) continue;
            int shared = 0;
            for (int kk = 0; kk < 4; kk++) {
                int x = b->nbr[a][kk];
                if (x >= 0 && b->head[x] == big) { shared = 1; break; }
            }
            if (!shared) b->libs[big]++;
        }
        b->head[q] = big;
        q = b->next[q];
    } while (q != small);
    int nb = b->next[big];
    b->next[big] = b->next[small];
    b->next[small] = nb;
    b->size[big] += b->size[small];
}

static void play(Board *b, int p) {
    int color = b->tomove;
    if (p < 0) {
        b->passes++;
        b->ko = -1;
        b->tomove = 3 - color;
        return;
    }
    b->color[p] = color;
    b->head[p] = b->next[p] = p;
    b->size[p] = 1;
    empty_remove(b, p);
    int captured = 0, cap_point = -1, own = 0, heads[4], n = nbr_chains(b, p, heads);
    for (int i = 0; i < n; i++) {
        int h = heads[i];
        b->libs[h]--;
        if (b->color[h] == color) own++;
        else if (b->libs[h] == 0) {
            cap_point = h;
            captured += remove_chain(b, h);
        }
    }
    int libs = 0;
    for (int k = 0; k < 4; k++) {
        int r = b->nbr[p][k];
        if (r >= 0 && b->color[r] == EMPTY) libs++;
    }
    b->libs[p] = libs;
    if (own) {
        int h = p;
        for (int k = 0; k < 4; k++) {
            int r = b->nbr[p][k];
            if (r < 0 || b->color[r] != color) continue;
            int hr = b->head[r];
            if (hr == h) continue;
            if (b->size[hr] >= b->size[h]) { merge(b, hr, h); h = hr; }
            else merge(b, h, hr);
        }
    }
    int h = b->head[p];
    b->ko = (captured == 1 && b->size[h] == 1 && b->libs[h] == 1) ? cap_point : -1;
    b->passes = 0;
    b->tomove = 3 - color;
}

static int random_move(Board *b) {
    int ne = b->nempty, color = b->tomove;
    if (ne == 0) return -1;
    int start = (int)rnd(b, (uint32_t)ne);
    for (int k = 0; k < ne; k++) {
        int i = start + k;
        if (i >= ne) i -= ne;
        int q = b->empty[i];
        if (!true_eye(b, q, color) && legal(b, q, color)) return q;
    }
    return -1;
}

static double area_score(const Board *b, double komi) {
    int stack[MAXP], region[MAXP];
    char seen[MAXP];
    memset(seen, 0, sizeof seen);
    double s = 0;
    for (int p = 0; p < b->nn; p++) {
        if (b->color[p] != EMPTY) { s += b->color[p] == BLACK ? 1 : -1; continue; }
        if (seen[p]) continue;
        int top = 1, members = 0, touch = 0;
        stack[0] = p;
        seen[p] = 1;
        while (top) {
            int q = stack[--top];
            region[members++] = q;
            for (int k = 0; k < 4; k++) {
                int r = b->nbr[q][k];
                if (r < 0) continue;
                if (b->color[r] == EMPTY) {
                    if (!seen[r]) { seen[r] = 1; stack[top++] = r; }
                } else touch |= b->color[r];
            }
        }
        if (touch == BLACK) s += members;
        else if (touch == WHITE) s -= members;
    }
    return s - komi;
}

/* count playouts of n x n Go from the empty board; returns the moves played in all and
 * writes black's wins into *wins. */
long long ref_playouts(int n, int count, int max_moves, double komi, uint64_t seed,
                       long long *wins) {
    static Board b;
    if (n < 2 || n > MAXN) return -1;
    geometry(&b, n);
    b.rng = seed ? seed : 88172645463325252ULL;
    long long moves = 0;
    *wins = 0;
    for (int g = 0; g < count; g++) {
        clear(&b);
        int played = 0;
        while (b.passes < 2 && played < max_moves) {
            play(&b, random_move(&b));
            played++;
        }
        moves += played;
        if (area_score(&b, komi) > 0) (*wins)++;
    }
    return moves;
}
