/* From the backend's argv to mirc_main: options, default arguments, quiet mode, exit statuses. */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>

#include "fake_platform.h"
#include "mirc/mirc.h"

static int (*app)(int argc, char **argv);
static int seen_argc;
static char seen[8][64];

int mirc_main(int argc, char **argv)
{
    seen_argc = argc;
    for (int i = 0; i < argc && i < 8; i++)
        strncpy(seen[i], argv[i], sizeof seen[i] - 1);
    cr_assert_null(argv[argc]);
    return app ? app(argc, argv) : 0;
}

static void setup(void)
{
    fake_reset();
    fake_attach_net(0, "\x02\0\0\0\0\1", 1500);
    fake_attach_net(1, "\x02\0\0\0\0\2", 1500);
    fake_attach_disk(0, 4096, 512, 0);
    app = NULL;
    memset(seen, 0, sizeof seen);
}

TestSuite(boot, .init = setup);

static int boot(char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return mirc_rt_boot(argc, argv);
}

static const char *console(void)
{
    fake.console[fake.console_len] = 0;
    return fake.console;
}

Test(boot, app_gets_name_then_manifest_defaults_then_boot_arguments_unchanged)
{
    char *argv[] = { "img", "--fake-ok", "--", "a b", "", "--x=\"q\"", NULL };
    cr_assert_eq(boot(argv), 0);
    cr_assert_eq(seen_argc, 5);
    cr_assert_str_eq(seen[0], "testapp");
    cr_assert_str_eq(seen[1], "--default=1");
    cr_assert_str_eq(seen[2], "a b");
    cr_assert_str_eq(seen[3], "");
    cr_assert_str_eq(seen[4], "--x=\"q\"");
}

Test(boot, without_separator_every_argument_is_the_apps)
{
    char *argv[] = { "img", "--ipv4=10.0.0.2/24", "x", NULL };
    cr_assert_eq(boot(argv), 0);
    cr_assert_eq(seen_argc, 4);
    cr_assert_str_eq(seen[2], "--ipv4=10.0.0.2/24");
}

Test(boot, unknown_runtime_option_aborts_with_advice)
{
    char *argv[] = { "img", "--bogus", "--", NULL };
    cr_assert_eq(boot(argv), MIRC_EXIT_ABORT);
    cr_assert(strstr(console(), "unknown runtime option '--bogus'"), "%s", console());
    cr_assert_eq(seen_argc, 0, "mirc_main must not run");
}

static int ret42(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 42;
}

static int ret300(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 300;
}

Test(boot, exit_status_is_the_return_value_and_runtime_lines_are_printed)
{
    char *argv[] = { "img", NULL };
    app = ret42;
    cr_assert_eq(boot(argv), 42);
    cr_assert(strstr(console(), "mirc: testapp on test, 3 devices\n"), "%s", console());
    cr_assert(strstr(console(), "mirc: exit status 42\n"), "%s", console());
}

Test(boot, quiet_mode_prints_nothing_of_the_runtimes)
{
    char *argv[] = { "img", "--quiet", "--", NULL };
    app = ret42;
    cr_assert_eq(boot(argv), 42);
    cr_assert_eq(fake.console_len, 0, "printed: %s", console());
    mirc_log("hidden %d", 1);
    cr_assert_eq(fake.console_len, 0);
}

Test(boot, out_of_range_exit_status_becomes_abort_with_a_message)
{
    char *argv[] = { "img", "--quiet", "--", NULL };
    app = ret300;
    cr_assert_eq(boot(argv), MIRC_EXIT_ABORT);
    cr_assert(strstr(console(), "returned 300"), "%s", console());
}

Test(boot, panic_reports_file_line_and_exits_with_abort)
{
    jmp_buf jb;
    fake.exit_jmp = &jb;
    if (setjmp(jb) == 0)
        mirc_panic("broken %s", "invariant");
    cr_assert_eq(fake.exit_status, MIRC_EXIT_ABORT);
    cr_assert(strstr(console(), "PANIC at "), "%s", console());
    cr_assert(strstr(console(), "test_boot.c:"), "%s", console());
    cr_assert(strstr(console(), "broken invariant"), "%s", console());
}

Test(boot, status_strings_cover_every_status)
{
    for (int s = 0; s < MIRC_STATUS_COUNT; s++)
        cr_assert_str_neq(mirc_status_str((mirc_status)s), "unknown status", "status %d", s);
    cr_assert_str_eq(mirc_status_str((mirc_status)999), "unknown status");
}
