#!/usr/bin/env bash
# Stitch demo on the dataplane lab: VMs on two SR-IOV servers ping each other
# through two emulated hardware VTEPs, and every row on the switches comes
# from Stitch.
#
#   demo.sh [up]     lab + `stitch serve` + inventory + network "demo" with
#                    vm1 (srv1, leaf1) and vm2 (srv2, leaf2); shows them pinging
#   demo.sh infra    lab + `stitch serve` + inventory only (no network yet)
#   demo.sh down     stop Stitch and the lab, by PID; safe to run twice
#   demo.sh status   what runs, what the switches hold, where the VFs are
#   demo.sh url      print Stitch's base URL
#
# Environment:
#   STITCH_BIN     the stitch binary (default: target/release/stitch, then
#                  target/debug/stitch, also under $CARGO_TARGET_DIR)
#   STITCH_LISTEN  address for `stitch serve` (default 127.0.0.1:9696; :0 picks a free port)
#   LAB_DIR        state directory (default /tmp/stitch-lab); Stitch's data is in $LAB_DIR/stitch
#   LAB_NS_PREFIX  namespace name prefix (default "sl-")
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LAB=$HERE/lab.sh
export LAB_DIR=${LAB_DIR:-/tmp/stitch-lab}
export LAB_NS_PREFIX=${LAB_NS_PREFIX:-sl-}
STITCH_LISTEN=${STITCH_LISTEN:-127.0.0.1:9696}
SDIR=$LAB_DIR/stitch
PY=/usr/bin/python3   # Debian's python3; the lab needs it anyway for ovs-vtep

