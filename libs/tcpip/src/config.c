/* libs/tcpip/src/config.c: the network options in the boot arguments (see README.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpip_int.h"

struct parser {
    struct tcpip_config *cfg;
    char *err;
    size_t errsize;
};

static mirc_status fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static mirc_status fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errsize, fmt, ap);
    va_end(ap);
    return MIRC_INVALID;
}

/* The entry for NIC `name` ("" for the first), created on first use. */
static struct tcpip_nic_config *nic(struct parser *p, const char *name, size_t len)
{
    struct tcpip_config *c = p->cfg;
    for (unsigned i = 0; i < c->nnics; i++)
        if (strlen(c->nics[i].name) == len && strncmp(c->nics[i].name, name, len) == 0)
            return &c->nics[i];
    if (c->nnics == TCPIP_NIC_MAX || len >= sizeof c->nics[0].name)
        return NULL;
    struct tcpip_nic_config *n = &c->nics[c->nnics++];
    memset(n, 0, sizeof *n);
    memcpy(n->name, name, len);
    n->gateway_set = n->ipv6_set = 0;
    n->slaac = n->ipv6_off = -1;
    return n;
}

/* "A.B.C.D/N" (IPv4) or "X::Y/N" (IPv6; N defaults to 64). */
static int parse_prefix(const char *v, int v6, uint8_t *addr, uint8_t *prefix)
{
    const char *slash = strchr(v, '/');
    size_t alen = slash ? (size_t)(slash - v) : strlen(v);
    if (!(v6 ? tcpip_parse_ipv6(v, alen, addr) : tcpip_parse_ipv4(v, alen, addr)))
        return 0;
    if (!slash) {
        if (!v6)
            return 0; /* an IPv4 netmask cannot be guessed */
        *prefix = 64;
        return 1;
    }
    char *end;
    long n = strtol(slash + 1, &end, 10);
    if (slash[1] < '0' || slash[1] > '9' || *end || n > (v6 ? 128 : 32) || (!v6 && n < 1))
        return 0;
    *prefix = (uint8_t)n;
    return 1;
}

/* "", "true", "false" (and 1/0, yes/no, on/off) for flags; -1 if none of them. */
static int parse_bool(const char *v)
{
    if (!v || !*v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
        return 0;
    return -1;
}

static int parse_port(const char *s, size_t n, uint16_t *out)
{
    unsigned long v = 0;
    if (n == 0 || n > 5)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return 0;
    *out = (uint16_t)v;
    return 1;
}

enum opt_kind {
    OPT_IPV4,
    OPT_GATEWAY,
    OPT_DHCP,
    OPT_IPV6,
    OPT_GATEWAY6,
    OPT_NO_SLAAC,
    OPT_ACCEPT_RA,
    OPT_IPV4_ONLY,
    OPT_IPV6_ONLY,
    OPT_DNS,
    OPT_STACK,
    OPT_PUBLISH,
    OPT_MEMORY,
};

static const struct {
    const char *name;
    enum opt_kind kind;
    int per_nic;   /* accepts --NAME:NIC */
    int has_value; /* 1: needs =V; 0: flag (optional =true/false) */
} opts[] = {
    { "ipv4", OPT_IPV4, 1, 1 },
    { "ipv4-gateway", OPT_GATEWAY, 1, 1 },
    { "dhcp", OPT_DHCP, 1, 0 },
    { "ipv6", OPT_IPV6, 1, 1 },
    { "ipv6-gateway", OPT_GATEWAY6, 1, 1 },
    { "no-slaac", OPT_NO_SLAAC, 1, 0 },
    { "accept-router-advertisements", OPT_ACCEPT_RA, 1, 0 },
    { "ipv4-only", OPT_IPV4_ONLY, 1, 0 },
    { "ipv6-only", OPT_IPV6_ONLY, 1, 0 },
    { "dns", OPT_DNS, 0, 1 },
    { "stack", OPT_STACK, 0, 1 },
    { "publish", OPT_PUBLISH, 0, 1 },
    { "tcpip-memory", OPT_MEMORY, 0, 1 },
};

/* "65536", "512K", "16M", "1G": bytes; 0 when malformed. */
static uint64_t parse_size(const char *v)
{
    uint64_t n = 0;
    const char *s = v;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n > UINT64_MAX / 10 / 1024 / 1024 / 1024)
            return 0;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    if (s == v)
        return 0;
    switch (*s) {
    case 'G':
        n *= 1024;
        /* fallthrough */
    case 'M':
        n *= 1024;
        /* fallthrough */
    case 'K':
        n *= 1024;
        s++;
        break;
    default:
        break;
    }
    return *s ? 0 : n;
}

