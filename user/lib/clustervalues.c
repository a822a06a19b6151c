// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "addr.h"
#include "agreedmap.h"
#include "clusterkeys.h"
#include "clustervalues.h"

/* ---- JSON helpers: adding members, reading them back ---- */

static bool add(json_object *o, const char *name, json_object *v)
{
	if (!v)
		return false;
	if (json_object_object_add(o, name, v)) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool add_str(json_object *o, const char *name, const char *s)
{
	return add(o, name, json_object_new_string(s));
}

static bool add_int(json_object *o, const char *name, int64_t v)
{
	return add(o, name, json_object_new_int64(v));
}

static bool add_digest(json_object *o, const char *name, __u64 d)
{
	char hex[CS_DIGEST_TEXT];

	return add_str(o, name, cs_digest_text(d, hex, sizeof(hex)));
}

/* o's JSON, malloc'd, and o released. */
static char *finish(json_object *o, bool ok)
{
	char *out = ok ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;

	json_object_put(o);
	return out;
}

static json_object *parse(const char *json, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, json, (int)len) : NULL;

	json_tokener_free(tok);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A string member into buf; false when missing, not a string or too long. */
static bool get_str(json_object *o, const char *name, char *buf, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len)
		return false;
	memcpy(buf, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return true;
}

static bool get_int(json_object *o, const char *name, __s64 *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static bool get_bool(json_object *o, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static bool get_digest(json_object *o, const char *name, __u64 *out)
{
	char hex[CS_DIGEST_TEXT], *end;

	if (!get_str(o, name, hex, sizeof(hex)) || strlen(hex) != 16)
		return false;
	*out = strtoull(hex, &end, 16);
	return !*end;
}

/* ---- nodes/ ---- */

static bool add_addresses(json_object *o, const struct cs_node_value *v)
{
	json_object *list = json_object_new_array();
	char text[CS_ADDR_TEXT_MAX];
	size_t i;

	if (!list)
		return false;
	for (i = 0; i < v->n_addrs; i++)
		if (json_object_array_add(list, json_object_new_string(cs_addr_format(&v->addrs[i], text,
										     sizeof(text))))) {
			json_object_put(list);
			return false;
		}
	return add(o, "addresses", list);
}

static bool add_digests(json_object *o, const struct cs_conf_digest *d)
{
	json_object *parts = json_object_new_object();
	size_t i;
	bool ok = parts != NULL;

	for (i = 0; ok && i < CS_DIGEST_PARTS; i++)
		ok = add_digest(parts, cs_digest_part_names[i], d->part[i]);
	if (!ok) {
		json_object_put(parts);
		return false;
	}
	return add(o, "digests", parts) && add_digest(o, "config", d->all) &&
	       (!d->random_affinity_key || add(o, "random_affinity_key", json_object_new_boolean(1)));
}

static bool add_synced(json_object *o, const struct cs_node_value *v)
{
	json_object *list = json_object_new_array();
	size_t i;

	for (i = 0; list && i < v->n_synced; i++)
		if (json_object_array_add(list, json_object_new_string(v->synced[i]))) {
			json_object_put(list);
			return false;
		}
	return add(o, "synced", list);
}

static bool add_tables(json_object *o, const struct cs_node_value *v)
{
	json_object *tables;
	size_t i;

	if (!v->n_tables)
		return true;	/* an instance node, or no chain: no member */
	tables = json_object_new_object();
	for (i = 0; tables && i < v->n_tables; i++) {
		json_object *t = json_object_new_object();

		if (!t || !add_digest(t, "digest", v->tables[i].digest) || !add_int(t, "map", v->tables[i].map_revision) ||
		    !add(tables, v->tables[i].chain, t)) {
			json_object_put(t);
			json_object_put(tables);
			return false;
		}
	}
	return add(o, "tables", tables);
}

char *cs_node_value_encode(const struct cs_node_value *v)
{
	json_object *o = json_object_new_object();

	return finish(o, o && add_str(o, "role", v->role) && add_str(o, "version", v->version) &&
			       add_addresses(o, v) && add_digests(o, &v->digest) &&
			       add_int(o, "lease_ttl", v->lease_ttl_s) && add_int(o, "started", v->started_s) &&
			       add_synced(o, v) && add_tables(o, v));
}

/* Tables that do not parse are left out: a node of another version. */
static void get_tables(json_object *o, struct cs_node_value *v)
{
	json_object *tables;

	if (!json_object_object_get_ex(o, "tables", &tables) || !json_object_is_type(tables, json_type_object))
		return;
	json_object_object_foreach(tables, chain, t)
	{
		struct cs_node_table *nt = &v->tables[v->n_tables];

		if (v->n_tables >= CS_NODE_TABLES_MAX || strlen(chain) >= sizeof(nt->chain) ||
		    !json_object_is_type(t, json_type_object) || !get_digest(t, "digest", &nt->digest))
			continue;
		strcpy(nt->chain, chain);
		get_int(t, "map", &nt->map_revision);
		v->n_tables++;
	}
}

/* take(each string of the array member name, v). */
static void each_string(json_object *o, const char *name, void (*take)(const char *s, struct cs_node_value *v),
			struct cs_node_value *v)
{
	json_object *list;
	size_t i, n;

	if (!json_object_object_get_ex(o, name, &list) || !json_object_is_type(list, json_type_array))
		return;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(list, i));

		if (s)
			take(s, v);
	}
}

static void take_address(const char *s, struct cs_node_value *v)
{
	if (v->n_addrs < CS_NODE_ADDRS_MAX && !cs_addr_parse(s, &v->addrs[v->n_addrs]))
		v->n_addrs++;
}

static void take_synced(const char *s, struct cs_node_value *v)
{
	if (v->n_synced < CS_NODE_SYNCED_MAX && strlen(s) < CS_NODE_WORD_MAX)
		strcpy(v->synced[v->n_synced++], s);
}

/* Parts a node of another version does not publish stay 0. */
static void get_digests(json_object *o, struct cs_conf_digest *d)
{
	json_object *parts, *flag;
	size_t i;

	if (json_object_object_get_ex(o, "digests", &parts) && json_object_is_type(parts, json_type_object))
		for (i = 0; i < CS_DIGEST_PARTS; i++)
			get_digest(parts, cs_digest_part_names[i], &d->part[i]);
	d->random_affinity_key = json_object_object_get_ex(o, "random_affinity_key", &flag) &&
				 json_object_get_boolean(flag);
}

int cs_node_value_decode(const char *json, size_t len, struct cs_node_value *v)
{
	json_object *o = parse(json, len);
	__s64 ttl = 0, started = 0;
	bool ok;

	memset(v, 0, sizeof(*v));
	if (!o)
		return -EINVAL;
	ok = get_str(o, "role", v->role, sizeof(v->role)) && get_digest(o, "config", &v->digest.all);
	if (ok) {
		get_str(o, "version", v->version, sizeof(v->version));
		each_string(o, "addresses", take_address, v);
		get_digests(o, &v->digest);
		get_int(o, "lease_ttl", &ttl);
		get_int(o, "started", &started);
		v->lease_ttl_s = ttl > 0 && ttl < (1 << 30) ? (__u32)ttl : 0;
		v->started_s = started;
		each_string(o, "synced", take_synced, v);
		get_tables(o, v);
	}
	json_object_put(o);
	return ok ? 0 : -EINVAL;
}

/* ---- ip/ ---- */

char *cs_record_value_encode(const struct cs_record_value *v)
{
	json_object *o = json_object_new_object();

	return finish(o, o && add_str(o, "pattern", v->pattern) && add_digest(o, "rule", v->rule) &&
			       add_str(o, "chain", v->chain) && add_int(o, "ttl", v->ttl) &&
			       add_int(o, "expires", v->expires_s) && add_int(o, "learned", v->learned_ms) &&
			       add_str(o, "by", v->by));
}

int cs_record_value_decode(const char *json, size_t len, struct cs_record_value *v)
{
	json_object *o = parse(json, len);
	__s64 ttl = -1;
	bool ok;

	memset(v, 0, sizeof(*v));
	if (!o)
		return -EINVAL;
	ok = get_str(o, "pattern", v->pattern, sizeof(v->pattern)) && v->pattern[0] &&
	     get_int(o, "expires", &v->expires_s) && get_int(o, "ttl", &ttl) && ttl >= 0 && ttl <= 0x7fffffff &&
	     get_str(o, "by", v->by, sizeof(v->by)) && v->by[0];
	if (ok) {
		v->ttl = (__u32)ttl;
		get_digest(o, "rule", &v->rule);
		get_str(o, "chain", v->chain, sizeof(v->chain));
		get_int(o, "learned", &v->learned_ms);
	}
	json_object_put(o);
	return ok ? 0 : -EINVAL;
}

int cs_record_key(char *buf, size_t len, const char *cluster, const struct cs_addr *addr, const char *name)
{
	char ip[CS_ADDR_TEXT_MAX];
	const char *parts[2] = { cs_addr_format(addr, ip, sizeof(ip)), name };

	return cs_ckey(buf, len, cluster, CS_CKEY_IP, parts, 2);
}

/* A name as learn writes it: lower case letters, digits, '-', '_', '.',
 * and '*' (a wildcard owner), no empty label. */
static bool name_looks_learned(const char *s, size_t len)
{
	size_t i;

	if (!len || len >= CS_NAME_TEXT_MAX || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*' ||
		      (c == '.' && i + 1 < len && s[i + 1] != '.')))
			return false;
	}
	return true;
}

