/* tests/unit/xen/sim.c: the simulated world: port, pages, grants, console daemon, platform stubs.
 */
#include "sim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "platform.h"

struct sim sim;
struct xen_gnttab sim_gt;
struct xen_xs sim_xs;
struct xen_env sim_env;

void sim_vif_step(struct sim_vif *v);
void sim_vbd_step(struct sim_vbd *d);

/* ---- the port ---- */

static void p_notify(void *ctx, evtchn_port_t port)
{
    (void)ctx;
    (void)port;
    sim.notifies++;
}

static mirc_status p_evtchn_alloc(void *ctx, domid_t remote, evtchn_port_t *port)
{
    (void)ctx;
    cr_assert_eq(remote, SIM_BACK_DOMID, "event channel offered to domain %u", remote);
    if (sim.evtchn_open >= sim.evtchn_budget)
        return MIRC_NO_MEMORY;
    sim.evtchn_open++;
    *port = sim.evtchn_next++;
    return MIRC_OK;
}

static void p_evtchn_close(void *ctx, evtchn_port_t port)
{
    (void)ctx;
    cr_assert(port >= 3 && port < sim.evtchn_next, "closing event channel %u never opened", port);
    cr_assert(sim.evtchn_open > 0);
    sim.evtchn_open--;
}

static void *p_page_alloc(void *ctx)
{
    (void)ctx;
    if (sim.live >= sim.page_budget)
        return NULL;
    unsigned i = 0;
    while (i < sim.npage && sim.page[i])
        i++;
    cr_assert(i < SIM_MAX_PAGES, "simulated memory exhausted");
    void *p = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    cr_assert(p);
    memset(p, 0, XEN_PAGE_SIZE);
    sim.page[i] = p;
    if (i == sim.npage)
        sim.npage++;
    sim.live++;
    return p;
}

static unsigned page_index(const void *page)
{
    for (unsigned i = 0; i < sim.npage; i++)
        if (sim.page[i] == page)
            return i;
    cr_assert_fail("page %p was not allocated through the port", page);
    return 0;
}

static void p_page_free(void *ctx, void *page)
{
    (void)ctx;
    unsigned i = page_index(page);
    free(page);
    sim.page[i] = NULL;
    sim.live--;
}

static uint64_t p_frame(void *ctx, const void *page)
{
    (void)ctx;
    return SIM_FRAME_BASE + page_index(page);
}

static uint64_t p_now(void *ctx)
{
    (void)ctx;
    return sim.now;
}

static void p_wait(void *ctx, uint64_t deadline)
{
    (void)ctx;
    sim.waits++;
    if (sim.waits > sim.wait_limit)
        cr_assert_fail("the frontend waited %llu times: it hangs", (unsigned long long)sim.waits);
    sim_step();
    if (deadline > sim.now)
        sim.now = deadline - sim.now < sim.step_ns ? deadline : sim.now + sim.step_ns;
}

static const struct xen_port_ops sim_ops = {
    .notify = p_notify,
    .evtchn_alloc = p_evtchn_alloc,
    .evtchn_close = p_evtchn_close,
    .page_alloc = p_page_alloc,
    .page_free = p_page_free,
    .frame = p_frame,
    .now = p_now,
    .wait = p_wait,
};

struct xen_port sim_port = { &sim_ops, NULL };

/* ---- grants, as Xen polices them ---- */

static grant_entry_v1_t *grant_check(grant_ref_t ref, int write)
{
    if (ref >= SIM_GNT_REFS)
        goto fault;
    grant_entry_v1_t *e = &sim.gnt[ref];
    uint16_t f = e->flags;
    if ((f & GTF_type_mask) != GTF_permit_access || e->domid != SIM_BACK_DOMID ||
        (write && (f & GTF_readonly)))
        goto fault;
    if (e->frame < SIM_FRAME_BASE || e->frame - SIM_FRAME_BASE >= sim.npage ||
        !sim.page[e->frame - SIM_FRAME_BASE])
        goto fault;
    return e;
fault:
    sim.gnt_faults++;
    return NULL;
}

void *sim_grant(grant_ref_t ref, int write)
{
    grant_entry_v1_t *e = grant_check(ref, write);
    return e ? sim.page[e->frame - SIM_FRAME_BASE] : NULL;
}

void *sim_grant_map(grant_ref_t ref, int write)
{
    grant_entry_v1_t *e = grant_check(ref, write);
    if (!e)
        return NULL;
    e->flags |= (uint16_t)(GTF_reading | (write ? GTF_writing : 0));
    return sim.page[e->frame - SIM_FRAME_BASE];
}

