/* Loop references (mirc_loop_ref) and NIC enumeration: the seams libs/tcpip stands on. */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>

#include "fake_platform.h"
#include "mirc/mirc.h"
#include "rt.h"

static void setup(void)
{
    fake_reset();
}

TestSuite(loop_ref, .init = setup);

static int idle_calls, unref_after;

/* Plays the host sockets: each idle yield is one event; the last one drops the reference. */
static void idle_event(void)
{
    if (++idle_calls == unref_after)
        mirc_loop_unref();
}

Test(loop_ref, a_reference_keeps_the_loop_sleeping_without_timers_or_nics)
{
    idle_calls = 0;
    unref_after = 3;
    fake.idle_hook = idle_event;
    mirc_loop_ref();
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(idle_calls, 3, "the loop returned after %d idle yields", idle_calls);
    cr_assert_eq(fake.last_interest, 0);
}

Test(loop_ref, without_references_the_loop_returns_at_once)
{
    idle_calls = 0;
    fake.idle_hook = idle_event;
    mirc_loop_ref();
    mirc_loop_unref();
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(idle_calls, 0);
    cr_assert_eq(fake.yields, 0);
}

static void stop_cb(mirc_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    mirc_loop_stop();
}

Test(loop_ref, stop_ends_a_referenced_loop_and_references_count)
{
    mirc_timer t;
    idle_calls = 0;
    unref_after = 1;
    fake.idle_hook = idle_event;
    mirc_loop_ref();
    mirc_loop_ref();
    mirc_timer_init(&t, stop_cb, NULL);
    mirc_timer_start(&t, MIRC_NS_PER_MS, 0);
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(idle_calls, 0, "a timer was pending, so no idle yield");
    /* two references: one idle event drops one, the next yield still sleeps */
    unref_after = 1;
    fake.idle_hook = idle_event;
    mirc_loop_unref();
    cr_assert_eq(mirc_loop_run(), MIRC_OK);
    cr_assert_eq(idle_calls, 1);
}

Test(loop_ref, unbalanced_unref_panics)
{
    jmp_buf jb;
    fake.exit_jmp = &jb;
    if (setjmp(jb) == 0)
        mirc_loop_unref();
    cr_assert_eq(fake.exit_status, MIRC_EXIT_ABORT);
    cr_assert(strstr(fake.console, "mirc_loop_unref without a matching mirc_loop_ref"), "%.*s",
              (int)fake.console_len, fake.console);
}

Test(loop_ref, nics_are_enumerated_in_manifest_order)
{
    mirc_net *a, *b, *byname;
    fake_attach_net(0, "\x02\x00\x00\x00\x00\x01", 1500);
    fake_attach_net(1, "\x02\x00\x00\x00\x00\x02", 9000);
    fake_attach_disk(0, 64 * 1024, 512, 0);
    cr_assert_eq(mirc_rt_devices_open(), MIRC_OK);
    cr_assert_eq(mirc_net_acquire_index(0, &a), MIRC_OK);
    cr_assert_eq(mirc_net_acquire_index(1, &b), MIRC_OK);
    cr_assert_str_eq(mirc_net_name(a), "net0");
    cr_assert_str_eq(mirc_net_name(b), "net1");
    cr_assert_eq(mirc_net_acquire("net1", &byname), MIRC_OK);
    cr_assert_eq(byname, b);
    cr_assert_eq(mirc_net_acquire_index(2, &a), MIRC_NOT_FOUND, "the disk is not a NIC");
    cr_assert_eq(mirc_net_acquire_index(0, NULL), MIRC_INVALID);
}
