/* backends/xen/platform.c: the xen target's boot, console, port, entropy and exit (ring 3). */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "mirc/mirc.h"
#include "xen_devices.h"
#include "xen_platform.h"
#include "xencons.h"

#include <xen/event_channel.h>
#include <xen/grant_table.h>

#define COM1 0x3f8
#define MS   1000000ull
/* a console ring nobody drains for this long is given up (output goes to port 0xe9) */
#define CONSOLE_STALL_NS (5000 * MS)
/* at exit: the status write to xenstore, and xenconsoled taking the last output */
#define EXIT_XS_TIMEOUT_NS (2000 * MS)
#define EXIT_DRAIN_NS      (3000 * MS)

/*
 * Pages whose RAM Xen swaps for its own frames (XENMEM_add_to_physmap): the
 * shared_info page and the grant table. Page-aligned in .bss, so mapped
 * read/write/no-exec like other data; see xen_platform.h.
 */
static union {
    struct shared_info s;
    char page[XEN_PAGE_SIZE];
} shared_page __attribute__((aligned(XEN_PAGE_SIZE)));
static grant_entry_v1_t gnttab_frames[XEN_GNTTAB_FRAMES * 512]
    __attribute__((aligned(XEN_PAGE_SIZE)));

static struct xen_cons cons;
static enum { CONS_NONE, CONS_RING, CONS_STALLED } cons_state;
static struct xen_xs xs;
static int xs_ready;
static struct xen_gnttab gt;
static struct xen_env env;

/* ---- the port the protocol code runs on ---- */

static long evtchn_op(int cmd, void *arg)
{
    return xen_hypercall_p(__HYPERVISOR_event_channel_op, (uint64_t)cmd, arg);
}

static void port_notify(void *ctx, evtchn_port_t port)
{
    (void)ctx;
    struct evtchn_send s = { .port = port };
    evtchn_op(EVTCHNOP_send, &s);
}

static mirc_status port_evtchn_alloc(void *ctx, domid_t remote, evtchn_port_t *port)
{
    (void)ctx;
    struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = remote };
    if (evtchn_op(EVTCHNOP_alloc_unbound, &a) != 0)
        return MIRC_NO_MEMORY;
    struct evtchn_unmask u = { .port = a.port };
    evtchn_op(EVTCHNOP_unmask, &u);
    *port = a.port;
    return MIRC_OK;
}

static void port_evtchn_close(void *ctx, evtchn_port_t port)
{
    (void)ctx;
    struct evtchn_close c = { .port = port };
    evtchn_op(EVTCHNOP_close, &c);
}

static void *port_page_alloc(void *ctx)
{
    (void)ctx;
    void *p = memalign(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    if (p)
        memset(p, 0, XEN_PAGE_SIZE);
    return p;
}

static void port_page_free(void *ctx, void *page)
{
    (void)ctx;
    free(page);
}

static uint64_t port_frame(void *ctx, const void *page)
{
    (void)ctx;
    return x86_virt_to_phys(page) >> XEN_PAGE_SHIFT;
}

static uint64_t port_now(void *ctx)
{
    (void)ctx;
    return mirc_plat_monotonic();
}

static void port_wait(void *ctx, uint64_t deadline)
{
    (void)ctx;
    xen_wait_until(deadline);
}

static const struct xen_port_ops port_ops = {
    .notify = port_notify,
    .evtchn_alloc = port_evtchn_alloc,
    .evtchn_close = port_evtchn_close,
    .page_alloc = port_page_alloc,
    .page_free = port_page_free,
    .frame = port_frame,
    .now = port_now,
    .wait = port_wait,
};
static const struct xen_port port = { &port_ops, NULL };

/* ---- boot ---- */

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    x86_cpuid(leaf, 0, r);
}

