"""Drive Stitch's Neutron API with openstacksdk, unchanged, and print what
it saw as JSON for the Rust test to check. Usage: openstack_sdk.py URL"""
import json
import sys

import openstack

url = sys.argv[1]
conn = openstack.connect(auth_type="none", network_endpoint_override=url, network_api_version="2")
out = {}
net = conn.network.create_network(name="sdk-net")
out["vni"] = net.provider_segmentation_id
# Bulk create: one request, all or nothing.
ports = list(conn.network.create_ports(
    [{"network_id": net.id, "binding_host_id": "compute1", "binding_vnic_type": "direct", "name": f"p{i}"} for i in range(7)]
))
out["bulk"] = [[p.binding_vif_type, p.binding_vif_details.get("vlan")] for p in ports]
# Pagination: the SDK follows the next links.
out["paged"] = sorted(p.name for p in conn.network.ports(limit=2, network_id=net.id))
# Filters and sorting.
out["filtered"] = [p.name for p in conn.network.ports(network_id=net.id, name="p3")]
out["by_host"] = len(list(conn.network.ports(binding_host_id="compute1")))
out["sorted_desc"] = [p.name for p in conn.network.ports(network_id=net.id, sort_key="name", sort_dir="desc")][:2]
# Unbind through the SDK.
p = conn.network.update_port(ports[0], binding_host_id=None)
out["unbound"] = p.binding_vif_type
# A bad request surfaces as an SDK exception with Neutron's message.
try:
    conn.network.create_port(network_id="00000000-0000-0000-0000-000000000000")
    out["missing_network"] = "accepted"
except openstack.exceptions.ResourceNotFound as e:
    out["missing_network"] = "404"
for p in ports:
    conn.network.delete_port(p)
conn.network.delete_network(net)
out["left"] = len(list(conn.network.networks(name="sdk-net")))
print(json.dumps(out))
