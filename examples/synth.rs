//! Generates large synthetic `.nines` specs, for benchmarks and stress tests.
//!
//! ```text
//! cargo run --release --example synth -- --services 100000 --shape realistic > big.nines
//! cargo run --release --example synth -- --services 5000 --shape adversarial --seed 7
//! ```
//!
//! The spec goes to standard output. Two shapes:
//!
//! - `realistic`: one region with three zones (`az-a`, `az-b`, `az-c`), power
//!   domains with UPSes inside the zones and racks on the power domains (300
//!   racks from 90k services on, fewer below), and eight layers from
//!   `network` at the bottom to `frontend` at the top. Services are
//!   replicated across the zones, or across one rack in each zone; each
//!   requires one to four services of lower layers, mostly of the layer just
//!   below, often one of a few global services (the first services of the
//!   two bottom layers). Some requirements are failover pairs, `any(a, b)`,
//!   or majority groups, `2 of (a, b, c)`. Storage cells live on the power
//!   domains of one zone, gate their writes on the UPS (flushing well within
//!   its holdup) and replicate asynchronously to a cell in another zone;
//!   being in one zone, they are only required through a failover pair of
//!   cells in two zones. A few top-layer services sit in a single rack, have
//!   no SLO and are required by no one. Front ends declare traffic and a
//!   capacity that carries the peak with any one zone down. SLOs loosen from
//!   the bottom layer to the top one and are meant to be met.
//! - `adversarial`: the same domains and layers, but replicas are spread
//!   across random domains of every level (the region, zones, power domains
//!   and racks, mixed), dependencies and groups are drawn at random among all
//!   the services generated before, and SLOs are random: nearly everything is
//!   shared, and many SLOs cannot be met.
//!
//! Names match `[a-z][a-z0-9_-]*` and are unique (a service is named after
//! its layer and its position, as in `fe-81234`); a service only requires
//! services generated before it, in its own layer or a lower one, so the
//! graph has no cycles. Each service is written on one line. The output
//! depends only on the arguments: randomness comes from a splitmix64
//! generator seeded with `--seed` (default 1). At 100k services the output is
//! about 14 MB (realistic) or 15 MB (adversarial).

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

const USAGE: &str =
    "usage: synth --services N --shape realistic|adversarial [--seed S]\n\nPrints a synthetic nines spec with N services to standard output.";

/// The splitmix64 generator: tiny, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must be positive.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// The shape of the generated platform (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    Realistic,
    Adversarial,
}

struct Args {
    services: usize,
    shape: Shape,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut services = None;
    let mut shape = None;
    let mut seed = 1;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--services" => {
                services = Some(
                    value
                        .parse::<usize>()
                        .map_err(|e| format!("--services {value}: {e}"))?,
                );
            }
            "--shape" => {
                shape = Some(match value.as_str() {
                    "realistic" => Shape::Realistic,
                    "adversarial" => Shape::Adversarial,
                    _ => {
                        return Err(format!(
                            "--shape {value}: expected realistic or adversarial"
                        ))
                    }
                });
            }
            "--seed" => {
                seed = value
                    .parse::<u64>()
                    .map_err(|e| format!("--seed {value}: {e}"))?;
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let services = services.ok_or("--services is required")?;
    if services == 0 {
        return Err("--services must be at least 1".into());
    }
    let shape = shape.ok_or("--shape is required")?;
    Ok(Args {
        services,
        shape,
        seed,
    })
}

/// One layer of the synthetic platform, bottom first.
struct LayerKind {
    name: &'static str,
    /// Prefix of the names of its services.
    abbr: &'static str,
    /// Share of all services, relative to the other layers.
    weight: usize,
    /// Own availabilities to choose from (any form of the language).
    own: &'static [&'static str],
    /// SLOs to choose from.
    slo: &'static [&'static str],
}

