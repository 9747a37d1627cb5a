//! The shape of the code, checked from its text: dependencies between the source folders point
//! one way (no cycle), no HTTP below the routes, and SQL only in repositories, `db` and `stats`.
//! See docs/ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, with its path relative to `src/`.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

/// The top-level module a file belongs to: `households` for `households/service.rs`.
fn module_of(path: &Path) -> String {
    let first = path
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a file without its `#[cfg(test)]` module (tests may reach anywhere).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// Which top-level modules each one names (`crate::x`).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let from = module_of(&path);
        let targets = graph.entry(from.clone()).or_default();
        for (at, _) in without_tests(&text).match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != from {
                targets.insert(name);
            }
        }
    }
    graph
}

/// A cycle through `start`, if there is one (depth-first search).
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn visit(
        graph: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if visit(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    visit(graph, start, start, &mut path, &mut seen).then_some(path)
}

#[test]
fn dependencies_between_source_folders_point_one_way() {
    let graph = dependencies();
    assert!(graph.contains_key("households") && graph.contains_key("startup"));
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|module| cycle_from(&graph, module))
        .map(|cycle| cycle.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "dependency cycles: {cycles:#?}");
    // Below the routes nothing knows the application that startup assembles.
    for (module, targets) in &graph {
        if !["cli", "startup", "lib", "main"].contains(&module.as_str()) {
            assert!(!targets.contains("startup"), "{module} depends on startup");
        }
    }
}

#[test]
fn services_repositories_and_models_know_no_http() {
    let layers = ["service.rs", "repo.rs", "model.rs", "events.rs"];
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| layers.iter().any(|l| path.ends_with(l)))
        .filter(|(_, text)| without_tests(text).contains("actix"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "HTTP types below the routes: {offenders:?}"
    );
}

#[test]
fn sql_is_written_only_in_repositories_the_database_layer_and_statistics() {
    const SQL: [&str; 7] = [
        "sql_query(",
        "Sql::new(",
        "insert_into(",
        "diesel::update(",
        "diesel::delete(",
        "db::schema::",
        "bulk_insert!",
    ];
    let allowed = |path: &Path| {
        path.ends_with("repo.rs") || path.starts_with("db") || path.starts_with("stats")
    };
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| !allowed(path))
        .filter_map(|(path, text)| {
            let found: Vec<&str> = SQL
                .iter()
                .copied()
                .filter(|needle| without_tests(&text).contains(needle))
                .collect();
            (!found.is_empty()).then(|| format!("{}: {found:?}", path.display()))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "SQL outside repositories: {offenders:#?}"
    );
}