/* Under QEMU without Xen: say so on every console QEMU may show, and make QEMU exit. */
static _Noreturn void not_on_xen(void)
{
    static const char msg[] =
        "mirc: not running on Xen (no Xen CPUID leaves): this image is for the xen target. "
        "Run it on a Xen host with `mirc run -t xen` (or `mirc run -t xen --emulated`), or "
        "configure the app for QEMU/KVM with `mirc configure -t kvm`.\n";
    xen_debug_write(msg, sizeof msg - 1);
    x86_outsb(COM1, msg, sizeof msg - 1);
    xen_shutdown(SHUTDOWN_crash); /* no hypercall page: QEMU's debug-exit, else a reset */
}

static long hvm_param(uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long r = xen_hypercall_p(__HYPERVISOR_hvm_op, HVMOP_get_param, &p);
    *value = p.value;
    return r;
}

/* A ring page the toolstack placed (HVM param `pfn_param`) and its event channel. */
static void *ring_page(uint32_t pfn_param, uint32_t evtchn_param, evtchn_port_t *evtchn)
{
    uint64_t pfn, ev;
    if (hvm_param(pfn_param, &pfn) != 0 || hvm_param(evtchn_param, &ev) != 0 || pfn == 0)
        return NULL;
    *evtchn = (evtchn_port_t)ev;
    /* special pages sit below 4 GiB, usually in the device window boot maps; make sure */
    return x86_mmio_map(pfn << XEN_PAGE_SHIFT, XEN_PAGE_SIZE);
}

static long add_to_physmap(unsigned space, unsigned long idx, const void *page)
{
    struct xen_add_to_physmap x = {
        .domid = DOMID_SELF,
        .space = space,
        .idx = idx,
        .gpfn = x86_virt_to_phys(page) >> XEN_PAGE_SHIFT,
    };
    return xen_hypercall_p(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x);
}

static const char *events_init(void)
{
    if (add_to_physmap(XENMAPSPACE_shared_info, 0, &shared_page) != 0)
        return "cannot map shared_info (XENMEM_add_to_physmap failed)";
    xen_shared = &shared_page.s;
    xen_evtchn_unmask_all(xen_shared);
    const char *why = xen_clock_init();
    if (why)
        return why;
    xen_upcall_install();
    struct xen_hvm_param p = {
        .domid = DOMID_SELF,
        .index = HVM_PARAM_CALLBACK_IRQ,
        .value = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | XEN_UPCALL_VECTOR,
    };
    if (xen_hypercall_p(__HYPERVISOR_hvm_op, HVMOP_set_param, &p) != 0)
        return "cannot route events to the callback vector (HVM_PARAM_CALLBACK_IRQ)";
    return NULL;
}

/* In ring 3 with paging and SSE: find Xen and bring up events, time and the console. */
void x86_target_early(void)
{
    uint32_t base = x86_cpu.leaf1_ecx & X86_CPUID1_ECX_HYPERVISOR ? xen_cpuid_base(cpuid) : 0;
    if (!base)
        not_on_xen();
    xen_hypercall_page_install(base);
    const char *why = events_init();
    if (why)
        x86_abort(why); /* on port 0xe9, i.e. `xl dmesg` */
    evtchn_port_t ev;
    struct xencons_interface *ring =
        ring_page(HVM_PARAM_CONSOLE_PFN, HVM_PARAM_CONSOLE_EVTCHN, &ev);
    if (!ring)
        x86_abort("xen: the domain has no PV console (HVM_PARAM_CONSOLE_PFN)");
    xen_cons_init(&cons, &port, ring, ev);
    cons_state = CONS_RING;
}

/* Maps as many grant-table frames as Xen allows, up to XEN_GNTTAB_FRAMES. */
static const char *gnttab_init(void)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    unsigned frames = XEN_GNTTAB_FRAMES, mapped = 0;
    if (xen_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_query_size, (uint64_t)(uintptr_t)&q,
                      1) == 0 &&
        q.status == GNTST_okay && q.max_nr_frames < frames)
        frames = q.max_nr_frames;
    while (mapped < frames &&
           add_to_physmap(XENMAPSPACE_grant_table, mapped, &gnttab_frames[mapped * 512]) == 0)
        mapped++;
    if (mapped == 0)
        return "xen: cannot map the grant table (XENMAPSPACE_grant_table)";
    if (xen_gnttab_init(&gt, gnttab_frames, mapped * 512) != MIRC_OK)
        return "xen: the grant table is too small";
    return NULL;
}

