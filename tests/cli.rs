//! End-to-end tests of the `nines` binary: exit codes, output formats,
//! `explain`, `fmt` and `report`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nines");

/// Runs nines from the crate root (so that paths in output are relative).
fn nines(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("nines runs")
}

fn nines_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nines runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("nines finishes")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

/// A fresh temporary folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nines-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

const BAD: &str = "tests/cases/unknown-name--did-you-mean.nines";
const WARNING_ONLY: &str = "tests/cases/no-availability.nines";

#[test]
fn check_is_clean_on_the_real_specs() {
    for spec in ["specs/appengine.nines", "specs/payments.nines"] {
        let out = nines(&["check", spec]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("0 error(s), 0 warning(s)"),
            "{spec}: {}",
            stderr(&out)
        );
    }
    // The startup's API is a single point by nature (one region, one
    // database), and its load balancer and database are not a nine better
    // than its SLO: warnings, not failures, unless warnings are denied.
    let out = nines(&["check", "specs/startup-cloud.nines"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0 error(s), 3 warning(s)"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nines::single-point-of-failure"));
    assert_eq!(stderr(&out).matches("nines::extra-nine").count(), 2);
    let out = nines(&["check", "--deny-warnings", "specs/startup-cloud.nines"]);
    assert_eq!(code(&out), 1);
}

#[test]
fn check_exits_1_on_errors() {
    let out = nines(&["check", BAD]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("nines::unknown-name"));
}

#[test]
fn check_exits_2_on_an_unreadable_path() {
    let out = nines(&["check", "tests/cases/no-such-file.nines"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

#[test]
fn deny_warnings_turns_a_warning_into_exit_1() {
    let out = nines(&["check", WARNING_ONLY]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("1 warning(s)"));
    let out = nines(&["check", "--deny-warnings", WARNING_ONLY]);
    assert_eq!(code(&out), 1);
}

#[test]
fn check_human_output_snapshot() {
    let out = nines(&["check", BAD]);
    insta::assert_snapshot!("check_human_unknown_name", stderr(&out));
}

#[test]
fn check_json_has_schema_1_and_one_based_positions() {
    let out = nines(&["check", "--format", "json", BAD]);
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["schema"], 1);
    let diagnostics = json["diagnostics"].as_array().expect("array");
    assert_eq!(diagnostics.len(), 1);
    let d = &diagnostics[0];
    assert_eq!(d["code"], "nines::unknown-name");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], BAD);
    // `  requires chuby` on line 4: `chuby` starts at column 12.
    assert_eq!(d["line"], 4);
    assert_eq!(d["column"], 12);
    assert_eq!(d["end_line"], 4);
    assert_eq!(d["end_column"], 17);
    assert_eq!(d["help"], "did you mean `chubby`?");
}

#[test]
fn check_json_on_clean_specs_is_empty() {
    let out = nines(&[
        "check",
        "--format",
        "json",
        "specs/appengine.nines",
        "specs/payments.nines",
    ]);
    assert_eq!(code(&out), 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["schema"], 1);
    assert_eq!(json["diagnostics"].as_array().map(Vec::len), Some(0));
}

#[test]
fn check_github_lines_are_workflow_commands() {
    for (path, prefix) in [(BAD, "::error file="), (WARNING_ONLY, "::warning file=")] {
        let out = nines(&["check", "--format", "github", path]);
        let text = stdout(&out);
        assert!(!text.is_empty());
        for line in text.lines() {
            assert!(line.starts_with(prefix), "{line}");
            assert!(line.contains(",line="), "{line}");
            assert!(line.contains("title=nines%3A%3A"), "{line}");
        }
    }
}

#[test]
fn check_sarif_is_2_1_0() {
    let out = nines(&["check", "--format", "sarif", BAD]);
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["version"], "2.1.0");
    let results = json["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "nines::unknown-name");
    assert_eq!(results[0]["level"], "error");
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 4);
    assert_eq!(region["startColumn"], 12);
    let rules = json["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules[0]["id"], "nines::unknown-name");
}

