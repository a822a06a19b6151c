// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer health - ask a running daemon's GET /healthz (lib/healthz.h) on
 * the metrics listener its config names: a container's HEALTHCHECK, where
 * no curl is installed.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "lib/addr.h"
#include "lib/cli.h"
#include "lib/config.h"
#include "lib/log.h"

#define CS_HEALTH_TIMEOUT_MS 2000	/* a HEALTHCHECK's own timeout is longer */

static const char health_usage[] =
	"usage: cloudsteer health [-c FILE] [--instance]\n"
	"\n"
	"Ask the daemon the config names whether it is healthy: GET /healthz on its\n"
	"metrics listener. Prints the daemon's line (ok, or why not).\n"
	"Exit status: 0 healthy, 1 not (or no answer), 2 a bad config or no metrics.\n"
	"\n"
	"  -c, --config FILE  the YAML config (default " CS_DEFAULT_CONFIG ")\n"
	"      --instance     the instance daemon's listener (instance.metrics)\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
	"  -h, --help         this text\n";

/* http://ADDR:PORT/healthz; a wildcard listener is asked on loopback */
static void healthz_url(const struct cs_listen *at, char *url, size_t len)
{
	bool v4 = cs_addr_is_v4(&at->addr);
	char addr[CS_ADDR_TEXT_MAX];

	cs_addr_format(&at->addr, addr, sizeof(addr));
	if (!strcmp(addr, "0.0.0.0") || !strcmp(addr, "::"))
		snprintf(addr, sizeof(addr), "%s", v4 ? "127.0.0.1" : "::1");
	snprintf(url, len, "http://%s%s%s:%u/healthz", v4 ? "" : "[", addr, v4 ? "" : "]", at->port);
}

static size_t print_body(char *data, size_t size, size_t n, void *ctx)
{
	return fwrite(data, size, n, stdout) * size;
}

/* 0: 200; 1: another status or no answer (said on stderr) */
static int ask(const char *url)
{
	CURL *e = curl_easy_init();
	long status = 0;
	CURLcode cc;

	if (!e) {
		cs_err("health: cannot start libcurl");
		return 1;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)CS_HEALTH_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");	/* a proxy from the environment is never right here */
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, print_body);
	cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	if (cc != CURLE_OK) {
		cs_err("health: %s: %s (is the daemon running?)", url, curl_easy_strerror(cc));
		return 1;
	}
	return status == 200 ? 0 : 1;
}

int cmd_health(int argc, char **argv)
{
	bool instance = false;
	const struct cs_own_flag own[] = { { "instance", 0, NULL, &instance }, { NULL } };
	struct cs_cli cli = { .cmd = "health", .usage = health_usage, .flags = CS_FLAG_CONFIG | CS_FLAG_VERBOSE,
			      .own = own, .no_operands = true, .config = CS_DEFAULT_CONFIG };
	const struct cs_listen *at;
	struct cs_conf conf;
	char err[1024], url[CS_ADDR_TEXT_MAX + 32];
	int rc = cs_cli_parse(&cli, argc, argv);

	if (rc != CS_CLI_GO_ON)
		return rc;
	if (cs_config_load(cli.config, &conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 2;
	}
	/* as `cloudsteer instance` picks its listener */
	at = instance && conf.instance.metrics.on ? &conf.instance.metrics : &conf.metrics;
	if (!at->on) {
		cs_err("health: %s names no metrics listener (metrics: ADDRESS:PORT), so there is no /healthz to ask",
		       cli.config);
		cs_config_free(&conf);
		return 2;
	}
	healthz_url(at, url, sizeof(url));
	cs_config_free(&conf);
	return ask(url);
}
