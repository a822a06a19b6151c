# narrate.bash - how the demos tell their story (scripts/demo.sh,
# scripts/demo-cluster.sh). Source it.
#
#   step N TITLE       a numbered step's header; with DEMO_PAUSE=1 on a
#                      terminal it first calls pause_before N, which the demo
#                      defines (it says whether and how to wait there)
#   tell LINE...       plain explanation, one line per argument
#   note TEXT          what just happened, in one line
#   cmd WORD...        a command as it can be typed
#   show CMD...        print the command, then run it
#   fail_step EXPECTED HAPPENED [LOG...]
#                      say what step $STEP expected and what happened, with
#                      the logs' tails, and exit 1 (the demo's exit trap
#                      cleans up)
#   wait_for FILE TEXT SECONDS   until FILE holds TEXT
#   demo_preflight TARGET TOOL...
#                      root, every TOOL and build/cloudsteer, or say how
#                      `sudo make TARGET` gets them and exit 1
#
# and how they end, in their exit trap:
#   demo_cleanup_begin RC   first: no more traps, a second Ctrl-C cannot cut
#                           the clean-up short; says "interrupted" (RC 130) or
#                           "terminated" (143)
#   demo_finish RC WHAT     last, once the demo removed what it made:
#                           /run/netns as it was, then what of the run is left
#                           (the demo's function leftovers prints it, or
#                           nothing), "left nothing behind (no WHAT of this
#                           run)" or what was left, and exit (1 if anything was)
STEP=0
# `ip netns add` makes /run/netns (a mount point) when it is missing: a demo
# that found none leaves none (sourced before it makes any namespace)
if [ -d /run/netns ]; then MADE_NETNS_DIR=0; else MADE_NETNS_DIR=1; fi
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi

step() {
	STEP=$1
	# (only on a terminal: without one there is nobody to press Enter)
	if [ "${DEMO_PAUSE:-0}" = 1 ] && [ -t 0 ]; then
		pause_before "$1"
	fi
	printf '\n%s== %s. %s%s\n' "$BOLD" "$1" "$2" "$PLAIN"
}
tell() { printf '%s\n' "$@"; }
note() { printf -- '-> %s\n' "$*"; }
cmd() { printf '$ %s\n' "$*"; }
show() { cmd "$@"; "$@"; }

fail_step() {
	local f
	printf '\ndemo: step %s failed: expected %s; %s\n' "$STEP" "$1" "$2" >&2
	for f in "${@:3}"; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s:\n' "$(basename "$f")" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}

wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

demo_preflight() {
	local t missing=
	[ "$(id -u)" = 0 ] || { echo "$1: run as root: sudo make $1" >&2; exit 1; }
	for t in "${@:2}"; do
		command -v "$t" >/dev/null || missing="$missing $t"
	done
	if [ -n "$missing" ]; then
		echo "$1: missing:$missing; \`sudo make $1\` installs them (scripts/install-deps.sh $1)" >&2
		exit 1
	fi
	[ -x build/cloudsteer ] || { echo "$1: no build/cloudsteer: run make (or sudo make $1)" >&2; exit 1; }
}

demo_cleanup_begin() {
	trap - EXIT ERR
	trap '' INT TERM
	set +e
	[ "$1" = 130 ] && printf '\ndemo: interrupted\n'
	[ "$1" = 143 ] && printf '\ndemo: terminated\n'
}

demo_finish() {
	local rc=$1 left
	if [ $MADE_NETNS_DIR = 1 ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
		mountpoint -q /run/netns && umount /run/netns
		rmdir /run/netns 2>/dev/null
	fi
	left=$(leftovers)
	if [ -n "$left" ]; then
		printf 'demo: left behind: %s\n' "$left" >&2
		[ "$rc" = 0 ] && rc=1
	else
		printf 'demo: cleaned up: left nothing behind (no %s of this run)\n' "$2"
	fi
	[ "$rc" = 0 ] && printf 'demo: done in %ss\n' $(($(date +%s) - START))
	exit "$rc"
}
