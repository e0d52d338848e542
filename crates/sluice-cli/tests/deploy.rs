//! The files under `deploy/` checked offline, since neither Docker nor a
//! Kubernetes API server runs here: every `sluice` command line in them
//! parses with the real CLI, every file, volume, port, ConfigMap and Secret
//! they reference exists, the bundled pipeline validates, and the copies of
//! it agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

fn repo() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| {
            serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .map(|x| x.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Parses a `sluice` command line with the real CLI, without running it.
fn assert_cli_accepts(args: &[String], origin: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("SLUICE_CHECK_ARGS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{origin}: `sluice {}` is rejected:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value after `flag` in a command line.
fn flag<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn validate_pipeline(path: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let loaded =
        sluice_spec::load_pipeline(path).unwrap_or_else(|d| panic!("{}: {d:#?}", path.display()));
    let diags = rt.block_on(sluice_engine::validate_pipeline(
        &sluice_catalog::registry(),
        &loaded,
        false,
    ));
    // Paths inside the image do not exist here; they are checked against
    // the repository below instead.
    let diags: Vec<_> = diags
        .into_iter()
        .filter(|d| {
            !(d.path.ends_with(".settings.path") && d.message.contains("/usr/share/sluice/sample/"))
        })
        .collect();
    assert!(diags.is_empty(), "{}: {diags:#?}", path.display());
    // Paths inside the image map to the repository per the Dockerfile:
    // pipelines/data/sample → /usr/share/sluice/sample.
    let text = std::fs::read_to_string(path).unwrap();
    for line in text.lines().filter_map(|l| l.trim().strip_prefix("path: ")) {
        let rel = line
            .strip_prefix("/usr/share/sluice/sample/")
            .unwrap_or_else(|| panic!("{}: `{line}` is not in the image", path.display()));
        assert!(
            repo().join("pipelines/data/sample").join(rel).exists(),
            "{}: {line} is not bundled",
            path.display()
        );
    }
}

#[test]
fn dockerfile_copies_what_exists_and_runs_a_valid_command() {
    let root = repo();
    let text = std::fs::read_to_string(root.join("deploy/Dockerfile")).unwrap();
    let mut stages = BTreeSet::new();
    let (mut entrypoint, mut cmd) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("FROM") => {
                if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
                    stages.insert(words[i + 1].to_string());
                }
            }
            Some("COPY") => {
                let args: Vec<&str> = words[1..]
                    .iter()
                    .copied()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                let from = words.iter().find_map(|w| w.strip_prefix("--from="));
                match from {
                    Some(stage) => {
                        assert!(stages.contains(stage), "COPY --from={stage}: no such stage")
                    }
                    None => {
                        for src in &args[..args.len() - 1] {
                            assert!(
                                *src == "." || root.join(src).exists(),
                                "Dockerfile: COPY {src}: not in the repository"
                            );
                        }
                    }
                }
            }
            Some("ENTRYPOINT") => {
                entrypoint = serde_json::from_str::<Vec<String>>(
                    line.trim_start_matches("ENTRYPOINT").trim(),
                )
                .unwrap()
            }
            Some("CMD") => {
                cmd = serde_json::from_str::<Vec<String>>(line.trim_start_matches("CMD").trim())
                    .unwrap()
            }
            _ => {}
        }
    }
    assert_eq!(
        entrypoint.last().map(String::as_str),
        Some("/usr/local/bin/sluice")
    );
    assert!(text.contains("cargo build --release --locked -p sluice-cli --bin sluice"));
    assert!(text.contains("COPY --from=build /src/target/release/sluice /usr/local/bin/sluice"));
    assert_cli_accepts(&cmd, "Dockerfile CMD");
    let port = flag(&cmd, "--listen")
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("EXPOSE {port}")),
        "the CMD listens on {port}, which is not exposed"
    );
    assert!(root.join("scripts/setup-model.sh").is_file());
}