int cs_record_key_parse(const char *key, size_t len, size_t prefix_len, struct cs_addr *addr, char *name,
			size_t namelen)
{
	const char *rest = key + prefix_len, *slash;
	char ip[CS_ADDR_TEXT_MAX];
	size_t rest_len, ip_len, name_len;

	if (len <= prefix_len)
		return -EINVAL;
	rest_len = len - prefix_len;
	slash = memchr(rest, '/', rest_len);
	if (!slash)
		return -EINVAL;
	ip_len = (size_t)(slash - rest);
	name_len = rest_len - ip_len - 1;
	if (!ip_len || ip_len >= sizeof(ip) || name_len >= namelen || !name_looks_learned(slash + 1, name_len))
		return -EINVAL;
	memcpy(ip, rest, ip_len);
	ip[ip_len] = 0;
	if (cs_addr_parse(ip, addr))
		return -EINVAL;
	memcpy(name, slash + 1, name_len);
	name[name_len] = 0;
	return 0;
}

/* ---- leases ---- */

__s64 cs_lease_bucket(__s64 expires_s)
{
	__s64 r = expires_s % CS_LEASE_BUCKET_S;

	if (r < 0)
		r += CS_LEASE_BUCKET_S;
	return r ? expires_s - r + CS_LEASE_BUCKET_S : expires_s;
}