const LAYERS: [LayerKind; 8] = [
    LayerKind {
        name: "network",
        abbr: "net",
        weight: 1,
        own: &[
            "availability 99.999%",
            "availability 5 nines",
            "availability 99.995%",
        ],
        slo: &["99.99%"],
    },
    LayerKind {
        name: "lock",
        abbr: "lk",
        weight: 1,
        own: &["availability 99.99%", "availability 99.995%"],
        slo: &["99.99%"],
    },
    LayerKind {
        name: "storage",
        abbr: "st",
        weight: 6,
        own: &[
            "mtbf 30d mttr 10m",
            "mtbf 60d mttr 15m",
            "availability 99.99%",
        ],
        slo: &["99.95%", "99.99%"],
    },
    LayerKind {
        name: "data",
        abbr: "db",
        weight: 10,
        own: &[
            "availability 99.99%",
            "availability 99.95%",
            "mtbf 14d mttr 5m",
        ],
        slo: &["99.95%", "99.99%"],
    },
    LayerKind {
        name: "platform",
        abbr: "pf",
        weight: 14,
        own: &[
            "availability 99.95%",
            "availability 99.99%",
            "incidents 4/y detect 5m mitigate 20m",
        ],
        slo: &["99.9%", "99.95%"],
    },
    LayerKind {
        name: "backend",
        abbr: "be",
        weight: 22,
        own: &[
            "availability 99.9%",
            "availability 99.95%",
            "incidents 6/y detect 5m mitigate 30m",
        ],
        slo: &["99.9%", "99.95%"],
    },
    LayerKind {
        name: "api",
        abbr: "api",
        weight: 22,
        own: &[
            "availability 99.9%",
            "availability 99.95%",
            "availability 99.9% observed over 90d",
        ],
        slo: &["99.9%", "99.5%"],
    },
    LayerKind {
        name: "frontend",
        abbr: "fe",
        weight: 24,
        own: &["availability 99.9%", "availability 99.95%"],
        slo: &["99.5%", "99.9%"],
    },
];

const ZONES: [&str; 3] = ["a", "b", "c"];

/// The failure domains: one region, three zones, power domains in the zones
/// and racks on the power domains.
struct Topology {
    /// `pdus[z]`: the power domains of zone `z`.
    pdus: Vec<Vec<String>>,
    /// `racks[z]`: the racks of zone `z`.
    racks: Vec<Vec<String>>,
    /// Every domain, for the adversarial shape.
    all: Vec<String>,
}

impl Topology {
    fn new(services: usize) -> Topology {
        let racks_per_zone = (services / 900).clamp(2, 100);
        let pdus_per_zone = (racks_per_zone / 10).clamp(1, 10);
        let mut all = vec!["us-central".to_string()];
        let mut pdus = Vec::new();
        let mut racks = Vec::new();
        for z in ZONES {
            all.push(format!("az-{z}"));
            let zone_pdus: Vec<String> = (0..pdus_per_zone)
                .map(|p| format!("pdu-{z}{p:02}"))
                .collect();
            let zone_racks: Vec<String> = (0..racks_per_zone)
                .map(|r| format!("rack-{z}{r:03}"))
                .collect();
            all.extend(zone_pdus.iter().cloned());
            all.extend(zone_racks.iter().cloned());
            pdus.push(zone_pdus);
            racks.push(zone_racks);
        }
        Topology { pdus, racks, all }
    }

    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "domain region us-central {{ availability 99.999% }}")?;
        for (z, zone) in ZONES.iter().enumerate() {
            writeln!(out, "domain zone az-{zone} in us-central {{")?;
            writeln!(out, "  availability 99.99%")?;
            writeln!(out, "  maintenance intrusive every 180d for 2h")?;
            writeln!(out, "}}")?;
            for (p, pdu) in self.pdus[z].iter().enumerate() {
                let holdup = [10, 15, 5][p % 3];
                writeln!(
                    out,
                    "domain power {pdu} in az-{zone} {{ availability 99.95% ups holdup {holdup}m }}"
                )?;
            }
            let pdus = self.pdus[z].len();
            for (r, rack) in self.racks[z].iter().enumerate() {
                writeln!(
                    out,
                    "domain rack {rack} in {} {{ mtbf 90d mttr 1h }}",
                    self.pdus[z][r % pdus]
                )?;
            }
        }
        Ok(())
    }
}

/// How many services each layer gets: every layer below the top one gets at
/// least one while services remain, the top one the rest.
fn layer_sizes(services: usize) -> Vec<usize> {
    let total: usize = LAYERS.iter().map(|l| l.weight).sum();
    let mut left = services;
    let mut sizes = Vec::new();
    for (i, layer) in LAYERS.iter().enumerate() {
        if left == 0 {
            break;
        }
        let n = if i + 1 == LAYERS.len() {
            left
        } else {
            (services * layer.weight / total).max(1).min(left)
        };
        sizes.push(n);
        left -= n;
    }
    sizes
}