int x86_target_args(int argc, char **argv)
{
    (void)argv;
    evtchn_port_t ev;
    struct xenstore_domain_interface *ring =
        ring_page(HVM_PARAM_STORE_PFN, HVM_PARAM_STORE_EVTCHN, &ev);
    if (!ring)
        x86_abort("xen: the domain has no xenstore ring (HVM_PARAM_STORE_PFN)");
    xen_xs_init(&xs, &port, ring, ev);
    xs_ready = 1;
    const char *why = gnttab_init();
    if (why)
        x86_abort(why);
    xen_env_init(&env, &port, &gt, &xs);
    xen_devices_init(&env);
    return argc;
}

/* ---- platform.h ---- */

void mirc_plat_console_write(const char *buf, size_t len)
{
    if (cons_state != CONS_RING) { /* before the ring is up, or after it stalled */
        xen_debug_write(buf, len);
        return;
    }
    size_t done = 0;
    mirc_status s =
        xen_cons_write(&cons, buf, len, mirc_plat_monotonic() + CONSOLE_STALL_NS, &done);
    if (s != MIRC_OK) {
        cons_state = CONS_STALLED;
        static const char msg[] = "\nmirc: xen: the PV console stopped draining; the rest goes to "
                                  "port 0xe9 (xl dmesg)\n";
        xen_debug_write(msg, sizeof msg - 1);
        xen_debug_write(buf + done, len - done);
    }
}

mirc_status mirc_plat_entropy(void *buf, size_t len)
{
    return x86_random(buf, len) == 0 ? MIRC_OK : MIRC_IO;
}

static int boot_times;

mirc_status mirc_plat_option(const char *opt)
{
    if (strcmp(opt, "--boot-times") == 0) {
        boot_times = 1;
        return MIRC_OK;
    }
    return MIRC_NOT_FOUND;
}

/* --boot-times: TSC ticks from the PVH entry, rated by the pvclock (as on kvm). */
static void print_boot_times(void)
{
    uint64_t now = x86_rdtsc(), hz = x86_tsc_hz();
    char line[160];
    int n =
        snprintf(line, sizeof line,
                 "mirc: boot-times: entry->main %lu us, entry->exit %lu us, tsc %lu kHz\n",
                 (unsigned long)((x86_tsc_main - x86_tsc_entry) * 1000000 / hz),
                 (unsigned long)((now - x86_tsc_entry) * 1000000 / hz), (unsigned long)(hz / 1000));
    if (n > 0)
        mirc_plat_console_write(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Gives xenconsoled time to take what is still in the ring (it may read it after we stop). */
static void drain_console(void)
{
    if (cons_state != CONS_RING)
        return;
    struct xencons_interface *r = cons.xc_ring;
    uint64_t deadline = mirc_plat_monotonic() + EXIT_DRAIN_NS;
    while (__atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE) != r->out_prod &&
           mirc_plat_monotonic() < deadline) {
        port_notify(NULL, cons.xc_evtchn);
        xen_wait_until(deadline);
    }
}

/*
 * The exit status reaches the toolstack twice: the shutdown reason
 * (poweroff for 0..126, crash for an abort) and, for 0..126, the number
 * itself at data/mirc-exit-status in the domain's xenstore directory, read
 * by the runner while the domain is preserved. From a fault report or an
 * abort, xenstore is not touched: a request may have been cut short.
 */
_Noreturn void mirc_plat_exit(int status)
{
    if (boot_times && !x86_fault_reporting) {
        boot_times = 0; /* once, even if printing aborts */
        print_boot_times();
    }
    if (!x86_fault_reporting && xs_ready && status >= 0 && status <= MIRC_EXIT_MAX)
        (void)xen_exit_publish(&xs, status, EXIT_XS_TIMEOUT_NS);
    drain_console();
    xen_shutdown(xen_exit_reason(status));
}
