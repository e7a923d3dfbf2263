#!/usr/bin/env bash
# Stitch dataplane lab: two emulated hardware-VTEP leaves, two SR-IOV servers
# and a handful of VMs, all on one machine, inside network namespaces.
#
#   lab.sh up                      build the lab from scratch (runs `down` first)
#   lab.sh down [--force]          stop every lab process by PID, delete the namespaces
#                                  (--force: also this prefix's namespaces from another LAB_DIR)
#   lab.sh status                  processes, namespaces, switch rows, VF tags
#   lab.sh vf VM SERVER VLAN       plug VM's VF into SERVER's NIC, tagged VLAN (moves it
#                                  if it sits on another server: that is a migration)
#   lab.sh vf VM SERVER trunk V,V  plug it in guest-tagging mode, allowing those VLANs
#                                  (binding:vif_details.trunk_vlans of a trunk parent)
#   lab.sh vf VM none              unplug VM's VF
#   lab.sh subif HOST VLAN MAC IP  give a VM (or the legacy host) a VLAN sub-interface
#                                  eth0.VLAN with that MAC and IP; `subif HOST VLAN none` removes it
#   lab.sh ping FROM TO [N]        N pings (default 3); FROM a VM, `legacy`, or HOST/eth0.VLAN
#                                  (ping -I); TO a VM, `legacy` or an IP
#   lab.sh tcp FROM_VM TO_VM       fetch 1 MiB over HTTP/TCP from TO_VM (full-size frames, checksums)
#   lab.sh exec NAME CMD...        run CMD inside a lab namespace (leaf1, srv1, vm1, ...)
#   lab.sh vtep-ctl LEAF ARGS...   read a leaf's hardware_vtep DB (for inspection)
#   lab.sh info                    machine-readable facts: sockets, MACs, IPs
#   lab.sh check                   root and every needed program present? (exit 1 if not)
#
# The lab writes only what a switch or a server owns: OVS configuration, the
# switch's own Physical_Switch / Physical_Port rows, and the emulated VF's VLAN
# tag.  Every Logical_Switch, binding, locator and MAC row comes from Stitch.
#
# Environment: LAB_DIR (default /tmp/stitch-lab) holds every socket, database,
# pidfile and log.  LAB_NS_PREFIX (default "sl-") prefixes namespace names.
set -euo pipefail

LAB_DIR=${LAB_DIR:-/tmp/stitch-lab}
NS_PREFIX=${LAB_NS_PREFIX:-sl-}
VSWITCH_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
VTEP_SCHEMA=/usr/share/openvswitch/vtep.ovsschema
OVS_VTEP=/usr/share/openvswitch/scripts/ovs-vtep
# ovs-vtep needs Debian's python (it has the `ovs` module), not whatever
# python3 comes first on PATH.
OVS_PYTHON=/usr/bin/python3

# ---------------------------------------------------------------- topology
# leaf name -> tunnel IP (the underlay is one veth, 10.99.0.0/24).
declare -A LEAF_TIP=([leaf1]=10.99.0.1 [leaf2]=10.99.0.2)
# server -> "leaf port": where the server's SR-IOV NIC (ens1f0) is cabled.
declare -A CABLE=([srv1]="leaf1 p1" [srv2]="leaf2 p1")
# VM -> the server it starts on.  All VMs share one IP subnet on purpose, so
# isolation between networks is proven at layer 2, not by routing.
VMS=(vm1 vm2 vm3 vm4 vm5 vm6 vm7 vm8)
declare -A VM_HOME=([vm1]=srv1 [vm2]=srv2 [vm3]=srv1 [vm4]=srv2 [vm5]=srv2 [vm6]=srv1 [vm7]=srv1 [vm8]=srv2)
# The legacy host: a server of an old VLAN domain, on a leaf port that no
# Stitch node is cabled to, sending frames tagged with the legacy VLAN.
# Only an L2 gateway connection can join it to an overlay network.
LEGACY=legacy
LEGACY_CABLE="leaf2 p2"
LEGACY_VLAN=300
LEGACY_MAC=02:5e:00:00:00:09
LEGACY_IP=10.10.0.9
LEAVES=(leaf1 leaf2)
SERVERS=(srv1 srv2)
NIC_BRIDGE=nic      # the OVS bridge that plays the SR-IOV NIC's embedded switch
PF=ens1f0           # the NIC port cabled to the leaf (the PF / uplink)
UNDERLAY_MTU=9000

