/* libs/tcpip/src/lwip_mem.c: lwIP's memory: one budget from the unikernel's memory, split into
 * receive, send and control shares, and the per-connection grants that keep peers inside them. */
#include <stdlib.h>
#include <string.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip_int.h"

/*
 * Every byte lwIP uses comes through lw_mem_malloc (lwipopts.h: MEM_LIBC_MALLOC and
 * MEMP_MEM_MALLOC), tagged with the share it counts against:
 *
 * - RX: received frames, from the NIC until delivered (IP reassembly, out-of-order queues,
 *   data the app has not read yet). A data frame that would pass the RX limit is dropped (the
 *   peer sends it again); control frames (ARP, ICMP, TCP segments without payload, FIN, RST)
 *   may also use a reserve above it, so the segments that free memory always get in.
 * - TX: what apps wrote and TCP has not had acknowledged.
 * - OTHER: connections themselves, replies lwIP makes (ACK, RST, ICMP), UDP, DNS, DHCP.
 *
 * Inside RX and TX, connections get grants: the receive window a connection may have out
 * (lwIP never accepts data beyond it) and the send buffer it may fill. A new connection is
 * admitted only if its smallest grants still fit, with the most its held bytes can cost in
 * buffers (small segments cost more than their bytes), so the connections that exist can
 * never hold more than the shares: a peer that never reads, or sends one byte per segment,
 * costs its own grant and nothing of anyone else's.
 */

struct lw_mem_share lw_mem[LW_MEM_SHARES];
int lw_mem_kind = LW_MEM_OTHER;
int lw_mem_control;
struct lw_budget_stats lw_budget;

static uint64_t mem_total, mem_peak;

/* What a connection's grant can cost at most, in buffer bytes (see lw_rxq_* in lwip_tcp.c). */
static size_t rx_cost(uint32_t wnd)
{
    return (size_t)wnd + wnd / 2 + LW_RX_SPONGE + LW_OOSEQ_PBUFS * LW_FRAME_COST;
}

static size_t tx_cost(uint32_t snd)
{
    return (size_t)snd + snd / 2 + 8 * LW_FRAME_COST;
}

#define HDR 16 /* keeps the caller's memory 16-byte aligned */

struct hdr {
    uint32_t size;
    uint8_t share;
};

void *lw_mem_malloc(size_t size)
{
    int k = lw_mem_kind;
    struct lw_mem_share *s = &lw_mem[k];
    size_t limit = s->limit + (k == LW_MEM_RX && lw_mem_control ? s->reserve : 0);
    if (size > UINT32_MAX - HDR || s->used + size > limit) {
        s->refused++;
        return NULL;
    }
    struct hdr *h = malloc(HDR + size);
    if (!h) {
        s->refused++;
        return NULL;
    }
    h->size = (uint32_t)size;
    h->share = (uint8_t)k;
    s->used += size;
    if (s->used > s->peak)
        s->peak = s->used;
    mem_total += size;
    if (mem_total > mem_peak)
        mem_peak = mem_total;
    return (char *)h + HDR;
}

void *lw_mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = lw_mem_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void lw_mem_free(void *p)
{
    if (!p)
        return;
    struct hdr *h = (struct hdr *)(void *)((char *)p - HDR);
    MIRC_ASSERT(h->share < LW_MEM_SHARES && lw_mem[h->share].used >= h->size);
    lw_mem[h->share].used -= h->size;
    mem_total -= h->size;
    free(h);
}

size_t lw_mem_room(int share)
{
    const struct lw_mem_share *s = &lw_mem[share];
    return s->used < s->limit ? s->limit - s->used : 0;
}

/* Sizing */

static struct {
    size_t rx_commit, tx_commit; /* the most the admitted connections' grants can cost */
    size_t rx_share, tx_share;   /* what grants may cost in all */
    unsigned conns, conns_max;
} g;

#define MIB (1024u * 1024u)

void lw_mem_setup(uint64_t budget)
{
    if (budget < LW_MEM_MIN)
        budget = LW_MEM_MIN;
    if (budget > LW_MEM_MAX)
        budget = LW_MEM_MAX;
    size_t m = (size_t)budget;
    lw_mem[LW_MEM_RX].limit = m / 100 * 40;
    lw_mem[LW_MEM_RX].reserve = m / 100 * 5;
    lw_mem[LW_MEM_TX].limit = m / 100 * 35;
    lw_mem[LW_MEM_OTHER].limit = m / 100 * 20;
    /* IP reassembly holds frames outside any connection's grant */
    g.rx_share = lw_mem[LW_MEM_RX].limit - IP_REASS_MAX_PBUFS * LW_FRAME_COST;
    g.tx_share = lw_mem[LW_MEM_TX].limit;
    /* a connection costs OTHER a pcb, our lw_conn and a few control segments */
    g.conns_max = (unsigned)(lw_mem[LW_MEM_OTHER].limit / 2 / LW_CONN_COST);
    lw_budget.mem_limit = budget;
}

unsigned lw_half_open_max(void)
{
    unsigned n = g.conns_max / 2;
    return n < 16 ? 16 : n > 200 ? 200 : n; /* lwIP's own backlog stops at 255 */
}

/* Grants */

/* A grant between lo and hi: a twelfth of what is free, as costed by cost(). */
static uint32_t pick(size_t free_cost, uint32_t lo, uint32_t hi, size_t (*cost)(uint32_t))
{
    size_t want = free_cost / 12;
    uint32_t v = hi;
    while (v > lo && cost(v) > want)
        v /= 2;
    return v < lo ? lo : v;
}

