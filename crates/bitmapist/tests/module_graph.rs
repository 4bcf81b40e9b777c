//! The workspace's module graph has no import cycles, and the README's layout section names
//! every module file that exists (and only those).
//!
//! How the graph is read: for every crate under `crates/`, the modules are found from the
//! crate roots (`src/lib.rs`, `src/main.rs`) through their `mod NAME;` declarations. Each
//! module's code (comments and `#[cfg(test)]` modules left out) is scanned for paths:
//! `use` trees and inline `crate::a::b`, `super::a`, `self::a` paths, and `use` of a child
//! module by name. A path resolves to the deepest module it names; a name re-exported by
//! `pub use` (the crate root's flat list) resolves to where it is defined. Then, in every
//! folder (the crate root's modules, and each module's children), one child depends on
//! another when any module inside the first refers into the second. A cycle among the
//! children of one folder fails the test, naming the modules in order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's `crates/` folder.
fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

/// A module: its path from the crate root (empty for the root), its file, its code.
struct Module {
    path: Vec<String>,
    file: PathBuf,
    code: String,
}

/// The code without comments, string contents and `#[cfg(test)]` items.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r' && (b[i..].starts_with(b"r#\"") || b[i..].starts_with(b"r\"")) {
            // A raw string: skip to its closing quote and hashes.
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            i += 2 + hashes;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\n'): skipped so that its quote is not a string.
            let end = b[i + 1..]
                .iter()
                .skip(1)
                .position(|&c| c == b'\'')
                .map_or(b.len(), |p| i + 2 + p + 1);
            i = end;
            out.push_str("' '");
        } else {
            let ch = text[i..].chars().next().expect("a char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    strip_cfg_test(&out)
}

/// Removes every item marked `#[cfg(test)]` (a `mod tests { ... }` block or one item).
fn strip_cfg_test(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // The item ends at the matching `}` of its first block, or at a `;` before any `{`.
        let semi = after.find(';');
        let brace = after.find('{');
        let end = match (semi, brace) {
            (Some(s), Some(o)) if s < o => s + 1,
            (_, Some(o)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (k, c) in after[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (Some(s), None) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The `mod NAME;` declarations of a module's code.
fn declared_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in code.split(';') {
        let words: Vec<&str> = stmt.split_whitespace().collect();
        if let Some(pos) = words.iter().rposition(|w| *w == "mod")
            && pos + 2 == words.len()
            && is_ident(words[pos + 1])
        {
            out.push(words[pos + 1].to_string());
        }
    }
    out
}

/// The file of child module `name` of the module in `file`.
fn child_file(file: &Path, name: &str) -> Option<PathBuf> {
    let stem = file.file_stem()?.to_str()?;
    let dir = file.parent()?;
    let base = if matches!(stem, "mod" | "lib" | "main") {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

/// Every module of the crate whose root is `root`.
fn modules(root: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let mut todo = vec![(Vec::new(), root.to_path_buf())];
    while let Some((path, file)) = todo.pop() {
        let text = std::fs::read_to_string(&file).expect("a module file");
        let code = code_of(&text);
        for name in declared_modules(&code) {
            let child = child_file(&file, &name)
                .unwrap_or_else(|| panic!("{}: no file for `mod {name};`", file.display()));
            let mut p = path.clone();
            p.push(name);
            todo.push((p, child));
        }
        out.push(Module { path, file, code });
    }
    out
}

/// The full paths a `use` tree (the text after `use`, before `;`) names.
fn use_paths(tree: &str) -> Vec<Vec<String>> {
    fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head: Vec<String> = tree[..open]
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let mut base = prefix.to_vec();
            base.extend(head);
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&base, &inner[start..k], out);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            expand(&base, &inner[start..], out);
        } else {
            let tree = tree.split(" as ").next().unwrap_or(tree);
            let mut path = prefix.to_vec();
            path.extend(
                tree.split("::")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
            if !path.is_empty() {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    expand(&[], tree, &mut out);
    out
}

/// The `use` statements of the code: `(is pub, tree)`.
fn use_statements(code: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let boundary = before
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = &rest[at + 4..];
        if !boundary {
            rest = after;
            continue;
        }
        let end = after.find(';').unwrap_or(after.len());
        let public = before.trim_end().ends_with("pub") || before.trim_end().ends_with(')');
        out.push((public, after[..end].to_string()));
        rest = &after[end..];
    }
    out
}

/// Inline paths starting with `crate::`, `super::` or `self::` (outside `use` trees too).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let mut end = at;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b':')
            {
                end += 1;
            }
            let path: Vec<String> = code[at..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            if path.len() > 1 {
                out.push(path); // not the start of a grouped `use` tree, read with the tree
            }
        }
    }
    out
}

/// One crate's modules and the dependencies between them.
struct Graph {
    modules: BTreeSet<Vec<String>>,
    /// For each module, the modules its code refers to.
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

/// The module a path (as written in module `from`) refers to, following re-exports.
fn resolve(
    modules: &BTreeSet<Vec<String>>,
    reexports: &BTreeMap<(Vec<String>, String), Vec<String>>,
    from: &[String],
    path: &[String],
    in_use: bool,
) -> Option<Vec<String>> {
    let (mut at, rest): (Vec<String>, &[String]) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..]),
        Some("self") => (from.to_vec(), &path[1..]),
        Some("super") => {
            let mut at = from.to_vec();
            let mut k = 0;
            while path.get(k).map(String::as_str) == Some("super") {
                at.pop()?;
                k += 1;
            }
            (at, &path[k..])
        }
        Some(first) if in_use => {
            let mut child = from.to_vec();
            child.push(first.to_string());
            if !modules.contains(&child) {
                return None; // an external crate
            }
            (from.to_vec(), path)
        }
        _ => return None,
    };
    for (k, seg) in rest.iter().enumerate() {
        let mut next = at.clone();
        next.push(seg.clone());
        if modules.contains(&next) {
            at = next;
            continue;
        }
        // An item of `at`: maybe re-exported from another module.
        if let Some(target) = reexports.get(&(at.clone(), seg.clone())) {
            return Some(target.clone());
        }
        let _ = k;
        break;
    }
    Some(at)
}

fn graph(root: &Path) -> Graph {
    let mods = modules(root);
    let names: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    // `pub use` re-exports: (module, name) -> the module the name comes from. Resolved
    // in a few rounds, so that re-exports of re-exports are followed.
    let mut reexports: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    for _ in 0..4 {
        for m in &mods {
            for (public, tree) in use_statements(&m.code) {
                if !public {
                    continue;
                }
                for (full, alias) in use_paths_with_alias(&tree) {
                    let Some(source) = full
                        .split_last()
                        .and_then(|(_, dir)| resolve(&names, &reexports, &m.path, dir, true))
                    else {
                        continue;
                    };
                    let target =
                        resolve(&names, &reexports, &m.path, &full, true).unwrap_or(source);
                    reexports.insert((m.path.clone(), alias), target);
                }
            }
        }
    }
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for m in &mods {
        let mut to = BTreeSet::new();
        for (_, tree) in use_statements(&m.code) {
            for path in use_paths(&tree) {
                to.extend(resolve(&names, &reexports, &m.path, &path, true));
            }
        }
        for path in inline_paths(&m.code) {
            to.extend(resolve(&names, &reexports, &m.path, &path, false));
        }
        to.remove(&m.path);
        edges.insert(m.path.clone(), to);
    }
    Graph {
        modules: names,
        edges,
    }
}

/// `use` tree paths with the name each brings into scope (its alias, or its last segment).
fn use_paths_with_alias(tree: &str) -> Vec<(Vec<String>, String)> {
    // Re-read the tree keeping `as` aliases: expand on a copy where `X as Y` is `X@Y`.
    let marked = tree.replace(" as ", "@");
    use_paths(&marked)
        .into_iter()
        .filter_map(|mut p| {
            let last = p.pop()?;
            let (name, alias) = match last.split_once('@') {
                Some((n, a)) => (n.trim().to_string(), a.trim().to_string()),
                None => (last.clone(), last),
            };
            if name == "*" || name == "self" {
                return None;
            }
            p.push(name);
            Some((p, alias))
        })
        .collect()
}

/// The cycles among the children of each folder, as `a -> b -> a` (with the folder).
fn cycles(g: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    // Folders: every module with children.
    let parents: BTreeSet<Vec<String>> = g
        .modules
        .iter()
        .filter_map(|m| m.split_last().map(|(_, p)| p.to_vec()))
        .collect();
    for parent in parents {
        let children: Vec<&Vec<String>> = g
            .modules
            .iter()
            .filter(|m| m.len() == parent.len() + 1 && m.starts_with(&parent))
            .collect();
        let child_of = |m: &Vec<String>| -> Option<String> {
            (m.len() > parent.len() && m.starts_with(&parent)).then(|| m[parent.len()].clone())
        };
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for c in &children {
            deps.entry(c[parent.len()].clone()).or_default();
        }
        for (from, tos) in &g.edges {
            let Some(a) = child_of(from) else { continue };
            for to in tos {
                if let Some(b) = child_of(to)
                    && a != b
                {
                    deps.entry(a.clone()).or_default().insert(b);
                }
            }
        }
        // A cycle through each node: depth-first search for a path back to it.
        let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
        for start in deps.keys() {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, trail)) = stack.pop() {
                for next in deps.get(&node).into_iter().flatten() {
                    if next == start {
                        let set: BTreeSet<String> = trail.iter().cloned().collect();
                        if reported.insert(set) {
                            let mut shown = trail.clone();
                            shown.push(start.clone());
                            let folder = if parent.is_empty() {
                                "the crate root".to_string()
                            } else {
                                parent.join("::")
                            };
                            found.push(format!("{} (in {folder})", shown.join(" -> ")));
                        }
                    } else if seen.insert(next.clone()) {
                        let mut t = trail.clone();
                        t.push(next.clone());
                        stack.push((next.clone(), t));
                    }
                }
            }
        }
    }
    found
}

