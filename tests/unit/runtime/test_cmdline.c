/* Boot command lines are split like a shell splits words (kvm and xen get one string). */
#include <criterion/criterion.h>
#include <string.h>

#include "rt.h"

static int split(const char *in, char **argv, int max, char *buf)
{
    int argc = -1;
    strcpy(buf, in);
    mirc_status s = mirc_rt_split_cmdline(buf, max, argv, &argc);
    return s == MIRC_OK ? argc : -(int)s;
}

#define EXPECT(in, ...)                                                                            \
    do {                                                                                           \
        const char *want[] = { __VA_ARGS__ };                                                      \
        int n = (int)(sizeof want / sizeof *want);                                                 \
        char buf[256], *argv[16];                                                                  \
        cr_assert_eq(split(in, argv, 16, buf), n, "word count for <%s>", in);                      \
        for (int i = 0; i < n; i++)                                                                \
            cr_assert_str_eq(argv[i], want[i], "word %d of <%s>", i, in);                          \
        cr_assert_null(argv[n]);                                                                   \
    } while (0)

Test(cmdline, splits_on_blanks_and_ignores_runs_of_them)
{
    EXPECT("a b  c\t d\n", "a", "b", "c", "d");
    EXPECT("  lead", "lead");
}

Test(cmdline, empty_line_has_no_words)
{
    char buf[8] = "   ", *argv[4];
    int argc = -1;
    cr_assert_eq(mirc_rt_split_cmdline(buf, 4, argv, &argc), MIRC_OK);
    cr_assert_eq(argc, 0);
    cr_assert_null(argv[0]);
}

Test(cmdline, quotes_keep_spaces_and_join_words)
{
    EXPECT("'a b' \"c d\"", "a b", "c d");
    EXPECT("x'y z'w", "xy zw");
    EXPECT("'' \"\"", "", "");
    EXPECT("--name='hello world'", "--name=hello world");
}

Test(cmdline, backslash_escapes_like_a_shell)
{
    EXPECT("a\\ b", "a b");
    EXPECT("\"a\\\"b\"", "a\"b");
    EXPECT("\"a\\nb\"", "a\\nb");
    EXPECT("'a\\b'", "a\\b");
}

Test(cmdline, unterminated_quote_or_trailing_backslash_is_invalid)
{
    char buf[32], *argv[8];
    cr_assert_eq(split("'abc", argv, 8, buf), -(int)MIRC_INVALID);
    cr_assert_eq(split("\"abc", argv, 8, buf), -(int)MIRC_INVALID);
    cr_assert_eq(split("abc\\", argv, 8, buf), -(int)MIRC_INVALID);
}

Test(cmdline, too_many_words_is_reported_not_overflowed)
{
    char buf[32], *argv[4];
    cr_assert_eq(split("a b c", argv, 4, buf), 3);
    cr_assert_eq(split("a b c d", argv, 4, buf), -(int)MIRC_TOO_BIG);
}