int lw_grant_open(struct lw_grant *gr)
{
    size_t rx_min = rx_cost(LW_WND_MIN), tx_min = tx_cost(LW_SND_MIN);
    if (g.conns >= g.conns_max || g.rx_commit + rx_min > g.rx_share ||
        g.tx_commit + tx_min > g.tx_share)
        return 0;
    gr->wnd = LW_WND_MIN;
    gr->snd = LW_SND_MIN;
    gr->acked = 0;
    g.rx_commit += rx_min;
    g.tx_commit += tx_min;
    g.conns++;
    return 1;
}

void lw_grant_start(struct lw_grant *gr, uint32_t *wnd_more, uint32_t *snd_more)
{
    uint32_t w = pick(g.rx_share - g.rx_commit, gr->wnd, LW_WND_START, rx_cost);
    uint32_t t = pick(g.tx_share - g.tx_commit, gr->snd, LW_SND_START, tx_cost);
    *wnd_more = *snd_more = 0;
    if (w > gr->wnd && g.rx_commit + rx_cost(w) - rx_cost(gr->wnd) <= g.rx_share) {
        g.rx_commit += rx_cost(w) - rx_cost(gr->wnd);
        *wnd_more = w - gr->wnd;
        gr->wnd = w;
    }
    if (t > gr->snd && g.tx_commit + tx_cost(t) - tx_cost(gr->snd) <= g.tx_share) {
        g.tx_commit += tx_cost(t) - tx_cost(gr->snd);
        *snd_more = t - gr->snd;
        gr->snd = t;
    }
}

void lw_grant_close(struct lw_grant *gr)
{
    MIRC_ASSERT(g.conns > 0 && g.rx_commit >= rx_cost(gr->wnd) && g.tx_commit >= tx_cost(gr->snd));
    g.rx_commit -= rx_cost(gr->wnd);
    g.tx_commit -= tx_cost(gr->snd);
    g.conns--;
    gr->wnd = gr->snd = 0;
}

/* Pressure: under a quarter of a share uncommitted, grants shrink; over half, they may grow. */
static int roomy(size_t share, size_t commit)
{
    return commit < share / 2;
}

static int tight(size_t share, size_t commit)
{
    return commit > share - share / 4;
}

uint32_t lw_grant_wnd_change(struct lw_grant *gr, uint32_t consumed)
{
    if (tight(g.rx_share, g.rx_commit) && gr->wnd > LW_WND_MIN) {
        uint32_t give = gr->wnd - LW_WND_MIN < consumed ? gr->wnd - LW_WND_MIN : consumed;
        g.rx_commit -= rx_cost(gr->wnd) - rx_cost(gr->wnd - give);
        gr->wnd -= give;
        return consumed - give; /* the window reopens by less: it shrinks as it drains */
    }
    if (roomy(g.rx_share, g.rx_commit) && gr->wnd < LW_WND_MAX) {
        uint32_t more = consumed < LW_WND_MAX - gr->wnd ? consumed : LW_WND_MAX - gr->wnd;
        g.rx_commit += rx_cost(gr->wnd + more) - rx_cost(gr->wnd);
        gr->wnd += more;
        return consumed + more; /* a reader that keeps up earns a wider window */
    }
    return consumed;
}

uint32_t lw_grant_snd_more(struct lw_grant *gr, uint32_t want)
{
    /* only a connection that moved a whole buffer since it last grew, so that a peer that
     * reads slowly or never acknowledges keeps the buffer it started with */
    if (!roomy(g.tx_share, g.tx_commit) || gr->snd >= LW_SND_MAX || gr->acked < gr->snd)
        return 0;
    gr->acked = 0;
    uint32_t more = want < LW_SND_MAX - gr->snd ? want : LW_SND_MAX - gr->snd;
    if (more < gr->snd)
        more = gr->snd < LW_SND_MAX - gr->snd ? gr->snd : LW_SND_MAX - gr->snd; /* doubling */
    g.tx_commit += tx_cost(gr->snd + more) - tx_cost(gr->snd);
    gr->snd += more;
    return more;
}

uint32_t lw_grant_snd_less(struct lw_grant *gr, uint32_t free_now)
{
    if (!tight(g.tx_share, g.tx_commit) || gr->snd <= LW_SND_MIN)
        return 0;
    uint32_t give = gr->snd - LW_SND_MIN < free_now ? gr->snd - LW_SND_MIN : free_now;
    g.tx_commit -= tx_cost(gr->snd) - tx_cost(gr->snd - give);
    gr->snd -= give;
    return give;
}

void lw_mem_stats(mirc_tcpip_stats *out)
{
    out->mem_limit = lw_budget.mem_limit;
    out->mem_used = mem_total;
    out->mem_peak = mem_peak;
    out->mem_rx = lw_mem[LW_MEM_RX].used;
    out->mem_tx = lw_mem[LW_MEM_TX].used;
    out->tcp_refused = lw_budget.tcp_refused;
    out->tcp_half_open_evicted = lw_budget.half_open_evicted;
    out->frames_shed = lw_budget.frames_shed;
    uint64_t refused = 0;
    for (int k = 0; k < LW_MEM_SHARES; k++)
        refused += lw_mem[k].refused;
    out->pool_failures = refused;
}
