"""The code at the head of web/dist/kaltura_web.mpy, the MicroPython bundle.

tools/build_mpy.py compiles this file followed by kaltura_web/__init__.py into
one .mpy, the package's ``__init__``, and appends the other modules (already
compiled to .mpy) after it.  A page maps the bundle to
``./kaltura_web/__init__.mpy``; the first ``import kaltura_web...`` runs this
code, which writes the appended modules into the package folder before the
package's own ``__init__`` (and anything it imports) runs.  MicroPython's .mpy
loader reads the module it needs and ignores what follows it.

Layout of the bundle file::

    head        the compiled __init__ (this code + kaltura_web/__init__.py)
    packed      the entries, stored as they are or zlib-compressed
    trailer     <IIIIII8s: head length, packed length, unpacked length,
                crc32 of the unpacked entries, entry count, packing (0: stored,
                8: zlib), magic

and each entry, unpacked: <H name length, name (UTF-8, relative to the package
folder, e.g. "core/tracker.mpy"), <I data length, data.

Everything is checked before anything is written: a truncated, padded or
damaged bundle raises ImportError naming the file.  The same function runs on
CPython (zlib instead of MicroPython's deflate), which is how the tests check
it against the builder.
"""


def _kaltura_web_unpack(head):
    """Write the modules appended to ``head`` (this __init__.mpy's path) next to it."""
    import os
    import struct
    from binascii import crc32

    layout, magic = "<IIIIII8s", b"kwmpyb01"

    def damaged(why):
        return ImportError("kaltura_web: the MicroPython bundle %s is damaged (%s); "
                           "rebuild it with tools/build_mpy.py" % (head, why))

    size = struct.calcsize(layout)
    with open(head, "rb") as f:
        total = f.seek(0, 2)
        if total < size:
            raise damaged("shorter than its trailer")
        f.seek(total - size)
        head_len, packed_len, raw_len, crc, count, packing, found = struct.unpack(layout, f.read(size))
        if found != magic:
            raise damaged("no bundle trailer")
        if head_len + packed_len + size != total:
            raise damaged("%d bytes, the trailer says %d" % (total, head_len + packed_len + size))
        f.seek(head_len)
        packed = f.read(packed_len)
    if packing == 0:
        raw = packed
    elif packing == 8:
        try:
            from deflate import ZLIB, DeflateIO  # MicroPython
            from io import BytesIO

            def inflate(data):
                out = bytearray(raw_len)  # one buffer of the right size: no regrowing
                stream = DeflateIO(BytesIO(data), ZLIB)
                if stream.readinto(out) != raw_len or stream.read(1):
                    raise ValueError("the unpacked length differs from the trailer's")
                return out
        except ImportError:
            from zlib import decompress as inflate  # CPython
        try:
            raw = inflate(packed)
        except Exception as exc:
            raise damaged("cannot inflate: %r" % exc)
    else:
        raise damaged("unknown packing %d" % packing)
    if len(raw) != raw_len or crc32(raw) & 0xFFFFFFFF != crc:
        raise damaged("checksum mismatch")
    entries, pos = [], 0
    while pos < raw_len:
        if pos + 2 > raw_len:
            raise damaged("entry %d cut short" % len(entries))
        (n,) = struct.unpack_from("<H", raw, pos)
        try:
            name = str(raw[pos + 2:pos + 2 + n], "utf-8")
        except ValueError:
            raise damaged("entry %d has no UTF-8 name" % len(entries))
        pos += 2 + n
        if pos + 4 > raw_len:
            raise damaged("entry %s cut short" % name)
        (length,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        if pos + length > raw_len:
            raise damaged("entry %s cut short" % name)
        parts = name.split("/")
        if not name.endswith(".mpy") or "" in parts or "." in parts or ".." in parts or "\\" in name:
            raise damaged("bad entry name %r" % name)
        entries.append((parts, pos, pos + length))
        pos += length
    if len(entries) != count:
        raise damaged("%d entries, the trailer says %d" % (len(entries), count))
    root = head.rpartition("/")[0] or "."
    data = memoryview(raw)
    for parts, start, end in entries:
        folder = root
        for part in parts[:-1]:
            folder += "/" + part
            try:
                os.mkdir(folder)
            except OSError:
                pass  # already there
        with open(folder + "/" + parts[-1], "wb") as out:
            out.write(data[start:end])
    try:
        from js import performance  # a page: the benchmark's "SDK modules unpacked" landmark
        performance.mark("kaltura_web:unpacked")
    except ImportError:
        pass  # CPython, the tests