static mirc_status apply(struct parser *p, int k, const char *arg, const char *nicname,
                         size_t niclen, const char *val)
{
    struct tcpip_config *c = p->cfg;
    enum opt_kind kind = opts[k].kind;
    int flag = opts[k].has_value ? 1 : parse_bool(val);

    if (!opts[k].has_value && flag < 0)
        return fail(p, "%s: expected no value, =true or =false", arg);
    if (opts[k].has_value && (!val || !*val))
        return fail(p, "%s: needs a value (--%s=...)", arg, opts[k].name);

    if (kind == OPT_DNS) {
        if (c->ndns == TCPIP_DNS_MAX)
            return fail(p, "%s: at most %d DNS servers", arg, TCPIP_DNS_MAX);
        mirc_ipaddr a;
        if (mirc_ipaddr_parse(val, &a) != MIRC_OK || a.zone)
            return fail(p, "%s: '%s' is not an IP address (e.g. --dns=10.0.0.1)", arg, val);
        c->dns[c->ndns++] = a;
        return MIRC_OK;
    }
    if (kind == OPT_STACK) {
        if (!strcmp(val, "lwip"))
            c->stack = TCPIP_STACK_LWIP;
        else if (!strcmp(val, "socket"))
            c->stack = TCPIP_STACK_SOCKET;
        else
            return fail(p, "%s: the stack is 'lwip' or 'socket'", arg);
        return MIRC_OK;
    }
    if (kind == OPT_MEMORY) {
        uint64_t m = parse_size(val);
        if (m < LW_MEM_MIN_ARG || m > LW_MEM_MAX_ARG)
            return fail(p, "%s: expected a size from 512K to 1G, e.g. --tcpip-memory=16M", arg);
        c->memory = m;
        return MIRC_OK;
    }
    if (kind == OPT_PUBLISH) {
        const char *colon = strchr(val, ':');
        uint16_t h, g;
        if (!colon || !parse_port(val, (size_t)(colon - val), &h) ||
            !parse_port(colon + 1, strlen(colon + 1), &g))
            return fail(p, "%s: expected HOSTPORT:PORT, e.g. --publish=8080:80", arg);
        for (unsigned i = 0; i < c->npublish; i++) {
            if (c->publish[i].guest == g) { /* a later mapping for the port replaces it */
                c->publish[i].host = h;
                return MIRC_OK;
            }
        }
        if (c->npublish == TCPIP_PUBLISH_MAX)
            return fail(p, "%s: at most %d port mappings", arg, TCPIP_PUBLISH_MAX);
        c->publish[c->npublish].host = h;
        c->publish[c->npublish++].guest = g;
        return MIRC_OK;
    }

    struct tcpip_nic_config *n = nic(p, nicname, niclen);
    if (!n)
        return fail(p, "%s: too many NICs named, or a NIC name over 31 characters", arg);
    switch (kind) {
    case OPT_IPV4:
        if (!parse_prefix(val, 0, n->ipv4, &n->ipv4_prefix))
            return fail(
                p, "%s: expected an IPv4 address and prefix length, e.g. --ipv4=10.0.0.2/24", arg);
        n->v4mode = TCPIP_V4_STATIC;
        break;
    case OPT_GATEWAY:
        if (!tcpip_parse_ipv4(val, strlen(val), n->gateway))
            return fail(p, "%s: expected an IPv4 address, e.g. --ipv4-gateway=10.0.0.1", arg);
        n->gateway_set = 1;
        break;
    case OPT_DHCP:
        if (flag)
            n->v4mode = TCPIP_V4_DHCP;
        else if (n->v4mode == TCPIP_V4_DHCP)
            n->v4mode = TCPIP_V4_UNSET;
        break;
    case OPT_IPV6: {
        uint8_t a[16];
        if (!parse_prefix(val, 1, a, &n->ipv6_prefix))
            return fail(p, "%s: expected an IPv6 address and prefix length, e.g. --ipv6=fd00::2/64",
                        arg);
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
            return fail(p, "%s: link-local addresses are automatic; give a global or ULA address",
                        arg);
        memcpy(n->ipv6, a, 16);
        n->ipv6_set = 1;
        break;
    }
    case OPT_GATEWAY6:
        if (!tcpip_parse_ipv6(val, strlen(val), n->gateway6))
            return fail(p, "%s: expected an IPv6 address, e.g. --ipv6-gateway=fe80::1", arg);
        n->gateway6_set = 1;
        break;
    case OPT_NO_SLAAC:
        n->slaac = !flag;
        break;
    case OPT_ACCEPT_RA:
        n->slaac = flag;
        break;
    case OPT_IPV4_ONLY:
        n->ipv6_off = flag;
        break;
    case OPT_IPV6_ONLY:
        if (flag)
            n->v4mode = TCPIP_V4_OFF;
        else if (n->v4mode == TCPIP_V4_OFF)
            n->v4mode = TCPIP_V4_UNSET;
        break;
    default:
        break;
    }
    return MIRC_OK;
}

