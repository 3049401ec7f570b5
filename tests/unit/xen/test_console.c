/* The PV console ring: output in order without loss, waiting for space; input. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "sim.h"

static struct xen_cons cons;

static void setup(void)
{
    sim_init();
    xen_cons_init(&cons, &sim_port, sim.cons_ring, SIM_CONS_EVTCHN);
}

TestSuite(console, .init = setup,
          .timeout = 60); /* a spinning frontend fails, never hangs the run */

Test(console, short_output_arrives_in_order)
{
    size_t n;
    cr_assert_eq(xen_cons_write(&cons, "hello, xen\n", 11, UINT64_MAX, &n), MIRC_OK);
    cr_assert_eq(n, 11);
    sim_step();
    cr_assert_eq(sim.cons_len, 11);
    cr_assert_eq(memcmp(sim.cons_out, "hello, xen\n", 11), 0);
    cr_assert_gt(sim.notifies, 0, "the daemon was notified");
}

Test(console, long_output_waits_for_a_slow_daemon_and_loses_nothing)
{
    static char text[60000];
    size_t n;
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)(' ' + (i * 7 + i / 91) % 95);
    sim.cons_rate = 37; /* bytes per step: the 2 KB ring fills at once */
    cr_assert_eq(xen_cons_write(&cons, text, sizeof text, UINT64_MAX, &n), MIRC_OK);
    cr_assert_eq(n, sizeof text);
    sim_run(100);
    cr_assert_eq(sim.cons_len, sizeof text);
    cr_assert_eq(memcmp(sim.cons_out, text, sizeof text), 0);
    cr_assert_gt(sim.waits, 1000, "it waited rather than dropping");
}

Test(console, output_wraps_the_ring_many_times_in_small_writes)
{
    char line[40];
    size_t total = 0;
    for (int i = 0; i < 2000; i++) {
        int len = snprintf(line, sizeof line, "line %d\n", i);
        cr_assert_eq(xen_cons_write(&cons, line, (size_t)len, UINT64_MAX, NULL), MIRC_OK);
        total += (size_t)len;
        if (i % 100 == 0)
            sim_step();
    }
    sim_step();
    cr_assert_eq(sim.cons_len, total);
    cr_assert(memcmp(sim.cons_out + total - 10, "line 1999\n", 10) == 0);
}

Test(console, a_stalled_daemon_makes_output_time_out_with_the_count_written)
{
    static char text[5000];
    size_t n;
    memset(text, 'x', sizeof text);
    sim.cons_rate = 0;
    cr_assert_eq(xen_cons_write(&cons, text, sizeof text, sim.now + 20000000, &n), MIRC_TIMED_OUT);
    cr_assert_eq(n, sizeof sim.cons_ring->out);
}

Test(console, input_is_read_in_order_and_again_when_empty)
{
    char buf[16];
    size_t n;
    struct xencons_interface *r = sim.cons_ring;
    cr_assert_eq(xen_cons_read(&cons, buf, sizeof buf, &n), MIRC_AGAIN);
    r->in_cons = r->in_prod = 1020; /* straddle the 1 KB wrap */
    const char *typed = "ls -l\r";
    for (size_t i = 0; i < 6; i++)
        r->in[MASK_XENCONS_IDX(r->in_prod++, r->in)] = typed[i];
    cr_assert_eq(xen_cons_read(&cons, buf, 4, &n), MIRC_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(buf, "ls -", 4), 0);
    cr_assert_eq(xen_cons_read(&cons, buf, sizeof buf, &n), MIRC_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(memcmp(buf, "l\r", 2), 0);
    cr_assert_eq(xen_cons_read(&cons, buf, sizeof buf, &n), MIRC_AGAIN);
    cr_assert_eq(r->in_cons, r->in_prod);
}

Test(console, corrupt_indexes_are_errors_not_overruns)
{
    char buf[16];
    size_t n;
    sim.cons_ring->in_prod = sim.cons_ring->in_cons + 5000;
    cr_assert_eq(xen_cons_read(&cons, buf, sizeof buf, &n), MIRC_IO);
    cr_assert_eq(n, 0);
    cr_assert_eq(xen_cons_read(&cons, buf, sizeof buf, &n), MIRC_AGAIN, "input was discarded");
    sim.cons_ring->out_prod = sim.cons_ring->out_cons + 9999;
    cr_assert_eq(xen_cons_write(&cons, "x", 1, UINT64_MAX, &n), MIRC_IO);
    cr_assert_eq(n, 0);
}