/// Every crate root: `(crate folder name, root file)`.
fn crate_roots() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(crates_dir())
        .expect("crates/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        for root in ["src/lib.rs", "src/main.rs"] {
            if dir.join(root).exists() {
                out.push((format!("{name} ({root})"), dir.join(root)));
            }
        }
    }
    out
}

#[test]
fn no_crate_has_an_import_cycle() {
    let mut all = Vec::new();
    for (name, root) in crate_roots() {
        for cycle in cycles(&graph(&root)) {
            all.push(format!("{name}: {cycle}"));
        }
    }
    assert!(
        all.is_empty(),
        "import cycles between modules:\n{}",
        all.join("\n")
    );
}

/// The checker itself finds a cycle, through a re-export and a grouped `use`, and ignores
/// comments, strings and test modules.
#[test]
fn the_checker_finds_cycles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    let write = |name: &str, text: &str| {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    };
    write("lib.rs", "mod a;\nmod b;\nmod c;\npub use b::Thing;\n");
    write(
        "a.rs",
        "use crate::{c::Other, Thing};\n// crate::b::x in a comment\n",
    );
    write(
        "b.rs",
        "pub struct Thing;\nfn f() { let _ = \"crate::c\"; }\n",
    );
    write(
        "c.rs",
        "mod inner;\npub struct Other;\n#[cfg(test)]\nmod tests { use crate::a::X; }\n",
    );
    write("c/inner.rs", "fn g() -> crate::a::Y { todo!() }\n");
    let g = graph(&src.join("lib.rs"));
    assert_eq!(
        g.edges[&vec!["a".to_string()]],
        BTreeSet::from([vec!["b".to_string()], vec!["c".to_string()]])
    );
    assert!(g.edges[&vec!["b".to_string()]].is_empty());
    assert_eq!(cycles(&g), ["a -> c -> a (in the crate root)"]);
    // Without the inner module's path back, no cycle.
    write("c/inner.rs", "fn g() {}\n");
    assert!(cycles(&graph(&src.join("lib.rs"))).is_empty());
}

