/* The xenstore client against the daemon model: requests, watches, transactions, bad replies. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "sim.h"
#include "xenbus.h"

TestSuite(xenstore, .init = sim_init,
          .timeout = 60); /* a spinning frontend fails, never hangs the run */

static char buf[XENSTORE_PAYLOAD_MAX + 1];

Test(xenstore, write_then_read_round_trips_and_missing_keys_are_not_found)
{
    size_t len;
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "data/greeting", "hello"), MIRC_OK);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "data/greeting", buf, sizeof buf, &len), MIRC_OK);
    cr_assert_str_eq(buf, "hello");
    cr_assert_eq(len, 5);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "data/nothing", buf, sizeof buf, &len), MIRC_NOT_FOUND);
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "data/empty", ""), MIRC_OK);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "data/empty", buf, sizeof buf, &len), MIRC_OK);
    cr_assert_eq(len, 0);
}

Test(xenstore, relative_paths_live_under_the_domain_home)
{
    char v[16];
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "device/x", "1"), MIRC_OK);
    cr_assert_eq(xsd_get("/local/domain/7/device/x", v, sizeof v), 1);
    xsd_set("/local/domain/0/backend/y", "abs");
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "/local/domain/0/backend/y", buf, sizeof buf, NULL),
                 MIRC_OK);
    cr_assert_str_eq(buf, "abs");
}

Test(xenstore, read_into_a_small_buffer_is_too_big_and_leaves_it_alone)
{
    char small[6] = "xxxxx";
    xsd_set("/local/domain/7/k", "123456");
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "k", small, sizeof small, NULL), MIRC_TOO_BIG);
    cr_assert_str_eq(small, "xxxxx");
    xsd_set("/local/domain/7/k", "12345");
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "k", small, sizeof small, NULL), MIRC_OK);
    cr_assert_str_eq(small, "12345");
}

Test(xenstore, read_u64_accepts_decimal_and_rejects_everything_else)
{
    uint64_t v;
    const char *bad[] = { "", "-1", "12a", " 1", "0x10", "18446744073709551616", "1.5" };
    xsd_set("/local/domain/7/n", "18446744073709551615");
    cr_assert_eq(xen_xs_read_u64(&sim_xs, 0, "n", &v), MIRC_OK);
    cr_assert_eq(v, UINT64_MAX);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xsd_set("/local/domain/7/n", bad[i]);
        cr_assert_eq(xen_xs_read_u64(&sim_xs, 0, "n", &v), MIRC_IO, "'%s' accepted", bad[i]);
    }
}

Test(xenstore, directory_lists_children_once_each)
{
    unsigned n;
    xsd_set("/local/domain/7/device/vif/0/mac", "m");
    xsd_set("/local/domain/7/device/vif/1/mac", "m");
    xsd_set("/local/domain/7/device/vif/12", "");
    cr_assert_eq(xen_xs_directory(&sim_xs, 0, "device/vif", buf, sizeof buf, &n), MIRC_OK);
    cr_assert_eq(n, 3);
    int seen = 0;
    for (const char *p = buf; n--; p += strlen(p) + 1)
        seen |= strcmp(p, "0") == 0 ? 1 : strcmp(p, "1") == 0 ? 2 : strcmp(p, "12") == 0 ? 4 : 8;
    cr_assert_eq(seen, 7);
    cr_assert_eq(xen_xs_directory(&sim_xs, 0, "device/vbd", buf, sizeof buf, &n), MIRC_NOT_FOUND);
    cr_assert_eq(xen_xs_directory(&sim_xs, 0, "device/vif", buf, 3, &n), MIRC_TOO_BIG);
}

Test(xenstore, a_value_larger_than_the_ring_streams_through_it_intact)
{
    static char big[4000], back[4001];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + i % 26);
    big[sizeof big - 1] = '\0';
    sim.xsd.in_chunk = 100; /* the daemon drains slowly: the writer must wait for space */
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "big", big), MIRC_OK);
    cr_assert_eq(xsd_get("/local/domain/7/big", back, sizeof back), (int)strlen(big));
    cr_assert_str_eq(back, big);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "big", buf, sizeof buf, NULL), MIRC_OK);
    cr_assert_str_eq(buf, big);
    cr_assert_gt(sim.xs_ring->req_prod, 3 * XENSTORE_RING_SIZE,
                 "the request ring wrapped three times");
}