__s64 cs_lease_ttl(__s64 bucket_s, __s64 now_s)
{
	__s64 ttl = bucket_s - now_s + CS_LEASE_SLACK_S;

	return ttl < CS_LEASE_TTL_MIN_S ? CS_LEASE_TTL_MIN_S : ttl;
}

/* ---- obs/, leader/, map/ (agreedmap.h) ---- */

char *cs_obs_value_encode(const struct cs_obs_value *v)
{
	json_object *o = json_object_new_object();

	return finish(o, o && add_str(o, "state", v->down ? "down" : "up") && add_int(o, "since", v->since_ms) &&
			       add_str(o, "why", v->why) && add(o, "self", json_object_new_boolean(v->self)));
}

int cs_obs_value_decode(const char *json, size_t len, struct cs_obs_value *v)
{
	json_object *o = parse(json, len);
	char state[16];
	bool ok;

	memset(v, 0, sizeof(*v));
	if (!o)
		return -EINVAL;
	ok = get_str(o, "state", state, sizeof(state)) && (!strcmp(state, "up") || !strcmp(state, "down"));
	if (ok) {
		v->down = !strcmp(state, "down");
		get_int(o, "since", &v->since_ms);
		get_str(o, "why", v->why, sizeof(v->why));
		v->self = get_bool(o, "self");
	}
	json_object_put(o);
	return ok ? 0 : -EINVAL;
}