/// The README's layout section: `(crate folder, listed path)` for every path it names.
fn readme_layout() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(crates_dir().join("../README.md")).expect("README");
    let start = readme
        .find("crates/bitmapist/                 the engine")
        .expect("the layout section");
    let section = &readme[start
        ..readme[start..]
            .find("```")
            .map_or(readme.len(), |e| start + e)];
    let mut out = Vec::new();
    let mut krate = String::new();
    for line in section.lines() {
        if let Some(name) = line.strip_prefix("crates/") {
            krate = name.split('/').next().unwrap_or_default().to_string();
            continue;
        }
        if !line.starts_with("  ") || line.starts_with("   ") {
            continue; // a wrapped description
        }
        let mut dir = String::new();
        for token in line.split_whitespace() {
            if !(token.ends_with(".rs") || token.ends_with('/')) {
                break;
            }
            let path = if token.contains('/') {
                token.to_string()
            } else {
                format!("{dir}{token}")
            };
            if let Some(slash) = path.rfind('/') {
                dir = path[..=slash].to_string();
            }
            out.push((krate.clone(), path));
        }
    }
    out
}

#[test]
fn the_readme_layout_names_every_module_file() {
    let listed = readme_layout();
    assert!(listed.len() > 50, "{listed:?}");
    let mut problems = Vec::new();
    for (krate, path) in &listed {
        if !crates_dir().join(krate).join(path).exists() {
            problems.push(format!("listed but missing: crates/{krate}/{path}"));
        }
    }
    for (name, root) in crate_roots() {
        let krate = name.split(' ').next().unwrap_or_default().to_string();
        let base = crates_dir().join(&krate);
        for m in modules(&root) {
            let rel = m
                .file
                .strip_prefix(&base)
                .expect("inside the crate")
                .to_string_lossy()
                .replace('\\', "/");
            let covered = listed.iter().any(|(k, p)| {
                k == &krate && (p == &rel || (p.ends_with('/') && rel.starts_with(p.as_str())))
            });
            if !covered {
                problems.push(format!("not in the README's layout: crates/{krate}/{rel}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
