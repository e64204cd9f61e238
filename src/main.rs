//! The `nines` command line: parses flags, calls the library, maps results to
//! exit codes (0 clean, 1 errors or denied findings, 2 misuse or I/O).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};

use nines::analysis::{self, Detail, Options};
use nines::diagnostics::{self, Severity};
use nines::syntax::quantity::parse_duration;

/// The worker threads of the calculator allocate and free many small
/// tables at once; mimalloc's per-thread heaps cut the time the system
/// allocator spent on them (a fifth of a report of the realistic 100k
/// platform, see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "nines",
    version,
    about = "A reliability-budget calculator and policy language"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
    Github,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SimulateFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check specs: syntax, names, layering, contracts. Exit 1 on errors.
    Check {
        /// Spec files or folders (every `.nines` file under a folder).
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: CheckFormat,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Time for the whole check, after which the rules read certified
        /// bounds where the numbers are not exact yet.
        #[arg(long, default_value = "60s", value_parser = parse_time)]
        max_time: Duration,
        /// Worker threads for the numbers (0: one per core); the numbers
        /// do not depend on it, only how many are exact within the time.
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Compute composed availability, budgets and their consumers.
    Report {
        /// The spec.
        spec: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// Show this service in detail (repeatable).
        #[arg(long = "service")]
        services: Vec<String>,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Time for the whole report, after which what is not exact gets
        /// certified bounds (`60s`, `2m`, or seconds).
        #[arg(long, default_value = "60s", value_parser = parse_time)]
        max_time: Duration,
        /// Worker threads for the numbers (0: one per core); the numbers
        /// do not depend on it, only how many are exact within the time.
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Simulate: downtime per error-budget window and the chance of meeting
    /// each SLO (--windows), or steady-state trials (--trials).
    Simulate {
        /// The spec.
        spec: PathBuf,
        /// Steady-state Monte Carlo with this many trials.
        #[arg(long, conflicts_with = "windows")]
        trials: Option<u64>,
        /// Simulate this many error-budget windows (the default: 10000).
        #[arg(long)]
        windows: Option<u64>,
        /// Seed: the same seed gives the same output.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Worker threads (0: one per core); results do not depend on it.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: SimulateFormat,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Mean repair time of components given only as an availability.
        #[arg(long, default_value = "1h", value_parser = parse_time)]
        default_mttr: Duration,
        /// Posterior draws for availabilities with evidence (`observed ...`).
        #[arg(long, default_value_t = 100)]
        draws: usize,
        /// Time for the exact calculator's cross-check and uncertainty.
        #[arg(long, default_value = "10s", value_parser = parse_time)]
        max_time: Duration,
        /// Skip the exact calculator's cross-check.
        #[arg(long)]
        no_exact: bool,
    },
    /// Generate a runnable Rust service that enforces a service's contracts.
    Gen {
        /// The spec.
        spec: PathBuf,
        /// The service to generate.
        #[arg(long)]
        service: String,
        /// The folder to write (refused when not empty, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace a non-empty folder.
        #[arg(long)]
        force: bool,
    },
    /// Explain a diagnostic code.
    Explain {
        /// The code (`unknown-name` or `nines::unknown-name`).
        code: String,
    },
    /// Format specs canonically (`-` reads standard input).
    Fmt {
        /// Spec files or folders, or `-`.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Only check that files are formatted (exit 1 when not).
        #[arg(long)]
        check: bool,
    },
}

fn parse_time(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(Duration::from_secs_f64(seconds));
        }
    }
    parse_duration(text)
        .map_err(|e| format!("{e}; {}", e.help))
        .and_then(|d| Duration::try_from_secs_f64(d.seconds).map_err(|e| e.to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
            max_time,
            threads,
        } => check(&paths, format, deny_warnings, max_time, threads),
        Command::Report {
            spec,
            format,
            services,
            output,
            max_time,
            threads,
        } => report(
            &spec,
            format,
            &services,
            output.as_deref(),
            max_time,
            threads,
        ),
        Command::Gen {
            spec,
            service,
            out,
            force,
        } => generate(&spec, &service, &out, force),
        Command::Simulate {
            spec,
            trials,
            windows,
            seed,
            threads,
            format,
            output,
            default_mttr,
            draws,
            max_time,
            no_exact,
        } => {
            let options = nines::simulate::Options {
                mode: match trials {
                    Some(n) => nines::simulate::Mode::Trials(n),
                    None => nines::simulate::Mode::Windows(windows.unwrap_or(10_000)),
                },
                seed,
                threads,
                default_mttr: default_mttr.as_secs_f64(),
                draws,
                max_time,
                cross_check: !no_exact,
                ..Default::default()
            };
            simulate(&spec, &options, format, output.as_deref())
        }
        Command::Explain { code } => match nines::explain::lookup(&code) {
            Some(e) => {
                print!("{}", nines::explain::render(e));
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: no diagnostic code `{code}`; known codes:");
                for e in nines::explain::CATALOGUE {
                    eprintln!("  {:<22} {}", e.code, e.summary);
                }
                ExitCode::from(2)
            }
        },
        Command::Fmt { paths, check } => fmt(&paths, check),
    }
}

fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn report_unreadable(unreadable: &[(PathBuf, String)]) {
    for (path, error) in unreadable {
        eprintln!("error: cannot read {}: {error}", path.display());
    }
}

fn check(
    paths: &[PathBuf],
    format: CheckFormat,
    deny_warnings: bool,
    max_time: Duration,
    threads: usize,
) -> ExitCode {
    let options = Options {
        max_time,
        threads,
        ..Options::default()
    };
    let loaded = nines::lint::check(paths, &options);
    let sources = &loaded.sources;
    let diagnostics = &loaded.diagnostics;
    let out = match format {
        CheckFormat::Human => {
            let text = diagnostics::render_human(diagnostics, sources, colour());
            eprint!("{text}");
            let errors = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let warnings = diagnostics.len() - errors;
            eprintln!(
                "checked {} file(s): {errors} error(s), {warnings} warning(s)",
                sources.files().len()
            );
            String::new()
        }
        CheckFormat::Json => diagnostics::render_json(diagnostics, sources),
        CheckFormat::Github => diagnostics::render_github(diagnostics, sources),
        CheckFormat::Sarif => diagnostics::render_sarif(diagnostics, sources),
    };
    print!("{out}");
    report_unreadable(&loaded.unreadable);
    if !loaded.unreadable.is_empty() {
        return ExitCode::from(2);
    }
    let failing = diagnostics.iter().any(|d| {
        d.severity == Severity::Error || (deny_warnings && d.severity == Severity::Warning)
    });
    if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn report(
    spec: &Path,
    format: ReportFormat,
    names: &[String],
    output: Option<&Path>,
    max_time: Duration,
    threads: usize,
) -> ExitCode {
    let started = Instant::now();
    let loaded = nines::load(&[spec.to_path_buf()]);
    report_unreadable(&loaded.unreadable);
    if !loaded.unreadable.is_empty() {
        return ExitCode::from(2);
    }
    let Some(model) = &loaded.model else {
        eprint!(
            "{}",
            diagnostics::render_human(&loaded.diagnostics, &loaded.sources, colour())
        );
        return ExitCode::from(1);
    };
    let mut only = Vec::new();
    for name in names {
        match service_by_name(model, name, spec) {
            Ok(id) => only.push(id),
            Err(code) => return code,
        }
    }
    let detail = if only.is_empty() {
        Detail::WithSlo
    } else {
        Detail::Only(only.clone())
    };
    // `--max-time` bounds the whole command: loading is already spent, and
    // the rules and rendering are set aside.
    let options = Options {
        max_time: nines::lint::time_for_numbers(max_time, started, model.services.len()),
        detail,
        threads,
        ..Options::default()
    };
    let analysis = analysis::analyze(model, &options);
    let mut findings = loaded.diagnostics.clone();
    findings.extend(nines::policy::evaluate(
        model,
        Some(&analysis),
        &loaded.sources,
    ));
    diagnostics::sort(&mut findings);
    let text = match format {
        ReportFormat::Text => {
            nines::report::render_text(
                model,
                &analysis,
                &only,
                &findings,
                &loaded.sources,
                // Styles only for a person at a terminal, never in a file.
                output.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none(),
            )
        }
        ReportFormat::Markdown => {
            nines::report::render_markdown(model, &analysis, &only, &findings, &loaded.sources)
        }
        ReportFormat::Json => {
            nines::report::render_json(model, &analysis, &findings, &loaded.sources)
        }
    };
    emit(&text, output)
}

/// Loads a spec for a command that needs a model without errors; prints the
/// diagnostics and returns the exit code otherwise.
fn load_model(spec: &Path) -> Result<nines::Loaded, ExitCode> {
    let loaded = nines::load(&[spec.to_path_buf()]);
    report_unreadable(&loaded.unreadable);
    if !loaded.unreadable.is_empty() {
        return Err(ExitCode::from(2));
    }
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    if loaded.model.is_none() || !errors.is_empty() {
        eprint!(
            "{}",
            diagnostics::render_human(&errors, &loaded.sources, colour())
        );
        return Err(ExitCode::from(1));
    }
    Ok(loaded)
}

/// The service named on the command line, or exit 2 with the closest name.
fn service_by_name(
    model: &nines::model::Model,
    name: &str,
    spec: &Path,
) -> Result<nines::model::ServiceId, ExitCode> {
    model.service_named(name).ok_or_else(|| {
        let known = model.services.iter().map(|s| s.name.as_str());
        let hint = nines::model::fuzzy::closest(name, known)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        eprintln!("error: no service `{name}` in {}{hint}", spec.display());
        ExitCode::from(2)
    })
}

/// Writes `text` to `output` atomically, or to standard output.
fn emit(text: &str, output: Option<&Path>) -> ExitCode {
    match output {
        Some(path) => match nines::fsutil::write_atomically(path, text.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(2)
            }
        },
        None => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(text.as_bytes()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
    }
}

fn simulate(
    spec: &Path,
    options: &nines::simulate::Options,
    format: SimulateFormat,
    output: Option<&Path>,
) -> ExitCode {
    let loaded = match load_model(spec) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let Some(model) = &loaded.model else {
        return ExitCode::from(1);
    };
    if matches!(
        options.mode,
        nines::simulate::Mode::Trials(0) | nines::simulate::Mode::Windows(0)
    ) {
        eprintln!("error: simulate at least one trial or window");
        return ExitCode::from(2);
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} blocks, {eta} left")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            if bar.length() != Some(total) {
                bar.set_length(total);
            }
            bar.inc(done);
        }
    };
    let result = nines::simulate::simulate(model, options, &progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let simulation = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("simulated in {:.2} s", simulation.elapsed.as_secs_f64());
    let text = match format {
        SimulateFormat::Text => nines::simulate::output::render_text(&simulation),
        SimulateFormat::Json => nines::simulate::output::render_json(&simulation),
    };
    emit(&text, output)
}

