"""pcapv4 - the IPv4 frames of a tcpdump capture, for the bench parts that
read what crossed a link (first_packet.py, failover.py). Nothing but the
standard library: the parts run under Debian's /usr/bin/python3."""
import struct


def ipv4_packets(path):
    """(time, IPv4 header, layer 4 bytes) of every IPv4 frame of a tcpdump
    capture (pcap, Ethernet)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise SystemExit("%s: not a pcap file" % path)
    div = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
    if struct.unpack(end + "I", data[20:24])[0] != 1:
        raise SystemExit("%s: not an Ethernet capture" % path)
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
            continue
        ihl = (pkt[14] & 0xF) * 4
        yield sec + frac / div, pkt[14:14 + ihl], pkt[14 + ihl:]
