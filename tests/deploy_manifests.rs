//! deploy/ (docs/deploy.md): the manifests validate against the Kubernetes schemas, the
//! commands in the docs are the manifests' (names, labels, paths, image, the extract command),
//! and the init container's arguments run with the real binary.

mod support;

use serde_yaml_ng::Value;
use std::path::Path;
use std::process::Command;
use support::{require, Need};

const MANIFEST: &str = "deploy/extract-daemonset.yaml";

fn manifests() -> Vec<Value> {
    let text = std::fs::read_to_string(support::root().join(MANIFEST)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect()
}

fn daemonset() -> Value {
    manifests().into_iter().find(|m| m["kind"] == "DaemonSet").expect("a DaemonSet")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// The shell commands of docs/deploy.md's `sh` block.
fn doc_commands() -> String {
    let doc = std::fs::read_to_string(support::root().join("docs/deploy.md")).unwrap();
    let start = doc.find("```sh\n").expect("an sh block") + 6;
    doc[start..start + doc[start..].find("```").unwrap()].to_string()
}

fn doc_text() -> String {
    std::fs::read_to_string(support::root().join("docs/deploy.md")).unwrap()
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas() {
    require!(Need::Tool("kubernetes-validate"));
    let root = support::root();
    let out = Command::new("kubernetes-validate").args(["--strict", MANIFEST]).current_dir(&root).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches(" passed for resource ").count(), 2, "{text}");
    // The validator does reject what is wrong: a misspelt field.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let manifest = std::fs::read_to_string(root.join(MANIFEST)).unwrap();
    std::fs::write(&bad, manifest.replace("nodeSelector:", "nodeSelecter:")).unwrap();
    let out = Command::new("kubernetes-validate").arg("--strict").arg(&bad).output().unwrap();
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn the_docs_commands_are_the_manifests() {
    let cmds = doc_commands();
    let ds = daemonset();
    let ns = s(&ds["metadata"]["namespace"]);
    let spec = &ds["spec"]["template"]["spec"];
    // Every file applied or deleted exists; the DaemonSet and the namespace are the ones named.
    for line in cmds.lines().filter(|l| l.contains(" -f deploy/")) {
        let file = line.split(" -f ").nth(1).unwrap().split_whitespace().next().unwrap();
        assert!(support::root().join(file).is_file(), "{line}");
    }
    assert!(cmds.contains(&format!("kubectl apply -f {MANIFEST}")), "{cmds}");
    assert!(cmds.contains(&format!("kubectl delete -f {MANIFEST}")), "{cmds}");
    assert!(manifests().iter().any(|m| m["kind"] == "Namespace" && m["metadata"]["name"] == ns));
    for line in cmds.lines().filter(|l| l.contains("kubectl -n ")) {
        assert!(line.contains(&format!("kubectl -n {ns} ")), "{line}");
    }
    assert!(cmds.contains(&format!("rollout status daemonset/{} ", s(&ds["metadata"]["name"]))), "{cmds}");
    // The image built is the image run.
    let tag = cmds.split(" -t ").nth(1).unwrap().split_whitespace().next().unwrap();
    for c in spec["initContainers"].as_sequence().unwrap().iter().chain(spec["containers"].as_sequence().unwrap()) {
        assert_eq!(s(&c["image"]), tag);
    }
    assert!(cmds.contains("-f deploy/Containerfile"));
    // The label set on the nodes is the node selector.
    let selector: Vec<String> = spec["nodeSelector"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(k, _)| s(k) != "kubernetes.io/os")
        .map(|(k, v)| format!("{}={}", s(k), s(v)))
        .collect();
    assert_eq!(selector.len(), 1);
    assert!(cmds.contains(&format!("kubectl label node k8s-node-1 {}", selector[0])), "{cmds}");
    let key = selector[0].split('=').next().unwrap();
    assert!(cmds.contains(&format!(" {key}-")), "the label is removed at the end: {cmds}");
    // The ConfigMap created is the one mounted, with the file the probe is read from.
    let volumes = spec["volumes"].as_sequence().unwrap();
    let volume = |name: &str| volumes.iter().find(|v| v["name"] == name).unwrap().clone();
    let cm = s(&volume("probe")["configMap"]["name"]).to_string();
    assert!(cmds.contains(&format!("create configmap {cm} --from-file=probe.json")), "{cmds}");
    // The Pods listed are the DaemonSet's; the file copied is where the init container writes,
    // from the container that holds it.
    let pod_label = s(&ds["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]);
    assert!(cmds.contains(&format!("-l app.kubernetes.io/name={pod_label} ")), "{cmds}");
    let init = &spec["initContainers"][0];
    let hold = &spec["containers"][0];
    let mount = |c: &Value, name: &str| {
        c["volumeMounts"].as_sequence().unwrap().iter().find(|m| m["name"] == name).unwrap().clone()
    };
    assert!(cmds.contains(&format!("cp -c {} ", s(&hold["name"]))), "{cmds}");
    let evidence_dir = s(&mount(hold, "evidence")["mountPath"]).to_string();
    assert_eq!(s(&mount(init, "evidence")["mountPath"]), evidence_dir);
    assert!(cmds.contains(&format!(":{evidence_dir}/$node.evidence.json\"")), "{cmds}");
    // The extract command shown in the docs is the init container's, with its paths.
    let args: Vec<&str> = init["args"].as_sequence().unwrap().iter().map(s).collect();
    let shown = format!("hoptrace {}", args.join(" "));
    assert!(doc_text().contains(&shown), "docs/deploy.md does not show `{shown}`");
    assert!(args.contains(&s(&mount(init, "captures")["mountPath"])));
    assert_eq!(mount(init, "captures")["readOnly"], Value::Bool(true));
    assert!(args.iter().any(|a| a.starts_with(&format!("{}/", s(&mount(init, "probe")["mountPath"])))));
    assert!(args.iter().any(|a| a.starts_with(&format!("{evidence_dir}/"))));
    let host = s(&volume("captures")["hostPath"]["path"]).to_string();
    assert!(doc_text().contains(&format!("`{host}`")), "docs/deploy.md does not name the hostPath {host}");
    // The Containerfile builds the tag's binary where the manifests run it.
    let cf = std::fs::read_to_string(support::root().join("deploy/Containerfile")).unwrap();
    assert!(cf.contains(&format!("-t {tag} .")), "the Containerfile's build command");
    assert!(cf.contains("ENTRYPOINT [\"/usr/local/bin/hoptrace\"]"));
}

#[test]
fn the_init_containers_arguments_run_with_the_real_binary() {
    let ds = daemonset();
    let init = &ds["spec"]["template"]["spec"]["initContainers"][0];
    let dir = tempfile::tempdir().unwrap();
    let at = |p: &str| dir.path().join(p.trim_start_matches('/'));
    for d in ["probe", "evidence", "captures"] {
        std::fs::create_dir_all(at(d)).unwrap();
    }
    std::fs::copy(support::sample("pod-to-service-remote/probe.json"), at("probe/probe.json")).unwrap();
    let sample = support::sample("pod-to-service-remote/k8s-node2");
    for e in std::fs::read_dir(&sample).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().contains(".pcap") {
            std::fs::copy(&p, at("captures").join(p.file_name().unwrap())).unwrap();
        }
    }
    // As the kubelet does: $(NODE_NAME) from the downward API; paths under the temp dir.
    let args: Vec<String> = init["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            let a = s(a).replace("$(NODE_NAME)", "k8s-node2");
            if a.starts_with('/') {
                at(&a).display().to_string()
            } else {
                a
            }
        })
        .collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = support::run(&argv);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let evidence = at("evidence/k8s-node2.evidence.json");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&evidence).unwrap()).unwrap();
    assert_eq!(doc["node"], "k8s-node2");
    assert!(!doc["sightings"].as_array().unwrap().is_empty());
    assert!(Path::new(&evidence).is_file());
}