char *cs_leader_value_encode(const struct cs_leader_value *v)
{
	json_object *o = json_object_new_object();

	return finish(o, o && add_str(o, "node", v->node) && add_int(o, "since", v->since_ms));
}

int cs_leader_value_decode(const char *json, size_t len, struct cs_leader_value *v)
{
	json_object *o = parse(json, len);
	bool ok;

	memset(v, 0, sizeof(*v));
	if (!o)
		return -EINVAL;
	ok = get_str(o, "node", v->node, sizeof(v->node)) && v->node[0];
	if (ok)
		get_int(o, "since", &v->since_ms);
	json_object_put(o);
	return ok ? 0 : -EINVAL;
}

static json_object *agreed_instance_json(const struct cs_agreed_instance *in)
{
	json_object *o = json_object_new_object();

	if (o && add_str(o, "name", in->name) && add_str(o, "state", cs_agreed_state_name(in->state)) &&
	    add_int(o, "since", in->since_ms) && add(o, "member", json_object_new_boolean(in->member)))
		return o;
	json_object_put(o);
	return NULL;
}

static bool add_agreed_instances(json_object *o, const struct cs_map_value *v)
{
	json_object *list = json_object_new_array();
	size_t i;

	for (i = 0; list && i < v->n; i++) {
		json_object *one = agreed_instance_json(&v->inst[i]);

		if (!one || json_object_array_add(list, one)) {
			json_object_put(one);
			json_object_put(list);
			return false;
		}
	}
	return add(o, "instances", list);
}

char *cs_map_value_encode(const struct cs_map_value *v)
{
	json_object *o = json_object_new_object();

	return finish(o, o && add_str(o, "chain", v->chain) && add_int(o, "buckets", v->n_buckets) &&
			       add_str(o, "leader", v->leader) && add_int(o, "fence", v->fence) &&
			       add_digest(o, "chains", v->chains_digest) && add_int(o, "decided", v->decided_ms) &&
			       add_agreed_instances(o, v));
}

static bool get_agreed_instance(json_object *o, struct cs_agreed_instance *in)
{
	char state[16];

	if (!json_object_is_type(o, json_type_object) || !get_str(o, "name", in->name, sizeof(in->name)) ||
	    !in->name[0] || !get_str(o, "state", state, sizeof(state)) || cs_agreed_state_parse(state, &in->state))
		return false;
	get_int(o, "since", &in->since_ms);
	in->member = get_bool(o, "member");
	return true;
}

static bool get_agreed_instances(json_object *o, struct cs_map_value *v)
{
	json_object *list;
	size_t i, j, n;

	if (!json_object_object_get_ex(o, "instances", &list) || !json_object_is_type(list, json_type_array))
		return false;
	n = json_object_array_length(list);
	if (n > CS_AGREED_INSTANCES_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (!get_agreed_instance(json_object_array_get_idx(list, i), &v->inst[i]))
			return false;
		for (j = 0; j < i; j++)
			if (!strcmp(v->inst[j].name, v->inst[i].name))
				return false;
	}
	v->n = n;
	return true;
}

int cs_map_value_decode(const char *json, size_t len, struct cs_map_value *v)
{
	json_object *o = parse(json, len);
	__s64 buckets = 0;
	bool ok;

	memset(v, 0, sizeof(*v));
	if (!o)
		return -EINVAL;
	ok = get_str(o, "chain", v->chain, sizeof(v->chain)) && get_int(o, "buckets", &buckets) && buckets > 0 &&
	     buckets <= CS_BUCKETS_MAX && !(buckets & (buckets - 1)) && get_int(o, "fence", &v->fence) &&
	     get_agreed_instances(o, v);
	if (ok) {
		v->n_buckets = (__u32)buckets;
		get_str(o, "leader", v->leader, sizeof(v->leader));
		get_digest(o, "chains", &v->chains_digest);
		get_int(o, "decided", &v->decided_ms);
	}
	json_object_put(o);
	return ok ? 0 : -EINVAL;
}

char *cs_drain_value_encode(const char *by, __s64 at_ms)
{
	json_object *o = json_object_new_object();

	return finish(o, o && add_str(o, "by", by) && add_int(o, "at", at_ms));
}
