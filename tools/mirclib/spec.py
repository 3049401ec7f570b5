"""Device specs and QEMU option strings: one escaping rule, QEMU's own; and string
literals for the files mirc writes (Meson's, xl's).

A spec is items separated by commas (`dgram,local=H:P,remote=H:P`); a comma
inside a value is written twice (`file=my,,disk.img` is the file `my,disk.img`).
QEMU parses its `-drive`/`-netdev`/`-device` values the same way, and so does
the unix image's runtime options (backends/unix/main.c, unix_kv_split), so a
value is escaped once, with escape(), wherever it is pasted into one of them.
"""


def escape(value):
    """value with each comma doubled, safe to paste into an option string."""
    return str(value).replace(",", ",,")


def split(spec):
    """'a,b=c,,d' -> ['a', 'b=c,d']: items at single commas, ',,' kept as one comma."""
    items, cur, i = [], [], 0
    while i < len(spec):
        if spec[i] == ",":
            if spec[i + 1:i + 2] == ",":
                cur.append(",")
                i += 2
                continue
            items.append("".join(cur))
            cur = []
        else:
            cur.append(spec[i])
        i += 1
    items.append("".join(cur))
    return items


def quote(value, q):
    """value as a string literal in quotes q (Meson: ', xl: "): backslash and q escaped,
    control characters as \\xHH, which both read."""
    out = []
    for ch in str(value):
        if ch in "\\" + q:
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return q + "".join(out) + q