void sim_grant_unmap(grant_ref_t ref)
{
    if (ref < SIM_GNT_REFS)
        sim.gnt[ref].flags &= (uint16_t) ~(GTF_reading | GTF_writing);
}

/* ---- the world ---- */

static void console_step(void)
{
    struct xencons_interface *c = sim.cons_ring;
    XENCONS_RING_IDX cons = c->out_cons, prod = c->out_prod;
    unsigned n = 0;
    while (cons != prod && n < sim.cons_rate && sim.cons_len < (1u << 20)) {
        sim.cons_out[sim.cons_len++] = c->out[MASK_XENCONS_IDX(cons++, c->out)];
        n++;
    }
    c->out_cons = cons;
}

void sim_step(void)
{
    sim.steps++;
    xsd_step();
    for (unsigned i = 0; i < sim.nvif; i++)
        sim_vif_step(sim.vif[i]);
    for (unsigned i = 0; i < sim.nvbd; i++)
        sim_vbd_step(sim.vbd[i]);
    if (sim.hook)
        sim.hook();
    xsd_step(); /* deliver what the back ends wrote */
    console_step();
}

void sim_run(unsigned n)
{
    while (n--)
        sim_step();
}

const char *sim_abs(const char *rel)
{
    static char buf[4][300];
    static int k;
    char *b = buf[k++ % 4];
    if (rel[0] == '/')
        snprintf(b, 300, "%s", rel);
    else
        snprintf(b, 300, "/local/domain/%d/%s", SIM_DOMID, rel);
    return b;
}

void sim_init(void)
{
    memset(&sim, 0, sizeof sim);
    sim.now = 1000000000ull;
    sim.step_ns = 1000000; /* 1 ms per wait */
    sim.wait_limit = 2000000;
    sim.page_budget = SIM_MAX_PAGES;
    sim.evtchn_next = 3; /* 1 and 2: xenstore and console */
    sim.evtchn_budget = 1000;
    sim.cons_rate = 1u << 20;
    sim.xsd.nodes = calloc(XSD_NODES, sizeof *sim.xsd.nodes);
    sim.cons_out = calloc(1, 1u << 20);
    sim.xs_ring = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    sim.cons_ring = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    cr_assert(sim.xsd.nodes && sim.cons_out && sim.xs_ring && sim.cons_ring);
    memset(sim.xs_ring, 0, XEN_PAGE_SIZE);
    memset(sim.cons_ring, 0, XEN_PAGE_SIZE);
    /* as the toolstack leaves them: the reserved entries for console and xenstore */
    sim.gnt[GNTTAB_RESERVED_CONSOLE] = (grant_entry_v1_t){ GTF_permit_access, 0, 1 };
    sim.gnt[GNTTAB_RESERVED_XENSTORE] = (grant_entry_v1_t){ GTF_permit_access, 0, 2 };
    cr_assert_eq(xen_gnttab_init(&sim_gt, sim.gnt, SIM_GNT_REFS), MIRC_OK);
    xen_xs_init(&sim_xs, &sim_port, sim.xs_ring, SIM_XS_EVTCHN);
    xen_env_init(&sim_env, &sim_port, &sim_gt, &sim_xs);
    xsd_set("/local/domain/7/name", "guest");
}

/* ---- the rest of platform.h, for the runtime linked into this test ---- */

void mirc_plat_console_write(const char *buf, size_t len)
{
    size_t room = sizeof sim.console - 1 - sim.console_len;
    if (len > room)
        len = room;
    memcpy(sim.console + sim.console_len, buf, len);
    sim.console_len += len;
    sim.console[sim.console_len] = '\0';
}

uint64_t mirc_plat_monotonic(void)
{
    return sim.now;
}

uint64_t mirc_plat_wall(void)
{
    return sim.now;
}

uint64_t mirc_plat_memory(void)
{
    return 64ull << 20;
}

mirc_status mirc_plat_entropy(void *buf, size_t len)
{
    memset(buf, 0x5a, len);
    return MIRC_OK;
}

mirc_status mirc_plat_option(const char *opt)
{
    (void)opt;
    return MIRC_NOT_FOUND;
}

_Noreturn void mirc_plat_exit(int status)
{
    fprintf(stderr, "mirc_plat_exit(%d); console:\n%s\n", status, sim.console);
    abort();
}
