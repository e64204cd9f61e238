//! Reading a spec from disk: its root file and every file it imports, each
//! parsed once, then resolved into a [`Model`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diagnostics::{self, Diagnostic, FileId, SourceMap, Span};
use crate::model::{resolve, Model};
use crate::syntax::ast::{File, Item};

/// Deepest chain of imports followed.
pub const MAX_IMPORT_DEPTH: usize = 64;

/// The result of loading one or more specs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every file read.
    pub sources: SourceMap,
    /// The model of the last spec loaded, when it resolved.
    pub model: Option<Model>,
    /// The model of every spec that resolved, in the order loaded (the
    /// last one is also `model`).
    pub models: Vec<Model>,
    /// Every diagnostic, sorted and without repeats.
    pub diagnostics: Vec<Diagnostic>,
    /// Files that could not be read at all (exit code 2).
    pub unreadable: Vec<(PathBuf, String)>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == diagnostics::Severity::Error)
    }
}

/// Loads every spec named by `paths` (a folder means every `.nines` file
/// under it). Each file is a spec of its own, with its imports.
pub fn load(paths: &[PathBuf]) -> Loaded {
    let mut loader = Loader::default();
    let roots = spec_files(paths);
    let mut models = Vec::new();
    let mut last = None;
    for root in &roots {
        last = loader.load_spec(root);
        models.extend(last.clone());
    }
    let mut loaded = loader.finish(last);
    loaded.models = models;
    loaded
}

/// Loads one spec from text already in memory (no imports are followed
/// relative to a real folder unless `path` has one).
pub fn load_text(path: impl Into<PathBuf>, text: String) -> Loaded {
    let path = path.into();
    let mut loader = Loader::default();
    let id = loader.sources.add(path.clone(), text);
    loader.parse_file(id);
    let model = loader.spec_from(id);
    let mut loaded = loader.finish(model);
    loaded.models = loaded.model.iter().cloned().collect();
    loaded
}

/// Applies the spec's `lint { }` levels to the warnings of the front end:
/// `allow` drops them, `deny` makes them errors. Errors cannot be lowered.
/// A lint entry naming no known rule or policy is itself a warning.
fn apply_lint(model: &Model, warnings: Vec<Diagnostic>) -> Vec<Diagnostic> {
    use crate::syntax::ast::Level;
    let mut out = Vec::with_capacity(warnings.len());
    for mut d in warnings {
        let level = model
            .lint
            .iter()
            .rev()
            .find(|e| e.rule.text == d.code)
            .map(|e| e.level);
        match level {
            Some(Level::Allow) => continue,
            Some(Level::Deny) => d.severity = diagnostics::Severity::Error,
            _ => {}
        }
        out.push(d);
    }
    for entry in &model.lint {
        let known = crate::explain::lookup(&entry.rule.text).is_some()
            || model
                .policies
                .iter()
                .any(|p| p.name.text == entry.rule.text);
        if !known {
            let names = crate::explain::CATALOGUE
                .iter()
                .map(|e| e.code)
                .chain(model.policies.iter().map(|p| p.name.text.as_str()));
            let mut d = Diagnostic::warning(
                "unknown-rule",
                format!("`lint` names no rule or policy `{}`", entry.rule.text),
            )
            .at(entry.rule.span, "unknown rule");
            d = match crate::model::fuzzy::closest(&entry.rule.text, names) {
                Some(close) => d.help(format!("did you mean `{close}`?")),
                None => d.help(
                    "`nines explain CODE` lists the rules; policies are named in `policy NAME`",
                ),
            };
            out.push(d);
        }
    }
    out
}

/// The spec files named by `paths`: files as given, folders expanded to
/// every `.nines` file under them (sorted).
pub fn spec_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_specs(path, &mut found, 0);
            found.sort();
            roots.extend(found);
        } else {
            roots.push(path.clone());
        }
    }
    roots
}

fn collect_specs(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_specs(&path, out, depth + 1);
        } else if path.extension().is_some_and(|e| e == "nines") {
            out.push(path);
        }
    }
}

#[derive(Default)]
struct Loader {
    sources: SourceMap,
    /// Parsed files by id (`None`: did not parse).
    parsed: HashMap<FileId, Option<File>>,
    by_path: HashMap<PathBuf, FileId>,
    diagnostics: Vec<Diagnostic>,
    unreadable: Vec<(PathBuf, String)>,
}

impl Loader {
    /// The result: diagnostics sorted and without repeats.
    fn finish(self, model: Option<Model>) -> Loaded {
        let mut diagnostics = self.diagnostics;
        diagnostics::sort(&mut diagnostics);
        diagnostics.dedup();
        Loaded {
            sources: self.sources,
            model,
            models: Vec::new(),
            diagnostics,
            unreadable: self.unreadable,
        }
    }

