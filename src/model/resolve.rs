//! Name resolution and validation: AST files → [`Model`], or diagnostics.

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};

use super::fuzzy;
use super::*;
use crate::diagnostics::{Diagnostic, FileId};
use crate::syntax::ast::File;
use crate::syntax::ast::{self, DomainAttr, Item, LayerItem, Reliability, ServiceAttr, WriteAttr};

/// What kind of thing a name refers to, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Domain,
    Layer,
    Service,
    Policy,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Domain => "domain",
            Kind::Layer => "layer",
            Kind::Service => "service",
            Kind::Policy => "policy",
        }
    }
}

struct Resolver<'a> {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    domains: HashMap<&'a str, DomainId>,
    layers: HashMap<&'a str, LayerId>,
    services: HashMap<&'a str, ServiceId>,
    domain_names: Vec<&'a str>,
    layer_names: Vec<&'a str>,
    service_names: Vec<&'a str>,
}

/// Resolves the files of one spec (imports first) into a model, returning
/// warnings beside it, or every error found.
pub fn resolve(files: &[(FileId, &File)]) -> Result<(Model, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut r = Resolver {
        errors: Vec::new(),
        warnings: Vec::new(),
        domains: HashMap::new(),
        layers: HashMap::new(),
        services: HashMap::new(),
        domain_names: Vec::new(),
        layer_names: Vec::new(),
        service_names: Vec::new(),
    };

    // ---- collect declarations, in order
    let mut window: Option<(Duration, Span)> = None;
    let mut domain_decls: Vec<&ast::DomainDecl> = Vec::new();
    let mut layer_decls: Vec<&ast::LayerDecl> = Vec::new();
    let mut service_decls: Vec<(&ast::ServiceDecl, Option<usize>)> = Vec::new();
    let mut policies: Vec<PolicyDecl> = Vec::new();
    let mut lint = Vec::new();
    for (_, file) in files {
        for item in &file.items {
            match item {
                Item::Window(w) => {
                    if let Some((_, first)) = window {
                        r.errors.push(
                            Diagnostic::error("duplicate-attribute", "`window` is given twice")
                                .at(w.span, "second window")
                                .label(first, "first window")
                                .help("a spec has one error-budget window; keep one"),
                        );
                    } else {
                        if w.value.seconds <= 0.0 {
                            r.errors.push(
                                Diagnostic::error(
                                    "out-of-range",
                                    "the window must be longer than zero",
                                )
                                .at(w.span, "this window"),
                            );
                        }
                        window = Some((w.value, w.span));
                    }
                }
                Item::Import(_) => {}
                Item::Domain(d) => domain_decls.push(d),
                Item::Layer(l) => {
                    let index = layer_decls.len();
                    layer_decls.push(l);
                    for li in &l.items {
                        if let LayerItem::Service(s) = li {
                            service_decls.push((s, Some(index)));
                        }
                    }
                }
                Item::Service(s) => service_decls.push((s, None)),
                Item::Policy(p) => policies.push((**p).clone()),
                Item::Lint(l) => lint.extend(l.entries.iter().cloned()),
            }
        }
    }

    // ---- namespaces, with duplicates reported at both places
    let mut first_seen: HashMap<(Kind, String), Span> = HashMap::new();
    let mut declare = |r: &mut Resolver, kind: Kind, name: &ast::Name| -> bool {
        match first_seen.get(&(kind, name.text.clone())) {
            Some(first) => {
                r.errors.push(
                    Diagnostic::error(
                        "duplicate-name",
                        format!("the {} `{}` is declared twice", kind.word(), name.text),
                    )
                    .at(name.span, "declared again here")
                    .label(*first, "first declared here")
                    .help(format!(
                        "{} names are unique across every file of a spec; rename one",
                        kind.word()
                    )),
                );
                false
            }
            None => {
                first_seen.insert((kind, name.text.clone()), name.span);
                true
            }
        }
    };
    let mut domains: Vec<Domain> = Vec::new();
    let mut kept_domains = Vec::new();
    for d in &domain_decls {
        if declare(&mut r, Kind::Domain, &d.name) {
            let id = DomainId(domains.len() as u32);
            r.domains.insert(d.name.text.as_str(), id);
            r.domain_names.push(d.name.text.as_str());
            kept_domains.push(*d);
            domains.push(Domain {
                name: d.name.text.clone(),
                kind: d.kind.text.clone(),
                name_span: d.name.span,
                span: d.span,
                parent: None,
                own: Own::unspecified(),
                maintenance: None,
                ups_holdup: None,
            });
        }
    }
    let mut layers: Vec<Layer> = Vec::new();
    let mut layer_index_map: Vec<Option<LayerId>> = Vec::new();
    for l in &layer_decls {
        if declare(&mut r, Kind::Layer, &l.name) {
            let id = LayerId(layers.len() as u32);
            r.layers.insert(l.name.text.as_str(), id);
            r.layer_names.push(l.name.text.as_str());
            layer_index_map.push(Some(id));
            layers.push(Layer {
                name: l.name.text.clone(),
                name_span: l.name.span,
                span: l.span,
                above: Vec::new(),
                rank: 0,
                guarantees: None,
                assumes: Vec::new(),
                services: Vec::new(),
            });
        } else {
            layer_index_map.push(None);
        }
    }
    let mut kept_services = Vec::new();
    for (s, layer_index) in &service_decls {
        if declare(&mut r, Kind::Service, &s.name) {
            let id = ServiceId(kept_services.len() as u32);
            r.services.insert(s.name.text.as_str(), id);
            r.service_names.push(s.name.text.as_str());
            kept_services.push((*s, layer_index.and_then(|i| layer_index_map[i])));
        }
    }
    for p in &policies {
        declare(&mut r, Kind::Policy, &p.name);
    }

    // ---- domains
    for (i, d) in kept_domains.iter().enumerate() {
        if let Some(parent) = &d.parent {
            domains[i].parent = r.lookup_domain(parent);
        }
        let mut rel = Vec::new();
        for attr in &d.attrs {
            match &attr.value {
                DomainAttr::Reliability(x) => rel.push((x, attr.span)),
                DomainAttr::Maintenance(m) => {
                    if let Some((every, duration)) = m {
                        if every.seconds <= 0.0
                            || duration.seconds <= 0.0
                            || duration.seconds >= every.seconds
                        {
                            r.errors.push(
                                Diagnostic::error(
                                    "out-of-range",
                                    "maintenance must drain for less than its period",
                                )
                                .at(attr.span, "this maintenance")
                                .help("write `maintenance intrusive every P for D` with 0 < D < P"),
                            );
                        } else {
                            domains[i].maintenance = Some(Maintenance {
                                every: *every,
                                duration: *duration,
                            });
                        }
                    }
                }
                DomainAttr::UpsHoldup(h) => domains[i].ups_holdup = Some(*h),
            }
        }
        domains[i].own = r.own(&rel, &d.name.text, "domain");
    }
    // domain cycles
    for start in 0..domains.len() {
        let mut seen = vec![start];
        let mut current = domains[start].parent;
        while let Some(p) = current {
            let p = p.0 as usize;
            if p == start {
                let path: Vec<&str> = seen.iter().map(|i| domains[*i].name.as_str()).collect();
                r.errors.push(
                    Diagnostic::error(
                        "dependency-cycle",
                        format!("domain `{}` is inside itself", domains[start].name),
                    )
                    .at(domains[start].name_span, "this domain")
                    .help(format!(
                        "the chain: {} → {}",
                        path.join(" → "),
                        domains[start].name
                    )),
                );
                domains[start].parent = None;
                break;
            }
            if seen.contains(&p) {
                break;
            }
            seen.push(p);
            current = domains[p].parent;
        }
    }

    // ---- layers
    for (decl_index, l) in layer_decls.iter().enumerate() {
        let Some(id) = layer_index_map[decl_index] else {
            continue;
        };
        let above: Vec<LayerId> = l.above.iter().filter_map(|n| r.lookup_layer(n)).collect();
        layers[id.0 as usize].above = above;
        for item in &l.items {
            match item {
                LayerItem::Guarantees(g) => {
                    if let Some((_, first)) = layers[id.0 as usize].guarantees {
                        r.errors.push(
                            Diagnostic::error("duplicate-attribute", "`guarantees` is given twice")
                                .at(g.span, "second")
                                .label(first, "first")
                                .help("keep one guarantee per layer"),
                        );
                    }
                    layers[id.0 as usize].guarantees = Some((g.value, g.span));
                }
                LayerItem::Assumes { layer, value, span } => {
                    if let Some(target) = r.lookup_layer(layer) {
                        layers[id.0 as usize].assumes.push(Assumption {
                            layer: target,
                            value: value.value,
                            span: *span,
                        });
                    }
                }
                LayerItem::Service(_) => {}
            }
        }
    }
    let below = layer_closure(&mut r, &mut layers);

    // ---- services
    let mut services: Vec<Service> = Vec::new();
    for (s, layer) in &kept_services {
        services.push(r.service(s, *layer, &domains));
        if let Some(l) = layer {
            layers[l.0 as usize]
                .services
                .push(ServiceId(services.len() as u32 - 1));
        }
    }

    // ---- graph
    let mut graph: DiGraph<ServiceId, Edge> =
        DiGraph::with_capacity(services.len(), services.len() * 2);
    for i in 0..services.len() {
        graph.add_node(ServiceId(i as u32));
    }
    for (i, s) in services.iter().enumerate() {
        let from = NodeIndex::new(i);
        for req in &s.requires {
            match req {
                Requirement::Service(t, _) => {
                    graph.add_edge(from, NodeIndex::new(t.0 as usize), Edge::Hard);
                }
                group => {
                    let mut members = Vec::new();
                    group.services(&mut members);
                    for t in members {
                        graph.add_edge(from, NodeIndex::new(t.0 as usize), Edge::Group);
                    }
                }
            }
        }
        for (t, _) in &s.uses {
            graph.add_edge(from, NodeIndex::new(t.0 as usize), Edge::Soft);
        }
        if let Some(rep) = &s.replication {
            for (t, _) in &rep.to {
                graph.add_edge(from, NodeIndex::new(t.0 as usize), Edge::Replicates);
            }
        }
    }

    dependency_cycles(&mut r, &services);
    layering(&mut r, &services, &layers, &below);
    assumptions(&mut r, &layers, &below);
    unused_domains(&mut r, &domains, &services);

    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let model = Model {
        window: window
            .map(|(w, _)| w)
            .unwrap_or(Duration::from_seconds(DEFAULT_WINDOW_SECONDS)),
        domains,
        layers,
        services,
        policies,
        lint,
        graph,
    };
    Ok((model, r.warnings))
}