/// The generator's state: where each layer's services start, and the storage
/// cells written so far per zone (targets for replication).
struct Synth {
    rng: Rng,
    shape: Shape,
    topo: Topology,
    /// `starts[l]..starts[l + 1]` are the indices of layer `l`'s services.
    starts: Vec<usize>,
    /// The global services (used by many): the first ones of the bottom two
    /// layers.
    globals: Vec<usize>,
    /// Whether each service is weak: a storage cell (one zone only) or a
    /// service placed in a single rack. Nothing requires a weak service
    /// directly; a cell is required through a failover pair of cells in two
    /// zones, a placed service not at all.
    weak: Vec<bool>,
    /// The storage cells of each zone, in order.
    cells: [Vec<usize>; 3],
}

impl Synth {
    fn layer_of(&self, service: usize) -> usize {
        self.starts.partition_point(|&s| s <= service) - 1
    }

    fn name(&self, service: usize, buf: &mut String) {
        let _ = write!(buf, "{}-{service}", LAYERS[self.layer_of(service)].abbr);
    }

    fn name_list(&self, services: &[usize], buf: &mut String) {
        for (i, &s) in services.iter().enumerate() {
            if i > 0 {
                buf.push_str(", ");
            }
            self.name(s, buf);
        }
    }

    /// A random service of layer `layer`.
    fn in_layer(&mut self, layer: usize) -> usize {
        let (lo, hi) = (self.starts[layer], self.starts[layer + 1]);
        lo + self.rng.below(hi - lo)
    }

    /// A service for `service` (in `layer`) to depend on, realistic shape:
    /// often a global one, mostly the layer just below.
    fn realistic_dep(&mut self, layer: usize) -> usize {
        let global_ok = self.globals.iter().any(|&g| self.layer_of(g) < layer);
        if global_ok && self.rng.chance(0.25) {
            loop {
                let g = *self.rng.pick(&self.globals);
                if self.layer_of(g) < layer {
                    return g;
                }
            }
        }
        let lower = if self.rng.chance(0.6) {
            layer - 1
        } else {
            self.rng.below(layer)
        };
        self.in_layer(lower)
    }

    /// Draws up to `n` distinct dependencies not in `taken`, adding them to it.
    fn draw(
        &mut self,
        service: usize,
        layer: usize,
        n: usize,
        taken: &mut Vec<usize>,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        for _ in 0..n * 4 {
            if out.len() == n {
                break;
            }
            let d = match self.shape {
                Shape::Realistic => self.realistic_dep(layer),
                Shape::Adversarial => self.rng.below(service),
            };
            if self.shape == Shape::Realistic && self.weak[d] {
                continue;
            }
            if !taken.contains(&d) {
                taken.push(d);
                out.push(d);
            }
        }
        out
    }

    /// Two storage cells in different zones, none in `taken`: a failover pair.
    fn cell_pair(&mut self, taken: &mut Vec<usize>) -> Option<[usize; 2]> {
        let first = self.rng.below(3);
        let second = (first + 1 + self.rng.below(2)) % 3;
        if self.cells[first].is_empty() || self.cells[second].is_empty() {
            return None;
        }
        let pair = [
            *self.rng.pick(&self.cells[first]),
            *self.rng.pick(&self.cells[second]),
        ];
        if pair.iter().any(|c| taken.contains(c)) {
            return None;
        }
        taken.extend(pair);
        Some(pair)
    }

    /// `k` consecutive services of a random lower layer, none in `taken`: a
    /// failover pair or a replicated group in the realistic shape.
    fn siblings(&mut self, layer: usize, k: usize, taken: &mut Vec<usize>) -> Option<Vec<usize>> {
        let lower = self.rng.below(layer);
        let (lo, hi) = (self.starts[lower], self.starts[lower + 1]);
        if hi - lo < k {
            return None;
        }
        let first = lo + self.rng.below(hi - lo - k + 1);
        let group: Vec<usize> = (first..first + k).collect();
        if group.iter().any(|&g| taken.contains(&g) || self.weak[g]) {
            return None;
        }
        taken.extend(&group);
        Some(group)
    }

    fn service(&mut self, service: usize, buf: &mut String) {
        let layer = self.layer_of(service);
        buf.push_str("  service ");
        self.name(service, buf);
        buf.push_str(" {");
        match self.shape {
            Shape::Realistic => self.realistic_body(service, layer, buf),
            Shape::Adversarial => self.adversarial_body(service, layer, buf),
        }
        buf.push_str(" }\n");
    }

    fn own(&mut self, layer: usize, buf: &mut String) {
        let kind = &LAYERS[layer];
        let _ = write!(buf, " {}", self.rng.pick(kind.own));
    }