    fn load_spec(&mut self, root: &Path) -> Option<Model> {
        let id = self.read(root)?;
        self.spec_from(id)
    }

    fn spec_from(&mut self, root: FileId) -> Option<Model> {
        let mut order = Vec::new();
        let mut stack = Vec::new();
        let ok = self.visit(root, &mut stack, &mut order);
        if !ok {
            return None;
        }
        let files: Vec<(FileId, &File)> = order
            .iter()
            .filter_map(|id| self.parsed.get(id)?.as_ref().map(|f| (*id, f)))
            .collect();
        if files.len() != order.len() {
            return None;
        }
        match resolve(&files) {
            Ok((model, warnings)) => {
                let warnings = apply_lint(&model, warnings);
                self.diagnostics.extend(warnings);
                Some(model)
            }
            Err(errors) => {
                self.diagnostics.extend(errors);
                None
            }
        }
    }

    /// Reads a file once; `None` when it cannot be read.
    fn read(&mut self, path: &Path) -> Option<FileId> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(id) = self.by_path.get(&key) {
            return Some(*id);
        }
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.unreadable.push((path.to_path_buf(), e.to_string()));
                return None;
            }
        };
        let id = match String::from_utf8(bytes) {
            Ok(text) => {
                let id = self.sources.add(path.to_path_buf(), text);
                self.parse_file(id);
                id
            }
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = self.sources.add(path.to_path_buf(), text);
                let (line, _) = self.sources.file(id).line_column(valid);
                // Offsets in the lossy text match up to the first bad byte.
                self.diagnostics.push(
                    Diagnostic::error("not-utf8", "this file is not UTF-8 text")
                        .at(
                            Span::new(id, valid, valid + 1),
                            format!("invalid byte on line {line}"),
                        )
                        .help("save the spec as UTF-8"),
                );
                self.parsed.insert(id, None);
                id
            }
        };
        self.by_path.insert(key, id);
        Some(id)
    }

    fn parse_file(&mut self, id: FileId) {
        let text = &self.sources.file(id).text;
        match crate::syntax::parse(text, id) {
            Ok(file) => {
                self.parsed.insert(id, Some(file));
            }
            Err(errors) => {
                self.diagnostics.extend(errors);
                self.parsed.insert(id, None);
            }
        }
    }

    /// Depth-first over imports: files in dependency order (imports first).
    /// Returns false when an import is missing, circular or did not parse.
    fn visit(&mut self, id: FileId, stack: &mut Vec<FileId>, order: &mut Vec<FileId>) -> bool {
        if order.contains(&id) {
            return true;
        }
        let imports: Vec<(String, Span)> = match self.parsed.get(&id) {
            Some(Some(file)) => file
                .items
                .iter()
                .filter_map(|item| match item {
                    Item::Import(i) => Some((i.value.clone(), i.span)),
                    _ => None,
                })
                .collect(),
            _ => return false,
        };
        stack.push(id);
        let mut ok = true;
        for (relative, span) in imports {
            let base = self
                .sources
                .file(id)
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let path = base.join(&relative);
            if stack.len() > MAX_IMPORT_DEPTH {
                self.diagnostics.push(
                    Diagnostic::error("import-cycle", "imports nest too deeply")
                        .at(span, format!("more than {MAX_IMPORT_DEPTH} files deep"))
                        .help("flatten the chain of imports"),
                );
                ok = false;
                continue;
            }
            let unreadable_before = self.unreadable.len();
            let Some(target) = self.read(&path) else {
                let reason = self
                    .unreadable
                    .drain(unreadable_before..)
                    .map(|(_, e)| e)
                    .next()
                    .unwrap_or_default();
                self.diagnostics.push(
                    Diagnostic::error("import-not-found", format!("cannot read `{relative}`"))
                        .at(span, reason)
                        .help(format!(
                            "imports are relative to the importing file; looked for {}",
                            path.display()
                        )),
                );
                ok = false;
                continue;
            };
            if let Some(position) = stack.iter().position(|f| *f == target) {
                let cycle: Vec<String> = stack[position..]
                    .iter()
                    .chain(std::iter::once(&target))
                    .map(|f| self.sources.file(*f).display_name())
                    .collect();
                self.diagnostics.push(
                    Diagnostic::error("import-cycle", "imports form a cycle")
                        .at(span, "this import closes the cycle")
                        .help(format!("the cycle: {}", cycle.join(" → "))),
                );
                ok = false;
                continue;
            }
            ok &= self.visit(target, stack, order);
        }
        stack.pop();
        order.push(id);
        ok
    }
}
