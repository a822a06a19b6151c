// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

void dns_put(struct dnsmsg *m, const void *p, __u32 n)
{
	if (m->len + n > DNS_MAX)
		n = DNS_MAX - m->len;
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

void dns_put8(struct dnsmsg *m, __u8 v) { dns_put(m, &v, 1); }

void dns_put16(struct dnsmsg *m, __u16 v)
{
	__u8 b[2] = { v >> 8, v & 0xff };

	dns_put(m, b, 2);
}

void dns_put32(struct dnsmsg *m, __u32 v)
{
	dns_put16(m, v >> 16);
	dns_put16(m, v & 0xffff);
}

void dns_set16(struct dnsmsg *m, __u32 off, __u16 v)
{
	m->b[off] = v >> 8;
	m->b[off + 1] = v & 0xff;
}

void dns_header(struct dnsmsg *m, __u16 id, __u16 flags, __u16 qd, __u16 an, __u16 ns, __u16 ar)
{
	m->len = 0;
	dns_put16(m, id);
	dns_put16(m, flags);
	dns_put16(m, qd);
	dns_put16(m, an);
	dns_put16(m, ns);
	dns_put16(m, ar);
}

static void put_labels(struct dnsmsg *m, const char *text)
{
	while (*text) {
		const char *dot = strchr(text, '.');
		size_t n = dot ? (size_t)(dot - text) : strlen(text);

		dns_put8(m, (__u8)n);
		dns_put(m, text, (__u32)n);
		text += n + (dot ? 1 : 0);
	}
}

__u32 dns_name(struct dnsmsg *m, const char *text)
{
	__u32 off = m->len;

	put_labels(m, text);
	dns_put8(m, 0);
	return off;
}

__u32 dns_name_ptr(struct dnsmsg *m, const char *text, __u16 target)
{
	__u32 off = m->len;

	put_labels(m, text);
	dns_ptr(m, target);
	return off;
}

void dns_ptr(struct dnsmsg *m, __u16 target)
{
	dns_put16(m, 0xC000 | target);
}

__u32 dns_question(struct dnsmsg *m, const char *name, __u16 qtype)
{
	__u32 off = dns_name(m, name);

	dns_put16(m, qtype);
	dns_put16(m, 1);
	return off;
}

void dns_rr_raw(struct dnsmsg *m, __u16 type, __u16 klass, __u32 ttl, const void *rdata, __u16 rdlen)
{
	dns_put16(m, type);
	dns_put16(m, klass);
	dns_put32(m, ttl);
	dns_put16(m, rdlen);
	dns_put(m, rdata, rdlen);
}

void dns_rr_a(struct dnsmsg *m, __u32 ttl, const char *ipv4)
{
	__u8 a[4] = { 0 };

	inet_pton(AF_INET, ipv4, a);
	dns_rr_raw(m, 1, 1, ttl, a, 4);
}

void dns_rr_aaaa(struct dnsmsg *m, __u32 ttl, const char *ipv6)
{
	__u8 a[16] = { 0 };

	inet_pton(AF_INET6, ipv6, a);
	dns_rr_raw(m, 28, 1, ttl, a, 16);
}

static __u32 cname_head(struct dnsmsg *m, __u32 ttl)
{
	dns_put16(m, 5);
	dns_put16(m, 1);
	dns_put32(m, ttl);
	dns_put16(m, 0);	/* rdlength, set when the target is written */
	return m->len;
}

__u32 dns_rr_cname(struct dnsmsg *m, __u32 ttl, const char *target)
{
	__u32 rdata = cname_head(m, ttl);

	dns_name(m, target);
	dns_set16(m, rdata - 2, (__u16)(m->len - rdata));
	return rdata;
}

__u32 dns_rr_cname_ptr(struct dnsmsg *m, __u32 ttl, __u16 target)
{
	__u32 rdata = cname_head(m, ttl);

	dns_ptr(m, target);
	dns_set16(m, rdata - 2, 2);
	return rdata;
}

void dns_simple_answer(struct dnsmsg *m, const char *name, const char *const *ipv4, int n, __u32 ttl)
{
	int i;

	dns_header(m, 0x1234, DNS_FLAGS_RESPONSE, 1, (__u16)n, 0, 0);
	dns_question(m, name, 1);
	for (i = 0; i < n; i++) {
		dns_ptr(m, 12);
		dns_rr_a(m, ttl, ipv4[i]);
	}
}

/* ---- frames ---- */

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const __u8 *p, __u32 n)
{
	__u32 i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (__u32)(p[n - 1] << 8);
	return sum;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, (__u16)(v >> 16));
	put16(p + 2, (__u16)v);
}