Test(xenstore, replies_split_at_any_size_and_across_the_ring_wrap_are_reassembled)
{
    char val[64], key[32];
    for (unsigned chunk = 1; chunk <= 40; chunk++) {
        sim.xsd.chunk = chunk;
        snprintf(key, sizeof key, "k%u", chunk);
        snprintf(val, sizeof val, "value-%u-%.*s", chunk, (int)(chunk % 30),
                 "abcdefghijklmnopqrstuvwxyz0123");
        cr_assert_eq(xen_xs_write(&sim_xs, 0, key, val), MIRC_OK);
        cr_assert_eq(xen_xs_read(&sim_xs, 0, key, buf, sizeof buf, NULL), MIRC_OK);
        cr_assert_str_eq(buf, val, "chunk %u", chunk);
    }
    cr_assert_gt(sim.xs_ring->rsp_prod, XENSTORE_RING_SIZE, "the response ring wrapped");
}

static int fired;
static char fired_path[256];

static void on_watch(void *ctx, const char *path)
{
    (void)ctx;
    fired++;
    snprintf(fired_path, sizeof fired_path, "%s", path);
}

Test(xenstore, a_watch_fires_once_when_set_then_on_changes_at_or_below_it)
{
    int id;
    fired = 0;
    cr_assert_eq(xen_xs_watch(&sim_xs, "/local/domain/0/backend/vif", on_watch, NULL, &id),
                 MIRC_OK);
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    sim_step();
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_eq(fired, 1, "the initial event");
    xsd_set("/local/domain/0/backend/vif/7/0/state", "4");
    xsd_set("/local/domain/0/backend/vbd/7/0/state", "4"); /* not below the watch */
    sim_step();
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_eq(fired, 2);
    cr_assert_str_eq(fired_path, "/local/domain/0/backend/vif/7/0/state");
    cr_assert_eq(xen_xs_unwatch(&sim_xs, id), MIRC_OK);
    xsd_set("/local/domain/0/backend/vif/7/0/state", "5");
    sim_step();
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_eq(fired, 2, "no events after unwatch");
    cr_assert_eq(sim_xs.xs_stats.events, 2);
}

Test(xenstore, relative_watches_report_relative_paths)
{
    int id;
    cr_assert_eq(xen_xs_watch(&sim_xs, "control", on_watch, NULL, &id), MIRC_OK);
    xsd_set("/local/domain/7/control/shutdown", "poweroff");
    sim_step();
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_str_eq(fired_path, "control/shutdown");
}

Test(xenstore, watch_events_interleaved_with_replies_reach_callbacks_and_replies_stay_right)
{
    int a, b;
    fired = 0;
    cr_assert_eq(xen_xs_watch(&sim_xs, "x", on_watch, NULL, &a), MIRC_OK);
    cr_assert_eq(xen_xs_watch(&sim_xs, "y", on_watch, NULL, &b), MIRC_OK);
    for (int i = 0; i < 50; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        sim.xsd.event_before = 1; /* two events sit in front of every reply */
        sim.xsd.chunk = (unsigned)(i % 7) + 1;
        cr_assert_eq(xen_xs_write(&sim_xs, 0, "z", v), MIRC_OK);
        sim.xsd.event_before = 1;
        cr_assert_eq(xen_xs_read(&sim_xs, 0, "z", buf, sizeof buf, NULL), MIRC_OK);
        cr_assert_str_eq(buf, v);
    }
    sim.xsd.chunk = 0;
    sim_run(3);
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_geq(fired, 200, "got %d events", fired);
    cr_assert_eq(sim_xs.xs_stats.bad_events, 0);
}

static mirc_status inner;

static void reenter(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    inner = xen_xs_read(&sim_xs, 0, "x", buf, sizeof buf, NULL);
}

Test(xenstore, a_watch_callback_cannot_reenter_the_client)
{
    int id;
    inner = MIRC_OK;
    cr_assert_eq(xen_xs_watch(&sim_xs, "x", reenter, NULL, &id), MIRC_OK);
    sim_step();
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_eq(inner, MIRC_BUSY);
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "x", "still works"), MIRC_OK);
}

Test(xenstore, transaction_writes_are_invisible_until_committed)
{
    uint32_t tx;
    char v[32];
    cr_assert_eq(xen_xs_transaction_start(&sim_xs, &tx), MIRC_OK);
    cr_assert_neq(tx, 0);
    cr_assert_eq(xen_xs_write(&sim_xs, tx, "cfg/a", "1"), MIRC_OK);
    cr_assert_eq(xen_xs_write(&sim_xs, tx, "cfg/b", "2"), MIRC_OK);
    cr_assert_eq(xsd_get("/local/domain/7/cfg/a", v, sizeof v), -1);
    cr_assert_eq(xen_xs_read(&sim_xs, tx, "cfg/a", buf, sizeof buf, NULL), MIRC_OK);
    cr_assert_str_eq(buf, "1", "a transaction sees its own writes");
    cr_assert_eq(xen_xs_transaction_end(&sim_xs, tx, 1), MIRC_OK);
    cr_assert_eq(xsd_get("/local/domain/7/cfg/a", v, sizeof v), 1);
    cr_assert_eq(xsd_get("/local/domain/7/cfg/b", v, sizeof v), 1);
}

