/* libs/tcpip/src/addr.c: parse and print IPv4 and IPv6 addresses (RFC 4291 text, RFC 5952 output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpip_int.h"

/* Dotted quad, exactly n characters. Returns 1 on success. */
int tcpip_parse_ipv4(const char *s, size_t n, uint8_t out[4])
{
    unsigned part = 0, val = 0, digits = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c >= '0' && c <= '9') {
            if (digits && val == 0)
                return 0; /* no leading zeros: "010" is ambiguous (octal) */
            val = val * 10 + (unsigned)(c - '0');
            if (++digits > 3 || val > 255)
                return 0;
        } else if (c == '.') {
            if (!digits || part == 4)
                return 0;
            out[part++] = (uint8_t)val;
            val = digits = 0;
        } else {
            return 0;
        }
    }
    return part == 4;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 4291 section 2.2 text form, exactly n characters. Returns 1 on success. */
int tcpip_parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t words[8];
    int nw = 0, gap = -1;
    size_t i = 0;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return 0;
    }
    while (i < n) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && hexval(s[i]) >= 0 && i - start < 5)
            v = v * 16 + (unsigned)hexval(s[i++]);
        if (i < n && s[i] == '.') { /* an embedded IPv4 tail */
            uint8_t v4[4];
            if (nw > 6 || !tcpip_parse_ipv4(s + start, n - start, v4))
                return 0;
            words[nw++] = (uint16_t)(v4[0] << 8 | v4[1]);
            words[nw++] = (uint16_t)(v4[2] << 8 | v4[3]);
            i = n;
            break;
        }
        if (i == start || i - start > 4 || nw == 8)
            return 0;
        words[nw++] = (uint16_t)v;
        if (i == n)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return 0; /* "::" at most once */
            gap = nw;
            i++;
        } else if (i == n) {
            return 0; /* a trailing single ':' */
        }
    }
    if (gap < 0 && nw != 8)
        return 0;
    if (gap >= 0 && nw > 7)
        return 0;
    int fill = 8 - nw;
    uint16_t full[8];
    for (int k = 0, o = 0; k <= nw; k++) {
        if (k == gap)
            for (int z = 0; z < fill; z++)
                full[o++] = 0;
        if (k < nw)
            full[o++] = words[k];
    }
    for (int k = 0; k < 8; k++) {
        out[2 * k] = (uint8_t)(full[k] >> 8);
        out[2 * k + 1] = (uint8_t)full[k];
    }
    return 1;
}

mirc_status mirc_ipaddr_parse(const char *text, mirc_ipaddr *out)
{
    if (!text || !out)
        return MIRC_INVALID;
    mirc_ipaddr a = { 0 };
    size_t n = strlen(text);
    const char *pct = strchr(text, '%');
    size_t alen = pct ? (size_t)(pct - text) : n;

    if (!pct && tcpip_parse_ipv4(text, n, a.bytes)) {
        a.family = MIRC_IPV4;
    } else if (tcpip_parse_ipv6(text, alen, a.bytes)) {
        a.family = MIRC_IPV6;
        if (pct) {
            const char *z = pct + 1;
            char *end;
            if (!*z)
                return MIRC_INVALID;
            unsigned long v = strtoul(z, &end, 10);
            if (*end == '\0' && z[0] >= '0' && z[0] <= '9' && v > 0 && v <= 0xffff) {
                a.zone = (uint32_t)v;
            } else {
                a.zone = tcpip_zone_of(z);
                if (!a.zone)
                    return MIRC_INVALID;
            }
        }
    } else {
        return MIRC_INVALID;
    }
    *out = a;
    return MIRC_OK;
}

static char *format_ipv6(const uint8_t *b, char *p, char *end)
{
    uint16_t w[8];
    int best = -1, bestlen = 0;
    for (int i = 0; i < 8; i++)
        w[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
    for (int i = 0; i < 8;) { /* the longest run of two or more zero words, first on ties */
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > bestlen && j - i >= 2) {
            best = i;
            bestlen = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (int i = 0; i < 8 && p < end; i++) {
        if (i == best) {
            p += snprintf(p, (size_t)(end - p), "%s", i == 0 ? "::" : ":");
            i += bestlen - 1;
            continue;
        }
        p += snprintf(p, (size_t)(end - p), "%x%s", w[i], i < 7 ? ":" : "");
    }
    return p < end ? p : end;
}

char *mirc_ipaddr_format(const mirc_ipaddr *addr, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    char tmp[MIRC_IPADDR_STRLEN];
    char *end = tmp + sizeof tmp;
    if (!addr || (addr->family != MIRC_IPV4 && addr->family != MIRC_IPV6)) {
        snprintf(tmp, sizeof tmp, "any");
    } else if (addr->family == MIRC_IPV4) {
        snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", addr->bytes[0], addr->bytes[1], addr->bytes[2],
                 addr->bytes[3]);
    } else {
        char *p = format_ipv6(addr->bytes, tmp, end);
        if (addr->zone && p < end)
            snprintf(p, (size_t)(end - p), "%%%u", (unsigned)addr->zone);
    }
    snprintf(buf, size, "%s", tmp);
    return buf;
}

int mirc_ipaddr_equal(const mirc_ipaddr *a, const mirc_ipaddr *b)
{
    if (!a || !b || a->family != b->family)
        return 0;
    if (a->family == MIRC_IPV4)
        return memcmp(a->bytes, b->bytes, 4) == 0;
    if (a->family == MIRC_IPV6)
        return memcmp(a->bytes, b->bytes, 16) == 0 && a->zone == b->zone;
    return 1;
}