/* 1 and the option's index if arg is one of ours ("--NAME", "--NAME=V", "--NAME:NIC[=V]"). */
static int match(const char *arg, int *k, const char **nicname, size_t *niclen, const char **val)
{
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    const char *s = arg + 2;
    for (int i = 0; i < (int)(sizeof opts / sizeof opts[0]); i++) {
        size_t len = strlen(opts[i].name);
        if (strncmp(s, opts[i].name, len) != 0)
            continue;
        const char *rest = s + len;
        *nicname = "";
        *niclen = 0;
        if (*rest == ':' && opts[i].per_nic) {
            *nicname = rest + 1;
            *niclen = strcspn(rest + 1, "=");
            rest += 1 + *niclen;
        }
        if (*rest == '=') {
            *val = rest + 1;
        } else if (*rest == '\0') {
            *val = NULL;
        } else {
            continue; /* a longer name: --ipv4-gateway is not --ipv4 */
        }
        *k = i;
        return 1;
    }
    return 0;
}

mirc_status tcpip_config_parse(struct tcpip_config *cfg, int *argc, char **argv, char *err,
                               size_t errsize)
{
    struct parser p = { cfg, err, errsize };
    if (!cfg || !argc || *argc < 0 || (*argc && !argv))
        return MIRC_INVALID;
    if (err && errsize)
        err[0] = '\0';
    memset(cfg, 0, sizeof *cfg);
    nic(&p, "", 0); /* nics[0]: the first NIC's unnamed options */

    for (int i = 1; i < *argc; i++) {
        int k;
        const char *name, *val;
        size_t nlen;
        if (!argv[i] || !match(argv[i], &k, &name, &nlen, &val))
            continue;
        if (argv[i][2 + strlen(opts[k].name)] == ':' && nlen == 0)
            return fail(&p, "%s: empty NIC name after ':'", argv[i]);
        mirc_status s = apply(&p, k, argv[i], name, nlen, val);
        if (s != MIRC_OK)
            return s;
    }
    /* all good: drop what was ours, keep the rest in order */
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        int k;
        const char *name, *val;
        size_t nlen;
        if (argv[i] && match(argv[i], &k, &name, &nlen, &val))
            continue;
        argv[out++] = argv[i];
    }
    if (*argc > 0) {
        argv[out] = NULL;
        *argc = out;
    }
    return MIRC_OK;
}

void tcpip_config_nic(const struct tcpip_config *cfg, const char *name, unsigned index,
                      struct tcpip_nic_config *out)
{
    memset(out, 0, sizeof *out);
    out->slaac = out->ipv6_off = -1;
    snprintf(out->name, sizeof out->name, "%s", name);
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < cfg->nnics; i++) {
            const struct tcpip_nic_config *n = &cfg->nics[i];
            if (pass == 0 ? (n->name[0] || index != 0) : strcmp(n->name, name) != 0)
                continue;
            if (n->v4mode != TCPIP_V4_UNSET) {
                out->v4mode = n->v4mode;
                memcpy(out->ipv4, n->ipv4, 4);
                out->ipv4_prefix = n->ipv4_prefix;
            }
            if (n->gateway_set) {
                out->gateway_set = 1;
                memcpy(out->gateway, n->gateway, 4);
            }
            if (n->ipv6_set) {
                out->ipv6_set = 1;
                memcpy(out->ipv6, n->ipv6, 16);
                out->ipv6_prefix = n->ipv6_prefix;
            }
            if (n->gateway6_set) {
                out->gateway6_set = 1;
                memcpy(out->gateway6, n->gateway6, 16);
            }
            if (n->slaac >= 0)
                out->slaac = n->slaac;
            if (n->ipv6_off >= 0)
                out->ipv6_off = n->ipv6_off;
        }
    }
    if (out->slaac < 0)
        out->slaac = 1;
    if (out->ipv6_off < 0)
        out->ipv6_off = 0;
}