Test(xenstore, an_aborted_transaction_changes_nothing)
{
    uint32_t tx;
    char v[8];
    cr_assert_eq(xen_xs_transaction_start(&sim_xs, &tx), MIRC_OK);
    cr_assert_eq(xen_xs_write(&sim_xs, tx, "cfg/a", "1"), MIRC_OK);
    cr_assert_eq(xen_xs_transaction_end(&sim_xs, tx, 0), MIRC_OK);
    cr_assert_eq(xsd_get("/local/domain/7/cfg/a", v, sizeof v), -1);
    cr_assert_eq(xen_xs_transaction_end(&sim_xs, tx, 1), MIRC_NOT_FOUND, "ended already");
}

Test(xenstore, a_conflicting_commit_returns_again_and_commits_nothing)
{
    uint32_t tx;
    char v[8];
    cr_assert_eq(xen_xs_transaction_start(&sim_xs, &tx), MIRC_OK);
    cr_assert_eq(xen_xs_write(&sim_xs, tx, "cfg/a", "1"), MIRC_OK);
    xsd_set("/local/domain/0/other", "someone else wrote meanwhile");
    cr_assert_eq(xen_xs_transaction_end(&sim_xs, tx, 1), MIRC_AGAIN);
    cr_assert_eq(xsd_get("/local/domain/7/cfg/a", v, sizeof v), -1);
}

static int attempts;

static mirc_status write_two(void *ctx, uint32_t tx)
{
    (void)ctx;
    attempts++;
    mirc_status s = xen_xs_write(&sim_xs, tx, "cfg/x", "1");
    return s == MIRC_OK ? xen_xs_write(&sim_xs, tx, "cfg/y", "2") : s;
}

Test(xenstore, bus_transact_starts_over_on_eagain_and_gives_up_after_16)
{
    struct xen_bus_dev d = { .xd_env = &sim_env };
    char v[8];
    attempts = 0;
    sim.xsd.eagain = 3;
    cr_assert_eq(xen_bus_transact(&d, write_two, NULL), MIRC_OK);
    cr_assert_eq(attempts, 4);
    cr_assert_eq(xsd_get("/local/domain/7/cfg/y", v, sizeof v), 1);
    attempts = 0;
    sim.xsd.eagain = 100;
    cr_assert_eq(xen_bus_transact(&d, write_two, NULL), MIRC_AGAIN);
    cr_assert_eq(attempts, 16);
}

Test(xenstore, request_ids_advance_and_replies_with_other_ids_are_dropped)
{
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "a", "1"), MIRC_OK);
    uint32_t first = sim.xsd.last_req_id;
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "a", "2"), MIRC_OK);
    cr_assert_gt(sim.xsd.last_req_id, first);
    sim.xsd.stray_before = 1;
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "a", buf, sizeof buf, NULL), MIRC_OK);
    cr_assert_str_eq(buf, "2", "the stray OK was not taken for the value");
    cr_assert_eq(sim_xs.xs_stats.stray_replies, 1);
}

Test(xenstore, a_reply_nobody_asked_for_is_dropped)
{
    sim.xsd.unsolicited = 1;
    sim_step();
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_eq(sim_xs.xs_stats.stray_replies, 1);
    xsd_set("/local/domain/7/a", "v");
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "a", buf, sizeof buf, NULL), MIRC_OK);
    cr_assert_str_eq(buf, "v");
}

Test(xenstore, malformed_watch_events_are_counted_and_ignored)
{
    sim.xsd.bad_event = 1;
    sim_step();
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_OK);
    cr_assert_eq(sim_xs.xs_stats.bad_events, 2);
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "a", "1"), MIRC_OK);
}

Test(xenstore, error_replies_become_statuses)
{
    static const struct {
        const char *err;
        mirc_status s;
    } cases[] = { { "EACCES", MIRC_IO },     { "EINVAL", MIRC_INVALID },
                  { "E2BIG", MIRC_TOO_BIG }, { "ENOSPC", MIRC_NO_SPACE },
                  { "EEXIST", MIRC_BUSY },   { "ENOSYS", MIRC_UNSUPPORTED },
                  { "EWHATEVER", MIRC_IO },  { "ENOENT", MIRC_NOT_FOUND } };
    snprintf(sim.xsd.fail_path, sizeof sim.xsd.fail_path, "/local/domain/7/locked");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(sim.xsd.fail_err, sizeof sim.xsd.fail_err, "%s", cases[i].err);
        cr_assert_eq(xen_xs_write(&sim_xs, 0, "locked", "x"), cases[i].s, "%s", cases[i].err);
        cr_assert_str_eq(sim_xs.xs_last_error, cases[i].err);
    }
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "open", "x"), MIRC_OK, "other paths unaffected");
}