    fn realistic_body(&mut self, service: usize, layer: usize, buf: &mut String) {
        let kind = &LAYERS[layer];
        // Placed services (one rack) are weak: they get no SLO. Storage cells
        // live in one zone, which their SLO allows for.
        let placed = layer >= 5 && self.rng.chance(0.1);
        let is_cell = kind.name == "storage" && self.rng.chance(0.5);
        self.weak[service] = is_cell || placed;
        if is_cell {
            buf.push_str(" slo 99.8%");
        } else if !placed && self.rng.chance(0.5) {
            let _ = write!(buf, " slo {}", self.rng.pick(kind.slo));
        }
        self.own(layer, buf);

        // Placement, and how many replicas survive the loss of a zone.
        let mut survivors = 0;
        if placed {
            let zone = self.rng.below(3);
            let rack = self.rng.pick(&self.topo.racks[zone]).clone();
            let _ = write!(buf, " placed in {rack}");
        } else if is_cell {
            // A storage cell: three replicas on the power domains of one zone.
            let zone = service % 3;
            let pdus = &self.topo.pdus[zone];
            let first = self.rng.below(pdus.len());
            let across: Vec<&str> = (0..pdus.len().min(3))
                .map(|i| pdus[(first + i) % pdus.len()].as_str())
                .collect();
            let _ = write!(buf, " replicas 3 need 2 across {}", across.join(", "));
        } else if self.rng.chance(0.8) {
            let replicas = *self.rng.pick(&[3, 6, 9]);
            let need = replicas / 3 + 1;
            survivors = replicas - replicas / 3;
            let _ = write!(
                buf,
                " replicas {replicas} need {need} across az-a, az-b, az-c"
            );
        } else {
            let racks: Vec<String> = (0..3)
                .map(|z| self.rng.pick(&self.topo.racks[z]).clone())
                .collect();
            survivors = 2;
            let _ = write!(buf, " replicas 3 need 2 across {}", racks.join(", "));
        }

        // Dependencies.
        let mut taken = Vec::new();
        if layer > 0 {
            let n = *self.rng.pick(&[1, 1, 1, 2, 2, 2, 3, 4]);
            let deps = self.draw(service, layer, n, &mut taken);
            if !deps.is_empty() {
                buf.push_str(" requires ");
                self.name_list(&deps, buf);
            }
        }
        if layer >= 2 && self.rng.chance(0.1) {
            if let Some(pair) = self.siblings(layer, 2, &mut taken) {
                buf.push_str(" requires any(");
                self.name_list(&pair, buf);
                buf.push(')');
            }
        }
        if layer >= 3 && self.rng.chance(0.15) {
            if let Some(pair) = self.cell_pair(&mut taken) {
                buf.push_str(" requires any(");
                self.name_list(&pair, buf);
                buf.push(')');
            }
        }
        if layer >= 2 && self.rng.chance(0.05) {
            if let Some(group) = self.siblings(layer, 3, &mut taken) {
                buf.push_str(" requires 2 of (");
                self.name_list(&group, buf);
                buf.push(')');
            }
        }
        if layer >= 3 && self.rng.chance(0.1) {
            let soft = self.draw(service, layer, 1, &mut taken);
            if !soft.is_empty() {
                buf.push_str(" uses ");
                self.name_list(&soft, buf);
            }
        }

        // Storage cells gate their writes on the UPS and replicate to a cell
        // in another zone.
        if is_cell {
            let flush = *self.rng.pick(&[15, 30, 45, 60]);
            let _ = write!(
                buf,
                " writes {{ gated by ups flush within {flush}s reject retryable after 2s }}"
            );
            let zone = service % 3;
            let target = self.cells[(zone + 1) % 3]
                .last()
                .or(self.cells[(zone + 2) % 3].last())
                .copied();
            if let Some(target) = target {
                buf.push_str(" replicate async to ");
                self.name(target, buf);
                buf.push_str(" max lag 30s rpo 1m");
            }
            self.cells[zone].push(service);
        }

        // Front ends carry the peak with any one zone down.
        if kind.name == "frontend" && survivors > 0 && self.rng.chance(0.3) {
            let traffic = self.rng.between(1, 50);
            let capacity = (3 * traffic).div_ceil(survivors);
            let _ = write!(
                buf,
                " traffic {traffic}k rps peak 3x capacity {capacity}k rps per replica"
            );
        }
    }

