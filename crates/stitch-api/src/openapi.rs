//! The OpenAPI document. Schemas are derived (see [`crate::schema`]); the
//! paths are generated from the kinds so every kind is documented the same
//! way its routes are registered. The committed copy is `openapi/stitch.json`.

use stitch_model::inventory::Kind;
use utoipa::OpenApi;
use utoipa::openapi::content::Content;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Required, Schema};

use crate::error::code;
use crate::inventory::{Filter, filters, list_key};
use crate::schema;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stitch",
        description = "Stitch SDN fabric controller: /v1 inventory API.\n\n\
            Conventions: a single object is returned as the object itself (id, created_at, updated_at and the \
            spec fields). A list is an envelope whose key is the kind's plural with `_` for `-`, e.g. \
            `{\"switch_ports\": [...]}`. PATCH is a JSON merge patch of top-level fields (`null` resets a field \
            to its default), followed by full validation. Errors are `{\"error\": {\"code\", \"message\", \"field\"}}` \
            with `code` one of the stable strings listed on `ErrorDetail`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(
        schema::Meta,
        schema::Range,
        schema::VlanMode,
        schema::SwitchRole,
        schema::NodeType,
        schema::FabricSpec,
        schema::SwitchSpec,
        schema::SwitchPortSpec,
        schema::HardwareSpec,
        schema::Interface,
        schema::CardSpec,
        schema::NodeProfileSpec,
        schema::NodePort,
        schema::NodeSpec,
        schema::Fabric,
        schema::Switch,
        schema::SwitchPort,
        schema::Hardware,
        schema::Card,
        schema::NodeProfile,
        schema::Node,
        schema::ErrorDetail,
        schema::ErrorBody,
        schema::Link,
        schema::Links,
        schema::Health,
        schema::FabricItem,
        schema::SwitchItem,
        schema::SwitchPortItem,
        schema::HardwareItem,
        schema::CardItem,
        schema::NodeProfileItem,
        schema::PortItem,
        schema::NodeItem,
        schema::ApplyDocument,
        schema::Counts,
        schema::ApplyReport,
        schema::AllowedFrames,
        schema::PortProfileSpec,
        schema::PortProfile,
        schema::PortProfileItem
    ))
)]
struct ApiDoc;

/// The schema names of a kind: (object, spec).
fn schema_names(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Fabric => ("Fabric", "FabricSpec"),
        Kind::Switch => ("Switch", "SwitchSpec"),
        Kind::SwitchPort => ("SwitchPort", "SwitchPortSpec"),
        Kind::Hardware => ("Hardware", "HardwareSpec"),
        Kind::Card => ("Card", "CardSpec"),
        Kind::NodeProfile => ("NodeProfile", "NodeProfileSpec"),
        Kind::Node => ("Node", "NodeSpec"),
        Kind::PortProfile => ("PortProfile", "PortProfileSpec"),
        _ => ("", ""),
    }
}

fn json(schema: impl Into<RefOr<Schema>>) -> Content {
    Content::new(Some(schema))
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn error_response(b: OperationBuilder, status: &str, what: &str) -> OperationBuilder {
    b.response(status, ResponseBuilder::new().description(what).content("application/json", json(reference("ErrorBody"))))
}

fn id_param(kind: Kind) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(format!("The {}'s id (UUID)", kind.singular())))
        .schema(Some(
            ObjectBuilder::new().schema_type(Type::String).format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid))),
        ))
        .build()
}

fn op(kind: Kind, id: &str, summary: String) -> OperationBuilder {
    OperationBuilder::new().tag(kind.plural()).operation_id(Some(format!("{id}_{}", list_key(kind)))).summary(Some(summary))
}

fn body(name: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new().required(Some(Required::True)).content("application/json", json(reference(name))).build()
}

fn kind_paths(kind: Kind) -> Vec<(String, HttpMethod, Operation)> {
    let (object, spec) = schema_names(kind);
    let s = kind.singular();
    let ok = |b: OperationBuilder, status: &str, what: &str| {
        b.response(status, ResponseBuilder::new().description(what).content("application/json", json(reference(object))))
    };
    let base = format!("/v1/{}", kind.plural());
    let item = format!("{base}/{{id}}");

    let envelope = ObjectBuilder::new().property(list_key(kind), ArrayBuilder::new().items(reference(object))).required(list_key(kind));
    let mut list = op(kind, "list", format!("List {} objects", s))
        .response("200", ResponseBuilder::new().description(format!("Every {s}, filtered")).content("application/json", json(envelope)));
    for (name, f) in filters(kind) {
        let what = match f {
            Filter::Eq(field) => format!("Only objects whose `{field}` equals this value"),
            Filter::Id(field) => format!("Only objects whose `{field}` is this id"),
            Filter::IdIn(field) | Filter::In(field) => format!("Only objects whose `{field}` contains this value"),
            Filter::PortSwitch => "Only nodes with a port cabled to this switch id".to_string(),
        };
        list = list.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(what))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    let list = error_response(list, "400", "Unknown filter or malformed value");

    let create = op(kind, "create", format!("Create a {s}")).request_body(Some(body(spec)));
    let create = ok(create, "201", "The created object");
    let create = error_response(create, "400", "Malformed JSON, unknown field or invalid value");
    let create = error_response(create, "409", "Duplicate name or conflicting cabling");
    let create = error_response(create, "422", "A reference names a missing object");

    let show = op(kind, "show", format!("Show a {s}")).parameter(id_param(kind));
    let show = error_response(ok(show, "200", "The object"), "404", "No such object");

    let patch = op(kind, "update", format!("Update a {s} (JSON merge patch of top-level fields)")).parameter(id_param(kind)).request_body(Some(body(spec)));
    let patch = ok(patch, "200", "The updated object");
    let patch = error_response(patch, "400", "Malformed JSON, unknown, invalid or read-only field");
    let patch = error_response(patch, "404", "No such object");
    let patch = error_response(patch, "409", "Duplicate name or conflict");
    let patch = error_response(patch, "422", "A reference names a missing object");

    let delete = op(kind, "delete", format!("Delete a {s}")).parameter(id_param(kind)).response("204", ResponseBuilder::new().description("Deleted"));
    let delete = error_response(delete, "404", "No such object");
    let delete = error_response(delete, "409", "Still referenced");

    vec![
        (base.clone(), HttpMethod::Get, list.build()),
        (base, HttpMethod::Post, create.build()),
        (item.clone(), HttpMethod::Get, show.build()),
        (item.clone(), HttpMethod::Patch, patch.build()),
        (item, HttpMethod::Delete, delete.build()),
    ]
}

