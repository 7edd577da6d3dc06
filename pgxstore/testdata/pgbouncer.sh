#!/usr/bin/env bash
# Run PgBouncer in transaction pooling mode in front of the PostgreSQL server
# of SQLSESSION_TEST_POSTGRES_DSN, for pgxstore's PgBouncer test:
#
#   eval "$(pgxstore/testdata/pgbouncer.sh start [DIR])"
#   go test ./...                      # in pgxstore/
#   pgxstore/testdata/pgbouncer.sh stop [DIR]
#
# start installs pgbouncer from the Debian packages when it is missing (as
# root), writes its configuration, log and pid file to DIR, starts it on a
# free port of 127.0.0.1 and prints on stdout the line
#   export SQLSESSION_TEST_PGBOUNCER_DSN='postgres://...'
# stop ends the PgBouncer whose pid is in DIR's pid file, and only that one.
# DIR defaults to $SQLSESSION_PGBOUNCER_DIR, else $TMPDIR/sqlsession-pgbouncer.
#
# SQLSESSION_TEST_POSTGRES_DSN must be a URL (postgres://user:pass@host:port/db).
# PgBouncer refuses to run as root: as root it runs as the postgres user.
# Progress goes to stderr. Exit status is non-zero on failure.
set -euo pipefail

log() { printf 'pgbouncer.sh: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

cmd=${1:-}
dir=${2:-${SQLSESSION_PGBOUNCER_DIR:-${TMPDIR:-/tmp}/sqlsession-pgbouncer}}
pidfile=$dir/pgbouncer.pid

# The pid in the pid file, if that process is a running pgbouncer.
running_pid() {
    local pid
    [[ -r $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == pgbouncer ]] || return 1
    echo "$pid"
}

port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Percent-decoding for the parts of a URL.
urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

stop() {
    local pid i
    if ! pid=$(running_pid); then
        log "no pgbouncer running from $pidfile"
        return 0
    fi
    kill -TERM "$pid"
    for ((i = 0; i < 50; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
        log "pgbouncer $pid still running after 5s: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    log "stopped pgbouncer $pid"
}

install_pgbouncer() {
    command -v pgbouncer >/dev/null 2>&1 && return 0
    [[ -x /usr/sbin/pgbouncer ]] && { PATH=$PATH:/usr/sbin; return 0; }
    [[ $(id -u) == 0 ]] || die "pgbouncer is not installed (apt-get install pgbouncer, as root)"
    command -v apt-get >/dev/null 2>&1 || die "pgbouncer is not installed and there is no apt-get"
    log "installing pgbouncer"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >&2; then
        apt-get update -q >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >&2 ||
            die "apt-get install pgbouncer failed"
    fi
    command -v pgbouncer >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
    command -v pgbouncer >/dev/null 2>&1 || die "pgbouncer not found after installing it"
}

start() {
    local dsn=${SQLSESSION_TEST_POSTGRES_DSN:-}
    [[ -n $dsn ]] || die "SQLSESSION_TEST_POSTGRES_DSN is not set"
    local re='^postgres(ql)?://(([^:@/]*)(:([^@/]*))?@)?([^:/?]*)(:([0-9]+))?(/([^?]*))?(\?.*)?$'
    [[ $dsn =~ $re ]] || die "SQLSESSION_TEST_POSTGRES_DSN is not a postgres:// URL"
    local user pass host port db
    user=$(urldecode "${BASH_REMATCH[3]}")
    pass=$(urldecode "${BASH_REMATCH[5]}")
    host=${BASH_REMATCH[6]:-127.0.0.1}
    port=${BASH_REMATCH[8]:-5432}
    db=$(urldecode "${BASH_REMATCH[10]}")
    user=${user:-postgres}
    db=${db:-$user}
    [[ $db =~ ^[A-Za-z0-9_]+$ && $user =~ ^[A-Za-z0-9_]+$ ]] ||
        die "database and user names must be plain identifiers here"
    [[ $pass != *"'"* && $pass != *' '* ]] || die "passwords with quotes or spaces are not supported"

    if pid=$(running_pid); then
        die "pgbouncer $pid is already running from $pidfile (stop it first)"
    fi
    install_pgbouncer

    local runas=()
    mkdir -p "$dir"
    if [[ $(id -u) == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run pgbouncer as"
        chown postgres "$dir"
        runas=(runuser -u postgres --)
    fi

    local try pgport
    for ((try = 0; try < 20; try++)); do
        pgport=$((20000 + RANDOM % 30000))
        port_open "$pgport" && continue
        cat >"$dir/pgbouncer.ini" <<EOF
[databases]
$db = host=$host port=$port dbname=$db user=$user${pass:+ password=$pass}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgport
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 10
max_client_conn = 500
logfile = $dir/pgbouncer.log
pidfile = $pidfile
ignore_startup_parameters = extra_float_digits
EOF
        chmod 644 "$dir/pgbouncer.ini"
        rm -f "$pidfile"
        if ! "${runas[@]}" pgbouncer -d -q "$dir/pgbouncer.ini" >&2; then
            log "pgbouncer did not start on port $pgport; trying another"
            continue
        fi
        local i
        for ((i = 0; i < 50; i++)); do
            if running_pid >/dev/null && port_open "$pgport"; then
                log "pgbouncer $(running_pid) listens on 127.0.0.1:$pgport (transaction pooling) for $host:$port/$db"
                printf "export SQLSESSION_TEST_PGBOUNCER_DSN='postgres://%s@127.0.0.1:%s/%s?sslmode=disable'\n" \
                    "$user" "$pgport" "$db"
                return 0
            fi
            sleep 0.1
        done
        stop
        [[ -r $dir/pgbouncer.log ]] && tail -n 5 "$dir/pgbouncer.log" >&2
        log "pgbouncer did not come up on port $pgport; trying another"
    done
    die "could not start pgbouncer"
}

case $cmd in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop [DIR]" >&2
    exit 2
    ;;
esac
