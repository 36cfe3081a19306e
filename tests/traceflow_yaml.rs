//! `analyze --format yaml` on every sample: the document parses with a standard YAML library,
//! validates against the openAPIV3Schema of Antrea's Traceflow CRD (tests/data/antrea), and
//! carries exactly the result `--format json` writes.
//!
//! The CRD's schema is OpenAPI v3, not JSON Schema; [`crd_validator`] makes it one by doing what
//! the API server does beyond the keywords: Kubernetes prunes every field a structural schema does
//! not name, so each object with `properties` gets `additionalProperties: false` (a field outside
//! the schema would silently vanish on the server, and here fails the test); `apiVersion`, `kind`
//! and `metadata` are checked by the server itself, so the root names them; formats (`ipv4`,
//! `ipv6` under `oneOf`) are asserted, which JSON Schema leaves optional. The one field allowed
//! beyond the CRD is the top-level `hoptrace` section.

mod support;

use serde_json::{json, Value};
use support::{hoptrace, root, sample};

/// The CRD's openAPIV3Schema of v1beta1, made strict as described above.
fn crd_schema() -> Value {
    let text = std::fs::read_to_string(root().join("tests/data/antrea/traceflow-crd.yaml")).unwrap();
    let crd: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(crd["spec"]["names"]["kind"], "Traceflow");
    let version = crd["spec"]["versions"].as_array().unwrap().iter().find(|v| v["name"] == "v1beta1").unwrap();
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    fn strict(s: &mut Value) {
        let Some(obj) = s.as_object_mut() else { return };
        let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        obj.retain(|k, _| !k.starts_with("x-kubernetes-"));
        if obj.contains_key("properties") && !preserve {
            obj.insert("additionalProperties".into(), Value::Bool(false));
        }
        for (_, v) in obj.iter_mut() {
            match v {
                Value::Object(_) => strict(v),
                Value::Array(a) => a.iter_mut().for_each(strict),
                _ => {}
            }
        }
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            for (_, p) in props.iter_mut() {
                strict(p);
            }
        }
    }
    strict(&mut schema);
    let props = schema["properties"].as_object_mut().unwrap();
    props.insert("apiVersion".into(), json!({"type": "string", "enum": ["crd.antrea.io/v1beta1"]}));
    props.insert("kind".into(), json!({"type": "string", "enum": ["Traceflow"]}));
    props.insert(
        "metadata".into(),
        json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string",
            "pattern": "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"}}}),
    );
    props.insert("hoptrace".into(), json!({"type": "object"}));
    schema["required"] = json!(["apiVersion", "kind", "metadata", "spec", "status", "hoptrace"]);
    schema
}

