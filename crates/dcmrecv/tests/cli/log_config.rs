//! `-lc`/`--log-config`: DCMTK's errors, and DCMTK's own `logger.cfg`.

use std::path::Path;

use crate::{MISSING, assert_error, dcmrecv_in, error_block, write_file};

fn write(dir: &Path, name: &str, content: &str) -> String {
    write_file(dir, name, content).display().to_string()
}

#[test]
fn errors_follow_dcmtk() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            write(d, "empty.cfg", ""),
            "Specified --log-config file does not contain any settings",
        ),
        (
            write(d, "comment.cfg", "# only\nlog4cplus.rootLogger\n"),
            "Specified --log-config file does not contain any settings",
        ),
        (
            write(d, "other.cfg", "foo.bar = 1\n"),
            "Specified --log-config file does not contain any valid settings",
        ),
        (
            write(
                d,
                "noroot.cfg",
                "log4cplus.appender.c = log4cplus::ConsoleAppender\n",
            ),
            "Specified --log-config file does not set up log4cplus.rootLogger",
        ),
        (
            "/nonexistent/logger.cfg".to_owned(),
            "Specified --log-config file does not exist",
        ),
        (
            d.display().to_string(),
            "Specified --log-config file does not exist",
        ),
    ];
    for (file, message) in &cases {
        let run = dcmrecv_in(d, &["-lc", file, "11112"]);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (1, error_block(message).as_str()),
            "{file}"
        );
    }
    assert_error(
        &["-v", "-lc", "x", "11112"],
        "--log-config not allowed with --verbose, --debug or --quiet",
    );
    assert_error(
        &["-ll", "info", "-lc", "x", "11112"],
        "--log-config not allowed with --log-level",
    );
    assert_error(
        &["-lc", "x", "--log-format", "json", "11112"],
        "--log-format json not allowed with --log-config",
    );
}

/// DCMTK's sample `/etc/dcmtk/logger.cfg` (a copy is in `data/`): root DEBUG, a console on
/// stderr from INFO with `%D{%H:%M:%S} %5p: %m%n`, and `${appname}.log` from DEBUG.
#[test]
fn dcmtk_logger_cfg_works() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/data/logger.cfg");
    let run = dcmrecv_in(
        dir.path(),
        &[
            "-lc",
            cfg.to_str().unwrap(),
            "--arguments",
            "+v",
            "-od",
            MISSING,
            "11112",
        ],
    );
    assert_eq!(run.code, 45, "{run:?}");
    // The per-logger settings are reported at WARN, then `--arguments` at INFO, then start-up
    // until the missing output directory.
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.len() >= 3, "{}", run.stderr);
    assert!(
        lines.last().is_some_and(
            |l| l.ends_with("FATAL: cannot specify output directory: Directory does not exist")
        ),
        "{}",
        run.stderr
    );
    assert!(
        lines[0].contains("  WARN: --log-config: per-logger settings are not supported"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("  INFO: calling '"), "{}", lines[1]);
    assert_eq!(lines[2].len(), "hh:mm:ss  INFO: ".len(), "{:?}", lines[2]);
    assert!(
        lines[0].as_bytes()[2] == b':' && lines[0].as_bytes()[5] == b':',
        "{}",
        lines[0]
    );
    // The log file also has the DEBUG lines, with dates.
    let log = std::fs::read_to_string(dir.path().join("dcmrecv.log")).unwrap();
    assert!(log.lines().count() > 3, "{log}");
    assert!(log.contains(" DEBUG: dcmrecv-rs "), "{log}");
    assert!(
        log.lines()
            .all(|l| l.starts_with("20") && l.as_bytes()[4] == b'-'),
        "{log}"
    );
    // `Append = true`: a second run adds to the file.
    let again = dcmrecv_in(
        dir.path(),
        &["-lc", cfg.to_str().unwrap(), "-od", MISSING, "11112"],
    );
    assert_eq!(again.code, 45);
    let longer = std::fs::read_to_string(dir.path().join("dcmrecv.log")).unwrap();
    assert!(longer.starts_with(&log) && longer.len() > log.len());
}

/// `+v` needs INFO: a `-lc` root level of WARN refuses it, as in DCMTK; and a FATAL root level
/// is DCMTK's quiet mode.
#[test]
fn root_level_decides_verbose_pc_and_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let warn = write(
        dir.path(),
        "warn.cfg",
        "log4cplus.rootLogger = WARN, c\nlog4cplus.appender.c = log4cplus::ConsoleAppender\n",
    );
    let run = dcmrecv_in(dir.path(), &["-lc", &warn, "+v", "11112"]);
    assert_eq!(
        (run.code, run.stderr),
        (
            1,
            error_block("--verbose-pc only allowed with verbose mode")
        )
    );
    let fatal = write(
        dir.path(),
        "fatal.cfg",
        "log4cplus.rootLogger = FATAL, c\nlog4cplus.appender.c = log4cplus::ConsoleAppender\n",
    );
    let run = dcmrecv_in(dir.path(), &["-lc", &fatal, "-pdu", "1", "11112"]);
    assert_eq!(
        (run.code, run.stderr.as_str(), run.stdout.as_str()),
        (1, "", "")
    );
}

/// A console appender without `logToStderr` writes to stdout with log4cplus's `SimpleLayout`.
#[test]
fn console_defaults_are_log4cplus_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "c.cfg",
        "log4cplus.rootLogger = INFO, c\nlog4cplus.appender.c = log4cplus::ConsoleAppender\n",
    );
    let run = dcmrecv_in(
        dir.path(),
        &["-lc", &cfg, "--arguments", "-od", MISSING, "11112"],
    );
    assert_eq!(run.code, 45);
    assert_eq!(run.stderr, "");
    assert!(run.stdout.starts_with("INFO - calling '"), "{}", run.stdout);
}