__u32 frame_build(__u8 *out, const struct frame_opts *o, const void *payload, __u32 len)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 1 }, smac[6] = { 0x02, 0, 0, 0, 0, 2 };
	__u16 sport = o->sport ? o->sport : 53, dport = o->dport ? o->dport : 40000;
	__u32 off = 12, l4_off, l4_len, hdr = o->tcp ? 20 : 8, plen = len + (o->tcp ? 2 : 0);
	__u32 sum = 0;
	int v;

	memcpy(out, dmac, 6);
	memcpy(out + 6, smac, 6);
	for (v = 0; v < o->vlans; v++) {
		put16(out + off, o->vlans == 2 && v == 0 ? 0x88A8 : 0x8100);
		put16(out + off + 2, (__u16)(100 + v));
		off += 4;
	}
	put16(out + off, o->ipv6 ? 0x86DD : 0x0800);
	off += 2;
	l4_len = hdr + plen;

	if (o->ipv6) {
		__u8 *ip = out + off;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (__u16)l4_len);
		ip[6] = o->tcp ? 6 : 17;
		ip[7] = 64;
		inet_pton(AF_INET6, o->src ? o->src : "2001:db8::53", ip + 8);
		inet_pton(AF_INET6, o->dst ? o->dst : "2001:db8::1", ip + 24);
		sum = csum_add(0, ip + 8, 32);
		off += 40;
	} else {
		__u8 *ip = out + off;

		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (__u16)(20 + l4_len));
		ip[8] = 64;
		ip[9] = o->tcp ? 6 : 17;
		inet_pton(AF_INET, o->src ? o->src : "192.0.2.53", ip + 12);
		inet_pton(AF_INET, o->dst ? o->dst : "192.0.2.1", ip + 16);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		sum = csum_add(0, ip + 12, 8);
		off += 20;
	}
	l4_off = off;
	memset(out + off, 0, hdr);
	put16(out + off, sport);
	put16(out + off + 2, dport);
	if (o->tcp) {
		out[off + 12] = 5 << 4;
		out[off + 13] = 0x18;	/* PSH, ACK */
		put16(out + off + 14, 65535);
		off += 20;
		put16(out + off, (__u16)len);
		off += 2;
	} else {
		put16(out + off + 4, (__u16)l4_len);
		off += 8;
	}
	memcpy(out + off, payload, len);
	off += len;
	sum += (o->tcp ? 6 : 17) + l4_len;
	sum = csum_add(sum, out + l4_off, l4_len);
	put16(out + l4_off + (o->tcp ? 16 : 6), csum_fold(sum));
	return off;
}

__u32 frame_tcp_data(__u8 *out, __u32 payload_len)
{
	static __u8 data[1500];
	struct frame_opts o = { .tcp = true, .sport = 443, .dport = 40000 };
	__u32 n;

	/* frame_build prefixes TCP payloads with a DNS length; a data segment
	 * from port 443 is never read as DNS, so the prefix is only payload. */
	if (payload_len > sizeof(data))
		payload_len = sizeof(data);
	n = frame_build(out, &o, data, payload_len);
	return n;
}

bool frame_ip4_csum_ok(const __u8 *ip)
{
	return csum_fold(csum_add(0, ip, (ip[0] & 15) * 4u)) == 0;
}

/* The L4 checksum of an untagged IPv4/IPv6 frame, checked over the pseudo
 * header and the whole segment: true when it sums to zero. */
bool frame_l4_csum_ok(const __u8 *f, __u32 len)
{
	bool v6 = f[12] == 0x86 && f[13] == 0xdd;
	__u32 l3 = 14, l4 = l3 + (v6 ? 40 : (f[l3] & 15) * 4u), l4_len = len - l4, sum;
	__u8 proto = v6 ? f[l3 + 6] : f[l3 + 9];

	if (len < l4)
		return false;
	sum = v6 ? csum_add(0, f + l3 + 8, 32) : csum_add(0, f + l3 + 12, 8);
	sum += proto + l4_len;
	sum = csum_add(sum, f + l4, l4_len);
	return csum_fold(sum) == 0;
}

__u32 frame_tcp_syn(__u8 *out, const struct frame_opts *o, __u8 flags, __u16 mss)
{
	/* what Linux sends, in another order so the MSS is not first: NOP,
	 * window scale 7, SACK permitted, MSS, NOP, NOP */
	const __u8 opts[12] = { 1, 3, 3, 7, 4, 2, 2, 4, (__u8)(mss >> 8), (__u8)mss, 1, 1 };
	struct frame_opts u = *o;
	__u32 n, l3 = 14 + 4u * (__u32)o->vlans, l4 = l3 + (o->ipv6 ? 40 : 20), sum;
	__u8 *tcp = out + l4;

	/* a UDP frame of the right size, then its L4 header made a SYN */
	u.tcp = false;
	n = frame_build(out, &u, opts, 12 + 20 - 8);
	if (o->ipv6)
		out[l3 + 6] = 6;
	else {
		out[l3 + 9] = 6;
		put16(out + l3 + 10, 0);
		put16(out + l3 + 10, csum_fold(csum_add(0, out + l3, 20)));
	}
	memset(tcp + 4, 0, 16);
	put16(tcp + 4, 0x1000);	/* seq */
	tcp[12] = (20 + 12) / 4 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	memcpy(tcp + 20, opts, 12);
	sum = o->ipv6 ? csum_add(0, out + l3 + 8, 32) : csum_add(0, out + l3 + 12, 8);
	sum += 6 + 32;
	sum = csum_add(sum, tcp, 32);
	put16(tcp + 16, csum_fold(sum));
	return n;
}