log() { printf 'demo: %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- stitch process
find_stitch() {
    if [[ -n ${STITCH_BIN:-} ]]; then
        [[ -x $STITCH_BIN ]] || die "STITCH_BIN=$STITCH_BIN is not an executable"
        echo "$STITCH_BIN"; return
    fi
    local c
    for c in ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR/release/stitch" "$CARGO_TARGET_DIR/debug/stitch"} \
        "$REPO/target/release/stitch" "$REPO/target/debug/stitch"; do
        [[ -x $c ]] && { echo "$c"; return; }
    done
    die "no stitch binary: build it (cargo build -p stitch) or set STITCH_BIN"
}

alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

start_stitch() {
    local bin pid deadline url
    bin=$(find_stitch)
    rm -rf "$SDIR"
    mkdir -p "$SDIR"
    log "starting $bin serve --data-dir $SDIR --listen $STITCH_LISTEN"
    # setsid: its own session, so a ctrl-c in this terminal later does not
    # reach it; run from a non-leader, setsid execs in place and $! is Stitch.
    STITCH_LOG=${STITCH_LOG:-info} setsid "$bin" serve --data-dir "$SDIR" --listen "$STITCH_LISTEN" \
        </dev/null >"$SDIR/stdout" 2>"$SDIR/stitch.log" &
    pid=$!
    echo "$pid" >"$SDIR/stitch.pid"
    deadline=$((SECONDS + 30))
    until url=$(sed -n 's/^stitch: listening on //p' "$SDIR/stdout" 2>/dev/null) && [[ -n $url ]]; do
        alive "$pid" || die "stitch exited at start; log: $SDIR/stitch.log
$(tail -20 "$SDIR/stitch.log")"
        ((SECONDS < deadline)) || die "timed out after 30s waiting for stitch to listen (log: $SDIR/stitch.log)"
        sleep 0.2
    done
    echo "$url" >"$SDIR/url"
    log "stitch pid $pid at $url"
}

stop_stitch() {
    local pid
    [[ -f $SDIR/stitch.pid ]] || return 0
    pid=$(cat "$SDIR/stitch.pid")
    rm -f "$SDIR/stitch.pid"
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 0
    # Only our Stitch: its command line names its data dir (guards PID reuse).
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--data-dir $SDIR" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || { log "stitch (pid $pid) stopped"; return 0; }; sleep 0.1; done
    log "stitch (pid $pid) ignored SIGTERM for 10s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- API
url() { cat "$SDIR/url" 2>/dev/null || die "stitch is not running (no $SDIR/url)"; }

# api METHOD PATH [JSON]: print the response body; fail on HTTP >= 400.
api() {
    local out code body
    out=$(curl -sS -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} \
        -w '\n%{http_code}' "$(url)$2") || die "$1 $2: cannot reach stitch"
    code=${out##*$'\n'}
    body=${out%$'\n'*}
    ((code < 400)) || die "$1 $2 -> HTTP $code: $body"
    printf '%s\n' "$body"
}

# jget KEY... < JSON: walk into the document (integers index lists).
jget() {
    "$PY" -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$@"
}

# ---------------------------------------------------------------- inventory
# Everything is read from `lab.sh info`, so the inventory always matches the lab.
load_inventory() {
    local info fabric hw card profile kind name rest
    info=$("$LAB" info)
    fabric=$(api POST /v1/fabrics '{"name": "lab", "vni_range": [5000, 5999], "vlan_range": [100, 199]}' | jget id)
    declare -gA SWITCH_ID=()
    while read -r kind name rest; do
        [[ $kind == switch ]] || continue
        local ovsdb tip
        ovsdb=$(sed -n 's/.*ovsdb=\([^ ]*\).*/\1/p' <<<"$rest")
        tip=$(sed -n 's/.*tunnel_ip=\([^ ]*\).*/\1/p' <<<"$rest")
        SWITCH_ID[$name]=$(api POST /v1/switches "{\"name\": \"$name\", \"fabric_id\": \"$fabric\",
            \"ovsdb\": \"$ovsdb\", \"tunnel_ip\": \"$tip\"}" | jget id)
        log "switch $name ($ovsdb, tunnel $tip): ${SWITCH_ID[$name]}"
    done <<<"$info"
    hw=$(api POST /v1/hardware '{"name": "lab-server", "model": "netns"}' | jget id)
    card=$(api POST /v1/cards "{\"name\": \"lab-sriov-nic\", \"hardware_ids\": [\"$hw\"],
        \"interface_map\": [{\"name\": \"ens1f0\", \"labels\": [\"sriov\"]}]}" | jget id)
    profile=$(api POST /v1/node-profiles "{\"name\": \"lab-compute\", \"hardware_ids\": [\"$hw\"]}" | jget id)
    log "hardware $hw, card $card, node profile $profile"
    while read -r kind name rest; do
        [[ $kind == server ]] || continue
        local nic sw port
        nic=$(sed -n 's/.*nic=\([^ ]*\).*/\1/p' <<<"$rest")
        sw=$(sed -n 's/.*switch=\([^ ]*\).*/\1/p' <<<"$rest")
        port=$(sed -n 's/.*switch_port=\([^ ]*\).*/\1/p' <<<"$rest")
        api POST /v1/nodes "{\"name\": \"$name\", \"node_profile_id\": \"$profile\", \"type\": \"compute\",
            \"ports\": [{\"name\": \"$nic\", \"switch_id\": \"${SWITCH_ID[$sw]}\", \"switch_port\": \"$port\"}]}" >/dev/null
        log "node $name: $nic cabled to $sw $port"
    done <<<"$info"
}

vm_field() { "$LAB" info | awk -v vm="$1" -v f="$2=" '$1 == "vm" && $2 == vm { for (i = 3; i <= NF; i++) if (index($i, f) == 1) print substr($i, length(f) + 1) }'; }

# bind_vm VM HOST NETWORK_ID: create the VM's SR-IOV port, tag its VF with the
# VLAN Stitch returns, wait until the switches have it (status ACTIVE).
bind_vm() {
    local vm=$1 host=$2 net=$3 port id vlan vif status deadline
    port=$(api POST /v2.0/ports "{\"port\": {\"network_id\": \"$net\", \"name\": \"$vm-vf\",
        \"mac_address\": \"$(vm_field "$vm" mac)\", \"binding:host_id\": \"$host\",
        \"binding:vnic_type\": \"direct\", \"device_id\": \"$vm\"}}")
    id=$(jget port id <<<"$port")
    vif=$(jget port binding:vif_type <<<"$port")
    [[ $vif != binding_failed ]] || die "binding $vm on $host failed: $(jget port <<<"$port")"
    vlan=$(jget port binding:vif_details vlan <<<"$port")
    log "port $id for $vm on $host: VLAN $vlan"
    "$LAB" vf "$vm" "$host" "$vlan"
    deadline=$((SECONDS + 30))
    until status=$(api GET "/v2.0/ports/$id" | jget port status) && [[ $status == ACTIVE ]]; do
        ((SECONDS < deadline)) || die "port $id ($vm) still $status after 30s; see $SDIR/stitch.log"
        sleep 0.5
    done
    log "port $id is ACTIVE"
}

# wait_ping FROM TO: the switches poll their DB about once a second, so give
# the dataplane a bounded time to converge, then show a clean ping.
wait_ping() {
    local deadline=$((SECONDS + 30))
    until "$LAB" ping "$1" "$2" 1 >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$1 cannot ping $2 after 30s"
        sleep 0.5
    done
    "$LAB" ping "$1" "$2" 3
}

# ---------------------------------------------------------------- commands
cmd_infra() {
    "$LAB" check >/dev/null || die "prerequisites missing (see above)"
    find_stitch >/dev/null
    cmd_down 2>/dev/null || true
    "$LAB" up >/dev/null
    start_stitch
    load_inventory
    log "inventory loaded; Stitch at $(url)"
}

cmd_up() {
    cmd_infra
    local net vni
    net=$(api POST /v2.0/networks '{"network": {"name": "demo"}}')
    vni=$(jget network provider:segmentation_id <<<"$net")
    net=$(jget network id <<<"$net")
    log "network demo: $net, VNI $vni"
    bind_vm vm1 srv1 "$net"
    bind_vm vm2 srv2 "$net"
    log "vm1 (srv1 -> leaf1) pings vm2 (srv2 -> leaf2) over VXLAN VNI $vni:"
    wait_ping vm1 vm2
    wait_ping vm2 vm1 >/dev/null
    local u
    u=$(url)
    printf '\nDemo is up.  Stitch: %s   (log: %s)\n' "$u" "$SDIR/stitch.log"
    printf '  %-48s %s\n' \
        "$LAB ping vm1 vm2" "ping again" \
        "$LAB status" "what the switches hold (every row from Stitch)" \
        "curl -s $u/v2.0/ports" "the ports and their bindings" \
        "$HERE/demo.sh down" "stop everything"
}

cmd_down() {
    stop_stitch
    "$LAB" down
}

main() {
    local cmd=${1:-up}
    shift || true
    case $cmd in
        up) cmd_up ;;
        infra) cmd_infra ;;
        down) [[ $EUID -eq 0 ]] || die "must run as root"; cmd_down ;;
        status)
            if [[ -f $SDIR/stitch.pid ]] && alive "$(cat "$SDIR/stitch.pid")"; then
                echo "stitch: pid $(cat "$SDIR/stitch.pid") at $(url)"
            else
                echo "stitch: not running"
            fi
            "$LAB" status ;;
        url) url ;;
        -h | --help | help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' ;;
        *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
}
main "$@"