Test(xenstore, a_reply_longer_than_the_protocol_allows_breaks_the_client_for_good)
{
    sim.xsd.bad_len = 1;
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "name", buf, sizeof buf, NULL), MIRC_IO);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "name", buf, sizeof buf, NULL), MIRC_IO);
    cr_assert_eq(xen_xs_poll(&sim_xs), MIRC_IO);
    cr_assert(strstr(sim.console, "XENSTORE_PAYLOAD_MAX"), "says why: %s", sim.console);
}

Test(xenstore, response_indexes_out_of_range_break_the_client)
{
    sim.xsd.bad_rsp_prod = 1;
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "name", buf, sizeof buf, NULL), MIRC_IO);
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "name", "x"), MIRC_IO);
}

Test(xenstore, a_reply_of_the_wrong_type_is_an_error_but_not_fatal)
{
    sim.xsd.wrong_type = 1;
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "name", buf, sizeof buf, NULL), MIRC_IO);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "name", buf, sizeof buf, NULL), MIRC_OK);
    cr_assert_str_eq(buf, "guest");
}

Test(xenstore, malformed_payloads_are_errors)
{
    unsigned n;
    uint32_t tx;
    xsd_set("/local/domain/7/d/a", "");
    sim.xsd.raw = "a\0b";
    sim.xsd.raw_len = 3; /* last name not terminated */
    cr_assert_eq(xen_xs_directory(&sim_xs, 0, "d", buf, sizeof buf, &n), MIRC_IO);
    sim.xsd.raw = "a\0\0";
    sim.xsd.raw_len = 3; /* an empty name */
    cr_assert_eq(xen_xs_directory(&sim_xs, 0, "d", buf, sizeof buf, &n), MIRC_IO);
    sim.xsd.raw = "OK";
    sim.xsd.raw_len = 2; /* "OK" without its NUL */
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "d/b", "x"), MIRC_IO);
    sim.xsd.raw = "12x";
    sim.xsd.raw_len = 4;
    cr_assert_eq(xen_xs_transaction_start(&sim_xs, &tx), MIRC_IO);
    cr_assert_eq(xen_xs_directory(&sim_xs, 0, "d", buf, sizeof buf, &n), MIRC_OK);
}

Test(xenstore, no_reply_times_out_and_a_late_reply_is_dropped)
{
    sim_xs.xs_timeout = 50000000; /* 50 ms */
    sim.xsd.stall = 1;
    uint64_t t0 = sim.now;
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "name", buf, sizeof buf, NULL), MIRC_TIMED_OUT);
    cr_assert_geq(sim.now - t0, 50000000);
    cr_assert_lt(sim.now - t0, 60000000);
    sim.xsd.stall = 0;
    xsd_set("/local/domain/7/v", "fresh");
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "v", buf, sizeof buf, NULL), MIRC_OK);
    cr_assert_str_eq(buf, "fresh");
    cr_assert_eq(sim_xs.xs_stats.stray_replies, 1, "the late reply to the first read");
}

Test(xenstore, bad_arguments_are_invalid)
{
    static char longpath[XEN_XS_PATH_MAX + 10];
    memset(longpath, 'a', sizeof longpath - 1);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, NULL, buf, sizeof buf, NULL), MIRC_INVALID);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, "", buf, sizeof buf, NULL), MIRC_INVALID);
    cr_assert_eq(xen_xs_read(&sim_xs, 0, longpath, buf, sizeof buf, NULL), MIRC_INVALID);
    cr_assert_eq(xen_xs_write(&sim_xs, 0, "a", NULL), MIRC_INVALID);
    cr_assert_eq(xen_xs_unwatch(&sim_xs, 3), MIRC_INVALID);
    cr_assert_eq(xen_xs_transaction_end(&sim_xs, 0, 1), MIRC_INVALID);
    cr_assert_eq(sim.xsd.requests, 0, "nothing was sent");
}

Test(xenstore, watch_slots_run_out_with_no_memory)
{
    int id;
    for (int i = 0; i < XEN_XS_WATCH_MAX; i++)
        cr_assert_eq(xen_xs_watch(&sim_xs, "w", on_watch, NULL, &id), MIRC_OK);
    cr_assert_eq(xen_xs_watch(&sim_xs, "w", on_watch, NULL, &id), MIRC_NO_MEMORY);
    cr_assert_eq(xen_xs_unwatch(&sim_xs, 5), MIRC_OK);
    cr_assert_eq(xen_xs_watch(&sim_xs, "w", on_watch, NULL, &id), MIRC_OK);
    cr_assert_eq(id, 5);
}
