# bash completion for cloudsteer. Installed as
# /usr/share/bash-completion/completions/cloudsteer; source it by hand to try
# it: `. scripts/completion/cloudsteer.bash`. Needs nothing but bash (the
# bash-completion package's helpers are not used).
#
# The lists below are those of `cloudsteer --help` and of each command's
# --help; tests/e2e/completion.sh fails when they drift apart.

_cloudsteer_commands="check run detach replay show status health explain drain instance help version"
_cloudsteer_show_subcommands="table routes rules stats chains instances map streams sync cluster"

# The options of one command, long and short.
_cloudsteer_options() {
	local common="-v --verbose -h --help"
	case $1 in
	check)    echo "-c --config $common" ;;
	run)      echo "-c --config --detach-on-exit -p --pin-dir $common" ;;
	detach)   echo "-c --config -p --pin-dir $common" ;;
	replay)   echo "-c --config -j --json $common" ;;
	show)     echo "-c --config -j --json -p --pin-dir $common" ;;
	status)   echo "-c --config -j --json -p --pin-dir $common" ;;
	health)   echo "-c --config --instance $common" ;;
	explain)  echo "-c --config -j --json -p --pin-dir $common" ;;
	drain)    echo "-c --config --undo -p --pin-dir $common" ;;
	instance) echo "-c --config -n --name --detach-on-exit -p --pin-dir $common" ;;
	esac
}

# The config files where they usually are, then whatever the word names.
_cloudsteer_configs() {
	local cur=$1
	compopt -o filenames 2>/dev/null	# directories get their slash
	COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
	[ -z "$cur" ] && [ -d /etc/cloudsteer ] && COMPREPLY+=($(compgen -f -X '!*.@(yaml|yml)' -- /etc/cloudsteer/))
}

# Does the command line already hold a non-option word after the command
# (show's subcommand)? Options that take an argument are skipped with it.
_cloudsteer_operand() {
	local i w
	for ((i = 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-c|--config|-p|--pin-dir|-n|--name) ((i++)) ;;
		-*) ;;
		*) echo "$w"; return ;;
		esac
	done
}

_cloudsteer() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd=${COMP_WORDS[1]}
	local extglob_was
	extglob_was=$(shopt -p extglob)
	shopt -s extglob
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$_cloudsteer_commands --help --version" -- "$cur"))
	else
		case $prev in
		-c|--config) _cloudsteer_configs "$cur" ;;
		-p|--pin-dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "${cur:-/sys/fs/bpf/}")) ;;
		-n|--name) ;;
		*)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "$(_cloudsteer_options "$cmd")" -- "$cur"))
			elif [ "$cmd" = show ] && [ -z "$(_cloudsteer_operand)" ]; then
				COMPREPLY=($(compgen -W "$_cloudsteer_show_subcommands" -- "$cur"))
			elif [ "$cmd" = replay ]; then
				COMPREPLY=($(compgen -f -X '!*.@(pcap|pcapng|cap)' -- "$cur") $(compgen -d -- "$cur"))
			fi
			;;
		esac
	fi
	eval "$extglob_was"
}
complete -F _cloudsteer cloudsteer