#[test]
fn compose_file_is_consistent() {
    let root = repo();
    let dir = root.join("deploy/compose");
    let compose = yaml(&dir.join("compose.yaml"));
    let services = compose["services"].as_mapping().unwrap();
    let names: BTreeSet<String> = services
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for want in ["sluice", "kafka", "qdrant", "elasticsearch"] {
        assert!(names.contains(want), "compose has no `{want}` service");
    }
    let volumes: BTreeSet<String> = compose["volumes"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        assert!(
            svc["image"].is_string() || svc["build"].is_mapping(),
            "{name}: needs an image or a build"
        );
        for dep in svc["depends_on"]
            .as_mapping()
            .map(|m| {
                m.keys()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        {
            assert!(
                names.contains(&dep),
                "{name}: depends on unknown service {dep}"
            );
        }
        for v in strings(&svc["volumes"]) {
            let src = v.split(':').next().unwrap();
            if src.starts_with('.') {
                assert!(
                    dir.join(src).exists(),
                    "{name}: mounts {src}, which does not exist"
                );
            } else {
                assert!(
                    volumes.contains(src),
                    "{name}: volume {src} is not declared"
                );
            }
        }
    }
    let sluice = &services["sluice"];
    let build = &sluice["build"];
    assert!(
        dir.join(build["context"].as_str().unwrap())
            .join(build["dockerfile"].as_str().unwrap())
            .is_file()
    );
    let cmd = strings(&sluice["command"]);
    assert_cli_accepts(&cmd, "compose sluice.command");
    // The key file it mounts is the one passed to --api-keys, and it loads.
    let keys_in_container = flag(&cmd, "--api-keys").unwrap();
    let mount = strings(&sluice["volumes"])
        .into_iter()
        .find(|v| v.split(':').nth(1) == Some(keys_in_container))
        .expect("the key file is mounted");
    let keys = sluice_api::ApiKeys::load(&dir.join(mount.split(':').next().unwrap())).unwrap();
    assert_eq!(keys.len(), 2);
    let text = std::fs::read_to_string(dir.join("keys.example.yaml")).unwrap();
    for k in [
        "slk_compose_reader_change_me",
        "slk_compose_admin_change_me",
    ] {
        assert!(
            text.contains(&sluice_api::hash_key(k)),
            "the documented key {k} is not in the file"
        );
    }
    let port = flag(&cmd, "--listen")
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert!(
        strings(&sluice["ports"])
            .iter()
            .any(|p| p.ends_with(&format!(":{port}"))),
        "port {port} is not published"
    );
    for entry in std::fs::read_dir(dir.join("pipelines")).unwrap() {
        validate_pipeline(&entry.unwrap().path());
    }
    // The Kafka profile: every Sluice service's command parses, and the
    // worker's pipeline file is in the mounted directory and uses Kafka.
    for name in ["kafka-publisher", "kafka-worker", "kafka-search"] {
        let svc = &services[name];
        assert_eq!(
            strings(&svc["profiles"]),
            vec!["kafka".to_string()],
            "{name}"
        );
        let cmd = strings(&svc["command"]);
        assert_cli_accepts(&cmd, &format!("compose {name}.command"));
    }
    let worker = strings(&services["kafka-worker"]["command"]);
    let in_container = std::path::Path::new(&worker[1]);
    let mount = strings(&services["kafka-worker"]["volumes"])
        .into_iter()
        .find(|v| in_container.starts_with(v.split(':').nth(1).unwrap()))
        .expect("the worker's pipeline is mounted");
    let on_host = dir
        .join(mount.split(':').next().unwrap())
        .join(in_container.file_name().unwrap());
    validate_pipeline(&on_host);
    let text = std::fs::read_to_string(&on_host).unwrap();
    assert!(
        text.contains("type: kafka") && text.contains("bootstrap_servers: kafka:9092"),
        "{}",
        on_host.display()
    );
    // The search service reads the volume the worker writes.
    let worker_data = flag(&worker, "--data-dir").unwrap();
    let search = strings(&services["kafka-search"]["command"]);
    assert_eq!(flag(&search, "--data-dir"), Some(worker_data));
    let volume = |svc: &str| {
        strings(&services[svc]["volumes"])
            .into_iter()
            .find(|v| !v.starts_with('.'))
            .unwrap()
    };
    assert_eq!(volume("kafka-worker"), volume("kafka-search"));

    // The stores profile: the daemon's pipelines write Qdrant and
    // Elasticsearch at the compose services' addresses.
    let stores = &services["stores-sluice"];
    assert_eq!(strings(&stores["profiles"]), vec!["stores".to_string()]);
    let cmd = strings(&stores["command"]);
    assert_cli_accepts(&cmd, "compose stores-sluice.command");
    for entry in std::fs::read_dir(dir.join("pipelines-stores")).unwrap() {
        let path = entry.unwrap().path();
        validate_pipeline(&path);
        let loaded = sluice_spec::load_pipeline(&path).unwrap();
        let urls: Vec<String> = loaded
            .spec
            .sinks
            .iter()
            .map(|s| {
                serde_json::to_value(s).unwrap()["url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(
            urls,
            vec!["http://qdrant:6334", "http://elasticsearch:9200"],
            "{}",
            path.display()
        );
    }
}

#[test]
fn kubernetes_manifests_reference_what_they_define() {
    let root = repo();
    let dir = root.join("deploy/k8s");
    let kustomization = yaml(&dir.join("kustomization.yaml"));
    let files = strings(&kustomization["resources"]);
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "kustomization.yaml")
        .collect();
    assert_eq!(
        files.iter().cloned().collect::<BTreeSet<_>>(),
        on_disk,
        "kustomization resources vs files"
    );

    let mut by_kind: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in &files {
        for doc in yaml_docs(&dir.join(f)) {
            let kind = doc["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{f}: a document without kind"))
                .to_string();
            assert!(
                doc["apiVersion"].is_string(),
                "{f}: {kind} without apiVersion"
            );
            assert!(
                doc["metadata"]["name"].is_string(),
                "{f}: {kind} without metadata.name"
            );
            by_kind.entry(kind).or_default().push(doc);
        }
    }
    let names = |kind: &str| -> BTreeSet<String> {
        by_kind
            .get(kind)
            .into_iter()
            .flatten()
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (config_maps, secrets) = (names("ConfigMap"), names("Secret"));
    let workloads: Vec<&Value> = ["StatefulSet", "Deployment", "Job"]
        .iter()
        .flat_map(|k| by_kind.get(*k).into_iter().flatten())
        .collect();
    assert!(!workloads.is_empty());
    for w in &workloads {
        let name = w["metadata"]["name"].as_str().unwrap();
        let labels = w["spec"]["template"]["metadata"]["labels"]
            .as_mapping()
            .unwrap();
        for (k, v) in w["spec"]["selector"]["matchLabels"].as_mapping().unwrap() {
            assert_eq!(
                labels.get(k),
                Some(v),
                "{name}: selector {k:?} does not match the pod labels"
            );
        }
        let pod = &w["spec"]["template"]["spec"];
        let mut volume_names: BTreeSet<String> = BTreeSet::new();
        for v in pod["volumes"].as_sequence().unwrap() {
            volume_names.insert(v["name"].as_str().unwrap().into());
            let projected = v["projected"]["sources"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|s| s["configMap"]["name"].as_str());
            for cm in v["configMap"]["name"].as_str().into_iter().chain(projected) {
                assert!(
                    config_maps.contains(cm),
                    "{name}: ConfigMap {cm} is not defined"
                );
            }
            if let Some(s) = v["secret"]["secretName"].as_str() {
                assert!(secrets.contains(s), "{name}: Secret {s} is not defined");
            }
        }
        for c in w["spec"]["volumeClaimTemplates"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            volume_names.insert(c["metadata"]["name"].as_str().unwrap().into());
        }
        for c in pod["containers"].as_sequence().unwrap() {
            let args = strings(&c["args"]);
            assert_cli_accepts(&args, &format!("{name} container args"));
            let ports: BTreeSet<String> = c["ports"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            let port_number = c["ports"][0]["containerPort"].as_u64().unwrap();
            let listen_flag = match args[0].as_str() {
                "daemon" => "--listen",
                "serve" => "--addr",
                "worker" => "--metrics-addr",
                other => panic!("{name}: unexpected command {other}"),
            };
            assert_eq!(
                flag(&args, listen_flag).unwrap(),
                format!("0.0.0.0:{port_number}"),
                "{name}: {listen_flag}"
            );
            let mut probes = 0;
            for probe in ["readinessProbe", "livenessProbe"] {
                let p = &c[probe]["httpGet"];
                if p.is_null() && args[0] == "worker" {
                    continue; // a worker takes no traffic: liveness only
                }
                assert!(
                    ports.contains(p["port"].as_str().unwrap()),
                    "{name}: {probe} port"
                );
                assert!(
                    ["/healthz", "/readyz"].contains(&p["path"].as_str().unwrap()),
                    "{name}: {probe} path"
                );
                probes += 1;
            }
            assert!(probes >= 1, "{name}: no probes");
            for m in c["volumeMounts"].as_sequence().unwrap() {
                assert!(
                    volume_names.contains(m["name"].as_str().unwrap()),
                    "{name}: mount of unknown volume {:?}",
                    m["name"]
                );
            }
            for e in c["envFrom"].as_sequence().into_iter().flatten() {
                let s = e["secretRef"]["name"].as_str().unwrap();
                assert!(
                    secrets.contains(s),
                    "{name}: envFrom Secret {s} is not defined"
                );
            }
            // Pipelines, key files and data are mounted where the args say.
            let mounted = |path: &str| {
                c["volumeMounts"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|m| path.starts_with(m["mountPath"].as_str().unwrap()))
            };
            if args[0] != "serve" {
                assert!(
                    mounted(&args[1]),
                    "{name}: the pipelines at {} are not mounted",
                    args[1]
                );
            }
            if args[0] != "worker" {
                assert!(
                    mounted(flag(&args, "--api-keys").unwrap()),
                    "{name}: the key file is not mounted"
                );
            }
            assert!(
                mounted(flag(&args, "--data-dir").unwrap()),
                "{name}: the data dir is not on the volume"
            );
            // Runs get the daemon's grace period before the kubelet kills the pod.
            if let Some(secs) = flag(&args, "--shutdown-grace-secs") {
                assert!(
                    pod["terminationGracePeriodSeconds"].as_u64().unwrap()
                        > secs.parse::<u64>().unwrap(),
                    "{name}: grace period"
                );
            }
        }
    }
    // The worker reads the Kafka pipeline from its ConfigMap; its search sidecar reads what it writes.
    let worker = by_kind["StatefulSet"]
        .iter()
        .find(|w| w["metadata"]["name"] == "sluice-kafka-worker")
        .expect("a Kafka worker StatefulSet");
    let containers = worker["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap();
    let args_of = |cmd: &str| {
        containers
            .iter()
            .map(|c| strings(&c["args"]))
            .find(|a| a[0] == cmd)
            .unwrap()
    };
    assert_eq!(
        flag(&args_of("worker"), "--data-dir"),
        flag(&args_of("serve"), "--data-dir")
    );
    for svc in by_kind.get("Service").into_iter().flatten() {
        let sel = svc["spec"]["selector"].as_mapping().unwrap();
        let target = workloads
            .iter()
            .find(|w| {
                sel.iter()
                    .all(|(k, v)| w["spec"]["template"]["metadata"]["labels"].get(k) == Some(v))
            })
            .expect("a Service selects a workload");
        let ports: Vec<String> = target["spec"]["template"]["spec"]["containers"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|c| {
                c["ports"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|p| p["name"].as_str().unwrap().to_string())
            })
            .collect();
        for p in svc["spec"]["ports"].as_sequence().unwrap() {
            assert!(
                ports.contains(&p["targetPort"].as_str().unwrap().to_string()),
                "Service targetPort {:?}",
                p["targetPort"]
            );
        }
    }
    // The ConfigMaps carry the same pipelines as the compose directories.
    for (cm_name, compose_dir) in [
        ("sluice-pipelines", "pipelines"),
        ("sluice-pipelines-kafka", "pipelines-kafka"),
    ] {
        let cm = by_kind["ConfigMap"]
            .iter()
            .find(|c| c["metadata"]["name"] == cm_name)
            .unwrap_or_else(|| panic!("no ConfigMap {cm_name}"));
        for (file, text) in cm["data"].as_mapping().unwrap() {
            let file = file.as_str().unwrap();
            let compose_copy =
                std::fs::read_to_string(root.join("deploy/compose").join(compose_dir).join(file))
                    .unwrap();
            assert_eq!(
                text.as_str().unwrap(),
                compose_copy,
                "ConfigMap {cm_name} {file} differs from deploy/compose/{compose_dir}/{file}"
            );
        }
    }
    // The key file in the Secret loads.
    let keys = by_kind["Secret"]
        .iter()
        .find_map(|s| s["stringData"]["keys.yaml"].as_str())
        .expect("a keys.yaml Secret");
    sluice_api::ApiKeys::parse(keys).unwrap();
}

#[test]
fn kubernetes_replicas_share_their_state_and_take_disruptions_one_at_a_time() {
    let root = repo();
    let dir = root.join("deploy/k8s-replicas");
    let files = strings(&yaml(&dir.join("kustomization.yaml"))["resources"]);
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "kustomization.yaml")
        .collect();
    assert_eq!(files.iter().cloned().collect::<BTreeSet<_>>(), on_disk);
    let docs: Vec<Value> = files.iter().flat_map(|f| yaml_docs(&dir.join(f))).collect();
    fn of_kind<'a>(docs: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        docs.iter().filter(move |d| d["kind"] == kind)
    }
    let of = |kind: &'static str| of_kind(&docs, kind);
    let deployment = of("Deployment").next().expect("a Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2, "several replicas");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selects = |sel: &Value| {
        sel.as_mapping()
            .unwrap()
            .iter()
            .all(|(k, v)| pod_labels.get(k) == Some(v))
    };
    assert!(selects(&deployment["spec"]["selector"]["matchLabels"]));
    // The disruption budget and the Service cover these pods.
    let pdb = of("PodDisruptionBudget").next().expect("a PodDisruptionBudget");
    assert!(selects(&pdb["spec"]["selector"]["matchLabels"]));
    assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1));
    assert!(of("Service").all(|s| selects(&s["spec"]["selector"])));
    let pod = &deployment["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let args = strings(&c["args"]);
    assert_cli_accepts(&args, "sluice-replicas container args");
    assert!(
        pod["terminationGracePeriodSeconds"].as_u64().unwrap()
            > flag(&args, "--shutdown-grace-secs").unwrap().parse::<u64>().unwrap()
    );
    // The shared state comes from a Secret defined here; no volume claim.
    let secrets: BTreeSet<&str> = of("Secret").filter_map(|s| s["metadata"]["name"].as_str()).collect();
    let from_secrets: Vec<&str> = c["envFrom"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["secretRef"]["name"].as_str().unwrap())
        .collect();
    assert!(from_secrets.iter().all(|s| secrets.contains(s)), "{from_secrets:?}");
    let shared = of("Secret")
        .find_map(|s| s["stringData"]["SLUICE_SHARED_STATE_URL"].as_str())
        .expect("SLUICE_SHARED_STATE_URL in a Secret");
    assert!(shared.starts_with("postgres://"));
    // Nothing on a pod is state: no claim, no host path.
    assert!(of("StatefulSet").next().is_none() && of("PersistentVolumeClaim").next().is_none());
    for v in pod["volumes"].as_sequence().unwrap() {
        assert!(
            v["persistentVolumeClaim"].is_null() && v["hostPath"].is_null(),
            "volume {:?} would hold state on one replica",
            v["name"]
        );
    }
    let env: Vec<&str> = c["env"].as_sequence().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert!(env.contains(&"SLUICE_REPLICA_ID"), "each pod names itself in the leases");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert!(c[probe]["httpGet"]["path"].is_string(), "{probe}");
    }
    // The pipelines: the compose copy, validated, with remote stores only.
    let cm = of("ConfigMap").next().expect("the pipelines ConfigMap");
    assert!(
        pod["volumes"].as_sequence().unwrap().iter().any(|v| v["configMap"]["name"] == cm["metadata"]["name"]),
        "the pipelines ConfigMap is mounted"
    );
    for (file, text) in cm["data"].as_mapping().unwrap() {
        let file = file.as_str().unwrap();
        let compose = root.join("deploy/compose/pipelines-stores").join(file);
        assert_eq!(text.as_str().unwrap(), std::fs::read_to_string(&compose).unwrap(), "{file}");
        validate_pipeline(&compose);
        let p: Value = serde_yaml_ng::from_str(text.as_str().unwrap()).unwrap();
        for sink in p["sinks"].as_sequence().unwrap() {
            assert_ne!(sink["type"], "embedded", "{file}: replicas cannot share an embedded index");
        }
    }
}

#[test]
fn systemd_units_run_valid_commands() {
    let dir = repo().join("deploy/systemd");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().filter_map(|l| l.strip_prefix("ExecStart=")) {
            let mut words = line.split_whitespace();
            assert_eq!(
                words.next(),
                Some("/usr/local/bin/sluice"),
                "{}",
                path.display()
            );
            assert_cli_accepts(
                &words.map(String::from).collect::<Vec<_>>(),
                &path.display().to_string(),
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked} units checked");
}