/* The IP layer of a frame_build UDP frame made protocol `proto`. */
static void set_ip_proto(__u8 *out, const struct frame_opts *o, __u8 proto)
{
	__u8 *ip = out + 14 + 4u * (__u32)o->vlans;

	if (o->ipv6) {
		ip[6] = proto;
		return;
	}
	ip[9] = proto;
	put16(ip + 10, 0);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
}

__u32 frame_tcp(__u8 *out, const struct frame_opts *o, __u8 flags, __u32 payload_len)
{
	static const __u8 zeros[1400 + 12];
	struct frame_opts u = *o;
	__u32 n, l3 = 14 + 4u * (__u32)o->vlans, l4 = l3 + (o->ipv6 ? 40 : 20), sum;
	__u8 *tcp = out + l4;

	if (payload_len > 1400)
		payload_len = 1400;
	/* a UDP frame of the right size, then its L4 header made TCP */
	u.tcp = false;
	n = frame_build(out, &u, zeros, 20 - 8 + payload_len);
	set_ip_proto(out, o, 6);
	memset(tcp + 4, 0, 16);
	put16(tcp + 4, 0x1000);	/* seq */
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	sum = o->ipv6 ? csum_add(0, out + l3 + 8, 32) : csum_add(0, out + l3 + 12, 8);
	sum += 6 + 20 + payload_len;
	sum = csum_add(sum, tcp, 20 + payload_len);
	put16(tcp + 16, csum_fold(sum));
	return n;
}

__u32 frame_ip_raw(__u8 *out, const struct frame_opts *o, __u8 proto, const void *l4, __u32 len)
{
	struct frame_opts u = *o;
	__u32 n, off = 14 + 4u * (__u32)o->vlans + (o->ipv6 ? 40 : 20);

	if (len < 8)
		len = 8;
	u.tcp = false;
	n = frame_build(out, &u, (const __u8 *)l4 + 8, len - 8);
	memcpy(out + off, l4, len);
	set_ip_proto(out, o, proto);
	return n;
}

__u32 frame_vxlan(__u8 *out, const struct frame_opts *o, __u32 vni, const __u8 *inner, __u32 inner_len)
{
	static __u8 payload[FRAME_CAP];
	struct frame_opts u = *o;

	if (inner_len > sizeof(payload) - 8 - 128)
		inner_len = sizeof(payload) - 8 - 128;
	memset(payload, 0, 8);
	payload[0] = 0x08;	/* I: the VNI is valid */
	payload[4] = (__u8)(vni >> 16);
	payload[5] = (__u8)(vni >> 8);
	payload[6] = (__u8)vni;
	memcpy(payload + 8, inner, inner_len);
	u.tcp = false;
	u.dport = o->dport ? o->dport : 4789;
	return frame_build(out, &u, payload, 8 + inner_len);
}

void pkt_put32(__u8 *p, __u32 v)
{
	put32(p, v);
}

__u16 pkt_get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

const char *pkt_hex(const __u8 *p, size_t n)
{
	static char buf[3 * 64 + 1];
	size_t i;

	buf[0] = 0;
	for (i = 0; i < n && i < 64; i++)
		snprintf(buf + 3 * i, 4, "%02x ", p[i]);
	return buf;
}

__u32 frame_nsh(__u8 *out, const struct frame_opts *o, const struct nsh_fields *h, const __u8 *ip, __u32 ip_len)
{
	static __u8 payload[FRAME_CAP];
	__u8 *gpe = payload, *nsh = payload + 8;
	__u16 base = (__u16)((h->ttl & 0x3f) << 6 | (h->len_words & 0x3f));	/* version 0, O 0 */
	struct frame_opts u = *o;

	if (ip_len > sizeof(payload) - 32 - 128)
		ip_len = sizeof(payload) - 32 - 128;
	memset(payload, 0, 32);
	gpe[0] = h->gpe_flags;
	gpe[3] = 4;	/* next protocol: NSH */
	put32(gpe + 4, h->spi << 8);
	put16(nsh, base);
	nsh[2] = h->md_type;
	nsh[3] = ip_len && ip[0] >> 4 == 6 ? 2 : 1;	/* IPv6 or IPv4 */
	put32(nsh + 4, h->spi << 8 | h->si);
	put32(nsh + 8, h->code);
	put32(nsh + 12, h->spi);
	put32(nsh + 16, h->flags);
	memcpy(payload + 32, ip, ip_len);
	u.tcp = false;
	u.dport = o->dport ? o->dport : 4790;
	return frame_build(out, &u, payload, 32 + ip_len);
}