    fn adversarial_body(&mut self, service: usize, layer: usize, buf: &mut String) {
        // Numbers in the style of a random layer, whatever the service's own.
        let style = self.rng.below(LAYERS.len());
        if self.rng.chance(0.5) {
            let _ = write!(buf, " slo {}", self.rng.pick(LAYERS[style].slo));
        }
        self.own(style, buf);

        // Replicas across random domains of every level.
        if self.rng.chance(0.9) {
            let replicas = self.rng.between(1, 8);
            let need = self.rng.between(1, replicas);
            let spread = self.rng.between(1, replicas.min(6));
            let mut across: Vec<&str> = Vec::new();
            while across.len() < spread {
                let d = self.rng.pick(&self.topo.all).as_str();
                if !across.contains(&d) {
                    across.push(d);
                }
            }
            let _ = write!(
                buf,
                " replicas {replicas} need {need} across {}",
                across.join(", ")
            );
        } else {
            let d = self.rng.pick(&self.topo.all).clone();
            let _ = write!(buf, " placed in {d}");
        }

        // Dependencies among everything generated before.
        if service == 0 {
            return;
        }
        let mut taken = Vec::new();
        let n = self.rng.between(1, 5).min(service);
        let deps = self.draw(service, layer, n, &mut taken);
        if !deps.is_empty() {
            buf.push_str(" requires ");
            self.name_list(&deps, buf);
        }
        if service >= 8 && self.rng.chance(0.2) {
            let size = self.rng.between(2, 4);
            let group = self.draw(service, layer, size, &mut taken);
            if group.len() >= 2 {
                buf.push_str(" requires any(");
                self.name_list(&group, buf);
                buf.push(')');
            }
        }
        if service >= 8 && self.rng.chance(0.15) {
            let size = self.rng.between(3, 5);
            let group = self.draw(service, layer, size, &mut taken);
            if group.len() >= 3 {
                let k = self.rng.between(2, group.len() - 1);
                let _ = write!(buf, " requires {k} of (");
                self.name_list(&group, buf);
                buf.push(')');
            }
        }
        if self.rng.chance(0.1) {
            let soft = self.draw(service, layer, 1, &mut taken);
            if !soft.is_empty() {
                buf.push_str(" uses ");
                self.name_list(&soft, buf);
            }
        }
    }
}

/// The spec for `services` services of the given shape, as text: what
/// `synth --services N --shape S --seed SEED` prints. `services` must be at
/// least 1. For benchmarks, which include this file as a module.
#[allow(dead_code)] // the example's own `main` streams instead
pub fn generate(services: usize, shape: Shape, seed: u64) -> String {
    assert!(services > 0, "synth: at least one service");
    let args = Args {
        services,
        shape,
        seed,
    };
    let mut out = Vec::with_capacity(services * 160);
    write_spec(&args, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the generator writes ASCII")
}

fn write_spec(args: &Args, out: &mut impl Write) -> io::Result<()> {
    let sizes = layer_sizes(args.services);
    let mut starts = vec![0];
    for size in &sizes {
        starts.push(starts.last().copied().unwrap_or(0) + size);
    }
    let bottom = sizes.iter().take(2).sum::<usize>();
    let globals = (0..bottom)
        .filter(|&s| s < sizes[0].min(4) || (s >= sizes[0] && s < sizes[0] + 4))
        .collect();
    let shape = match args.shape {
        Shape::Realistic => "realistic",
        Shape::Adversarial => "adversarial",
    };
    let mut synth = Synth {
        rng: Rng(args.seed),
        shape: args.shape,
        topo: Topology::new(args.services),
        starts,
        globals,
        weak: vec![false; args.services],
        cells: Default::default(),
    };

    writeln!(
        out,
        "// Generated by examples/synth.rs --services {} --shape {shape} --seed {}",
        args.services, args.seed
    )?;
    writeln!(out, "window 30d\n")?;
    synth.topo.write(out)?;

    let mut buf = String::with_capacity(1 << 16);
    for (layer, &size) in sizes.iter().enumerate() {
        let kind = &LAYERS[layer];
        if layer == 0 {
            writeln!(out, "\nlayer {} {{", kind.name)?;
        } else {
            writeln!(
                out,
                "\nlayer {} above {} {{",
                kind.name,
                LAYERS[layer - 1].name
            )?;
        }
        let start = synth.starts[layer];
        for service in start..start + size {
            synth.service(service, &mut buf);
            if buf.len() > 1 << 15 {
                out.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        out.write_all(buf.as_bytes())?;
        buf.clear();
        writeln!(out, "}}")?;
    }
    out.flush()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("synth: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match write_spec(&args, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // `synth ... | head` is fine.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth: {e}");
            ExitCode::FAILURE
        }
    }
}