/// Checks a SARIF log against the OASIS 2.1.0 schema (a copy of the one
/// `serde-sarif` is generated from, in tests/data).
fn sarif_validator() -> jsonschema::Validator {
    let text_of_schema =
        std::fs::read_to_string("tests/data/sarif-schema-2.1.0.json").expect("schema");
    // The published schema's `language` pattern has an unescaped `]`, which
    // ECMA regexes read as a literal and Rust's refuse: escape it (same
    // meaning) so that the validator compiles the schema.
    let unescaped = "-[a-zA-Z]{2}]?$";
    assert!(
        text_of_schema.contains(unescaped),
        "the schema's erratum moved"
    );
    let text_of_schema = text_of_schema.replace(unescaped, "-[a-zA-Z]{2}\\\\]?$");
    let schema: serde_json::Value = serde_json::from_str(&text_of_schema).expect("schema JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn assert_valid_sarif(text: &str) -> serde_json::Value {
    let validator = sarif_validator();
    let log: serde_json::Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not match the schema: {errors:#?}"
    );
    log
}

#[test]
fn sarif_validates_against_the_2_1_0_schema_with_rule_metadata() {
    // Errors, warnings, labels in several places, built-in rules, front-end
    // codes and a policy of the spec, all in one log.
    let out = nines(&[
        "check",
        "--format",
        "sarif",
        BAD,
        "tests/cases/slo-infeasible--example.nines",
        "tests/cases/layer-assumption--above-guarantee.nines",
        "specs/startup-cloud.nines",
        "tests/cases/policy-type--unknown-member.nines",
    ]);
    assert_eq!(code(&out), 1);
    let log = assert_valid_sarif(&stdout(&out));
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let slo = rules
        .iter()
        .find(|r| r["id"] == "nines::slo-infeasible")
        .expect("the rule is described");
    assert_eq!(slo["defaultConfiguration"]["level"], "error");
    assert!(slo["helpUri"]
        .as_str()
        .is_some_and(|u| u.ends_with("docs/rules.md#slo-infeasible")));
    assert!(slo["shortDescription"]["text"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let spof = rules
        .iter()
        .find(|r| r["id"] == "nines::single-point-of-failure")
        .expect("a warning rule");
    assert_eq!(spof["defaultConfiguration"]["level"], "warning");
    // Every result points at its rule.
    for result in log["runs"][0]["results"].as_array().expect("results") {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
    // The validator does reject what the schema forbids.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!sarif_validator().is_valid(&broken));
    // A clean run is a valid log with no results.
    let out = nines(&["check", "--format", "sarif", "specs/appengine.nines"]);
    assert_eq!(code(&out), 0);
    let log = assert_valid_sarif(&stdout(&out));
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));
}

#[test]
fn explain_known_and_unknown_codes() {
    let out = nines(&["explain", "unknown-name"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("nines::unknown-name: "));
    let out = nines(&["explain", "nines::layer-cycle"]);
    assert_eq!(code(&out), 0);
    let out = nines(&["explain", "no-such-code"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("known codes"));
}

const UNFORMATTED: &str = "window 30d\nservice api {availability 99.9%   requires  any( db ,cache )}\nservice db { availability 99.99% } // the database\nservice cache { availability 99.9% }\n";

#[test]
fn fmt_check_on_formatted_and_unformatted_files() {
    let dir = temp_dir("fmt-check");
    let formatted = dir.join("formatted.nines");
    let unformatted = dir.join("unformatted.nines");
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/appengine.nines"),
    )
    .expect("spec");
    // The checked-in specs are not all in canonical layout: use fmt's own.
    let spec = nines::syntax::format::format_source(&spec).expect("the spec parses");
    std::fs::write(&formatted, &spec).expect("write");
    std::fs::write(&unformatted, UNFORMATTED).expect("write");

    let out = nines(&["fmt", "--check", path_str(&formatted)]);
    assert_eq!(code(&out), 0, "fmt output passes --check: {}", stderr(&out));
    let out = nines(&["fmt", "--check", path_str(&unformatted)]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("is not formatted"));
    // --check does not write.
    assert_eq!(
        std::fs::read_to_string(&unformatted).expect("read"),
        UNFORMATTED
    );
    // A folder: one unformatted file fails the whole run.
    let out = nines(&["fmt", "--check", path_str(&dir)]);
    assert_eq!(code(&out), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fmt_stdin_prints_the_formatted_text() {
    let out = nines_stdin(&["fmt", "-"], UNFORMATTED);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("  requires any(db, cache)\n"), "{text}");
    assert!(text.contains("// the database"), "{text}");
    let again = nines_stdin(&["fmt", "-"], &text);
    assert_eq!(stdout(&again), text, "fmt is idempotent");
    let out = nines_stdin(&["fmt", "--check", "-"], &text);
    assert_eq!(code(&out), 0);
    let out = nines_stdin(&["fmt", "--check", "-"], UNFORMATTED);
    assert_eq!(code(&out), 1);
    let out = nines_stdin(&["fmt", "-"], "service { }");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("nines::syntax"));
}

#[test]
fn fmt_rewrites_then_is_idempotent() {
    let dir = temp_dir("fmt-rewrite");
    let file = dir.join("spec.nines");
    std::fs::write(&file, UNFORMATTED).expect("write");
    let out = nines(&["fmt", path_str(&file)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let once = std::fs::read_to_string(&file).expect("read");
    assert_ne!(once, UNFORMATTED);
    let out = nines(&["fmt", "--check", path_str(&file)]);
    assert_eq!(code(&out), 0, "formatted file passes --check");
    let out = nines(&["fmt", path_str(&file)]);
    assert_eq!(code(&out), 0);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), once);
    // The rewritten spec still checks clean and means the same.
    let out = nines(&["check", path_str(&file)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_json_on_appengine() {
    let out = nines(&["report", "--format", "json", "specs/appengine.nines"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["schema"], 1);
    let services = json["services"].as_array().expect("services");
    assert!(!services.is_empty());
    for s in services {
        let composed = s["composed"]
            .as_f64()
            .unwrap_or_else(|| panic!("composed in {s}"));
        assert!((0.0..=1.0).contains(&composed), "{s}");
        let down = s["unavailability"].as_f64().expect("unavailability");
        assert!((0.0..=1.0).contains(&down), "{s}");
        assert!(s["name"].is_string());
    }
}

#[test]
fn report_writes_its_output_file() {
    let dir = temp_dir("report-output");
    let file = dir.join("report.json");
    let out = nines(&[
        "report",
        "--format",
        "json",
        "-o",
        path_str(&file),
        "specs/appengine.nines",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    assert_eq!(json["schema"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_on_a_bad_spec_or_unknown_service() {
    let out = nines(&["report", BAD]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("nines::unknown-name"));
    let out = nines(&["report", "tests/cases/no-such-file.nines"]);
    assert_eq!(code(&out), 2);
    let out = nines(&[
        "report",
        "--service",
        "no-such-service",
        "specs/appengine.nines",
    ]);
    assert_eq!(code(&out), 2);
}

// ------------------------------------------------------------ CI examples --
// examples/ci/ and .pre-commit-hooks.yaml are exercised as far as they can be
// offline: every step and hook that runs nines runs here, for real, with the
// binary under test first on PATH.

fn yaml(path: &str) -> yaml_rust2::Yaml {
    let text = std::fs::read_to_string(path).expect("readable YAML");
    let mut docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(docs.len(), 1, "{path}: one document");
    docs.remove(0)
}

/// Runs a workflow step's shell script in `dir` with nines on PATH.
fn run_step(script: &str, dir: &Path, specs: &str) -> i32 {
    let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("bash")
        .args(["-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("NINES_SPECS", specs)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("bash runs");
    status.code().expect("exited normally")
}

#[test]
fn the_github_workflow_checks_and_uploads_valid_sarif() {
    let workflow = yaml("examples/ci/nines.yml");
    let specs = workflow["env"]["NINES_SPECS"]
        .as_str()
        .expect("env NINES_SPECS");
    let steps = workflow["jobs"]["check"]["steps"].as_vec().expect("steps");
    let nines_steps: Vec<(&str, &str)> = steps
        .iter()
        .filter_map(|s| Some((s["name"].as_str()?, s["run"].as_str()?)))
        .filter(|(_, run)| run.trim_start().starts_with("nines "))
        .collect();
    assert_eq!(nines_steps.len(), 2, "a gating step and a SARIF step");
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif"))
        })
        .expect("an upload-sarif step");
    let sarif_file = upload["with"]["sarif_file"].as_str().expect("sarif_file");
    assert_eq!(
        upload["if"].as_str(),
        Some("always()"),
        "upload even when the check fails"
    );
    assert!(nines_steps[1].1.contains(sarif_file));

    // A repository whose specs are clean: both steps pass, the log is valid.
    let repo = temp_dir("workflow");
    std::fs::create_dir_all(repo.join(specs)).expect("specs folder");
    for spec in ["appengine.nines", "payments.nines"] {
        std::fs::copy(Path::new("specs").join(spec), repo.join(specs).join(spec)).expect("copy");
    }
    for (name, run) in &nines_steps {
        assert_eq!(run_step(run, &repo, specs), 0, "step `{name}`");
    }
    let log =
        assert_valid_sarif(&std::fs::read_to_string(repo.join(sarif_file)).expect("SARIF written"));
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));

    // A pull request that breaks a spec: the gate fails, the SARIF step
    // still writes a valid log with the finding for the upload.
    std::fs::copy(BAD, repo.join(specs).join("broken.nines")).expect("copy");
    assert_eq!(
        run_step(nines_steps[0].1, &repo, specs),
        1,
        "the gate fails"
    );
    assert_eq!(
        run_step(nines_steps[1].1, &repo, specs),
        0,
        "SARIF still written"
    );
    let log =
        assert_valid_sarif(&std::fs::read_to_string(repo.join(sarif_file)).expect("SARIF written"));
    assert_eq!(
        log["runs"][0]["results"][0]["ruleId"],
        "nines::unknown-name"
    );
    let _ = std::fs::remove_dir_all(&repo);
}

#[test]
fn the_pre_commit_hooks_pass_good_specs_and_stop_bad_ones() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_vec().expect("a list of hooks");
    let entry = |id: &str| -> Vec<String> {
        let hook = hooks
            .iter()
            .find(|h| h["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("hook {id}"));
        assert_eq!(
            hook["files"].as_str(),
            Some("\\.nines$"),
            "{id} runs on specs"
        );
        let words: Vec<String> = hook["entry"]
            .as_str()
            .expect("entry")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(words[0], "nines");
        words[1..].to_vec()
    };
    // pre-commit appends the staged files to the entry.
    let run = |args: &[String], file: &str| -> i32 {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.push(file);
        code(&nines(&all))
    };
    let check = entry("nines-check");
    assert_eq!(run(&check, "specs/appengine.nines"), 0);
    assert_eq!(run(&check, BAD), 1);
    let fmt = entry("nines-fmt");
    assert_eq!(run(&fmt, "specs/appengine.nines"), 0);
    let dir = temp_dir("pre-commit");
    let messy = dir.join("messy.nines");
    std::fs::write(&messy, "service   api {availability 99.9%}\n").expect("write");
    assert_eq!(
        run(&fmt, path_str(&messy)),
        1,
        "an unformatted spec is refused"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // The example configuration uses hooks that exist.
    let config = yaml("examples/ci/pre-commit-config.yaml");
    for hook in config["repos"][0]["hooks"].as_vec().expect("hooks") {
        let id = hook["id"].as_str().expect("id");
        assert!(
            hooks.iter().any(|h| h["id"].as_str() == Some(id)),
            "unknown hook {id}"
        );
    }
}

#[test]
fn gen_refuses_a_spec_with_denied_findings_and_shows_them() {
    let dir = temp_dir("gen-denied");
    let spec = dir.join("ungated.nines");
    std::fs::write(
        &spec,
        "domain power p { availability 99.9% ups holdup 5m }\n\
         service db { availability 99.9% placed in p writes { flush within 30s } }\n",
    )
    .expect("write");
    let out_dir = dir.join("out");
    let out = nines(&[
        "gen",
        path_str(&spec),
        "--service",
        "db",
        "--out",
        path_str(&out_dir),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nines::writes-ungated"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("denied findings"), "{}", stderr(&out));
    assert!(!out_dir.exists(), "nothing is written");
    let _ = std::fs::remove_dir_all(&dir);
}
