// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* How long a quiet stream lives by its state (user/lib/flowlife.h): the
 * judgement both daemons' sweeps make, as a pure function of the state, the
 * last packet and the time. The defaults are steer.flow_timeouts' (syn 60 s,
 * established 5 d, fin 2 min, linger 10 s) and flow_idle's 2 min. */
#include <string.h>

#include "testing.h"
#include "lib/config.h"
#include "lib/flowlife.h"

T_SUITE("flowlife");

#define MS 1000000ULL
#define S (1000 * MS)
#define T0 (1000000ULL * S)	/* a boot time well past zero */

static struct cs_lifetimes defaults(void)
{
	struct cs_conf c;

	memset(&c, 0, sizeof(c));
	c.flow_timeouts = (struct cs_flow_timeouts){ CS_TIMEOUT_SYN_DEFAULT_MS, CS_TIMEOUT_ESTABLISHED_DEFAULT_MS,
						     CS_TIMEOUT_FIN_DEFAULT_MS, CS_TIMEOUT_LINGER_DEFAULT_MS };
	return cs_lifetimes_of(&c, CS_FLOW_IDLE_DEFAULT_MS);
}

/* Each state has its lifetime; protocols without state the idle time. */
static void lifetime_by_state(void)
{
	struct cs_lifetimes l = defaults();

	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_SYN_SENT), 60000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_SYN_RECV), 60000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_ESTABLISHED), 5ULL * 24 * 3600 * 1000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_CLOSING), 120000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_CLOSED), 10000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_ACTIVE), 120000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_NONE), 120000);
	EXPECT_EQ(cs_lifetime_ms(&l, 200), 120000);	/* a state this build does not know */
}

/* Alive up to its lifetime, that instant included; over one ns later. */
static void boundary(void)
{
	struct cs_lifetimes l = defaults();
	static const __u8 states[] = { CS_ST_SYN_SENT, CS_ST_SYN_RECV, CS_ST_ESTABLISHED, CS_ST_CLOSING,
				       CS_ST_CLOSED, CS_ST_ACTIVE };
	size_t i;

	for (i = 0; i < sizeof(states); i++) {
		__u64 life = cs_lifetime_ms(&l, states[i]) * MS;

		EXPECT(cs_stream_alive(&l, states[i], T0, T0), "state %u: dead at once", states[i]);
		EXPECT(cs_stream_alive(&l, states[i], T0, T0 + life), "state %u: dead at its lifetime", states[i]);
		EXPECT(!cs_stream_alive(&l, states[i], T0, T0 + life + 1), "state %u: alive past it", states[i]);
	}
}

/* The issue: an established connection quiet for far longer than
 * flow_idle, its records long expired, is alive; a UDP flow is not. */
static void quiet_connection_lives(void)
{
	struct cs_lifetimes l = defaults();

	l.other_ms = 2000;	/* flow_idle: 2s, as the e2e test sets it */
	EXPECT(cs_stream_alive(&l, CS_ST_ESTABLISHED, T0, T0 + 8 * S), "8 s quiet");
	EXPECT(cs_stream_alive(&l, CS_ST_ESTABLISHED, T0, T0 + 2 * 3600 * S), "TCP keepalive's 2 h");
	EXPECT(cs_stream_alive(&l, CS_ST_ESTABLISHED, T0, T0 + 4 * 24 * 3600 * S), "4 days");
	EXPECT(!cs_stream_alive(&l, CS_ST_ESTABLISHED, T0, T0 + 6 * 24 * 3600 * S), "6 days");
	EXPECT(!cs_stream_alive(&l, CS_ST_ACTIVE, T0, T0 + 8 * S), "UDP 8 s quiet");
}

/* A handshake that never completes, a half-closed and a closed connection
 * go soon; a half-closed one outlives a closed one. */
static void short_lived_states(void)
{
	struct cs_lifetimes l = defaults();

	EXPECT(!cs_stream_alive(&l, CS_ST_SYN_SENT, T0, T0 + 61 * S), "a SYN alone after 61 s");
	EXPECT(cs_stream_alive(&l, CS_ST_CLOSING, T0, T0 + 61 * S), "a FIN one way after 61 s");
	EXPECT(!cs_stream_alive(&l, CS_ST_CLOSING, T0, T0 + 121 * S), "a FIN one way after 121 s");
	EXPECT(cs_stream_alive(&l, CS_ST_CLOSED, T0, T0 + 9 * S), "closed, 9 s: lingers");
	EXPECT(!cs_stream_alive(&l, CS_ST_CLOSED, T0, T0 + 11 * S), "closed, 11 s");
}

/* The dataplane's clock read after the sweep's: a last packet "in the
 * future" is alive, never an underflow into a huge age. */
static void last_packet_after_now(void)
{
	struct cs_lifetimes l = defaults();

	EXPECT(cs_stream_alive(&l, CS_ST_CLOSED, T0 + 5 * MS, T0), "closed, last packet after now");
	EXPECT(cs_stream_alive(&l, CS_ST_SYN_SENT, ~0ULL, T0), "the largest time");
}

/* The configured values are what counts, each on its own. */
static void configured(void)
{
	struct cs_conf c;
	struct cs_lifetimes l;

	memset(&c, 0, sizeof(c));
	c.flow_timeouts = (struct cs_flow_timeouts){ .syn_ms = 1000, .established_ms = 30 * 86400000U,
						     .fin_ms = 3000, .linger_ms = 250 };
	l = cs_lifetimes_of(&c, 500);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_SYN_SENT), 1000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_ESTABLISHED), 30ULL * 86400000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_CLOSING), 3000);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_CLOSED), 250);
	EXPECT_EQ(cs_lifetime_ms(&l, CS_ST_ACTIVE), 500);
	EXPECT(cs_stream_alive(&l, CS_ST_ESTABLISHED, T0, T0 + 29ULL * 86400 * S), "29 of 30 days");
}

int main(void)
{
	RUN(lifetime_by_state);
	RUN(boundary);
	RUN(quiet_connection_lives);
	RUN(short_lived_states);
	RUN(last_packet_after_now);
	RUN(configured);
	T_EXIT();
}
