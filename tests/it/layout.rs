//! The layout of src/ that the module map in src/lib.rs promises: no module imports a module
//! that imports it back, and each top-level module imports only those listed after it.
//!
//! A module's imports are the modules its code names through `crate::…`, `super::…`,
//! `self::…` or one of its own child modules (`use` lines and paths in code alike), leaving
//! out unit-test modules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules, each importing only modules that come after it.
const LAYERS: [&str; 13] = [
    "cli", "handin", "report", "evaluate", "store", "plot", "train", "model", "data", "nn", "io",
    "text", "choice",
];

/// Every .rs file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `src/nn/mod.rs` → ["nn"], `src/nn/mlp.rs` → ["nn", "mlp"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .strip_prefix(src)
        .unwrap()
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code without `//` comments (doc comments name paths that are not imports) and without
/// its unit tests (a `#[cfg(test)]` module at the end of the file, whose `super` is the file).
fn without_comments(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Every path written in `code` as `head::a::b` (and `head::a::{b, c::d}`, as `head::a::b`,
/// `head::a::c`), as the segments after `head`, for the heads in `heads`.
fn paths(code: &str, heads: &BTreeSet<String>) -> Vec<(String, Vec<String>)> {
    let bytes = code.as_bytes();
    let text = |from: usize, to: usize| String::from_utf8_lossy(&bytes[from..to]).into_owned();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != b':';
        if !starts_word || !is_ident(bytes[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && is_ident(bytes[j]) {
            j += 1;
        }
        let head = text(i, j);
        if !heads.contains(&head) || !bytes[j..].starts_with(b"::") {
            i = j;
            continue;
        }
        let mut segments = Vec::new();
        let mut k = j;
        while bytes[k..].starts_with(b"::") {
            k += 2;
            if bytes.get(k) == Some(&b'{') {
                let close = (k..bytes.len())
                    .find(|&c| bytes[c] == b'}')
                    .unwrap_or(bytes.len());
                for item in text(k + 1, close).split(',') {
                    let first = item.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() && first != "self" && first.bytes().all(is_ident) {
                        let mut with_item = segments.clone();
                        with_item.push(first.to_string());
                        found.push((head.clone(), with_item));
                    }
                }
                k = close;
                break;
            }
            let start = k;
            while k < bytes.len() && is_ident(bytes[k]) {
                k += 1;
            }
            if k > start {
                segments.push(text(start, k));
            }
        }
        found.push((head, segments));
        i = k.max(j);
    }
    found
}

/// Each module of src/ and the modules it imports.
fn import_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .filter(|f| !f.ends_with("main.rs") || f.parent() != Some(src.as_path()))
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let code = without_comments(&fs::read_to_string(file).unwrap());
        let children: BTreeSet<String> = modules
            .keys()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
            .map(|m| m.last().unwrap().clone())
            .collect();
        let mut heads: BTreeSet<String> = ["crate", "super", "self"].map(String::from).into();
        heads.extend(children.iter().cloned());
        let mut imports = BTreeSet::new();
        for (head, segments) in paths(&code, &heads) {
            let mut full = match head.as_str() {
                "crate" => Vec::new(),
                "super" => module[..module.len().saturating_sub(1)].to_vec(),
                "self" => module.clone(),
                child => [module.clone(), vec![child.to_string()]].concat(),
            };
            full.extend(segments);
            // The longest module the path names.
            let target = (1..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|m| modules.contains_key(m));
            if let Some(target) = target.filter(|t| t != module) {
                imports.insert(target);
            }
        }
        graph.insert(module.clone(), imports);
    }
    graph
}

/// The modules from which `start` can be reached again, following imports.
fn reaches_itself(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>, start: &[String]) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&Vec<String>> = graph[start].iter().collect();
    while let Some(module) = stack.pop() {
        if module == start {
            return true;
        }
        if seen.insert(module.clone()) {
            stack.extend(graph[module].iter());
        }
    }
    false
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let graph = import_graph();
    assert!(graph.len() > 40, "found only {} modules", graph.len());
    let in_cycles: Vec<String> = graph
        .keys()
        .filter(|m| reaches_itself(&graph, m))
        .map(|m| m.join("::"))
        .collect();
    assert!(
        in_cycles.is_empty(),
        "modules in import cycles: {in_cycles:?}"
    );
}

#[test]
fn top_level_modules_import_only_those_below_them() {
    let graph = import_graph();
    let rank = |m: &Vec<String>| {
        LAYERS
            .iter()
            .position(|l| m.first().is_some_and(|f| f == l))
    };
    let mut upward = Vec::new();
    for (module, imports) in &graph {
        let Some(from) = rank(module) else {
            assert!(module.is_empty(), "{module:?} is not in the layer list");
            continue;
        };
        for import in imports {
            let to = rank(import).unwrap();
            if to < from {
                upward.push(format!("{} → {}", module.join("::"), import.join("::")));
            }
        }
    }
    assert!(upward.is_empty(), "imports against the layers: {upward:?}");
}

#[test]
fn the_import_reader_sees_groups_nested_paths_and_child_modules() {
    let heads: BTreeSet<String> = ["crate", "super", "child"].map(String::from).into();
    let code = "use crate::nn::{mlp::Mlp, layers};\nlet x = super::f(); child::g(); notcrate::h();";
    let found = paths(code, &heads);
    let as_text: Vec<String> = found
        .iter()
        .map(|(h, s)| format!("{h}::{}", s.join("::")))
        .collect();
    assert!(
        as_text.contains(&"crate::nn::mlp".to_string()),
        "{as_text:?}"
    );
    assert!(
        as_text.contains(&"crate::nn::layers".to_string()),
        "{as_text:?}"
    );
    assert!(as_text.contains(&"super::f".to_string()), "{as_text:?}");
    assert!(as_text.contains(&"child::g".to_string()), "{as_text:?}");
    assert!(!as_text.iter().any(|p| p.ends_with("::h")), "{as_text:?}");
}
