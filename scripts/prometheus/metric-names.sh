#!/bin/sh
# metric-names.sh [DOC]: the metric families docs/metrics.md documents, one a
# line, sorted: the first column of its tables' rows whose second column is
# a type (gauge, counter, histogram, summary). tests/e2e/metrics.sh checks
# this list against what the daemons export; tests/e2e/prometheus.sh checks
# the alert rules and the dashboard against it.
doc=${1:-$(dirname "$0")/../../docs/metrics.md}
sed -nE 's/^\| `((cloudsteer|process)_[a-z_]+)[^|]*` \| (gauge|counter|histogram|summary) \|.*/\1/p' "$doc" | sort -u
