/* runtime/cmdline.c: split a boot command line into words like a shell (for kvm and xen). */
#include "rt.h"

mirc_status mirc_rt_split_cmdline(char *line, int max, char **argv, int *argc)
{
    char *in = line, *out = line;
    int n = 0;

    if (!line || !argv || !argc || max < 1)
        return MIRC_INVALID;
    for (;;) {
        while (*in == ' ' || *in == '\t' || *in == '\n')
            in++;
        if (!*in)
            break;
        if (n >= max - 1)
            return MIRC_TOO_BIG;
        argv[n++] = out;
        char quote = 0;
        while (*in && (quote || (*in != ' ' && *in != '\t' && *in != '\n'))) {
            char c = *in++;
            if (quote == '\'') {
                if (c == '\'')
                    quote = 0;
                else
                    *out++ = c;
            } else if (quote == '"') {
                if (c == '"')
                    quote = 0;
                else if (c == '\\' && (*in == '"' || *in == '\\' || *in == '$' || *in == '`'))
                    *out++ = *in++;
                else
                    *out++ = c;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '\\') {
                if (!*in)
                    return MIRC_INVALID;
                *out++ = *in++;
            } else {
                *out++ = c;
            }
        }
        if (quote)
            return MIRC_INVALID;
        /* the word ends here; `in` is past it, so writing the NUL is safe */
        int at_end = !*in;
        *out++ = '\0';
        if (at_end)
            break;
        in++;
    }
    argv[n] = NULL;
    *argc = n;
    return MIRC_OK;
}