fn crd_validator() -> jsonschema::Validator {
    jsonschema::draft4::options().should_validate_formats(true).build(&crd_schema()).unwrap()
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

fn run(format: &str, dir: &std::path::Path) -> Vec<u8> {
    let out = hoptrace().args(["analyze", "-q", "--format", format]).arg(dir).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn every_sample_is_a_valid_traceflow_with_the_json_observations() {
    let validator = crd_validator();
    let mut seen = 0;
    for e in std::fs::read_dir(sample("")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.join("expected.json").is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let yaml = String::from_utf8(run("yaml", &dir)).unwrap();
        let json: Value = serde_json::from_slice(&run("json", &dir)).unwrap();
        let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc["apiVersion"], "crd.antrea.io/v1beta1", "{name}");
        assert_eq!(doc["kind"], "Traceflow", "{name}");
        let errs = errors(&validator, &doc);
        assert!(errs.is_empty(), "{name}: {errs:#?}");
        // Status holds Antrea's observations, field for field.
        let status = doc["status"]["results"].as_array().unwrap();
        let results = json["results"].as_array().unwrap();
        assert_eq!(status.len(), results.len(), "{name}");
        for (s, r) in status.iter().zip(results) {
            assert_eq!(s["node"], r["node"]);
            for (so, ro) in s["observations"].as_array().unwrap().iter().zip(r["observations"].as_array().unwrap()) {
                for (k, v) in so.as_object().unwrap() {
                    assert_eq!(&ro[k], v, "{name}: {k}");
                }
            }
        }
        assert_eq!(doc["status"]["phase"], json["phase"], "{name}");
        assert_eq!(doc["status"]["dataplaneTag"], json["dataplaneTag"], "{name}");
        // And the whole document comes back as the JSON result.
        let typed: hoptrace::export::traceflow::TraceflowDoc = serde_yaml_ng::from_str(&yaml).unwrap();
        let back = serde_json::to_value(typed.to_result().unwrap()).unwrap();
        assert_eq!(back, json, "{name}");
        seen += 1;
    }
    assert!(seen >= 9, "only {seen} samples");
}

#[test]
fn spec_follows_the_probe() {
    let yaml = String::from_utf8(run("yaml", &sample("pod-to-service-remote"))).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let probe: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("pod-to-service-remote/probe.json")).unwrap()).unwrap();
    assert_eq!(doc["spec"]["source"], json!({"namespace": "default", "pod": "client"}));
    assert_eq!(doc["spec"]["destination"], json!({"namespace": "default", "service": "web-remote"}));
    let tcp = &doc["spec"]["packet"]["transportHeader"]["tcp"];
    assert_eq!(tcp["srcPort"], probe["transport"]["srcPort"]);
    assert_eq!(tcp["dstPort"], probe["transport"]["dstPort"]);
    assert_eq!(doc["spec"]["packet"]["ipHeader"]["protocol"], 6);
    // No destination endpoint named: the address.
    let yaml = String::from_utf8(run("yaml", &sample("pod-to-external"))).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let probe: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("pod-to-external/probe.json")).unwrap()).unwrap();
    assert_eq!(doc["spec"]["destination"], json!({"ip": probe["ip"]["dst"]}));
    assert!(doc["spec"]["packet"]["transportHeader"]["icmp"]["id"].is_u64());
}

/// The strict schema catches what Kubernetes would prune or refuse, so the test above can fail.
#[test]
fn the_schema_check_rejects_what_antrea_would_not_keep() {
    let validator = crd_validator();
    let yaml = String::from_utf8(run("yaml", &sample("pod-to-pod-inter-node"))).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert!(errors(&validator, &doc).is_empty());
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        f(&mut d);
        errors(&validator, &d)
    };
    // A hoptrace field inside status would be pruned.
    assert!(!broken(&|d| d["status"]["results"][0]["observations"][0]["time"] = "x".into()).is_empty());
    assert!(!broken(&|d| d["status"]["results"][0]["hops"] = json!([])).is_empty());
    assert!(!broken(&|d| d["status"]["clocks"] = json!([])).is_empty());
    assert!(!broken(&|d| d["spec"]["source"]["ip"] = "10.1.2".into()).is_empty());
    assert!(!broken(&|d| d["spec"]["packet"]["ipHeader"]["ttl"] = 300.into()).is_empty());
    assert!(!broken(&|d| d["kind"] = "Pod".into()).is_empty());
    assert!(!broken(&|d| d["metadata"]["name"] = "Client_To".into()).is_empty());
    assert!(!broken(&|d| d["extra"] = 1.into()).is_empty());
    // A valid address of either family passes the oneOf.
    assert!(broken(&|d| d["spec"]["source"]["ip"] = "fd00::5".into()).is_empty());
}

/// An incomplete path (one node given): a Failed Traceflow with its reason, still valid, and the
/// findings kept in the hoptrace section.
#[test]
fn an_incomplete_path_is_a_failed_traceflow() {
    let dir = sample("k8s-np-ingress-drop");
    let args = |format: &str| {
        let out = hoptrace()
            .args(["analyze", "-q", "--format", format, "--probe"])
            .arg(dir.join("probe.json"))
            .arg(dir.join("k8s-node1"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        out.stdout
    };
    let yaml = String::from_utf8(args("yaml")).unwrap();
    let json: Value = serde_json::from_slice(&args("json")).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert!(errors(&crd_validator(), &doc).is_empty(), "{:#?}", errors(&crd_validator(), &doc));
    assert_eq!(doc["status"]["phase"], "Failed");
    assert!(doc["status"]["reason"].as_str().unwrap().starts_with("incomplete"));
    assert!(doc["hoptrace"]["findings"][0]["kind"].is_string());
    let typed: hoptrace::export::traceflow::TraceflowDoc = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(serde_json::to_value(typed.to_result().unwrap()).unwrap(), json);
}