/// The OpenAPI document of the whole API.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = "1".to_string();
    let mut ops: Vec<(String, HttpMethod, Operation)> = Kind::ALL.iter().filter(|k| k.is_inventory()).flat_map(|k| kind_paths(*k)).collect();

    let resolve = OperationBuilder::new()
        .tag("nodes")
        .operation_id(Some("resolve_node"))
        .summary(Some("The node's cabled NICs whose card labels include `label`"))
        .parameter(id_param(Kind::Node))
        .parameter(
            ParameterBuilder::new()
                .name("label")
                .parameter_in(ParameterIn::Query)
                .required(Required::True)
                .description(Some("A NIC role, e.g. `sriov` or a physical network name"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        )
        .response("200", ResponseBuilder::new().description("The links").content("application/json", json(reference("Links"))));
    let resolve = error_response(resolve, "404", "No such node");
    let resolve = error_response(resolve, "422", "A link of the chain is missing; the message names it");
    ops.push(("/v1/nodes/{id}/resolve".into(), HttpMethod::Get, resolve.build()));

    let free = |d: &str| ObjectBuilder::new().schema_type(Type::Object).description(Some(d.to_string())).build();
    let lldp = OperationBuilder::new()
        .tag("nodes")
        .operation_id(Some("check_node_lldp"))
        .summary(Some("Check the node's recorded cabling against what LLDP sees on its NICs"))
        .description(Some(
            "The body is `lldpcli -f json` (or `-f json0`) `show neighbors details` output from the node, or \
             `{\"frames\": [{\"interface\": NIC, \"frame\": HEX}]}` with raw LLDP frames. Each NIC gets a verdict: \
             `matches`, `differs`, `new`, `unknown_switch`, `no_port_name` or `not_seen`. With `apply=true` the \
             cabling LLDP saw is recorded for the `new` and `differs` NICs, all or nothing.",
        ))
        .parameter(id_param(Kind::Node))
        .parameter(
            ParameterBuilder::new()
                .name("apply")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("Record what LLDP saw (default false: only report)"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean))),
        )
        .request_body(Some(
            RequestBodyBuilder::new().content("application/json", json(free("lldpcli JSON output, or raw frames"))).required(Some(Required::True)).build(),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("`{findings: [{nic, verdict, seen, recorded, message}], applied}`")
                .content("application/json", json(free("The findings"))),
        );
    let lldp = error_response(lldp, "400", "Not lldpcli output, or a frame that is not LLDP (the message says where)");
    let lldp = error_response(lldp, "404", "No such node");
    ops.push(("/v1/nodes/{id}/lldp".into(), HttpMethod::Post, lldp.build()));

    let apply = OperationBuilder::new()
        .tag("apply")
        .operation_id(Some("apply"))
        .summary(Some("Create or update many inventory objects at once, all or nothing"))
        .description(Some(
            "Items are matched by name and applied in dependency order in one transaction. \
             Errors name the item by document path, e.g. `nodes[3].ports[0].switch`.",
        ))
        .request_body(Some(body("ApplyDocument")))
        .response(
            "200",
            ResponseBuilder::new().description("What was created, updated or left unchanged").content("application/json", json(reference("ApplyReport"))),
        );
    let apply = error_response(apply, "400", "Malformed document or invalid value");
    let apply = error_response(apply, "409", "Duplicate name or conflict");
    let apply = error_response(apply, "422", "A reference names a missing object");
    ops.push(("/v1/apply".into(), HttpMethod::Post, apply.build()));

    ops.extend(crate::fabric::openapi_paths());

    let health = OperationBuilder::new()
        .tag("meta")
        .operation_id(Some("healthz"))
        .summary(Some("Liveness, with the store revision"))
        .response("200", ResponseBuilder::new().description("Healthy").content("application/json", json(reference("Health"))));
    ops.push(("/healthz".into(), HttpMethod::Get, health.build()));

    for (path, method, operation) in ops {
        doc.paths.add_path_operation(path, vec![method], operation);
    }
    // The error codes, listed where a client looks for them.
    if let Some(components) = doc.components.as_mut() {
        if let Some(RefOr::T(Schema::Object(detail))) = components.schemas.get_mut("ErrorDetail") {
            if let Some(RefOr::T(Schema::Object(c))) = detail.properties.get_mut("code") {
                c.enum_values = Some(code::ALL.iter().map(|s| serde_json::Value::from(*s)).collect());
            }
        }
    }
    doc
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}