/// Iterative depth-first search over nodes `0..n`, where node `v` has
/// `degree(v)` successors `successor(v, i)`. Calls `back_edge(path, v, i)` for
/// every edge `v → successor(v, i)` that closes a cycle (`path` is the stack
/// from the cycle's first node to `v`), and `finished(v)` in post-order.
fn depth_first(
    n: usize,
    degree: impl Fn(usize) -> usize,
    successor: impl Fn(usize, usize) -> usize,
    mut back_edge: impl FnMut(&[usize], usize, usize),
    mut finished: impl FnMut(usize),
) {
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some((node, next)) = stack.pop() {
            if next < degree(node) {
                stack.push((node, next + 1));
                let child = successor(node, next);
                match state[child] {
                    0 => {
                        state[child] = 1;
                        stack.push((child, 0));
                    }
                    1 => {
                        let position = stack.iter().position(|(x, _)| *x == child).unwrap_or(0);
                        let path: Vec<usize> = stack[position..].iter().map(|(x, _)| *x).collect();
                        back_edge(&path, node, next);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                finished(node);
            }
        }
    }
}

/// Computes each layer's rank and the "is below" relation; reports `above`
/// cycles. `below[a][b]` is true when layer b is (transitively) below a.
fn layer_closure(r: &mut Resolver, layers: &mut [Layer]) -> Vec<Vec<bool>> {
    let n = layers.len();
    let mut below = vec![vec![false; n]; n];
    let mut rank = vec![0u32; n];
    let mut done = vec![false; n];
    let above: Vec<Vec<usize>> = layers
        .iter()
        .map(|l| l.above.iter().map(|a| a.0 as usize).collect())
        .collect();
    let mut errors = Vec::new();
    depth_first(
        n,
        |v| above[v].len(),
        |v, i| above[v][i],
        |path, node, i| {
            let mut names: Vec<&str> = path.iter().map(|x| layers[*x].name.as_str()).collect();
            names.push(layers[above[node][i]].name.as_str());
            errors.push(
                Diagnostic::error(
                    "layer-cycle",
                    format!("layer `{}` is above itself", layers[node].name),
                )
                .at(layers[node].name_span, "this layer")
                .help(format!(
                    "the cycle: {}; layers form a DAG, bottom first",
                    names.join(" above ")
                )),
            );
        },
        |node| {
            done[node] = true;
            let mut highest = 0;
            for &c in &above[node] {
                if done[c] && c != node {
                    highest = highest.max(rank[c] + 1);
                    below[node][c] = true;
                    let row = below[c].clone();
                    for (k, b) in row.into_iter().enumerate() {
                        if b {
                            below[node][k] = true;
                        }
                    }
                }
            }
            rank[node] = highest;
        },
    );
    r.errors.extend(errors);
    for (i, l) in layers.iter_mut().enumerate() {
        l.rank = rank[i];
    }
    below
}

fn dependency_cycles(r: &mut Resolver, services: &[Service]) {
    let deps: Vec<Vec<(ServiceId, Span)>> = services
        .iter()
        .map(|s| {
            let mut out = Vec::new();
            for req in &s.requires {
                let mut ids = Vec::new();
                req.services(&mut ids);
                out.extend(ids.into_iter().map(|id| (id, req.span())));
            }
            out
        })
        .collect();
    depth_first(
        services.len(),
        |v| deps[v].len(),
        |v, i| deps[v][i].0 .0 as usize,
        |path, node, i| {
            let (child, span) = deps[node][i];
            let c = child.0 as usize;
            let mut names: Vec<&str> = path.iter().map(|x| services[*x].name.as_str()).collect();
            names.push(services[c].name.as_str());
            r.errors.push(
                Diagnostic::error(
                    "dependency-cycle",
                    format!("`{}` depends on itself: {}", services[c].name, names.join(" → ")),
                )
                .at(span, "this dependency closes the cycle")
                .label(services[c].name_span, "the cycle starts here")
                .help("a service cannot require, even indirectly, itself; break the cycle or make one edge `uses`"),
            );
        },
        |_| {},
    );
}

fn layering(r: &mut Resolver, services: &[Service], layers: &[Layer], below: &[Vec<bool>]) {
    for s in services {
        let Some(own) = s.layer else { continue };
        let mut check = |target: ServiceId, span: Span, how: &str| {
            let t = &services[target.0 as usize];
            let Some(theirs) = t.layer else { return };
            if theirs == own || below[own.0 as usize][theirs.0 as usize] {
                return;
            }
            let relation = if below[theirs.0 as usize][own.0 as usize] {
                "above"
            } else {
                "not below"
            };
            r.errors.push(
                Diagnostic::error(
                    "layering",
                    format!(
                        "`{}` (layer `{}`) {how} `{}` in layer `{}`, which is {relation} it",
                        s.name, layers[own.0 as usize].name, t.name, layers[theirs.0 as usize].name
                    ),
                )
                .at(span, format!("`{}` is in layer `{}`", t.name, layers[theirs.0 as usize].name))
                .label(layers[own.0 as usize].name_span, "the dependent's layer")
                .help("a service may depend on its own layer or layers below it; move one of them, or declare the layers' order with `above`"),
            );
        };
        for req in &s.requires {
            let mut ids = Vec::new();
            req.services(&mut ids);
            for id in ids {
                check(id, req.span(), "requires");
            }
        }
        for (id, span) in &s.uses {
            check(*id, *span, "uses");
        }
    }
}

fn assumptions(r: &mut Resolver, layers: &[Layer], below: &[Vec<bool>]) {
    for (i, l) in layers.iter().enumerate() {
        for a in &l.assumes {
            let target = &layers[a.layer.0 as usize];
            if !below[i][a.layer.0 as usize] {
                r.errors.push(
                    Diagnostic::error(
                        "layering",
                        format!(
                            "layer `{}` assumes `{}`, which is not below it",
                            l.name, target.name
                        ),
                    )
                    .at(a.span, "this assumption")
                    .help(format!(
                        "declare `layer {} above {}` (or a layer between), or drop the assumption",
                        l.name, target.name
                    )),
                );
            }
            // How the value compares with the guarantee is the
            // `layer-assumption` rule of the policy prelude.
        }
    }
}

fn unused_domains(r: &mut Resolver, domains: &[Domain], services: &[Service]) {
    let mut used = vec![false; domains.len()];
    for s in services {
        for d in s.instances.iter().flatten() {
            let mut current = Some(*d);
            while let Some(c) = current {
                if used[c.0 as usize] {
                    break;
                }
                used[c.0 as usize] = true;
                current = domains[c.0 as usize].parent;
            }
        }
    }
    for (i, d) in domains.iter().enumerate() {
        if !used[i] {
            r.warnings.push(
                Diagnostic::warning("unused-domain", format!("domain `{}` holds no service", d.name))
                    .at(d.name_span, "nothing is placed here or inside it")
                    .help("place a service in it (`placed in`, `across`), or remove it; `lint { allow unused-domain }` silences this"),
            );
        }
    }
}

impl<'a> Resolver<'a> {
    fn unknown(&mut self, kind: Kind, name: &ast::Name) {
        let candidates: Vec<&str> = match kind {
            Kind::Domain => self.domain_names.clone(),
            Kind::Layer => self.layer_names.clone(),
            Kind::Service => self.service_names.clone(),
            Kind::Policy => Vec::new(),
        };
        let mut d = Diagnostic::error(
            "unknown-name",
            format!("unknown {} `{}`", kind.word(), name.text),
        )
        .at(
            name.span,
            format!("no {} is named `{}`", kind.word(), name.text),
        );
        let other = [
            (Kind::Domain, self.domains.contains_key(name.text.as_str())),
            (Kind::Layer, self.layers.contains_key(name.text.as_str())),
            (
                Kind::Service,
                self.services.contains_key(name.text.as_str()),
            ),
        ]
        .into_iter()
        .find(|(k, present)| *present && *k != kind);
        if let Some((other_kind, _)) = other {
            d = d.help(format!(
                "`{}` is a {}, not a {}",
                name.text,
                other_kind.word(),
                kind.word()
            ));
        } else if let Some(close) = fuzzy::closest(&name.text, candidates) {
            d = d.help(format!("did you mean `{close}`?"));
        } else {
            d = d.help(format!("declare the {} or fix the name", kind.word()));
        }
        self.errors.push(d);
    }

    fn lookup_domain(&mut self, name: &ast::Name) -> Option<DomainId> {
        let found = self.domains.get(name.text.as_str()).copied();
        if found.is_none() {
            self.unknown(Kind::Domain, name);
        }
        found
    }

    fn lookup_layer(&mut self, name: &ast::Name) -> Option<LayerId> {
        let found = self.layers.get(name.text.as_str()).copied();
        if found.is_none() {
            self.unknown(Kind::Layer, name);
        }
        found
    }

    fn lookup_service(&mut self, name: &ast::Name) -> Option<ServiceId> {
        let found = self.services.get(name.text.as_str()).copied();
        if found.is_none() {
            self.unknown(Kind::Service, name);
        }
        found
    }

    /// The own availability from availability / mtbf+mttr / incidents.
    fn own(&mut self, attrs: &[(&Reliability, Span)], owner: &str, what: &str) -> Own {
        let mut own = Own::unspecified();
        let mut form_span: Option<Span> = None;
        let mut mtbf: Option<(Duration, Span)> = None;
        let mut mttr: Option<(Duration, Span)> = None;
        let mut shapes: [Option<Span>; 2] = [None, None];
        let mut set_form =
            |r: &mut Resolver, own: &mut Own, form: OwnForm, down: f64, span: Span| {
                if let Some(first) = form_span {
                    r.errors.push(
                        Diagnostic::error(
                            "availability-conflict",
                            format!("{what} `{owner}` gives its own availability twice"),
                        )
                        .at(span, "second form")
                        .label(first, "first form")
                        .help(
                            "give exactly one of `availability`, `mtbf` + `mttr`, or `incidents`",
                        ),
                    );
                    return;
                }
                form_span = Some(span);
                own.form = form;
                own.down = down;
                own.span = Some(span);
            };
        for (attr, span) in attrs {
            match attr {
                Reliability::Availability { value, evidence } => {
                    set_form(
                        self,
                        &mut own,
                        OwnForm::Availability(*value),
                        value.down,
                        *span,
                    );
                    if let Some(e) = evidence {
                        if let ast::Evidence::Counts { good, total } = e.value {
                            if total == 0 || good > total {
                                self.errors.push(
                                    Diagnostic::error(
                                        "out-of-range",
                                        "observed counts must have 0 ≤ good ≤ total and total ≥ 1",
                                    )
                                    .at(e.span, "these counts"),
                                );
                            }
                        }
                        own.evidence = Some(e.value.clone());
                    }
                }
                Reliability::Mtbf(d) => {
                    if mtbf.is_some() {
                        self.duplicate_attribute("mtbf", *span);
                    }
                    mtbf = Some((*d, *span));
                }
                Reliability::Mttr(d) => {
                    if mttr.is_some() {
                        self.duplicate_attribute("mttr", *span);
                    }
                    mttr = Some((*d, *span));
                }
                Reliability::Failures(d) | Reliability::Repairs(d) => {
                    let (slot, word) = match attr {
                        Reliability::Failures(_) => (0, "failures"),
                        _ => (1, "repairs"),
                    };
                    if shapes[slot].is_some() {
                        self.duplicate_attribute(word, *span);
                    }
                    shapes[slot] = Some(*span);
                    let resolved = self.distribution(d, word);
                    if slot == 0 {
                        own.failures = resolved;
                    } else {
                        own.repairs = resolved;
                    }
                }
                Reliability::Incidents {
                    frequency,
                    detect,
                    mitigate,
                } => {
                    let each = detect.seconds + mitigate.seconds;
                    let down = frequency.per_second * each;
                    if down >= 1.0 {
                        self.errors.push(
                            Diagnostic::error("out-of-range", "these incidents leave no time up")
                                .at(
                                    *span,
                                    format!(
                                        "incidents would take {:.1}% of all time",
                                        down * 100.0
                                    ),
                                )
                                .help("frequency × (detect + mitigate) must be below 1"),
                        );
                    }
                    set_form(
                        self,
                        &mut own,
                        OwnForm::Incidents {
                            frequency: *frequency,
                            detect: *detect,
                            mitigate: *mitigate,
                        },
                        down.min(1.0),
                        *span,
                    );
                    own.mttr = Some(Duration::from_seconds(each));
                }
            }
        }
        match (mtbf, mttr) {
            (Some((f, fs)), Some((r, rs))) => {
                if f.seconds <= 0.0 {
                    self.errors.push(
                        Diagnostic::error("out-of-range", "mtbf must be longer than zero")
                            .at(fs, "this mtbf"),
                    );
                }
                let down = if f.seconds + r.seconds > 0.0 {
                    r.seconds / (f.seconds + r.seconds)
                } else {
                    0.0
                };
                set_form(
                    self,
                    &mut own,
                    OwnForm::MtbfMttr { mtbf: f, mttr: r },
                    down,
                    fs.to(rs),
                );
                own.mttr = Some(r);
            }
            (Some((_, fs)), None) => self.errors.push(
                Diagnostic::error(
                    "availability-conflict",
                    format!("{what} `{owner}` gives `mtbf` without `mttr`"),
                )
                .at(fs, "mtbf alone")
                .help("add `mttr` (mean time to repair): availability = mtbf / (mtbf + mttr)"),
            ),
            (None, Some((r, _))) => {
                // A time scale beside `availability` (used by simulation).
                own.mttr = Some(r);
            }
            (None, None) => {}
        }
        if matches!(own.form, OwnForm::Unspecified) {
            if let Some(span) = shapes.into_iter().flatten().next() {
                self.errors.push(
                    Diagnostic::error(
                        "bad-distribution",
                        format!("{what} `{owner}` shapes failures it never has"),
                    )
                    .at(span, "a distribution without an availability")
                    .help("give the own availability (`availability`, `mtbf` + `mttr`, or `incidents`) that this distribution shapes"),
                );
            }
        }
        own
    }

    /// A distribution with its parameter checked; the default (exponential)
    /// stands in for a bad one, beside the error.
    fn distribution(&mut self, d: &ast::Distribution, word: &str) -> Distribution {
        let check = |r: &mut Resolver,
                     value: &ast::Spanned<f64>,
                     name: &str,
                     range: std::ops::RangeInclusive<f64>| {
            if range.contains(&value.value) {
                return true;
            }
            r.errors.push(
                Diagnostic::error(
                    "bad-distribution",
                    format!(
                        "`{word}` {name} {} is outside {}..={}",
                        if value.value.is_finite() { value.value.to_string() } else { "(not a finite number)".to_string() },
                        range.start(),
                        range.end()
                    ),
                )
                .at(value.span, format!("this {name}"))
                .help(format!(
                    "give a {name} between {} and {}; the mean comes from `mtbf`/`mttr`, the {name} only sets the spread",
                    range.start(),
                    range.end()
                )),
            );
            false
        };
        match d {
            ast::Distribution::Exponential => Distribution::Exponential,
            ast::Distribution::Fixed => Distribution::Fixed,
            ast::Distribution::Weibull { shape } => {
                if check(self, shape, "shape", WEIBULL_SHAPES) {
                    Distribution::Weibull { shape: shape.value }
                } else {
                    Distribution::Exponential
                }
            }
            ast::Distribution::LogNormal { sigma } => {
                if check(self, sigma, "sigma", LOGNORMAL_SIGMAS) {
                    Distribution::LogNormal { sigma: sigma.value }
                } else {
                    Distribution::Exponential
                }
            }
        }
    }

    fn duplicate_attribute(&mut self, what: &str, span: Span) {
        self.errors.push(
            Diagnostic::error("duplicate-attribute", format!("`{what}` is given twice"))
                .at(span, "given again here")
                .help(format!("keep one `{what}`")),
        );
    }

    fn requirement(&mut self, dep: &ast::Dependency) -> Option<Requirement> {
        match dep {
            ast::Dependency::Service(n) => self
                .lookup_service(n)
                .map(|id| Requirement::Service(id, n.span)),
            ast::Dependency::Any(members, span) => {
                let of: Vec<Requirement> =
                    members.iter().filter_map(|m| self.requirement(m)).collect();
                (of.len() == members.len()).then_some(Requirement::AtLeast {
                    k: 1,
                    of,
                    any: true,
                    span: *span,
                })
            }
            ast::Dependency::AtLeast { k, of, span } => {
                if k.value == 0 || k.value as usize > of.len() {
                    self.errors.push(
                        Diagnostic::error(
                            "bad-quorum",
                            format!("`{} of` a group of {}", k.value, of.len()),
                        )
                        .at(k.span, "this count")
                        .help(format!(
                            "K of (...) needs 1 ≤ K ≤ {} (the members)",
                            of.len()
                        )),
                    );
                }
                let members: Vec<Requirement> =
                    of.iter().filter_map(|m| self.requirement(m)).collect();
                (members.len() == of.len()).then_some(Requirement::AtLeast {
                    k: k.value as u32,
                    of: members,
                    any: false,
                    span: *span,
                })
            }
        }
    }

    fn service(
        &mut self,
        s: &ast::ServiceDecl,
        layer: Option<LayerId>,
        domains: &[Domain],
    ) -> Service {
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut once = |r: &mut Resolver, key: &'static str, span: Span| {
            if let Some(first) = seen.get(key) {
                r.errors.push(
                    Diagnostic::error(
                        "duplicate-attribute",
                        format!("`{key}` is given twice in `{}`", s.name.text),
                    )
                    .at(span, "given again here")
                    .label(*first, "first given here")
                    .help(format!("keep one `{key}`")),
                );
            } else {
                seen.insert(key, span);
            }
        };
        let mut service = Service {
            name: s.name.text.clone(),
            name_span: s.name.span,
            span: s.span,
            layer,
            slo: None,
            own: Own::unspecified(),
            instances: vec![None],
            need: 1,
            requires: Vec::new(),
            uses: Vec::new(),
            writes: None,
            replication: None,
            rpo: None,
            traffic: None,
            capacity: None,
        };
        let mut reliability = Vec::new();
        let mut replicas: Option<(u64, Span)> = None;
        let mut need: Option<(u64, Span)> = None;
        let mut across: Vec<DomainId> = Vec::new();
        let mut placed: Option<(DomainId, Span)> = None;
        let mut across_span: Option<Span> = None;
        for attr in &s.attrs {
            let span = attr.span;
            match &attr.value {
                ServiceAttr::Slo(a) => {
                    once(self, "slo", span);
                    service.slo = Some((*a, span));
                }
                ServiceAttr::Reliability(x) => reliability.push((x, span)),
                ServiceAttr::Replicas {
                    count,
                    need: n,
                    across: a,
                } => {
                    once(self, "replicas", span);
                    replicas = Some((count.value, count.span));
                    need = n.as_ref().map(|n| (n.value, n.span));
                    if !a.is_empty() {
                        across_span = Some(span);
                    }
                    across = a.iter().filter_map(|n| self.lookup_domain(n)).collect();
                }
                ServiceAttr::PlacedIn(n) => {
                    once(self, "placed in", span);
                    if let Some(d) = self.lookup_domain(n) {
                        placed = Some((d, span));
                    }
                }
                ServiceAttr::Requires(deps) => {
                    for dep in deps {
                        if let Some(req) = self.requirement(dep) {
                            service.requires.push(req);
                        }
                    }
                }
                ServiceAttr::Uses(names) => {
                    for n in names {
                        if let Some(id) = self.lookup_service(n) {
                            service.uses.push((id, n.span));
                        }
                    }
                }
                ServiceAttr::Writes(clauses) => {
                    once(self, "writes", span);
                    let mut w = Writes {
                        gated: false,
                        flush_within: None,
                        reject: false,
                        retryable: false,
                        retry_after: None,
                        span,
                    };
                    for c in clauses {
                        match &c.value {
                            WriteAttr::GatedByUps => w.gated = true,
                            WriteAttr::FlushWithin(d) => w.flush_within = Some(*d),
                            WriteAttr::Reject { retryable, after } => {
                                w.reject = true;
                                w.retryable = *retryable;
                                w.retry_after = *after;
                            }
                        }
                    }
                    service.writes = Some(w);
                }
                ServiceAttr::Replicate(rep) => {
                    once(self, "replicate", span);
                    let (targets, mode) = match rep {
                        ast::Replicate::Async { to, max_lag } => (
                            to,
                            ReplicationMode::Async {
                                max_lag: max_lag.as_ref().map(|m| m.value),
                            },
                        ),
                        ast::Replicate::Sync { to, quorum } => {
                            if quorum.value < 1 || quorum.value as usize > to.len() + 1 {
                                self.errors.push(
                                    Diagnostic::error(
                                        "bad-quorum",
                                        format!(
                                            "sync quorum {} with {} targets",
                                            quorum.value,
                                            to.len()
                                        ),
                                    )
                                    .at(quorum.span, "this quorum")
                                    .help(format!(
                                        "the quorum counts the local copy: 1 ≤ quorum ≤ {}",
                                        to.len() + 1
                                    )),
                                );
                            }
                            (
                                to,
                                ReplicationMode::Sync {
                                    quorum: quorum.value as u32,
                                },
                            )
                        }
                    };
                    let to = targets
                        .iter()
                        .filter_map(|n| self.lookup_service(n).map(|id| (id, n.span)))
                        .collect();
                    service.replication = Some(Replication { to, mode, span });
                }
                ServiceAttr::Rpo(d) => {
                    once(self, "rpo", span);
                    service.rpo = Some((*d, span));
                }
                ServiceAttr::Traffic { rate, peak } => {
                    once(self, "traffic", span);
                    service.traffic = Some(Traffic {
                        rate: *rate,
                        peak: peak.map_or(1.0, |p| p.0),
                    });
                }
                ServiceAttr::Capacity(rate) => {
                    once(self, "capacity", span);
                    service.capacity = Some(*rate);
                }
            }
        }
        service.own = self.own(&reliability, &s.name.text, "service");
        if matches!(service.own.form, OwnForm::Unspecified) {
            self.warnings.push(
                Diagnostic::warning("no-availability", format!("service `{}` has no availability of its own", s.name.text))
                    .at(s.name.span, "taken as perfect on its own")
                    .help("add `availability`, `mtbf` + `mttr`, or `incidents`; write `availability 100%` if it really never fails"),
            );
        }
        // placement
        let count = replicas.map_or(1, |(c, _)| c);
        if let Some((c, span)) = replicas {
            if c == 0 {
                self.errors.push(
                    Diagnostic::error("bad-quorum", format!("`{}` has zero replicas", s.name.text))
                        .at(span, "zero")
                        .help("a service has at least one replica"),
                );
            } else if c > 100_000 {
                self.errors.push(
                    Diagnostic::error(
                        "out-of-range",
                        format!("{c} replicas is more than nines models"),
                    )
                    .at(span, "too many")
                    .help("model at most 100000 replicas per service"),
                );
            }
        }
        let count = count.clamp(1, 100_000) as usize;
        let need_value = match need {
            Some((n, span)) => {
                if n == 0 || n as usize > count {
                    self.errors.push(
                        Diagnostic::error("bad-quorum", format!("`need {n}` of {count} replicas"))
                            .at(
                                span,
                                if n == 0 {
                                    "need zero"
                                } else {
                                    "more than the replicas"
                                },
                            )
                            .label(replicas.map_or(span, |(_, s)| s), "the replicas")
                            .help(format!("need is between 1 and the replica count ({count})")),
                    );
                }
                (n as usize).clamp(1, count)
            }
            None => 1,
        };
        service.need = need_value as u32;
        if let (Some((_, pspan)), Some(aspan)) = (placed, across_span) {
            self.errors.push(
                Diagnostic::error("placement-conflict", format!("`{}` is both `placed in` and `across`", s.name.text))
                    .at(pspan, "placed in one domain")
                    .label(aspan, "and dealt across domains")
                    .help("use `placed in D` for one domain, or `replicas N across A, B` to deal instances over several"),
            );
        }
        service.instances = if !across.is_empty() {
            (0..count).map(|i| Some(across[i % across.len()])).collect()
        } else if let Some((d, _)) = placed {
            vec![Some(d); count]
        } else {
            vec![None; count]
        };
        let _ = domains;
        service
    }
}