fn fmt(paths: &[PathBuf], check: bool) -> ExitCode {
    if paths.len() == 1 && paths[0] == Path::new("-") {
        let mut text = String::new();
        if std::io::stdin().read_to_string(&mut text).is_err() {
            eprintln!("error: standard input is not UTF-8 text");
            return ExitCode::from(2);
        }
        return match nines::syntax::format::format_source(&text) {
            Ok(formatted) => {
                if check {
                    if formatted == text {
                        ExitCode::SUCCESS
                    } else {
                        eprintln!("<stdin> is not formatted");
                        ExitCode::from(1)
                    }
                } else {
                    print!("{formatted}");
                    ExitCode::SUCCESS
                }
            }
            Err(errors) => {
                let mut sources = diagnostics::SourceMap::new();
                sources.add("<stdin>", text);
                eprint!("{}", diagnostics::render_human(&errors, &sources, colour()));
                ExitCode::from(1)
            }
        };
    }
    let files = nines::model::load::spec_files(paths);
    let mut status = ExitCode::SUCCESS;
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        match nines::syntax::format::format_source(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if check {
                    eprintln!("{} is not formatted", path.display());
                    status = ExitCode::from(1);
                } else if let Err(e) = nines::fsutil::write_atomically(&path, formatted.as_bytes())
                {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            Err(errors) => {
                let mut sources = diagnostics::SourceMap::new();
                sources.add(path.clone(), text);
                eprint!("{}", diagnostics::render_human(&errors, &sources, colour()));
                status = ExitCode::from(1);
            }
        }
    }
    status
}

fn generate(spec: &Path, name: &str, out: &Path, force: bool) -> ExitCode {
    // A spec with denied findings is not a contract to build on.
    let loaded = nines::lint::check(&[spec.to_path_buf()], &Options::default());
    report_unreadable(&loaded.unreadable);
    if !loaded.unreadable.is_empty() {
        return ExitCode::from(2);
    }
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    let Some(model) = loaded.model.as_ref().filter(|_| errors.is_empty()) else {
        eprint!(
            "{}",
            diagnostics::render_human(&errors, &loaded.sources, colour())
        );
        eprintln!("error: not generating from a spec with errors or denied findings");
        return ExitCode::from(1);
    };
    let id = match service_by_name(model, name, spec) {
        Ok(id) => id,
        Err(code) => return code,
    };
    let contract = nines::codegen::contract(model, id);
    let files = nines::codegen::generate(&contract);
    match nines::codegen::write_project(out, &files, force) {
        Ok(()) => {
            eprintln!(
                "generated `{}` in {} ({} files); cd there and run `cargo test`",
                contract.crate_name,
                out.display(),
                files.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
