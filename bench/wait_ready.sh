# Sourced by the bench scripts. wait_ready PORT PID LOG: waits (up to 60 s) until
# `GET /health` on 127.0.0.1:PORT answers 200 (the model is loaded); prints LOG and exits 1
# when the server PID died first. Uses bash's /dev/tcp, so it needs no curl.
wait_ready() {
    local port=$1 pid=$2 log=$3 status
    for _ in $(seq 1 300); do
        if { exec 3<> "/dev/tcp/127.0.0.1/$port"; } 2> /dev/null; then
            printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
            status=
            read -r _ status _ <&3 || true
            exec 3<&-
            [ "$status" = 200 ] && return 0
        fi
        kill -0 "$pid" 2> /dev/null || { cat "$log"; exit 1; }
        sleep 0.2
    done
    echo "wait_ready: no 200 from /health on port $port after 60 s" >&2
    exit 1
}