vm_index() { echo "${1#vm}"; }
vm_mac() { printf '02:5e:00:00:00:%02x\n' "$(vm_index "$1")"; }
vm_ip() { echo "10.10.0.$(vm_index "$1")"; }

# ---------------------------------------------------------------- helpers
log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }
ns() { echo "${NS_PREFIX}$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

# Run an OVS tool against one component's private run directory.  Every
# component (leaf or server NIC) gets its own OVS_RUNDIR, so tools without
# --db (ovs-vtep calls ovs-vsctl/vtep-ctl/ovs-ofctl bare) find its sockets.
ovs_env() {
    local d=$LAB_DIR/$1
    echo "OVS_RUNDIR=$d OVS_DBDIR=$d OVS_LOGDIR=$d OVS_SYSCONFDIR=$d"
}
in_comp() { # in_comp COMPONENT CMD... : inside its namespace with its OVS env
    local c=$1; shift
    # shellcheck disable=SC2046
    ip netns exec "$(ns "$c")" env $(ovs_env "$c") "$@"
}
vsctl() { local c=$1; shift; in_comp "$c" ovs-vsctl --timeout=10 "$@"; }
vtepctl() { local c=$1; shift; in_comp "$c" vtep-ctl --timeout=10 "$@"; }

# Wait up to $1 seconds for command $2... to succeed.
wait_for() {
    local secs=$1 what=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $what"
        sleep 0.2
    done
}

require_root() { [[ $EUID -eq 0 ]] || die "the lab needs root (network namespaces, veths)"; }

# Every program the lab (and demo.sh) runs, and the Debian package that has it.
PACKAGES="openvswitch-switch openvswitch-common openvswitch-vtep python3-openvswitch iproute2 ethtool tcpdump iputils-ping curl"
cmd_check() {
    local missing=() pkgs=() entry prog pkg
    for entry in ovsdb-server:openvswitch-switch ovs-vswitchd:openvswitch-switch \
        ovs-vsctl:openvswitch-switch ovsdb-tool:openvswitch-common ovs-ofctl:openvswitch-common \
        ovs-appctl:openvswitch-common vtep-ctl:openvswitch-vtep "$OVS_VTEP":openvswitch-vtep \
        ip:iproute2 ethtool:ethtool tcpdump:tcpdump ping:iputils-ping curl:curl; do
        prog=${entry%%:*} pkg=${entry##*:}
        if [[ $prog == /* ]]; then [[ -x $prog ]] && continue; else command -v "$prog" >/dev/null && continue; fi
        missing+=("$prog") pkgs+=("$pkg")
    done
    if ! "$OVS_PYTHON" -c 'import ovs.daemon' 2>/dev/null; then
        missing+=("$OVS_PYTHON module ovs") pkgs+=(python3-openvswitch)
    fi
    local ok=1
    if ((${#missing[@]})); then
        printf 'lab: missing: %s\n' "${missing[*]}" >&2
        local -A seen=(); local uniq=()
        for pkg in "${pkgs[@]}"; do [[ -n ${seen[$pkg]:-} ]] || { seen[$pkg]=1; uniq+=("$pkg"); }; done
        printf 'lab: install them with:\n  apt-get update && apt-get install -y %s\n' "${uniq[*]}" >&2
        ok=0
    fi
    if [[ $EUID -ne 0 ]]; then
        echo "lab: must run as root (network namespaces, veths, OVS daemons)" >&2
        ok=0
    fi
    ((ok)) || return 1
    echo "lab: ok (packages: $PACKAGES)"
}

# ---------------------------------------------------------------- OVS daemons
start_ovsdb() { # start_ovsdb COMP DB...  (databases are created from schemas)
    local c=$1; shift
    local d=$LAB_DIR/$c dbs=() s
    for s in "$@"; do
        ovsdb-tool create "$d/$(basename "$s" .ovsschema).db" "$s"
        dbs+=("$d/$(basename "$s" .ovsschema).db")
    done
    in_comp "$c" ovsdb-server "${dbs[@]}" \
        -vconsole:off --remote="punix:$d/db.sock" \
        --pidfile="$d/ovsdb-server.pid" --log-file="$d/ovsdb-server.log" \
        --unixctl="$d/ovsdb-server.ctl" --detach --no-chdir
    wait_for 10 "$c ovsdb-server socket" test -S "$d/db.sock"
    vsctl "$c" --no-wait init
}

start_vswitchd() {
    local c=$1 d=$LAB_DIR/$1
    # Userspace datapath only: there is no openvswitch kernel module here.
    in_comp "$c" ovs-vswitchd "unix:$d/db.sock" -vconsole:off --disable-system \
        --pidfile="$d/ovs-vswitchd.pid" --log-file="$d/ovs-vswitchd.log" \
        --detach --no-chdir
}

add_netdev_bridge() { # add_netdev_bridge COMP BRIDGE
    vsctl "$1" --may-exist add-br "$2" -- set Bridge "$2" datapath_type=netdev
}

# veth ends attached to the userspace datapath: no offloads (checksums would
# never be filled in on the way through AF_PACKET).
no_offload() { nsx "$1" ethtool -K "$2" tx off rx off >/dev/null 2>&1 || true; }

# ---------------------------------------------------------------- building blocks
build_leaf() {
    local leaf=$1 tip=${LEAF_TIP[$1]} d=$LAB_DIR/$1
    log "leaf $leaf: hardware VTEP with tunnel IP $tip"
    start_ovsdb "$leaf" "$VSWITCH_SCHEMA" "$VTEP_SCHEMA"
    # The switch's own rows: itself, its tunnel IP, its physical ports.
    vtepctl "$leaf" add-ps "$leaf" -- set Physical_Switch "$leaf" \
        "tunnel_ips=$tip" 'description="Stitch lab leaf (ovs-vtep)"'
    start_vswitchd "$leaf"
    # Underlay: the tunnel IP lives on br-phy, whose port is the underlay veth.
    add_netdev_bridge "$leaf" br-phy
    vsctl "$leaf" add-port br-phy ul0 -- set Interface br-phy "mtu_request=$UNDERLAY_MTU"
    nsx "$leaf" ip addr add "$tip/24" dev br-phy
    nsx "$leaf" ip link set br-phy up
    # The VTEP bridge must be named like the Physical_Switch.
    add_netdev_bridge "$leaf" "$leaf"
    local srv port
    for srv in "${SERVERS[@]}"; do
        read -r l port <<<"${CABLE[$srv]}"
        [[ $l == "$leaf" ]] || continue
        vsctl "$leaf" add-port "$leaf" "$port"
        vtepctl "$leaf" add-port "$leaf" "$port"
    done
    read -r l port <<<"$LEGACY_CABLE"
    if [[ $l == "$leaf" ]]; then
        vsctl "$leaf" add-port "$leaf" "$port"
        vtepctl "$leaf" add-port "$leaf" "$port"
    fi
    in_comp "$leaf" "$OVS_PYTHON" "$OVS_VTEP" -vconsole:off --log-file="$d/ovs-vtep.log" \
        --pidfile="$d/ovs-vtep.pid" --detach --no-chdir "$leaf"
    # ovs-vtep creates its BFD bridge once it has set itself up.
    wait_for 20 "$leaf ovs-vtep to start" vsctl "$leaf" br-exists vtep_bfd
}

build_server() {
    local srv=$1
    log "server $srv: SR-IOV NIC $PF cabled to ${CABLE[$srv]}"
    start_ovsdb "$srv" "$VSWITCH_SCHEMA"
    start_vswitchd "$srv"
    add_netdev_bridge "$srv" "$NIC_BRIDGE"
    # The PF uplink is a trunk: it carries every VF's VLAN to the leaf.
    vsctl "$srv" add-port "$NIC_BRIDGE" "$PF"
}

# Create the VM's virtual function: a veth whose VM end is eth0 and whose
# other end (named after the VM) sits in the server namespace, unplugged.
make_vf() {
    local vm=$1 srv=$2
    ip link add eth0 netns "$(ns "$vm")" type veth peer name "$vm" netns "$(ns "$srv")"
    nsx "$vm" ip link set eth0 address "$(vm_mac "$vm")"
    nsx "$vm" ip addr add "$(vm_ip "$vm")/24" dev eth0
    nsx "$vm" ip link set eth0 up
    nsx "$srv" ip link set "$vm" up
    no_offload "$vm" eth0
    no_offload "$srv" "$vm"
    echo "$srv" >"$LAB_DIR/vms/$vm.server"
}

vm_server() { cat "$LAB_DIR/vms/$1.server" 2>/dev/null || true; }

# ---------------------------------------------------------------- guest VLAN tagging
# This kernel has no 8021q, so a VLAN sub-interface eth0.V of a VM (or of the
# legacy host) is an OVS internal port with tag V on a small userspace OVS in
# the guest's own namespace, whose trunk is eth0: the guest tags, as a trunk
# VM's OS does. Started on first use; stopped by PID like every lab daemon.
GUEST_BRIDGE=vlans
start_guest_tagger() {
    local g=$1
    [[ -f $LAB_DIR/$g/ovs-vswitchd.pid ]] && return 0
    mkdir -p "$LAB_DIR/$g"
    start_ovsdb "$g" "$VSWITCH_SCHEMA"
    start_vswitchd "$g"
    add_netdev_bridge "$g" "$GUEST_BRIDGE"
    vsctl "$g" add-port "$GUEST_BRIDGE" eth0 -- set Port eth0 vlan_mode=trunk
    # Several sub-interfaces share the guests' one IP subnet: each answers
    # ARP only for its own address and replies from its own interface.
    nsx "$g" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# subif HOST VLAN MAC IP | subif HOST VLAN none
cmd_subif() {
    [[ $# -ge 3 ]] || die "usage: lab.sh subif HOST VLAN MAC IP | lab.sh subif HOST VLAN none"
    local g=$1 vlan=$2 mac=$3 ip=${4:-} dev=eth0.$2
    [[ -n ${VM_HOME[$g]:-} || $g == "$LEGACY" ]] || die "unknown host $g"
    if ! [[ $vlan =~ ^[0-9]+$ ]] || ((vlan < 1 || vlan > 4094)); then die "VLAN must be 1-4094, got '$vlan'"; fi
    if [[ $mac == none ]]; then
        nsx "$g" ip rule del table "$vlan" 2>/dev/null || true
        [[ -S $LAB_DIR/$g/db.sock ]] && vsctl "$g" --if-exists del-port "$GUEST_BRIDGE" "$dev"
        log "$g: $dev removed"
        return 0
    fi
    [[ $ip =~ ^[0-9.]+$ ]] || die "usage: lab.sh subif HOST VLAN MAC IP"
    start_guest_tagger "$g"
    vsctl "$g" --may-exist add-port "$GUEST_BRIDGE" "$dev" -- set Port "$dev" "tag=$vlan" \
        -- set Interface "$dev" type=internal "mac=\"$mac\""
    wait_for 10 "$g $dev" nsx "$g" ip link show "$dev"
    nsx "$g" ip link set "$dev" up
    no_offload "$g" "$dev"
    nsx "$g" sh -c "echo 0 > /proc/sys/net/ipv4/conf/$dev/rp_filter"
    nsx "$g" ip addr replace "$ip/24" dev "$dev"
    # Replies leave through the interface that owns their source address.
    nsx "$g" ip route replace 10.10.0.0/24 dev "$dev" src "$ip" table "$vlan"
    nsx "$g" ip rule del table "$vlan" 2>/dev/null || true
    nsx "$g" ip rule add from "$ip" table "$vlan"
    log "$g: $dev (VLAN $vlan) $mac $ip"
}

# The legacy host: cabled to a leaf port, its only address on eth0.LEGACY_VLAN.
build_legacy() {
    local leaf port
    read -r leaf port <<<"$LEGACY_CABLE"
    log "legacy host: VLAN $LEGACY_VLAN on $leaf $port (no Stitch node there)"
    nsx "$LEGACY" ip link set eth0 up
    no_offload "$LEGACY" eth0
    cmd_subif "$LEGACY" "$LEGACY_VLAN" "$LEGACY_MAC" "$LEGACY_IP" 2>/dev/null
}

# ---------------------------------------------------------------- commands
cmd_up() {
    cmd_check >/dev/null
    cmd_down >/dev/null 2>&1 || true
    local n
    for n in "${LEAVES[@]}" "${SERVERS[@]}" "${VMS[@]}" "$LEGACY"; do
        ! ns_exists "$(ns "$n")" || die "namespace $(ns "$n") exists: another lab with prefix '$NS_PREFIX' is up (other LAB_DIR?). Stop it with its LAB_DIR, or: LAB_NS_PREFIX=$NS_PREFIX $0 down --force"
    done
    mkdir -p "$LAB_DIR/vms"
    for n in "${LEAVES[@]}" "${SERVERS[@]}" "${VMS[@]}" "$LEGACY"; do
        ip netns add "$(ns "$n")"
        nsx "$n" ip link set lo up
        ns "$n" >>"$LAB_DIR/namespaces"
    done
    for n in "${LEAVES[@]}" "${SERVERS[@]}"; do mkdir -p "$LAB_DIR/$n"; done

    # Underlay: one veth between the two leaves (a routed fabric in miniature).
    ip link add ul0 netns "$(ns leaf1)" mtu $UNDERLAY_MTU type veth peer name ul0 \
        netns "$(ns leaf2)" mtu $UNDERLAY_MTU
    # Cabling: each server's PF to its leaf port.
    local srv leaf port
    for srv in "${SERVERS[@]}"; do
        read -r leaf port <<<"${CABLE[$srv]}"
        ip link add "$port" netns "$(ns "$leaf")" mtu $UNDERLAY_MTU type veth \
            peer name "$PF" netns "$(ns "$srv")" mtu $UNDERLAY_MTU
    done
    read -r leaf port <<<"$LEGACY_CABLE"
    ip link add "$port" netns "$(ns "$leaf")" type veth peer name eth0 netns "$(ns "$LEGACY")"
    nsx "$LEGACY" ip link set eth0 address "$LEGACY_MAC"
    nsx "$leaf" ip link set "$port" up
    no_offload "$leaf" "$port"
    for leaf in "${LEAVES[@]}"; do
        nsx "$leaf" ip link set ul0 up
        no_offload "$leaf" ul0
    done
    for srv in "${SERVERS[@]}"; do
        read -r leaf port <<<"${CABLE[$srv]}"
        nsx "$leaf" ip link set "$port" up
        nsx "$srv" ip link set "$PF" up
        no_offload "$leaf" "$port"
        no_offload "$srv" "$PF"
    done

    for leaf in "${LEAVES[@]}"; do build_leaf "$leaf"; done
    for srv in "${SERVERS[@]}"; do build_server "$srv"; done
    local vm
    for vm in "${VMS[@]}"; do make_vf "$vm" "${VM_HOME[$vm]}"; done
    build_legacy

    # Warm the underlay: each leaf resolves the other's tunnel IP once.
    wait_for 20 "underlay ping leaf1 -> leaf2" nsx leaf1 ping -c1 -W1 "${LEAF_TIP[leaf2]}"
    log "up: state in $LAB_DIR"
    cmd_info
}

# Stop one daemon by its pidfile: TERM, wait, KILL.  A zombie counts as gone.
stop_pidfile() {
    local f=$1 pid
    [[ -f $f ]] || return 0
    pid=$(cat "$f" 2>/dev/null || true)
    rm -f "$f"
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    alive "$pid" || return 0
    # Only our daemon: its command line names its pidfile (guards PID reuse).
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$f"; then
        log "pid $pid is no longer the process of $f; leaving it alone"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
    log "pid $pid ($f) ignored SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
    log "warning: pid $pid still alive"
}
alive() { # running and not a zombie
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# Stop whatever still runs inside a lab namespace (a capture, a test
# server), by PID, then delete it; deleting a namespace deletes its veths.
remove_ns() {
    local n=$1 pid
    ns_exists "$n" || return 0
    for pid in $(ip netns pids "$n" 2>/dev/null); do
        log "stopping pid $pid left in namespace $n"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 30); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    ip netns del "$n"
}

# down [--force]: stop this LAB_DIR's daemons by their pidfiles and delete the
# namespaces it recorded.  --force also removes namespaces of this prefix
# that another LAB_DIR (or a lost one) left behind.
cmd_down() {
    local force=${1:-} d n
    for d in "$LAB_DIR"/leaf* "$LAB_DIR"/srv* "$LAB_DIR"/vm[0-9]* "$LAB_DIR/$LEGACY"; do
        [[ -d $d ]] || continue
        # Order matters: the emulator first (it would re-create bridges),
        # then the switch, then its database.
        stop_pidfile "$d/ovs-vtep.pid"
        stop_pidfile "$d/ovs-vswitchd.pid"
        stop_pidfile "$d/ovsdb-server.pid"
    done
    while read -r n; do
        [[ -n $n ]] && remove_ns "$n"
    done < <(cat "$LAB_DIR/namespaces" 2>/dev/null || true)
    if [[ $force == --force ]]; then
        for n in "${LEAVES[@]}" "${SERVERS[@]}" "${VMS[@]}" "$LEGACY"; do remove_ns "$(ns "$n")"; done
    fi
    for n in "${LEAVES[@]}" "${SERVERS[@]}" "${VMS[@]}" "$LEGACY"; do rm -rf "${LAB_DIR:?}/$n"; done
    rm -rf "${LAB_DIR:?}/vms" "$LAB_DIR/namespaces"
    log "down"
}

cmd_vf() {
    [[ $# -ge 2 ]] || die "usage: lab.sh vf VM SERVER VLAN | lab.sh vf VM SERVER trunk VLAN,VLAN... | lab.sh vf VM none"
    local vm=$1 srv=$2 vlan=${3:-} allowed=${4:-} cur v
    [[ -n ${VM_HOME[$vm]:-} ]] || die "unknown VM $vm (have: ${VMS[*]})"
    cur=$(vm_server "$vm")
    [[ -n $cur ]] || die "lab is not up ($LAB_DIR/vms/$vm.server missing)"
    # Unplug from the NIC it is on now.
    vsctl "$cur" --if-exists del-port "$NIC_BRIDGE" "$vm"
    [[ $srv == none ]] && { log "$vm: VF unplugged"; return 0; }
    [[ -n ${CABLE[$srv]:-} ]] || die "unknown server $srv (have: ${SERVERS[*]})"
    if [[ $vlan == trunk ]]; then
        [[ $allowed =~ ^[0-9]+(,[0-9]+)*$ ]] || die "usage: lab.sh vf VM SERVER trunk VLAN,VLAN..."
        for v in ${allowed//,/ }; do ((v >= 1 && v <= 4094)) || die "VLAN must be 1-4094, got '$v'"; done
    elif ! [[ $vlan =~ ^[0-9]+$ ]] || ((vlan < 1 || vlan > 4094)); then
        die "VLAN must be 1-4094, got '$vlan'"
    fi
    if [[ $cur != "$srv" ]]; then
        # Migration: the VM gets a VF on the new server, same MAC and IP.
        nsx "$cur" ip link del "$vm"
        make_vf "$vm" "$srv"
    fi
    if [[ $vlan == trunk ]]; then
        # Guest tagging (VGT): the VF passes the guest's tags, only these VLANs,
        # and drops untagged frames.
        vsctl "$srv" add-port "$NIC_BRIDGE" "$vm" -- set Port "$vm" vlan_mode=trunk "trunks=$allowed"
        log "$vm: VF on $srv, guest tagging, VLANs $allowed"
        return 0
    fi
    vsctl "$srv" add-port "$NIC_BRIDGE" "$vm" -- set Port "$vm" "tag=$vlan" vlan_mode=access
    log "$vm: VF on $srv, VLAN $vlan"
}

# The IP of a ping target: a VM, the legacy host, or an address as given.
host_ip() {
    if [[ $1 == "$LEGACY" ]]; then echo "$LEGACY_IP"
    elif [[ -n ${VM_HOME[$1]:-} ]]; then vm_ip "$1"
    elif [[ $1 =~ ^[0-9]+(\.[0-9]+){3}$ ]]; then echo "$1"
    else die "unknown host $1"; fi
}

cmd_ping() {
    [[ $# -ge 2 ]] || die "usage: lab.sh ping FROM TO [COUNT]"
    local from=${1%%/*} dev=
    [[ $1 == */* ]] && dev=${1#*/}
    nsx "$from" ping -n -c "${3:-3}" -W 1 -i 0.2 ${dev:+-I "$dev"} "$(host_ip "$2")"
}

# TCP through the userspace datapaths: a bounded HTTP server in TO serves
# 1 MiB, FROM fetches it with curl.  Catches checksum-offload and MTU trouble
# that ping alone does not.
cmd_tcp() {
    [[ $# -eq 2 ]] || die "usage: lab.sh tcp FROM_VM TO_VM"
    local from=$1 to=$2 ip dir=$LAB_DIR/tcp-$2 pid size rc=0
    ip=$(vm_ip "$to")
    mkdir -p "$dir"
    head -c 1048576 /dev/urandom >"$dir/blob"
    # `ip netns exec` and `timeout` exec in place, so $! is the server's parent.
    ip netns exec "$(ns "$to")" timeout 60 "$OVS_PYTHON" -m http.server 8080 --bind "$ip" \
        --directory "$dir" >"$dir/server.log" 2>&1 &
    pid=$!
    wait_for 10 "HTTP server in $to" nsx "$to" bash -c "exec 3<>/dev/tcp/$ip/8080"
    size=$(nsx "$from" curl -sS --max-time 20 -o /dev/null -w '%{size_download}' "http://$ip:8080/blob") || rc=$?
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
    [[ $rc -eq 0 && $size == 1048576 ]] || die "TCP $from -> $to failed (curl rc $rc, got ${size:-0} of 1048576 bytes)"
    log "TCP $from -> $to: 1 MiB ok"
}

cmd_exec() {
    [[ $# -ge 2 ]] || die "usage: lab.sh exec NAME CMD..."
    local n=$1; shift
    if [[ -d $LAB_DIR/$n ]]; then in_comp "$n" "$@"; else nsx "$n" "$@"; fi
}

cmd_info() {
    local leaf vm
    for leaf in "${LEAVES[@]}"; do
        echo "switch $leaf ovsdb=unix:$LAB_DIR/$leaf/db.sock tunnel_ip=${LEAF_TIP[$leaf]}"
    done
    local srv l p
    for srv in "${SERVERS[@]}"; do
        read -r l p <<<"${CABLE[$srv]}"
        echo "server $srv nic=$PF switch=$l switch_port=$p"
    done
    for vm in "${VMS[@]}"; do
        echo "vm $vm mac=$(vm_mac "$vm") ip=$(vm_ip "$vm") server=$(vm_server "$vm")"
    done
    read -r l p <<<"$LEGACY_CABLE"
    echo "legacy $LEGACY mac=$LEGACY_MAC ip=$LEGACY_IP vlan=$LEGACY_VLAN switch=$l switch_port=$p"
}

cmd_status() {
    local d c f pid
    for c in "${LEAVES[@]}" "${SERVERS[@]}" "${VMS[@]}" "$LEGACY"; do
        d=$LAB_DIR/$c
        [[ -d $d ]] || { [[ -n ${CABLE[$c]:-}${LEAF_TIP[$c]:-} ]] && echo "$c: not running"; continue; }
        for f in ovsdb-server ovs-vswitchd ovs-vtep; do
            [[ -f $d/$f.pid ]] || continue
            pid=$(cat "$d/$f.pid")
            if alive "$pid"; then echo "$c: $f pid $pid"; else echo "$c: $f pid $pid DEAD"; fi
        done
    done
    for c in "${LEAVES[@]}"; do
        [[ -S $LAB_DIR/$c/db.sock ]] || continue
        echo "--- $c hardware_vtep (unix:$LAB_DIR/$c/db.sock)"
        local ls p
        for ls in $(vtepctl "$c" list-ls); do
            echo "logical switch $ls tunnel_key=$(vtepctl "$c" get Logical_Switch "$ls" tunnel_key)"
            vtepctl "$c" list-remote-macs "$ls" | sed 's/^/  remote /'
            vtepctl "$c" list-local-macs "$ls" | sed 's/^/  local /'
        done
        for p in $(vtepctl "$c" list-ports "$c"); do
            echo "port $p bindings: $(vtepctl "$c" list-bindings "$c" "$p" | tr '\n' ' ')"
        done
    done
    for c in "${SERVERS[@]}"; do
        [[ -S $LAB_DIR/$c/db.sock ]] || continue
        echo "--- $c NIC"
        vsctl "$c" --format=table --columns=name,tag,vlan_mode,trunks list Port | sed 's/^/  /'
    done
    for c in "${VMS[@]}" "$LEGACY"; do
        [[ -S $LAB_DIR/$c/db.sock ]] || continue
        echo "--- $c VLAN sub-interfaces"
        vsctl "$c" --format=table --columns=name,tag,vlan_mode list Port | sed 's/^/  /'
    done
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
        up) cmd_up ;;
        down) require_root; cmd_down "$@" ;;
        status) cmd_status ;;
        vf) cmd_vf "$@" ;;
        subif) cmd_subif "$@" ;;
        ping) cmd_ping "$@" ;;
        tcp) cmd_tcp "$@" ;;
        exec) cmd_exec "$@" ;;
        vtep-ctl) local l=$1; shift; vtepctl "$l" "$@" ;;
        info) cmd_info ;;
        check) cmd_check ;;
        *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; [[ -z $cmd ]] || exit 2 ;;
    esac
}
main "$@"
